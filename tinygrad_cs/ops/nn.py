"""Normalised exponentials: softmax and log_softmax along a dim, stable for huge logits.

softmax:      y = exp(x - max) / sum(exp(x - max));   dx = y * (g - sum(g * y))
log_softmax:  y = x - logsumexp(x);                    dx = g - exp(y) * sum(g)
(sums along ``dim``, kept for broadcasting). Subtracting the max changes
nothing mathematically and keeps exp() from overflowing at logits of 1e4.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ._util import normalize_dim, shape_of
from .elementwise import exp
from .reduce import sum as _sum


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        shifted = np.exp(x - np.max(x, axis=dim, keepdims=True))
        out = shifted / np.sum(shifted, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - _sum(grad * out, dim=ctx.dim, keepdim=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        shifted = x - np.max(x, axis=dim, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - exp(out) * _sum(grad, dim=ctx.dim, keepdim=True)


def _dim(x, dim, op):
    shape = shape_of(x)
    if dim is None:  # PyTorch's legacy implicit dim: 0 for 0-D, 1-D and 3-D input, else 1
        dim = 0 if len(shape) in (0, 1, 3) else 1
    return normalize_dim(dim, len(shape), op, shape)


def softmax(x, dim=None):
    """exp(x) / sum(exp(x)) along ``dim``."""
    return Softmax.apply(x, _dim(x, dim, "softmax"))


def log_softmax(x, dim=None):
    """x - logsumexp(x) along ``dim``."""
    return LogSoftmax.apply(x, _dim(x, dim, "log_softmax"))
