"""``AdamW``: Adam with decoupled weight decay (Loshchilov & Hutter 2019).

Before Adam's step (see ``adam.py``) the parameter shrinks directly::

    p = p * (1 - lr * weight_decay)

instead of adding ``weight_decay * p`` to the gradient. With Adam's
per-coordinate scaling the two differ: an L2 term in the gradient is divided by
``sqrt(v_hat)`` like the rest of it, so coordinates with large gradients are
barely regularised; the decoupled form decays every weight at the same rate.
"""
from __future__ import annotations

from .adam import Adam
from .optimizer import Params


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, maximize=False)``, as ``torch.optim.AdamW``."""

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
