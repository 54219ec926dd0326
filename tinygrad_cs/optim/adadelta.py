"""``Adadelta``: step sizes from running averages of squared gradients and squared updates.

Zeiler 2012. For a parameter ``p`` with gradient ``g`` (``g = -g`` first when
``maximize``)::

    g      = g + weight_decay * p
    v      = rho * v + (1 - rho) * g * g                    # starts at 0
    delta  = sqrt(u + eps) / sqrt(v + eps) * g              # u starts at 0
    u      = rho * u + (1 - rho) * delta * delta
    p      = p - lr * delta

The ratio of the two running RMS values has the units of ``p``, so no learning rate is
needed in the paper (PyTorch's ``lr`` defaults to 1.0 and scales the step).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check, decayed_gradient


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)``, as
    ``torch.optim.Adadelta``."""

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        check("Adadelta", lr >= 0.0, f"Invalid learning rate: {lr}")
        check("Adadelta", 0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        check("Adadelta", eps >= 0.0, f"Invalid epsilon value: {eps}")
        check("Adadelta", weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        g = decayed_gradient(p, g, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * delta * delta
        p -= group["lr"] * delta
