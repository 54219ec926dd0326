"""``Value``: the scalar engine (micrograd's picture), on the same graph and backward pass.

A ``Value`` wraps one Python float. Arithmetic reuses the tensor engine's
``Add``/``Sub``/``Mul``/``Div``/``Neg`` Functions (their formulas hold for
floats too); the others are the ``Scalar*`` Functions of ``ops/scalar.py``, which
compute with ``math``. ``.grad`` is a float
(0.0 until a backward reaches it) on every Value, leaf or not, as in micrograd.

The lean path. ``Function.apply`` serves every op on every kind of node; for the
arithmetic of micrograd's demo (``+ - * / -x``, ``relu``, ``tanh``, ``exp``) on Values and
Python numbers, ``_record`` builds the very node ``apply`` would build (the same Function,
inputs and saved values: graphs, ``viz`` and ``create_graph`` backward see no difference)
with a few slot stores, and ``_LEAN_RULES`` (``Value._lean_rules``) the matching plain backward: float
arithmetic from the node's inputs, no ``Context``. ``tests/test_value_lean.py`` checks both
against the generic path.
"""
from __future__ import annotations

import math

from .engine import _NO_INPUT, _SAVED_INPUTS, Node, _user_frame, next_seq
from .grad_mode import state as _state
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
from .versions import _clock


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

    # -- ops (the lean path where the other operand is a Value or a Python number) ----
    def __add__(self, o):
        t = type(o)
        if t is Value:
            return _record(Add, self._data + o._data, self, o, None)
        if t is float or t is int:
            return _record(Add, self._data + o, self, o, None)
        return Add.apply(self, o)

    def __radd__(self, o):
        if type(o) is float or type(o) is int:
            return _record(Add, o + self._data, o, self, None)
        return Add.apply(o, self)

    def __sub__(self, o):
        t = type(o)
        if t is Value:
            return _record(Sub, self._data - o._data, self, o, None)
        if t is float or t is int:
            return _record(Sub, self._data - o, self, o, None)
        return Sub.apply(self, o)

    def __rsub__(self, o):
        if type(o) is float or type(o) is int:
            return _record(Sub, o - self._data, o, self, None)
        return Sub.apply(o, self)

    def __mul__(self, o):
        t = type(o)
        if t is Value:
            return _record(Mul, self._data * o._data, self, o, _SAVED_INPUTS)
        if t is float or t is int:
            return _record(Mul, self._data * o, self, o, (self._data, o))
        return Mul.apply(self, o)

    def __rmul__(self, o):
        if type(o) is float or type(o) is int:
            return _record(Mul, o * self._data, o, self, (o, self._data))
        return Mul.apply(o, self)

    def __truediv__(self, o):
        t = type(o)
        if (t is Value and o._data != 0) or ((t is float or t is int) and o != 0):
            b = o._data if t is Value else o
            saved = _SAVED_INPUTS if t is Value else (self._data, o)
            return _record(Div, self._data / b, self, o, saved)
        return Div.apply(self, o)  # division by zero: the generic op says what happens

    def __rtruediv__(self, o): return Div.apply(o, self)
    def __pow__(self, o): return ScalarPow.apply(self, o)
    def __rpow__(self, o): return ScalarPow.apply(o, self)

    def __neg__(self):
        return _record(Neg, -self._data, self, _NO_INPUT, None)

    def __abs__(self): return ScalarAbs.apply(self)

    def exp(self): return ScalarExp.apply(self)
    def log(self): return ScalarLog.apply(self)

    def tanh(self):
        out = math.tanh(self._data)
        return _record(ScalarTanh, out, self, _NO_INPUT, (out,))

    def sigmoid(self): return ScalarSigmoid.apply(self)

    def relu(self):
        a = self._data
        return _record(ScalarReLU, a if a > 0 else 0.0, self, _NO_INPUT, (a,))

    def leaky_relu(self, negative_slope=0.01): return ScalarLeakyReLU.apply(self, negative_slope)
    def elu(self, alpha=1.0): return ScalarELU.apply(self, alpha)
    def abs(self): return ScalarAbs.apply(self)


Value._result_type = Value


# -- the lean path (see the module docstring) ---------------------------------------------
_new = object.__new__


def _record(fn, data: float, a, b, saved) -> Value:
    """The node ``fn.apply(a, b)`` would make (``b`` is ``_NO_INPUT`` for a one-input op):
    output ``data``, what ``fn.forward`` saves as ``saved``; a plain Value when no input
    requires grad or recording is off."""
    state = _state
    if not (state.enabled and ((type(a) is Value and a.requires_grad)
                               or (type(b) is Value and b.requires_grad))):
        return Value._from_op(data)
    out = _new(Value)
    out._data = data
    out._grad = 0.0
    out._counter = None
    out._epoch = _clock[0]
    out.requires_grad = True
    out.name = None
    out.scope = state.scope
    out._hooks = None
    out._retains_grad = True
    out._seq = next_seq()
    out._fn = fn
    out._saved = saved
    out._attrs = {"_trace": _user_frame()} if state.anomaly else None
    out._in0 = a
    out._in1 = b
    out._in_rest = ()
    return out


def _saved_pair(node: Node) -> tuple:
    """The raw values ``fn.forward`` saved for a two-input op (``_SAVED_INPUTS``: the inputs
    as they are now, as the generic backward reads them)."""
    saved = node._saved
    return (node._in0._data, node._in1._data) if saved is _SAVED_INPUTS else saved


def _mul_grads(node, g):
    a, b = _saved_pair(node)
    return g * b, g * a


def _div_grads(node, g):
    a, b = _saved_pair(node)
    return g / b, -g * a / (b * b)


_LEAN_RULES = {
    Add: lambda node, g: (g, g),
    Sub: lambda node, g: (g, -g),
    Mul: _mul_grads,
    Div: _div_grads,
    Neg: lambda node, g: (-g,),
    ScalarReLU: lambda node, g: (g * (node._saved[0] > 0),),
    ScalarTanh: lambda node, g: (g * (1.0 - node._saved[0] * node._saved[0]),),
}
Value._lean_rules = _LEAN_RULES
