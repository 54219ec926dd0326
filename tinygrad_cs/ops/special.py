"""The error function and the Gaussian error linear unit (Hendrycks & Gimpel, 2016).

    erf(x)  = 2 / sqrt(pi) * integral_0^x exp(-t^2) dt;       d/dx erf(x) = 2 / sqrt(pi) exp(-x^2)
    GELU(x) = x * Phi(x),   Phi(x) = (1 + erf(x / sqrt(2))) / 2  (the standard normal CDF)
            d/dx GELU(x) = Phi(x) + x * phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

``approximate='tanh'`` replaces Phi by (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3):
    d/dx = (1 + tanh(u)) / 2 + x / 2 * (1 - tanh(u)^2) * sqrt(2/pi) (1 + 3 * 0.044715 x^2).

``erf`` of an array is the Numba loop of ``kernels/erf.py``.

Both backward formulas are written with the engine's ops (``erf`` itself included), so
second derivatives work (``create_graph=True``).

Like PyTorch's, Phi is computed as (1 + erf) / 2, so for x < -3 GELU and its derivative
have an absolute error of about float32's epsilon times |x|, not a relative one (the same
numbers as PyTorch's). Beyond |x| ~ 1e13 (float32) x^2 and x^3 overflow to inf, harmlessly
(exp(-inf) = 0, tanh(inf) = 1), so numpy's overflow warnings are silenced; the tanh form's
derivative is then 0 * inf = NaN, as PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import Function
from ..kernels.erf import erf_array
from .elementwise import exp, tanh

__all__ = ["erf", "gelu"]


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_K0 = math.sqrt(2.0 / math.pi)  # tanh form: u = K0 * (x + K1 x^3)
_K1 = 0.044715


class Erf(Function):
    """out = erf(x);  dx = g * 2 / sqrt(pi) * exp(-x^2)."""

    name = "Erf"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (_TWO_OVER_SQRT_PI * exp(-(x * x)))


class GELUFn(Function):
    """out = x * Phi(x) (``approximate='none'``) or its tanh approximation; see the module
    docstring for both derivatives."""

    name = "GELU"

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            with np.errstate(over="ignore"):
                return 0.5 * x * (1.0 + np.tanh(_K0 * (x + _K1 * x * x * x)))
        return 0.5 * x * (1.0 + erf_array(x * _SQRT_HALF))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with np.errstate(over="ignore", invalid="ignore"):  # |x| > 1e13: see the docstring
            return grad * _gelu_slope(x, ctx.approximate)


def _gelu_slope(x, approximate):
    """d GELU / dx, with the engine's ops (so it is differentiable again)."""
    if approximate == "tanh":
        x2 = x * x
        t = tanh(_K0 * (x + _K1 * x2 * x))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _K0 * (1.0 + 3.0 * _K1 * x2)
    cdf = 0.5 * (1.0 + erf(x * _SQRT_HALF))
    return cdf + x * (_INV_SQRT_2PI * exp(-0.5 * (x * x)))


def erf(input: Any) -> Any:
    """The error function, elementwise (``torch.erf``); works on Tensors and numpy arrays."""
    return Erf.apply(input)


def gelu(input: Any, approximate: str = "none") -> Any:
    """GELU(x) = x * Phi(x), elementwise; ``approximate='tanh'`` for the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUFn.apply(input, approximate)
