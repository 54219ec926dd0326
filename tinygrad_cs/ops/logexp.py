"""log and exp where the naive formulas cancel: log1p, expm1, logsigmoid, softmax, log_softmax.

    log1p(a)      = ln(1 + a)                          da = g / (1 + a)
    expm1(a)      = e**a - 1                           da = g (out + 1)
    logsigmoid(a) = ln sigmoid(a) = -ln(1 + e**-a)     da = g sigmoid(-a)

For |a| below float32's epsilon (6e-8), 1 + a rounds to 1 and e**a - 1 to 0, so
``log(1 + a)`` and ``exp(a) - 1`` return 0 where the answer is a. numpy's ``log1p`` /
``expm1`` keep full relative precision there. logsigmoid is computed as
min(a, 0) - log1p(e**-|a|): e**-|a| never overflows, and for a -> -inf it tends to a
(not -inf), for a -> +inf to -e**-a (not 0).

The derivatives follow PyTorch's formulas. logsigmoid's is taken from the input
(g (1 - e**out) would cancel for a > 17, where out rounds to 0). expm1's is g (out + 1),
from the output: for a < -17 (float32) out rounds to -1 and that is 0 where e**a is not,
but it is the same out + 1 a consumer sees (log1p(expm1(a)) then has gradient 1, as in
PyTorch, not e**a / 0).

Normalised exponentials, along ``dim``, stable for huge logits:
softmax:      y = exp(x - max) / sum(exp(x - max));   dx = y * (g - sum(g * y))
log_softmax:  y = x - logsumexp(x);                    dx = g - exp(y) * sum(g)
(sums along ``dim``, kept for broadcasting). Subtracting the max changes
nothing mathematically and keeps exp() from overflowing at logits of 1e4.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ._util import normalize_dim, shape_of
from .elementwise import exp, neg, sigmoid
from .reduce import sum as _sum

__all__ = ["expm1", "log1p", "log_softmax", "logsigmoid", "softmax"]


class Log1p(Function):
    """out = ln(1 + a);  da = g / (1 + a)."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1.0 + a)


class Expm1(Function):
    """out = e**a - 1;  da = g (out + 1)."""
    @staticmethod
    def forward(ctx, a):
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1.0)


class LogSigmoidFn(Function):
    """out = ln sigmoid(a) = min(a, 0) - ln(1 + e**-|a|);  da = g sigmoid(-a)."""
    name = "LogSigmoid"
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sigmoid(neg(a))


def log1p(a):
    """ln(1 + a), exact for tiny a."""
    return Log1p.apply(a)


def expm1(a):
    """e**a - 1, exact for tiny a."""
    return Expm1.apply(a)


def logsigmoid(a):
    """ln sigmoid(a) = -softplus(-a), finite for any finite a."""
    return LogSigmoidFn.apply(a)


class SoftmaxFn(Function):
    name = "Softmax"
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


class LogSoftmaxFn(Function):
    name = "LogSoftmax"
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
    return SoftmaxFn.apply(x, _dim(x, dim, "softmax"))


def log_softmax(x, dim=None):
    """x - logsumexp(x) along ``dim``."""
    return LogSoftmaxFn.apply(x, _dim(x, dim, "log_softmax"))
