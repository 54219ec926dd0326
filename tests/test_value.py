"""The scalar engine: Value ops against closed-form derivatives."""
import math

import pytest

import tinygrad_cs as tg


def test_micrograd_readme_expression():
    # the expression from micrograd's README; its printed results are the oracle
    a, b = tg.Value(-4.0), tg.Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)


POSITIVE_ONLY = {"log", "x**x"}
OPS = {
    "exp": (lambda x: x.exp(), lambda x: math.exp(x)),
    "log": (lambda x: x.log(), lambda x: 1 / x),
    "tanh": (lambda x: x.tanh(), lambda x: 1 - math.tanh(x) ** 2),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
    "relu": (lambda x: x.relu(), lambda x: float(x > 0)),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda x: 1.0 if x > 0 else 0.1),
    "elu": (lambda x: x.elu(0.5), lambda x: 1.0 if x > 0 else 0.5 * math.exp(x)),
    "abs": (lambda x: abs(x), lambda x: math.copysign(1.0, x)),
    "x**3": (lambda x: x ** 3, lambda x: 3 * x * x),
    "2**x": (lambda x: 2 ** x, lambda x: math.log(2) * 2 ** x),
    "x**x": (lambda x: x ** x, lambda x: x ** x * (math.log(x) + 1)),
    "1/x": (lambda x: 1 / x, lambda x: -1 / x ** 2),
    "3-x": (lambda x: 3 - x, lambda x: -1.0),
    "-x*2": (lambda x: -x * 2, lambda x: -2.0),
}


POINTS = [(name, x0) for name in sorted(OPS) for x0 in (0.7, 1.9, -0.7, -1.9)
          if x0 > 0 or name not in POSITIVE_ONLY]


@pytest.mark.parametrize("name, x0", POINTS)
def test_derivatives_match_closed_forms(name, x0):
    op, derivative = OPS[name]
    x = tg.Value(x0)
    op(x).backward()
    assert x.grad == pytest.approx(derivative(x0), rel=1e-12)


def test_every_value_keeps_its_grad_and_labels():
    a = tg.Value(3.0, label="a")
    b = a * 2
    b.label = "b"
    c = b + a
    c.backward()
    assert (c.grad, b.grad, a.grad) == (1.0, 1.0, 3.0)
    assert a.label == "a" and b.name == "b"
    assert tg.Graph(c).ops == ["Mul", "Add"]


def test_value_second_derivative():
    x = tg.Value(0.8)
    (g,) = tg.grad(x.tanh() * x, x, create_graph=True)
    (h,) = tg.grad(g, x)
    t = math.tanh(0.8)
    assert g.data == pytest.approx(t + 0.8 * (1 - t * t))
    assert h == pytest.approx(2 * (1 - t * t) - 2 * 0.8 * t * (1 - t * t))


def test_value_refuses_non_numbers():
    with pytest.raises(TypeError, match="Value"):
        tg.Value("abc")
