"""tg.testing.gradcheck / gradgradcheck: they pass on right gradients, catch wrong ones,
report the CS231n relative error, and work on user Functions, Values and whole models."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.testing import (
    GradcheckError,
    GradcheckResult,
    gradcheck,
    gradgradcheck,
    relative_error,
)


def _raw(x):
    return tg.graph.raw_value(x)


def t64(data, requires_grad=True):
    return tg.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


# -- user-defined Functions: one right, two wrong in known ways -----------------------------
class Swish(tg.Function):
    """out = x sigmoid(x);  dx = g (s + x s (1 - s)), written in ops: twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1.0 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = tg.sigmoid(x)
        return grad * (s + x * s * (1.0 - s))


class WrongCube(tg.Function):
    """out = x**3 with a wrong derivative 2x instead of 3x**2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2.0 * x


class FrozenSquare(tg.Function):
    """out = x**2; backward right to first order but built from raw data (not a node),
    so its own derivative is lost: gradcheck passes, gradgradcheck must fail."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2.0 * _raw(x))


class MulAdd(tg.Function):
    """Two inputs, broadcasting: out = a * b + b;  da = g b, db = g (a + 1)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b + b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * (a + 1.0)


# -- the relative error -------------------------------------------------------------------
def test_relative_error_is_the_cs231n_formula():
    a = np.array([1.0, 0.0, 2.0, 1e-9, -3.0])
    n = np.array([1.1, 0.0, -2.0, 0.0, -3.0])
    np.testing.assert_allclose(relative_error(a, n), [0.1 / 1.1, 0.0, 2.0, 1.0, 0.0])
    # with a floor, entries where both are tiny count as agreement
    np.testing.assert_allclose(relative_error(a, n, floor=1e-6), [0.1 / 1.1, 0.0, 2.0, 0.0, 0.0])


# -- passing checks -------------------------------------------------------------------------
def test_gradcheck_passes_on_a_linear_map_and_is_truthy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 3))
    x = t64(rng.standard_normal(3))
    result = gradcheck(lambda x: tg.matmul(tg.tensor(A), x), (x,))
    assert isinstance(result, GradcheckResult) and result.ok and bool(result)
    assert set(result.rel_errors) == {0}
    assert result.max_rel_error < 1e-6  # linear: central differences are exact up to rounding
    assert "gradcheck passed" in str(result) and "input 0 (shape (3,))" in str(result)


def test_user_function_passes_gradcheck_and_gradgradcheck():
    x = t64(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(Swish.apply(x).numpy(), x.numpy() / (1 + np.exp(-x.numpy())))
    assert gradcheck(Swish.apply, (x,))
    assert gradgradcheck(Swish.apply, (x,))


def test_user_function_with_two_broadcast_inputs():
    a = t64(np.arange(6.0).reshape(2, 3) / 3)
    b = t64([0.5, -1.0, 2.0])
    result = gradcheck(MulAdd.apply, (a, b))
    assert result.ok and set(result.rel_errors) == {0, 1}
    assert gradgradcheck(MulAdd.apply, (a, b))


def test_inputs_without_requires_grad_and_non_tensor_arguments_are_passed_through():
    a = t64([1.0, 2.0])
    const = t64([3.0, 4.0], requires_grad=False)
    result = gradcheck(lambda a, c, k: (a * c) ** k, (a, const, 2))
    assert result.ok and set(result.rel_errors) == {0}


def test_tuple_outputs_and_integer_outputs():
    x = t64([[1.0, 5.0, 2.0], [7.0, 3.0, 4.0]])
    assert gradcheck(lambda x: (x.exp(), x.sum(dim=0)), (x,))
    # max(dim) returns (values, int64 indices): the indices are ignored
    assert gradcheck(lambda x: tuple(tg.max(x, dim=1)), (x,))


def test_values_are_checked_as_float64_scalars():
    a, b = tg.Value(0.3), tg.Value(-1.2)
    assert gradcheck(lambda a, b: a * b + a.tanh() / (b ** 2) - (a - b).exp(), (a, b))
    assert gradgradcheck(lambda a, b: a * b + a.tanh() * b.sigmoid(), (a, b))


def test_read_only_and_non_contiguous_inputs_are_restored():
    base = np.arange(12.0).reshape(3, 4) / 10
    views = [np.broadcast_to(np.array([0.5, -1.0, 2.0]), (2, 3)),  # read-only, stride 0
             base.T, base[:, ::2]]
    for data in views:
        x = tg.Tensor(data, requires_grad=True)
        assert gradcheck(lambda x: (x * x).sum(dim=0), (x,))
        assert x.numpy() is data  # the original array is back in place, unmodified
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4) / 10)


def test_whole_model_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(1)
    X = tg.tensor(rng.standard_normal((5, 3)))
    y = np.array([0, 2, 1, 1, 0])
    W1, b1 = t64(rng.standard_normal((3, 4)) * 0.5), t64(np.zeros(4) + 0.1)
    W2, b2 = t64(rng.standard_normal((4, 3)) * 0.5), t64(np.zeros(3))

    def loss(W1, b1, W2, b2):
        h = (X @ W1 + b1).tanh()
        logp = tg.log_softmax(h @ W2 + b2, dim=1)
        return -logp[np.arange(5), y].mean()

    result = gradcheck(loss, (W1, b1, W2, b2))
    assert result.ok and set(result.rel_errors) == {0, 1, 2, 3}
    assert gradgradcheck(loss, (W1, b1, W2, b2))


def test_gradgradcheck_with_explicit_grad_outputs():
    x = t64([0.2, -0.7, 1.5])
    v = t64([1.0, -2.0, 0.5])
    result = gradgradcheck(lambda x: x.sin() * x, (x,), grad_outputs=(v,))
    assert result.ok and set(result.rel_errors) == {0, 1}
    assert "grad_outputs[0] (shape (3,))" in str(result)
    fixed = t64([1.0, -2.0, 0.5], requires_grad=False)
    assert set(gradgradcheck(lambda x: x.sin() * x, (x,), grad_outputs=(fixed,)).rel_errors) == {0}


# -- failing checks: caught and reported -----------------------------------------------------
def test_wrong_backward_is_caught_with_the_relative_error():
    x = t64([2.0])
    result = gradcheck(WrongCube.apply, (x,), raise_exception=False)
    assert not result and not result.ok
    report = result.inputs[0]
    elem, out, analytic, numeric = report.worst
    assert (elem, out) == ((0,), 0)
    assert analytic == pytest.approx(4.0) and numeric == pytest.approx(12.0, rel=1e-6)
    assert report.max_rel_error == pytest.approx(8.0 / 12.0, rel=1e-6)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(1,\)\): max relative error 0\.667"):
        gradcheck(WrongCube.apply, (x,))


def test_wrong_gradient_of_one_input_names_that_input():
    class BadSecond(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a * 1.1

    a, b = t64([1.0, 2.0]), t64([3.0, -1.0])
    result = gradcheck(BadSecond.apply, (a, b), raise_exception=False)
    assert result.inputs[0].ok and not result.inputs[1].ok
    assert result.rel_errors[1] == pytest.approx(0.1 / 1.1, rel=1e-6)
    with pytest.raises(GradcheckError) as info:
        gradcheck(BadSecond.apply, (a, b))
    assert info.value.result.rel_errors == result.rel_errors


def test_first_order_right_second_order_wrong_is_caught_by_gradgradcheck_only():
    x = t64([0.5, -1.5])
    assert gradcheck(FrozenSquare.apply, (x,))
    result = gradgradcheck(FrozenSquare.apply, (x,), raise_exception=False)
    assert not result and result.check == "gradgradcheck"
    # d/dx of (2 x v) is 2 v; the frozen backward reports 0 -> relative error 1
    assert result.rel_errors[0] == pytest.approx(1.0)
    with pytest.raises(GradcheckError, match="gradgradcheck FAILED"):
        gradgradcheck(FrozenSquare.apply, (x,))


def test_tolerances_decide_pass_or_fail():
    x = t64([2.0])
    # rel error 0.667 fails at rtol 0.5, passes when rtol covers |a - n| = 8 of |n| = 12
    assert not gradcheck(WrongCube.apply, (x,), rtol=0.5, raise_exception=False)
    assert gradcheck(WrongCube.apply, (x,), rtol=0.7)


# -- bad arguments ------------------------------------------------------------------------------
def test_float32_inputs_are_rejected_naming_the_input():
    a = t64([1.0])
    b = tg.tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"input 1 \(shape \(1,\)\).*float32.*float64"):
        gradcheck(lambda a, b: a * b, (a, b))


def test_nothing_to_check_raises():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda a: a * 2, (t64([1.0], requires_grad=False),))


def test_grad_outputs_must_match_the_outputs():
    x = t64([1.0])
    with pytest.raises(ValueError, match="grad_outputs"):
        gradgradcheck(lambda x: (x * 2, x * 3), (x,), grad_outputs=(t64([1.0]),))
