"""``Value``: the scalar engine (micrograd's picture), on the same graph and backward pass.

A ``Value`` wraps one Python float. Arithmetic reuses the tensor engine's
``Add``/``Sub``/``Mul``/``Div``/``Neg`` Functions (their formulas hold for
floats too); the ops below compute with ``math`` and, where the tensor op's
backward is plain arithmetic, inherit it. ``.grad`` is a float
(0.0 until a backward reaches it) on every Value, leaf or not, as in micrograd.
"""
from __future__ import annotations

import math

from .engine import Function, Node
from .ops.elementwise import Add, Div, Exp, Log, Mul, Neg, ReLU, Sigmoid, Sub, Tanh


def _raw(x):
    return x._data if isinstance(x, Node) else x


class Value(Node):
    """A scalar node: ``Value(2.0, label="a")``; every Value takes part in the graph."""

    __slots__ = ()

    def __init__(self, data, label: str | None = None, requires_grad: bool = True) -> None:
        if isinstance(data, Node):
            data = data._data
        try:
            data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value: data must be a real number, got {data!r}") from None
        self._init_leaf(data, requires_grad, label)

    @property
    def data(self) -> float:
        """The value, a Python float (micrograd's ``.data``; assignable)."""
        return self._data

    @data.setter
    def data(self, value: float) -> None:
        self._data = float(value)

    @property
    def grad(self):
        """d(output)/d(self) after ``backward()``: a float (a Value with ``create_graph``)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value

    @property
    def label(self) -> str | None:
        """The node's label (same as ``name``)."""
        return self.name

    @label.setter
    def label(self, value: str | None) -> None:
        self.name = value

    # -- engine protocol -------------------------------------------------------
    _grad_init = 0.0
    _retain_default = True  # micrograd's picture: every Value shows its grad

    def _wrap_grad(self, grad):
        return grad if isinstance(grad, Node) else float(grad)

    def _fit_seed(self, gradient):
        return float(gradient)

    def _accumulate(self, grad):
        self._grad = self._grad + grad

    def _ones_like(self):
        return 1.0

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def dtype(self) -> str:
        return "float"

    def zero_grad(self) -> None:
        self._grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self._data:.4g}, grad={_raw(self._grad):.4g})"

    __hash__ = Node.__hash__

    # -- ops -------------------------------------------------------------------------
    def __add__(self, o): return Add.apply(self, o)
    def __radd__(self, o): return Add.apply(o, self)
    def __sub__(self, o): return Sub.apply(self, o)
    def __rsub__(self, o): return Sub.apply(o, self)
    def __mul__(self, o): return Mul.apply(self, o)
    def __rmul__(self, o): return Mul.apply(o, self)
    def __truediv__(self, o): return Div.apply(self, o)
    def __rtruediv__(self, o): return Div.apply(o, self)
    def __pow__(self, o): return ScalarPow.apply(self, o)
    def __rpow__(self, o): return ScalarPow.apply(o, self)
    def __neg__(self): return Neg.apply(self)
    def __abs__(self): return ScalarAbs.apply(self)

    def exp(self): return ScalarExp.apply(self)
    def log(self): return ScalarLog.apply(self)
    def tanh(self): return ScalarTanh.apply(self)
    def sigmoid(self): return ScalarSigmoid.apply(self)
    def relu(self): return ScalarReLU.apply(self)
    def leaky_relu(self, negative_slope=0.01): return ScalarLeakyReLU.apply(self, negative_slope)
    def elu(self, alpha=1.0): return ScalarELU.apply(self, alpha)
    def abs(self): return ScalarAbs.apply(self)


Value._result_type = Value

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


class ScalarTanh(Tanh):
    """out = tanh a with ``math``; backward as the tensor op's."""
    name = "Tanh"

    @staticmethod
    def forward(ctx, a):
        out = math.tanh(a)
        ctx.save_for_backward(out)
        return out


class ScalarSigmoid(Sigmoid):
    """out = 1 / (1 + e**-a), as e**-|a| / (1 + e**-|a|) for a < 0 (exact in both tails,
    no overflow); backward as the tensor op's."""
    name = "Sigmoid"

    @staticmethod
    def forward(ctx, a):
        e = math.exp(-abs(a))
        out = 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
        ctx.save_for_backward(out)
        return out


class ScalarReLU(ReLU):
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
