"""``Adagrad``: per-coordinate learning rates from the sum of all squared gradients.

Duchi et al. 2011 (the CS231n notes' "Autograd" is this AdaGrad). At step
``t = 1, 2, ...``, for a parameter ``p`` with gradient ``g`` (``g = -g`` first
when ``maximize``)::

    g     = g + weight_decay * p
    clr   = lr / (1 + (t - 1) * lr_decay)
    sum   = sum + g * g                    # starts at initial_accumulator_value
    p     = p - clr * g / (sqrt(sum) + eps)

Coordinates with large past gradients take small steps; the sum only grows, so
every step size shrinks over time (the weakness RMSprop addresses).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check, decayed_gradient


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False)``, as ``torch.optim.Adagrad``."""

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        check("Adagrad", lr >= 0.0, f"Invalid learning rate: {lr}")
        check("Adagrad", lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}")
        check("Adagrad", weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check("Adagrad", initial_accumulator_value >= 0.0,
              f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check("Adagrad", eps >= 0.0, f"Invalid epsilon value: {eps}")
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        g = decayed_gradient(p, g, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p -= clr * (g / (np.sqrt(state["sum"]) + group["eps"]))
