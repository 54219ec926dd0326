"""Rounding and remainders: ``floor``, ``ceil``, ``trunc``, ``round``, ``frac``,
``remainder`` (the ``%`` operator), ``fmod`` and ``floor_divide`` (``//``).

As in PyTorch, ``floor``/``ceil``/``trunc``/``round`` are differentiable with gradient 0
(piecewise constant), ``frac(a) = a - trunc(a)`` has gradient 1, and the remainders
``r = a - q b`` have ``da = g`` and ``db = -g q`` with ``q = floor(a / b)`` (``remainder``,
the sign of ``b``, Python's ``%``) or ``q = trunc(a / b)`` (``fmod``, the sign of ``a``, C's).
``floor_divide`` has no gradient. Integer inputs stay integer.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ._util import constant
from .elementwise import _broadcast_error, _weak, div, mul, neg, sub

__all__ = ["ceil", "fix", "floor", "floor_divide", "fmod", "frac", "remainder", "round", "trunc"]


class _Step(Function):
    """out = a rounded (``fn``);  da = 0 (a step function's derivative almost everywhere)."""
    fn = None

    @classmethod
    def forward(cls, ctx, a, *args):
        a = np.asarray(a)
        return a.copy() if a.dtype.kind in "biu" else cls.fn(a, *args)

    @staticmethod
    def backward(ctx, grad):
        return mul(grad, 0.0)


class Floor(_Step):
    fn = staticmethod(np.floor)


class Ceil(_Step):
    fn = staticmethod(np.ceil)


class Trunc(_Step):
    fn = staticmethod(np.trunc)


class Round(_Step):
    """Half to even (as PyTorch and numpy); ``decimals`` rounds to 10**-decimals."""
    fn = staticmethod(np.round)


class _Remainder(Function):
    """r = a - q(a / b) b;  da = g, db = -g q(a / b), with ``q`` floor or trunc."""
    fn = quotient = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return cls.fn(a, b)
        except ValueError:
            raise _broadcast_error(cls.__name__.lower(), a, b) from None

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        gb = neg(mul(grad, cls.quotient.apply(div(a, b)))) if need_b else None
        return (grad if need_a else None), gb


class Remainder(_Remainder):
    fn, quotient = staticmethod(np.remainder), Floor


class Fmod(_Remainder):
    fn, quotient = staticmethod(np.fmod), Trunc


def floor(input): return Floor.apply(input)
def ceil(input): return Ceil.apply(input)
def trunc(input): return Trunc.apply(input)
fix = trunc


def round(input, *, decimals: int = 0):
    """``torch.round``: to the nearest integer (ties to even), or to ``decimals`` places."""
    return Round.apply(input, int(decimals))


def frac(input):
    """``torch.frac``: the fractional part ``a - trunc(a)`` (sign of ``a``)."""
    return sub(input, trunc(input))


def remainder(input, other):
    """``torch.remainder`` (``%``): ``a - floor(a / b) b``, with the sign of ``b``."""
    return Remainder.apply(_weak(input), _weak(other))


def fmod(input, other):
    """``torch.fmod``: ``a - trunc(a / b) b``, with the sign of ``a`` (C's ``fmod``)."""
    return Fmod.apply(_weak(input), _weak(other))


def floor_divide(input, other):
    """``torch.floor_divide`` (``//``): ``floor(a / b)``; no gradient. Float division by 0
    gives +-inf or NaN without a warning, as in PyTorch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return constant(np.floor_divide, _weak(input), _weak(other))
