"""The elementwise binary cross-entropies, as PyTorch computes them.

``BinaryCrossEntropy``: the loss on probabilities, with PyTorch's clamping.

    loss = -(y * max(log x, -100) + (1 - y) * max(log1p(-x), -100)),   x in [0, 1]

The clamp keeps the loss finite at x = 0 or 1 (log 0 = -inf). The gradients are PyTorch's,
which are *not* the derivative of the clamped expression (that would be 0 * inf = NaN at
x = 0 or 1):

    dx = g (x - y) / max(x (1 - x), 1e-12)
    dy = -g logit(x) = -g log(x / (1 - x))      (unclamped: +-inf at x = 0, 1)

log1p(-x), not log(1 - x), as PyTorch: for x below float32's epsilon 1 - x rounds to 1,
and the loss of a confident right answer (y = 0, x = sigmoid(-20) = 2e-9) would be 0.

Both are written with the engine's ops, so second derivatives work away from x = 0, 1.
Prefer ``binary_cross_entropy_with_logits`` on raw scores: it never needs the clamp.

``BinaryCrossEntropyWithLogits``: the same loss on sigmoid(x), for raw scores x, with an
optional ``pos_weight`` p (l = 1 + (p - 1) y; l = 1 without it):

    loss = (1 - y) x + l softplus(-x)          (softplus(-x) = -log sigmoid(x), by log-add-exp)
    dx = g (l sigmoid(x) - p y)                 dy = g ((p - 1) softplus(-x) - x)
    dp = g y softplus(-x)

The forward keeps full precision where the loss is tiny (x -> +inf with y = 1 gives
e**-x, not 0). The derivative is PyTorch's sigmoid(x) - y form, not the derivative of the
forward's terms, (1 - y) - l sigmoid(-x), which cancels for y = 0 and x < -9 in float32.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from .elementwise import log, maximum, neg, sigmoid, softplus

__all__ = ["BinaryCrossEntropy", "BinaryCrossEntropyWithLogits"]

_LOG_FLOOR = -100.0
_EPS = 1e-12


class BinaryCrossEntropy(Function):
    """Elementwise binary cross-entropy of probabilities x against targets y (same shape)."""

    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), _LOG_FLOOR)
            log_1mx = np.maximum(np.log1p(-x), _LOG_FLOOR)
        return -(y * log_x + (1.0 - y) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = grad * (x - y) / maximum(x * (1.0 - x), _EPS) if need_x else None
        if need_y:
            with np.errstate(divide="ignore"):  # x = 0 or 1: the infinite logit is the answer
                gy = -grad * log(x / (1.0 - x))
        else:
            gy = None
        return gx, gy


def _softplus_neg(x):
    """softplus(-x) = log(1 + e**-x) = -log sigmoid(x), by log-add-exp at every x."""
    return softplus(neg(x), 1.0, np.inf)


class BinaryCrossEntropyWithLogits(Function):
    """Elementwise binary cross-entropy of scores x against targets y (same shape), with an
    optional ``pos_weight`` broadcast against them (None for none)."""

    name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, y, pos_weight=None):
        ctx.save_for_backward(x, y, pos_weight)
        minus_log_sigmoid = np.logaddexp(0, -x)
        if pos_weight is None:
            return (1.0 - y) * x + minus_log_sigmoid
        return (1.0 - y) * x + (1.0 + (pos_weight - 1.0) * y) * minus_log_sigmoid

    @staticmethod
    def backward(ctx, grad):
        x, y, p = ctx.saved_tensors
        need_x, need_y, need_p = ctx.needs_input_grad
        gx = gy = gp = None
        if p is None:
            if need_x:
                gx = grad * (sigmoid(x) - y)
            if need_y:
                gy = grad * neg(x)
            return gx, gy, None
        if need_x:
            gx = grad * ((1.0 + (p - 1.0) * y) * sigmoid(x) - p * y)
        if need_y:
            gy = grad * ((p - 1.0) * _softplus_neg(x) - x)
        if need_p:
            gp = grad * y * _softplus_neg(x)
        return gx, gy, gp
