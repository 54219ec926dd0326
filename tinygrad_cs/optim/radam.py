"""``RAdam``: Adam whose adaptive step is switched on only once its variance is tractable.

Liu et al. 2020. At step ``t = 1, 2, ...``, for a parameter ``p`` with gradient ``g``::

    g       = g + weight_decay * p       (decoupled_weight_decay: p = p (1 - lr wd))
    m       = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g g
    m_hat   = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1;       rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
    rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                p = p - lr m_hat r sqrt(1 - beta2**t) / (sqrt(v) + eps)
    otherwise:  p = p - lr m_hat                               (plain momentum SGD)

In the first steps the second moment rests on too few gradients for its inverse to be
trusted; ``r`` rectifies the variance of the adaptive step once it is.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check_adam_like, decayed_gradient


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, maximize=False)``, as ``torch.optim.RAdam``."""

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        check_adam_like("RAdam", lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        g = decayed_gradient(p, g, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        correction2 = 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p -= m_hat * lr * (math.sqrt(correction2) / (np.sqrt(v) + group["eps"])) * rect
        else:
            p -= m_hat * lr
