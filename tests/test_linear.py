"""``linear`` (fused x W^T + b) and ``matmul`` through BLAS: values, gradients, errors.

Oracles: numpy einsum for the forward, closed-form gradients (dx = g W, dW = G^T X,
db = sum G), float64 central differences (gradcheck / gradgradcheck), and PyTorch's
``F.linear`` when installed.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.ops.linalg import linear, matmul
from tinygrad_cs.testing import gradcheck, gradgradcheck
from tinygrad_cs.testing.strategies import arrays, floats

try:
    import torch
except ImportError:  # pragma: no cover - optional oracle
    torch = None


@st.composite
def linear_case(draw, dtype=np.float64):
    """(x (*, in), w (out, in), b (out,) or None) with 0-2 leading dims."""
    lead = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 2))))
    n_in, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    el = floats(-2.0, 2.0)
    x = draw(arrays(lead + (n_in,), dtype=dtype, elements=el))
    w = draw(arrays((n_out, n_in), dtype=dtype, elements=el))
    b = draw(arrays((n_out,), dtype=dtype, elements=el)) if draw(st.booleans()) else None
    return x, w, b


def _closed_form(x, w, b, g):
    out = np.einsum("...i,oi->...o", x, w) + (0 if b is None else b)
    g2, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
    return out, g @ w, g2.T @ x2, g2.sum(axis=0)


@given(case=linear_case(), dtype=st.sampled_from([np.float32, np.float64]), data=st.data())
def test_linear_matches_closed_form(case, dtype, data):
    x, w, b = (None if a is None else a.astype(dtype) for a in case)
    out_shape = x.shape[:-1] + (w.shape[0],)
    g = data.draw(arrays(out_shape, dtype=dtype, elements=floats(-2.0, 2.0)))
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    bt = None if b is None else tg.Tensor(b, requires_grad=True)
    before = x.copy()
    y = linear(xt, wt, bt)
    y.backward(g)
    out, gx, gw, gb = _closed_form(x, w, b, g)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    assert y.shape == out_shape and y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), out, **tol)
    np.testing.assert_allclose(xt.grad.numpy(), gx, **tol)
    np.testing.assert_allclose(wt.grad.numpy(), gw, **tol)
    if b is not None:
        np.testing.assert_allclose(bt.grad.numpy(), gb, **tol)
    np.testing.assert_array_equal(x, before)  # the in-place bias add never touches inputs


@given(case=linear_case())
def test_linear_gradients_first_and_second_order(case):
    x, w, b = case
    inputs = tuple(tg.Tensor(a, requires_grad=True) for a in (x, w) + ((b,) if b is not None
                                                                         else ()))
    assert gradcheck(linear, inputs)
    assert gradgradcheck(linear, inputs)


def test_linear_on_raw_arrays_and_without_grad():
    x, w, b = np.ones((2, 3)), np.full((4, 3), 0.5), np.arange(4.0)
    expected = np.tile(1.5 + np.arange(4.0), (2, 1))
    np.testing.assert_allclose(linear(x, w, b), expected)
    out = linear(tg.tensor(x), tg.tensor(w), tg.tensor(b))
    assert isinstance(out, tg.Tensor) and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), expected)


def test_linear_promotes_a_wider_bias():
    y = linear(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), np.full(4, 0.1))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, np.full((2, 4), 3.1))


@pytest.mark.parametrize("x_shape, w_shape, b_shape", [
    ((2, 3), (4, 5), None), ((2, 3), (4, 3), (3,)), ((), (4, 3), None), ((2, 3), (3,), None)])
def test_linear_rejects_mismatched_shapes(x_shape, w_shape, b_shape):
    b = None if b_shape is None else tg.zeros(b_shape)
    with pytest.raises(RuntimeError, match=r"linear: input .* do not fit"):
        linear(tg.zeros(x_shape), tg.zeros(w_shape), b)


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@given(case=linear_case())
def test_linear_matches_pytorch(case):
    x, w, b = case
    ours = [tg.Tensor(a, requires_grad=True) for a in (x, w) + ((b,) if b is not None else ())]
    theirs = [torch.tensor(np.ascontiguousarray(a), requires_grad=True)
              for a in (x, w) + ((b,) if b is not None else ())]
    y, ty = linear(*ours), torch.nn.functional.linear(*theirs)
    g = np.cos(np.arange(y.numpy().size)).reshape(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, ta in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_matmul_2d_fast_backward_equals_the_general_formula():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    g = rng.standard_normal((3, 5))
    at, bt = tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)
    matmul(at, bt).backward(g)
    np.testing.assert_allclose(at.grad.numpy(), g @ b.T, rtol=1e-13)
    np.testing.assert_allclose(bt.grad.numpy(), a.T @ g, rtol=1e-13)
    # only one side requires grad: the other gets none, and nothing breaks
    ct = tg.Tensor(b, requires_grad=True)
    matmul(a, ct).backward(g)
    np.testing.assert_allclose(ct.grad.numpy(), a.T @ g, rtol=1e-13)


def test_matmul_second_order_through_the_2d_path():
    rng = np.random.default_rng(1)
    a = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert gradgradcheck(matmul, (a, b))
