"""``Value``: the scalar engine (micrograd's picture), on the same graph and backward pass.

A ``Value`` wraps one Python float. Arithmetic reuses the tensor engine's
``Add``/``Sub``/``Mul``/``Div``/``Neg`` Functions (their formulas hold for
floats too); the others are the ``Scalar*`` Functions of ``ops/scalar.py``, which
compute with ``math``. ``.grad`` is a float
(0.0 until a backward reaches it) on every Value, leaf or not, as in micrograd.
"""
from __future__ import annotations

from .engine import Node
from .ops.elementwise import Add, Div, Mul, Neg, Sub
from .ops.scalar import (
    ScalarAbs,
    ScalarELU,
    ScalarExp,
    ScalarLeakyReLU,
    ScalarLog,
    ScalarPow,
    ScalarReLU,
    ScalarSigmoid,
    ScalarTanh,
)


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
