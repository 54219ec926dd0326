"""More unary functions (and ``atan2``), each with its derivative written in the engine's
ops, so second derivatives work:

    tan    da = g (1 + out**2)          asin   da = g / sqrt(1 - a**2)
    sinh   da = g cosh(a)               acos   da = -g / sqrt(1 - a**2)
    cosh   da = g sinh(a)               atan   da = g / (1 + a**2)
    asinh  da = g / sqrt(a**2 + 1)      log2   da = g / (a ln 2)
    acosh  da = g / sqrt(a**2 - 1)      log10  da = g / (a ln 10)
    atanh  da = g / (1 - a**2)          exp2   da = g out ln 2
    atan2(a, b) = the angle of (b, a):  da = g b / (a**2 + b**2),  db = -g a / (a**2 + b**2)

The values are numpy's (accurate to the last bit or two, NaN outside the domain, as in
PyTorch).
"""
from __future__ import annotations

import math

import numpy as np

from ..engine import Function
from .elementwise import _broadcast_error, _weak, div, mul, sqrt

__all__ = ["acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "exp2", "log2", "log10", "sinh", "tan"]


class _Unary(Function):
    """out = fn(a);  da = g * derivative(a, out)."""
    fn = None

    @classmethod
    def forward(cls, ctx, a):
        out = cls.fn(a)
        ctx.save_for_backward(a, out)
        return out

    @classmethod
    def backward(cls, ctx, grad):
        a, out = ctx.saved_tensors
        return mul(grad, cls.derivative(a, out))


class Tan(_Unary):
    fn = staticmethod(np.tan)
    derivative = staticmethod(lambda a, out: 1.0 + out * out)


class Sinh(_Unary):
    fn = staticmethod(np.sinh)
    derivative = staticmethod(lambda a, out: cosh(a))


class Cosh(_Unary):
    fn = staticmethod(np.cosh)
    derivative = staticmethod(lambda a, out: sinh(a))


class Asin(_Unary):
    fn = staticmethod(np.arcsin)
    derivative = staticmethod(lambda a, out: 1.0 / sqrt(1.0 - a * a))


class Acos(_Unary):
    fn = staticmethod(np.arccos)
    derivative = staticmethod(lambda a, out: -1.0 / sqrt(1.0 - a * a))


class Atan(_Unary):
    fn = staticmethod(np.arctan)
    derivative = staticmethod(lambda a, out: 1.0 / (1.0 + a * a))


class Asinh(_Unary):
    fn = staticmethod(np.arcsinh)
    derivative = staticmethod(lambda a, out: 1.0 / sqrt(a * a + 1.0))


class Acosh(_Unary):
    fn = staticmethod(np.arccosh)
    derivative = staticmethod(lambda a, out: 1.0 / sqrt(a * a - 1.0))


class Atanh(_Unary):
    fn = staticmethod(np.arctanh)
    derivative = staticmethod(lambda a, out: 1.0 / (1.0 - a * a))


class Log2(_Unary):
    fn = staticmethod(np.log2)
    derivative = staticmethod(lambda a, out: 1.0 / (a * math.log(2.0)))


class Log10(_Unary):
    fn = staticmethod(np.log10)
    derivative = staticmethod(lambda a, out: 1.0 / (a * math.log(10.0)))


class Exp2(_Unary):
    fn = staticmethod(np.exp2)
    derivative = staticmethod(lambda a, out: out * math.log(2.0))


class Atan2(Function):
    """out = atan2(a, b), the angle of the point (b, a) in (-pi, pi];
    da = g b / (a**2 + b**2), db = -g a / (a**2 + b**2)."""
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return np.arctan2(a, b)
        except ValueError:
            raise _broadcast_error("atan2", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        scale = div(grad, a * a + b * b)
        return (mul(scale, b) if need_a else None), (-mul(scale, a) if need_b else None)


def tan(input): return Tan.apply(input)
def sinh(input): return Sinh.apply(input)
def cosh(input): return Cosh.apply(input)
def asin(input): return Asin.apply(input)
def acos(input): return Acos.apply(input)
def atan(input): return Atan.apply(input)
def asinh(input): return Asinh.apply(input)
def acosh(input): return Acosh.apply(input)
def atanh(input): return Atanh.apply(input)
def log2(input): return Log2.apply(input)
def log10(input): return Log10.apply(input)
def exp2(input): return Exp2.apply(input)
def atan2(input, other): return Atan2.apply(_weak(input), _weak(other))


# PyTorch's numpy-style aliases
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2 = (asin, acos, atan, asinh, acosh,
                                                              atanh, atan2)
