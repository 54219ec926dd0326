"""``Adam``: momentum plus RMSprop's per-coordinate scaling, with bias correction.

Kingma & Ba 2015. At step ``t = 1, 2, ...``, for a parameter ``p`` with
gradient ``g`` (``g = -g`` first when ``maximize``)::

    g     = g + weight_decay * p            (L2 penalty; AdamW decouples it instead)
    m     = beta1 * m + (1 - beta1) * g     # first moment, starts at 0
    v     = beta2 * v + (1 - beta2) * g*g   # second moment, starts at 0
    m_hat = m / (1 - beta1**t)              # bias-corrected: unbiased at small t
    v_hat = v / (1 - beta2**t)              # (amsgrad: of the running max of v)
    p     = p - lr * m_hat / (sqrt(v_hat) + eps)

The corrected moments are the ones used in the step: without the correction
the first steps, where m and v are still near their zero start, would be far
too small (m) and far too large (1 / sqrt(v)).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check_adam_like, decayed_gradient


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False)``, as ``torch.optim.Adam``."""

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        name = type(self).__name__
        check_adam_like(name, lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        g = decayed_gradient(p, g, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            # the largest v so far: the step size never grows back (Reddi et al. 2018)
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        # m_hat / sqrt(v_hat) with the two corrections folded into scalars
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + group["eps"]
        p -= lr / (1 - beta1**t) * (m / denom)
