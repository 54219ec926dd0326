"""Pooling and nearest resampling: Numba kernels against the numpy reference, gradients,
PyTorch parity and errors.

The differential tests draw shapes (batch size 1 included, unbatched input), kernel
sizes larger than the unpadded input, strides larger than the kernel, paddings,
dilations, ceil_mode, float32 and float64, and non-contiguous layouts; max pooling draws
small integers so that windows hold ties (the gradient must go to the first maximum).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cs as tg
from tinygrad_cs.kernels import pool_reference as R
from tinygrad_cs.ops import pool as P
from tinygrad_cs.testing import gradcheck, gradgradcheck
from tinygrad_cs.testing.strategies import layouts, relayout

DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def _input(draw, shape, dtype, ties=False):
    """An array of ``shape``/``dtype`` in a random memory layout (ties: small integers)."""
    elements = (st.integers(-3, 3).map(float) if ties else
                st.floats(-10, 10, allow_nan=False, allow_subnormal=False, width=32))
    a = draw(hnp.arrays(dtype, shape, elements=elements))
    return relayout(a, draw(layouts()))


@st.composite
def _pool_case(draw, dilated):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, ((k - 1) * d + 1) // 2))
                    for k, d in zip(kernel, dilation))
    ceil_mode = draw(st.booleans())
    out = [R.pool_output_size(s, k, st_, p, d, ceil_mode) for s, k, st_, p, d in
           zip((h, w), kernel, stride, padding, dilation)]
    assume(min(out) >= 1)
    return (n, c, h, w), kernel, stride, padding, dilation, ceil_mode


def _forward_backward(fn, x, seed=0):
    """fn's output on ``x`` (a Tensor that requires grad), the upstream g, and x's grad."""
    t = tg.Tensor(x, requires_grad=True)
    out = fn(t)
    values = out[0] if isinstance(out, tuple) else out
    g = np.random.default_rng(seed).standard_normal(values.shape).astype(x.dtype)
    values.backward(tg.Tensor(g))
    return out, g, t.grad.numpy()


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12,
                                                                      "atol": 1e-12}


# -- kernels against the numpy reference ------------------------------------------------
@settings(deadline=None)
@given(data=st.data(), case=_pool_case(dilated=True), dtype=DTYPES, unbatched=st.booleans())
def test_max_pool2d_matches_reference_with_ties(data, case, dtype, unbatched):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    x = data.draw(_input(shape, dtype, ties=True))
    x = x[:1] if unbatched else x
    expected, expected_idx = R.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    (out, idx), g, dx = _forward_backward(
        lambda t: P.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode,
                               return_indices=True), x[0] if unbatched else x)
    assert out.dtype == dtype and idx.dtype == np.int64
    if unbatched:  # compare as a batch of one
        out, idx, g, dx = out[None], idx[None], g[None], dx[None]
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(idx.numpy(), expected_idx)
    np.testing.assert_allclose(dx, R.max_pool2d_backward(g, expected_idx, x.shape),
                               **_tol(dtype))


@settings(deadline=None)
@given(data=st.data(), case=_pool_case(dilated=False), dtype=DTYPES,
       count_include_pad=st.booleans(), divisor=st.sampled_from([None, 1, 2, 7]))
def test_avg_pool2d_matches_reference(data, case, dtype, count_include_pad, divisor):
    shape, kernel, stride, padding, _, ceil_mode = case
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    assume(min(R.pool_output_size(s, k, st_, p, 1, ceil_mode) for s, k, st_, p in
               zip(shape[2:], kernel, stride, padding)) >= 1)
    x = data.draw(_input(shape, dtype))
    out, g, dx = _forward_backward(lambda t: P.avg_pool2d(t, *args), x)
    np.testing.assert_allclose(out.numpy(), R.avg_pool2d(x, *args), **_tol(dtype))
    np.testing.assert_allclose(dx, R.avg_pool2d_backward(g, shape, *args), **_tol(dtype))
    assert out.dtype == dtype


@settings(deadline=None)
@given(data=st.data(), n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 9),
       w=st.integers(1, 9), oh=st.integers(1, 10), ow=st.integers(1, 10), dtype=DTYPES)
def test_adaptive_avg_pool2d_matches_reference(data, n, c, h, w, oh, ow, dtype):
    x = data.draw(_input((n, c, h, w), dtype))
    out, g, dx = _forward_backward(lambda t: P.adaptive_avg_pool2d(t, (oh, ow)), x)
    np.testing.assert_allclose(out.numpy(), R.adaptive_avg_pool2d(x, (oh, ow)), **_tol(dtype))
    np.testing.assert_allclose(dx, R.adaptive_avg_pool2d_backward(g, x.shape), **_tol(dtype))


@settings(deadline=None)
@given(data=st.data(), dims=st.integers(1, 3), dtype=DTYPES, by_size=st.booleans(),
       mode=st.sampled_from(["nearest", "nearest-exact"]))
def test_interpolate_matches_reference(data, dims, dtype, by_size, mode):
    spatial = tuple(data.draw(st.integers(1, 6)) for _ in range(dims))
    x = data.draw(_input((data.draw(st.integers(1, 2)), 2) + spatial, dtype))
    exact = mode == "nearest-exact"
    if by_size:
        size = tuple(data.draw(st.integers(1, 13)) for _ in range(dims))
        sources = [R.nearest_source(n, o, None, exact) for n, o in zip(spatial, size)]
        kwargs = {"size": size}
    else:
        factors = tuple(data.draw(st.sampled_from([0.4, 0.5, 1.0, 1.3, 2.0, 2.7, 3.0]))
                        for _ in range(dims))
        sizes = [int(np.floor(n * f)) for n, f in zip(spatial, factors)]
        assume(min(sizes) >= 1)
        sources = [R.nearest_source(n, o, f, exact) for n, o, f in zip(spatial, sizes, factors)]
        kwargs = {"scale_factor": factors}
    out, g, dx = _forward_backward(lambda t: P.interpolate(t, mode=mode, **kwargs), x)
    np.testing.assert_array_equal(out.numpy(), R.interpolate_nearest(x, sources))
    np.testing.assert_allclose(dx, R.interpolate_nearest_backward(g, sources, x.shape),
                               **_tol(dtype))


def test_benchmark_sized_input_matches_reference():
    x = np.random.default_rng(3).standard_normal((4, 16, 32, 32)).astype(np.float32)
    (out, _), g, dx = _forward_backward(lambda t: P.max_pool2d(t, 2, return_indices=True), x)
    ref, ref_idx = R.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(dx, R.max_pool2d_backward(g, ref_idx, x.shape))
    out, g, dx = _forward_backward(lambda t: P.avg_pool2d(t, 3, 2, 1), x)
    args = ((3, 3), (2, 2), (1, 1), False, True, None)
    np.testing.assert_allclose(out.numpy(), R.avg_pool2d(x, *args), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, R.avg_pool2d_backward(g, x.shape, *args), rtol=1e-5,
                               atol=1e-6)


# -- semantics ----------------------------------------------------------------------------
def test_ties_send_the_gradient_to_the_first_maximum():
    x = tg.ones((1, 1, 3, 3), dtype=tg.float64, requires_grad=True)
    P.max_pool2d(x, 2, stride=1).sum().backward()
    # windows start at (0,0), (0,1), (1,0), (1,1); each picks its top-left element
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_a_window_inside_the_padding_gives_minus_inf_and_no_gradient():
    x = tg.tensor(np.arange(3.0).reshape(1, 1, 1, 3), requires_grad=True)
    out, idx = P.max_pool2d(x, (2, 1), 1, (1, 0), (2, 1), return_indices=True)
    assert np.all(out.numpy() == -np.inf)
    np.testing.assert_array_equal(idx.numpy(), [[[[3, 4, 5]]]])  # PyTorch's (out-of-plane) index
    out.backward(tg.ones(out.shape, dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 1, 1, 3)))


def test_nan_propagates_through_max_pooling():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    out = P.max_pool2d(tg.tensor(x), 2).numpy()
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 1, 1])


def test_outputs_are_fresh_arrays():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    a = P.avg_pool2d(tg.tensor(x), 2).numpy()
    b = P.avg_pool2d(tg.tensor(x), 2).numpy()
    assert not np.shares_memory(a, b) and not np.shares_memory(a, x)


def test_plain_numpy_input_gives_plain_numpy_output():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    out = P.max_pool2d(x, 2)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3, 2, 2)


# -- gradients (float64 central differences) ------------------------------------------------
_rng = np.random.default_rng(7)
GRAD_CASES = {
    "max_pool2d": (lambda x: P.max_pool2d(x, 3, 2, 1, ceil_mode=True),
                   _rng.permutation(2 * 5 * 6).reshape(1, 2, 5, 6) * 0.3),
    "max_pool2d dilated": (lambda x: P.max_pool2d(x, 2, 1, 1, dilation=2),
                           _rng.permutation(30).reshape(1, 1, 5, 6) * 0.3),
    "avg_pool2d": (lambda x: P.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   _rng.standard_normal((2, 1, 5, 4))),
    "avg_pool2d unbatched": (lambda x: P.avg_pool2d(x, (2, 3), 1, (1, 0), divisor_override=4),
                             _rng.standard_normal((2, 3, 4))),
    "adaptive_avg_pool2d": (lambda x: P.adaptive_avg_pool2d(x, (3, None)),
                            _rng.standard_normal((1, 2, 5, 4))),
    "interpolate": (lambda x: P.interpolate(x, scale_factor=(1.5, 0.5)),
                    _rng.standard_normal((1, 2, 3, 4))),
}


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradcheck_and_gradgradcheck_float64(name):
    fn, x = GRAD_CASES[name]
    t = tg.tensor(x, requires_grad=True)
    assert gradcheck(fn, (t,))
    assert gradgradcheck(fn, (t,))


# -- parity with PyTorch ------------------------------------------------------------------
TORCH_CASES = [
    ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("max_pool2d", {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1),
                    "dilation": (2, 1)}),
    ("max_pool2d", {"kernel_size": 2, "return_indices": True}),
    ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}),
    ("avg_pool2d", {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}),
    ("avg_pool2d", {"kernel_size": (2, 3), "padding": (1, 0), "divisor_override": 5}),
    ("adaptive_avg_pool2d", {"output_size": (3, 5)}),
    ("adaptive_avg_pool2d", {"output_size": (None, 4)}),
    ("adaptive_avg_pool2d", {"output_size": 11}),
    ("interpolate", {"size": (14, 5)}),
    ("interpolate", {"scale_factor": 1.7}),
    ("interpolate", {"scale_factor": (2.3, 0.7)}),
    ("interpolate", {"scale_factor": 1.3, "recompute_scale_factor": True}),
    ("interpolate", {"size": (3, 20), "mode": "nearest-exact"}),
]


@pytest.mark.parametrize("op, kwargs", TORCH_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch(op, kwargs, dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 9)).astype(dtype)
    out, g, dx = _forward_backward(lambda t: getattr(P, op)(t, **kwargs), x)
    xt = torch.tensor(x, requires_grad=True)
    ref = getattr(torch.nn.functional, op)(xt, **kwargs)
    if isinstance(ref, tuple):
        np.testing.assert_array_equal(out[1].numpy(), ref[1].numpy())
        out, ref = out[0], ref[0]
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **_tol(dtype))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **_tol(dtype))


@pytest.mark.parametrize("shape, kwargs", [((2, 3, 11), {"scale_factor": 1.6}),
                                            ((1, 2, 3, 4, 5), {"size": (5, 3, 7)})])
def test_interpolate_1d_and_3d_match_pytorch(shape, kwargs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal(shape)
    ref = torch.nn.functional.interpolate(torch.tensor(x), **kwargs).numpy()
    np.testing.assert_array_equal(P.interpolate(tg.tensor(x), **kwargs).numpy(), ref)


# -- errors name the op and the shapes --------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda x: P.max_pool2d(x, 3, padding=2), ValueError, "max_pool2d: pad should be at most"),
    (lambda x: P.avg_pool2d(x, 3, padding=2), ValueError, "avg_pool2d: pad should be at most"),
    (lambda x: P.max_pool2d(x, 7), RuntimeError, r"max_pool2d: input of shape \(1, 2, 5, 5\)"),
    (lambda x: P.avg_pool2d(x, (6, 1)), RuntimeError, "too small"),
    (lambda x: P.max_pool2d(x[0, 0], 2), RuntimeError, r"3D .* or 4D .* got shape \(5, 5\)"),
    (lambda x: P.max_pool2d(x, 0), ValueError, "kernel_size must be positive"),
    (lambda x: P.max_pool2d(x, (2, 2, 2)), TypeError, "kernel_size must be an int or a tuple"),
    (lambda x: P.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda x: P.adaptive_avg_pool2d(x, (0, 2)), ValueError, "adaptive_avg_pool2d"),
    (lambda x: P.interpolate(x), ValueError, "exactly one of size or scale_factor"),
    (lambda x: P.interpolate(x, size=3, scale_factor=2), ValueError, "exactly one"),
    (lambda x: P.interpolate(x, size=3, mode="bilinear"), NotImplementedError, "bilinear"),
    (lambda x: P.interpolate(x, size=3, align_corners=True), ValueError, "align_corners"),
    (lambda x: P.interpolate(x[0, 0], size=3), NotImplementedError, r"got shape \(5, 5\)"),
    (lambda x: P.interpolate(x, size=(2, 2, 2)), TypeError, "size must be"),
    (lambda x: P.max_pool2d(x.astype(np.int64), 2), TypeError, "float32 or float64"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((1, 2, 5, 5)))
