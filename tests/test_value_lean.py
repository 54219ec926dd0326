"""The lean path of ``Value`` arithmetic builds the very nodes ``Function.apply`` builds, and its
plain backward gives the gradients of the generic ``Function.backward``, bit for bit."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.engine import _FREED
from tinygrad_cs.ops.elementwise import Add, Div, Mul, Neg, Sub
from tinygrad_cs.ops.scalar import ScalarReLU, ScalarTanh
from tinygrad_cs.value import _LEAN_RULES, Value

SLOTS = ("_data", "_fn", "_in0", "_in1", "_in_rest", "_saved", "requires_grad", "_retains_grad",
         "scope", "_grad", "_hooks", "_counter")

# (lean expression, the Function.apply call it must equal)
CASES = {
    "v+w": (lambda v, w: v + w, lambda v, w: Add.apply(v, w)),
    "v+2": (lambda v, w: v + 2, lambda v, w: Add.apply(v, 2)),
    "1.5+v": (lambda v, w: 1.5 + v, lambda v, w: Add.apply(1.5, v)),
    "v-w": (lambda v, w: v - w, lambda v, w: Sub.apply(v, w)),
    "v-0.5": (lambda v, w: v - 0.5, lambda v, w: Sub.apply(v, 0.5)),
    "3-v": (lambda v, w: 3 - v, lambda v, w: Sub.apply(3, v)),
    "v*w": (lambda v, w: v * w, lambda v, w: Mul.apply(v, w)),
    "v*3": (lambda v, w: v * 3, lambda v, w: Mul.apply(v, 3)),
    "-2.5*v": (lambda v, w: -2.5 * v, lambda v, w: Mul.apply(-2.5, v)),
    "v/w": (lambda v, w: v / w, lambda v, w: Div.apply(v, w)),
    "v/4": (lambda v, w: v / 4, lambda v, w: Div.apply(v, 4)),
    "-v": (lambda v, w: -v, lambda v, w: Neg.apply(v)),
    "relu": (lambda v, w: v.relu(), lambda v, w: ScalarReLU.apply(v)),
    "tanh": (lambda v, w: v.tanh(), lambda v, w: ScalarTanh.apply(v)),
}

values = st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3)


@pytest.mark.parametrize("name", sorted(CASES))
@given(a=values, b=values)
def test_lean_nodes_equal_the_generic_ones(name, a, b):
    lean, generic = CASES[name]
    v, w = Value(a), Value(b)
    x, y = lean(v, w), generic(v, w)
    for slot in SLOTS:
        assert getattr(x, slot) == getattr(y, slot), slot
    assert x._seq > v._seq and x._attrs is None


@pytest.mark.parametrize("name", sorted(CASES))
@given(a=values, b=values)
def test_lean_backward_equals_the_generic_backward(name, a, b):
    lean, _ = CASES[name]
    v, w = Value(a), Value(b)
    (lean(v, w) * 1.7).backward()
    plain = (v.grad, w.grad)
    v2, w2 = Value(a), Value(b)
    out = lean(v2, w2) * 1.7
    gv, gw = tg.grad(out, [v2, w2], create_graph=True, allow_unused=True)  # Function.backward
    generic = tuple(0.0 if g is None else g.data for g in (gv, gw))
    assert plain == generic


def test_every_lean_rule_is_exercised_and_frees_the_graph():
    assert {c[1].__code__.co_names[0] for c in CASES.values()} >= {f.__name__ for f in _LEAN_RULES}
    v = Value(0.3)
    out = (v * v).tanh()
    out.backward()
    assert out._saved is _FREED
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()


def test_no_grad_constants_and_anomaly():
    v = Value(2.0)
    with tg.no_grad():
        y = v * 3 + 1
    assert y._fn is None and y.data == 7.0
    c = Value(2.0, requires_grad=False)
    assert (c * c)._fn is None
    with tg.detect_anomaly():
        z = v * math.inf - v * math.inf
        with pytest.raises(tg.AnomalyError, match="test_value_lean.py"):
            (z * 1.0).backward()
