"""``Adamax``: Adam with the infinity norm in place of the second moment.

Kingma & Ba 2015, section 7.1. At step ``t = 1, 2, ...``, for a parameter ``p`` with
gradient ``g`` (``g = -g`` first when ``maximize``)::

    g = g + weight_decay * p
    m = m + (1 - beta1) * (g - m)                 # = beta1 m + (1 - beta1) g, from 0
    u = max(beta2 * u, |g| + eps)                 # a decaying running max of |g|, from 0
    p = p - lr / (1 - beta1**t) * m / u           # only m needs bias correction

The running max cannot start too small, so ``u`` needs no correction.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check_adam_like, decayed_gradient


class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    maximize=False)``, as ``torch.optim.Adamax``."""

    def __init__(self, params: Params, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        check_adam_like("Adamax", lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_inf"] = np.zeros_like(p)
        state["step"] += 1
        g = decayed_gradient(p, g, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (g - m)
        np.maximum(u * beta2, np.abs(g) + group["eps"], out=u)
        p -= group["lr"] / (1 - beta1 ** state["step"]) * (m / u)
