"""``NAdam``: Adam with Nesterov momentum (a look-ahead on the first moment).

Dozat 2016, with the momentum schedule of PyTorch's ``torch.optim.NAdam``. At step
``t = 1, 2, ...``, for a parameter ``p`` with gradient ``g``::

    g        = g + weight_decay * p        (decoupled_weight_decay: p = p (1 - lr wd))
    mu_t     = beta1 (1 - 0.5 * 0.96**(t psi))      mu_{t+1} likewise (psi = momentum_decay)
    P_t      = P_{t-1} mu_t                           (P_0 = 1)
    m        = m + (1 - beta1) (g - m)
    v        = beta2 v + (1 - beta2) g g
    d        = sqrt(v / (1 - beta2**t)) + eps
    p        = p - lr (1 - mu_t) / (1 - P_t) * g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / d

The second term uses next step's momentum on today's moment: the Nesterov look-ahead.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check, check_adam_like, decayed_gradient


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False)``, as
    ``torch.optim.NAdam``."""

    def __init__(self, params: Params, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        check_adam_like("NAdam", lr, eps, betas, weight_decay)
        check("NAdam", momentum_decay >= 0.0, f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t, psi = state["step"], group["momentum_decay"]
        g = decayed_gradient(p, g, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(v / (1 - beta2**t)) + group["eps"]
        p -= lr * (1.0 - mu) / (1.0 - product) * (g / denom)
        p -= lr * mu_next / (1.0 - product * mu_next) * (m / denom)
