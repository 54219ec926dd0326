"""``BinaryCrossEntropy``: the elementwise loss on probabilities, with PyTorch's clamping.

    loss = -(y * max(log x, -100) + (1 - y) * max(log(1 - x), -100)),   x in [0, 1]

The clamp keeps the loss finite at x = 0 or 1 (log 0 = -inf). The gradients are PyTorch's,
which are *not* the derivative of the clamped expression (that would be 0 * inf = NaN at
x = 0 or 1):

    dx = g (x - y) / max(x (1 - x), 1e-12)
    dy = g (max(log(1 - x), -100) - max(log x, -100))

Both are written with the engine's ops, so second derivatives work away from x = 0, 1.
Prefer ``binary_cross_entropy_with_logits`` on raw scores: it never needs the clamp.
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs.function import Function
from tinygrad_cs.ops import clamp, log, maximum

__all__ = ["BinaryCrossEntropy"]

_LOG_FLOOR = -100.0
_EPS = 1e-12


def _clamped_log(a):
    with np.errstate(divide="ignore"):
        return clamp(log(a), min=_LOG_FLOOR)


class BinaryCrossEntropy(Function):
    """Elementwise binary cross-entropy of probabilities x against targets y (same shape)."""

    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), _LOG_FLOOR)
            log_1mx = np.maximum(np.log(1.0 - x), _LOG_FLOOR)
        return -(y * log_x + (1.0 - y) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = grad * (x - y) / maximum(x * (1.0 - x), _EPS) if need_x else None
        gy = grad * (_clamped_log(1.0 - x) - _clamped_log(x)) if need_y else None
        return gx, gy
