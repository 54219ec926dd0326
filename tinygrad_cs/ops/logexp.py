"""log and exp where the naive formulas cancel: log1p, expm1 and logsigmoid.

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
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from .elementwise import neg, sigmoid


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


class LogSigmoid(Function):
    """out = ln sigmoid(a) = min(a, 0) - ln(1 + e**-|a|);  da = g sigmoid(-a)."""
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
    return LogSigmoid.apply(a)
