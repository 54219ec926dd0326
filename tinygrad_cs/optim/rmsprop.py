"""``RMSprop``: Adagrad with a leaky (exponentially decaying) average of squared gradients.

Hinton's lecture 6e. For a parameter ``p`` with gradient ``g`` (``g = -g``
first when ``maximize``)::

    g          = g + weight_decay * p
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    v          = square_avg - grad_avg ** 2,  grad_avg = alpha * grad_avg + (1 - alpha) * g
                                              (centered: an estimate of the variance)
    v          = square_avg                   (otherwise)
    buf        = momentum * buf + g / (sqrt(v) + eps);   p = p - lr * buf   (momentum > 0)
    p          = p - lr * g / (sqrt(v) + eps)                                (momentum = 0)

All averages start at zero (no bias correction, as in PyTorch).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check, decayed_gradient


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``, as ``torch.optim.RMSprop``."""

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        check("RMSprop", lr >= 0.0, f"Invalid learning rate: {lr}")
        check("RMSprop", eps >= 0.0, f"Invalid epsilon value: {eps}")
        check("RMSprop", momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check("RMSprop", weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check("RMSprop", alpha >= 0.0, f"Invalid alpha value: {alpha}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        g = decayed_gradient(p, g, group)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            denom = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denom = np.sqrt(square_avg) + group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / denom
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / denom)
