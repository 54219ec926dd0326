"""log and exp where the naive formulas cancel: log1p, expm1 and logsigmoid.

    log1p(a)      = ln(1 + a)                          da = g / (1 + a)
    expm1(a)      = e**a - 1                           da = g e**a
    logsigmoid(a) = ln sigmoid(a) = -ln(1 + e**-a)     da = g sigmoid(-a)

For |a| below float32's epsilon (6e-8), 1 + a rounds to 1 and e**a - 1 to 0, so
``log(1 + a)`` and ``exp(a) - 1`` return 0 where the answer is a. numpy's ``log1p`` /
``expm1`` keep full relative precision there. logsigmoid is computed as
min(a, 0) - log1p(e**-|a|): e**-|a| never overflows, and for a -> -inf it tends to a
(not -inf), for a -> +inf to -e**-a (not 0).

The derivatives are taken from the input, not the output: expm1's g (out + 1) and
logsigmoid's g (1 - e**out) cancel in the tails, where out rounds to -1 resp. 0.
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from .elementwise import exp, neg, sigmoid


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
    """out = e**a - 1;  da = g e**a."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.expm1(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * exp(a)


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
