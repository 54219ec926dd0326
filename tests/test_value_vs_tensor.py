"""The scalar engine (``tg.Value``) and the tensor engine (0-d float64 ``tg.Tensor``) agree.

Hypothesis builds random scalar expressions from the ops both engines share
(+ - * / ** with numbers or nodes on either side, neg, exp, log, tanh,
sigmoid, relu, leaky_relu, elu, abs); each is evaluated on Values and on 0-d
Tensors, and the results and the gradients of every variable must match.
Separate tests pin each Value op's gradient to its closed form, and check
that the expressions exercise every ``Scalar*`` Function the registry leaves
to this file (``registry.EXTERNALLY_TESTED``).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck, gradgradcheck, registry
from tinygrad_cs.testing.strategies import floats

N_VARS = 3

UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "leaky_relu": lambda x: x.leaky_relu(0.1),
    "elu": lambda x: x.elu(0.7),
    "abs": lambda x: abs(x),
}
BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b,
}


class Invalid(Exception):
    """The expression leaves the ops' domains (log of <= 0, division by ~0, overflow)."""


def _check(x, what: str):
    v = float(tg.graph.raw_value(x))
    if not math.isfinite(v) or abs(v) > 1e6:
        raise Invalid(what)
    return x


def evaluate(expr, env, strict: bool = True):
    """Evaluate an expression tree on the given variables (Values or Tensors).

    Trees: ("var", i) | ("const", c) | (op, child) | (op, left, right); a
    constant operand makes the node a Python-number (possibly reflected) operation.
    ``strict`` raises ``Invalid`` near domain edges (turned off for the small
    perturbations of a gradient check around an already accepted point).
    """
    if not strict:
        return _evaluate(expr, env)
    kind = expr[0]
    if kind == "var":
        return env[expr[1]]
    if kind == "const":
        return expr[1]
    if len(expr) == 2:
        x = evaluate(expr[1], env)
        if expr[0] == "log" and _raw(x) < 1e-3:
            raise Invalid("log domain")
        if isinstance(x, (int, float)):  # a constant subtree: Python floats lack .exp()
            raise Invalid("constant operand")
        return _check(UNARY[expr[0]](x), expr[0])
    a, b = evaluate(expr[1], env), evaluate(expr[2], env)
    if expr[0] == "/" and abs(_raw(b)) < 1e-2:
        raise Invalid("division by ~0")
    if expr[0] == "**" and (_raw(a) < 1e-2 or abs(_raw(b)) > 4):
        raise Invalid("pow domain")
    try:
        return _check(BINARY[expr[0]](a, b), expr[0])
    except (ZeroDivisionError, OverflowError, ValueError) as e:
        raise Invalid(str(e)) from None


def _evaluate(expr, env):
    if expr[0] == "var":
        return env[expr[1]]
    if expr[0] == "const":
        return expr[1]
    if len(expr) == 2:
        return UNARY[expr[0]](_evaluate(expr[1], env))
    return BINARY[expr[0]](_evaluate(expr[1], env), _evaluate(expr[2], env))


def _raw(x) -> float:
    return float(tg.graph.raw_value(x))


leaves = st.one_of(st.tuples(st.just("var"), st.integers(0, N_VARS - 1)),
                   st.tuples(st.just("const"), floats(-3.0, 3.0)))


def _extend(children):
    nodes = children.filter(lambda e: e[0] != "const")  # unary ops need a node operand
    return st.one_of(st.tuples(st.sampled_from(sorted(UNARY)), nodes),
                     st.tuples(st.sampled_from(sorted(BINARY)), children, children))


expressions = st.recursive(leaves, _extend, max_leaves=8)
variables = st.lists(floats(-2.0, 2.0), min_size=N_VARS, max_size=N_VARS)


def _run_both(expr, xs):
    values = [tg.Value(x) for x in xs]
    tensors = [tg.tensor(np.float64(x), requires_grad=True) for x in xs]
    try:
        out_v = evaluate(expr, values)
        out_t = evaluate(expr, tensors)
    except Invalid:
        assume(False)
    assume(isinstance(out_v, tg.Value))  # at least one variable took part
    return values, tensors, out_v, out_t


@given(expr=expressions, xs=variables)
def test_value_and_tensor_agree_on_value_and_gradients(expr, xs):
    values, tensors, out_v, out_t = _run_both(expr, xs)
    assert isinstance(out_t, tg.Tensor) and out_t.shape == () and out_t.dtype == np.float64
    assert out_t.item() == pytest.approx(out_v.data, rel=1e-9, abs=1e-12)
    out_v.backward()
    out_t.backward()
    for i, (v, t) in enumerate(zip(values, tensors)):
        tensor_grad = 0.0 if t.grad is None else t.grad.item()
        scale = max(1.0, abs(v.grad))
        assert tensor_grad == pytest.approx(v.grad, rel=1e-7, abs=1e-9 * scale), f"d/dx{i}"


@given(expr=expressions, xs=variables)
def test_value_expressions_pass_gradcheck(expr, xs):
    _, _, out_v, _ = _run_both(expr, xs)
    used = [n for n in tg.Graph(out_v).leaves if n.requires_grad]
    assume(used)
    # kinks (relu, abs, ...) are not avoided here: keep the expression smooth near xs
    for node in tg.Graph(out_v).nodes:
        if node.op in ("ReLU", "LeakyReLU", "ELU", "Abs"):
            assume(abs(_raw(node.parents[0])) > 1e-3)

    def fn(*leaves):
        return evaluate(expr, list(leaves), strict=False)

    leaves = [tg.Value(x) for x in xs]
    assert gradcheck(fn, tuple(leaves), atol=1e-4, rtol=1e-3)


# -- each Value op against its closed-form derivative --------------------------------------
CLOSED_FORMS = {
    # name: (f on Values/Tensors, x, df/dx at x)
    "exp": (lambda x: x.exp(), 0.7, math.exp(0.7)),
    "log": (lambda x: x.log(), 0.7, 1 / 0.7),
    "tanh": (lambda x: x.tanh(), 0.7, 1 - math.tanh(0.7) ** 2),
    "sigmoid": (lambda x: x.sigmoid(), 0.7, math.exp(-0.7) / (1 + math.exp(-0.7)) ** 2),
    "relu+": (lambda x: x.relu(), 0.7, 1.0),
    "relu-": (lambda x: x.relu(), -0.7, 0.0),
    "leaky_relu-": (lambda x: x.leaky_relu(0.2), -0.7, 0.2),
    "elu-": (lambda x: x.elu(1.5), -0.7, 1.5 * math.exp(-0.7)),
    "elu+": (lambda x: x.elu(1.5), 0.7, 1.0),
    "abs-": (lambda x: abs(x), -0.7, -1.0),
    "pow const": (lambda x: x ** 3, 0.7, 3 * 0.7 ** 2),
    "rpow": (lambda x: 2.0 ** x, 0.7, math.log(2) * 2 ** 0.7),
    "pow self": (lambda x: x ** x, 0.7, 0.7 ** 0.7 * (math.log(0.7) + 1)),
    "div": (lambda x: x / (x * x + 1), 0.7, (1 - 0.7 ** 2) / (0.7 ** 2 + 1) ** 2),
    "rdiv": (lambda x: 3.0 / x, 0.7, -3.0 / 0.7 ** 2),
    "rsub": (lambda x: 3.0 - x, 0.7, -1.0),
    "radd rmul": (lambda x: 2.0 * x + 1.0, 0.7, 2.0),
    "neg": (lambda x: -x, 0.7, -1.0),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_value_and_tensor_gradients_match_closed_forms(name):
    f, x0, expected = CLOSED_FORMS[name]
    v = tg.Value(x0)
    t = tg.tensor(np.float64(x0), requires_grad=True)
    f(v).backward()
    f(t).backward()
    assert v.grad == pytest.approx(expected, rel=1e-12)
    assert t.grad.item() == pytest.approx(expected, rel=1e-12)


def test_pow_with_value_exponent_gradients():
    a, b = tg.Value(1.7), tg.Value(-0.4)
    ta, tb = (tg.tensor(np.float64(x), requires_grad=True) for x in (1.7, -0.4))
    (a ** b).backward()
    (ta ** tb).backward()
    assert a.grad == pytest.approx(-0.4 * 1.7 ** -1.4, rel=1e-12)
    assert b.grad == pytest.approx(1.7 ** -0.4 * math.log(1.7), rel=1e-12)
    assert (ta.grad.item(), tb.grad.item()) == pytest.approx((a.grad, b.grad), rel=1e-12)


def test_expressions_exercise_every_scalar_function_left_to_this_file():
    x, y = tg.Value(0.6), tg.Value(-0.3)
    exprs = [evaluate((op, ("var", 0)), [x, y]) for op in UNARY] + [x ** y, 2.0 ** x]
    used = {f"{n.grad_fn.fn.__module__}.{n.grad_fn.fn.__qualname__}"
            for e in exprs for n in tg.Graph(e).nodes if not n.is_leaf}
    scalar_functions = {k for k in registry.EXTERNALLY_TESTED if k.startswith("tinygrad_cs.ops.scalar.")}
    assert scalar_functions and scalar_functions <= used, scalar_functions - used


def test_gradgradcheck_on_value_expression_matches_closed_form_second_derivative():
    # f(x) = x**3 tanh(x): gradgradcheck compares the engine's d2f against finite differences
    x = tg.Value(0.8)
    assert gradgradcheck(lambda x: x ** 3 * x.tanh(), (x,))
    (g,) = tg.grad(x ** 3 * x.tanh(), x, create_graph=True)
    (h,) = tg.grad(g, x)
    th = math.tanh(0.8)
    expected = 6 * 0.8 * th + 6 * 0.8 ** 2 * (1 - th ** 2) - 2 * 0.8 ** 3 * th * (1 - th ** 2)
    assert h == pytest.approx(expected, rel=1e-10)


class Softsign(tg.Function):
    """A user op on both engines: out = a / (1 + |a|);  da = g / (1 + |a|)**2."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a / (1.0 + abs(a))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / ((1.0 + abs(a)) * (1.0 + abs(a)))


@pytest.mark.parametrize("x0", [-1.3, 0.4, 2.5])
def test_user_function_on_values_and_tensors(x0):
    v = tg.Value(x0)
    t = tg.tensor(np.float64(x0), requires_grad=True)
    Softsign.apply(v).backward()
    Softsign.apply(t).backward()
    expected = 1.0 / (1.0 + abs(x0)) ** 2
    assert v.grad == pytest.approx(expected, rel=1e-12)
    assert t.grad.item() == pytest.approx(expected, rel=1e-12)
    assert gradcheck(Softsign.apply, (tg.Value(x0),))
    assert gradcheck(Softsign.apply, (tg.tensor(np.float64(x0), requires_grad=True),))
