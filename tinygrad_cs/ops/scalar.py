"""The scalar ops of ``Value`` (micrograd's picture): each computes with ``math`` on Python
floats, and, where the tensor op's backward is plain arithmetic, inherits it.

``Value`` (``tinygrad_cs/value.py``) calls them; ``Add``/``Sub``/``Mul``/``Div``/``Neg`` need no
scalar twin (their tensor formulas hold for floats as they are). Every backward here is written
with Python arithmetic on Values, so second derivatives work.
"""
from __future__ import annotations

import math

from ..engine import Function, Node
from .elementwise import Exp, Log, ReLUFn, SigmoidFn, TanhFn

__all__ = [
    "ScalarAbs",
    "ScalarELU",
    "ScalarExp",
    "ScalarLeakyReLU",
    "ScalarLog",
    "ScalarPow",
    "ScalarReLU",
    "ScalarSigmoid",
    "ScalarTanh",
]


def _raw(x):
    return x._data if isinstance(x, Node) else x


def _log(x):
    """ln x on a float or a Value (nan below 0, -inf at 0, as float math would give)."""
    if isinstance(x, Node):
        return ScalarLog.apply(x)
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


class ScalarPow(Function):
    """out = a ** b;  da = g b a**(b-1), db = g out ln a (0 where a = 0 and b >= 0)."""
    name = "Pow"

    @staticmethod
    def forward(ctx, a, b):
        try:
            out = math.pow(a, b)
        except ValueError:      # negative base with a fractional exponent
            out = math.nan
        except OverflowError:
            out = math.inf
        except ZeroDivisionError:
            out = math.inf
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            ga = grad * 0.0 if _raw(b) == 0 else grad * b * a ** (b - 1)
        if need_b:
            gb = grad * 0.0 if _raw(a) == 0 and _raw(b) >= 0 else grad * out * _log(a)
        return ga, gb


class ScalarExp(Exp):
    """out = e**a with ``math`` (inf on overflow); backward as the tensor op's."""
    name = "Exp"

    @staticmethod
    def forward(ctx, a):
        try:
            out = math.exp(a)
        except OverflowError:
            out = math.inf
        ctx.save_for_backward(out)
        return out


class ScalarLog(Log):
    """out = ln a with ``math`` (nan below 0, -inf at 0); backward as the tensor op's."""
    name = "Log"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _log(a)


class ScalarTanh(TanhFn):
    """out = tanh a with ``math``; backward as the tensor op's."""
    name = "Tanh"

    @staticmethod
    def forward(ctx, a):
        out = math.tanh(a)
        ctx.save_for_backward(out)
        return out


class ScalarSigmoid(SigmoidFn):
    """out = 1 / (1 + e**-a), as e**-|a| / (1 + e**-|a|) for a < 0 (exact in both tails,
    no overflow); backward as the tensor op's."""
    name = "Sigmoid"

    @staticmethod
    def forward(ctx, a):
        e = math.exp(-abs(a))
        out = 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
        ctx.save_for_backward(out)
        return out


class ScalarReLU(ReLUFn):
    """out = max(a, 0) on a float; backward as the tensor op's."""
    name = "ReLU"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a if a > 0 else 0.0


class ScalarLeakyReLU(Function):
    """out = a if a > 0 else slope a;  da = g (1 or slope)."""
    name = "LeakyReLU"

    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        ctx.save_for_backward(a)
        ctx.negative_slope = negative_slope
        return a if a > 0 else a * negative_slope

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad if _raw(a) > 0 else grad * ctx.negative_slope


class ScalarELU(Function):
    """out = a if a > 0 else alpha (e**a - 1);  da = g (1 or alpha e**a).

    The derivative comes from the input, as PyTorch's: ``out + alpha`` would lose
    it to rounding far below zero."""
    name = "ELU"

    @staticmethod
    def forward(ctx, a, alpha=1.0):
        out = a if a > 0 else alpha * math.expm1(a)
        ctx.save_for_backward(a)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if _raw(a) > 0:
            return grad
        return grad * ctx.alpha * (ScalarExp.apply(a) if isinstance(a, Node) else math.exp(a))


class ScalarAbs(Function):
    """out = |a|;  da = g sign(a) (0 at 0)."""
    name = "Abs"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        a = _raw(a)
        return grad * (1.0 if a > 0 else (-1.0 if a < 0 else 0.0))
