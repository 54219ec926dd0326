"""The direct 3x3 stride-1 'same' convolution path (``kernels/conv_direct3x3``).

Forward, input, weight and bias gradients through ``conv_compute`` with the path forced
on, against the numpy reference (``conv_reference``) in float64 (to rounding) and float32;
odd sizes, 1x1 planes, batch 1, odd channel counts (the padded pair), non-contiguous
inputs, tall chunks of one image or many; bit-identical reruns and thread counts; the
routing rule; and ``nn.Conv2d`` against PyTorch.
"""
from __future__ import annotations

import contextlib

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.kernels import conv_compute as cc
from tinygrad_cs.kernels import conv_direct3x3 as d3
from tinygrad_cs.kernels import conv_reference as R
from tinygrad_cs.testing.strategies import layouts, relayout

SAME = cc.Geometry(1, 1, 1, 1, 1, 1, 1, 1, 1)
PADS = (1, 1, 1, 1)


@contextlib.contextmanager
def direct_on(chunk: tuple | None = None):
    """Route every eligible shape to the direct path; ``chunk`` = (CHUNK_BYTES,
    GEMM_COLUMNS) resizes its chunks of images and its weight-gradient GEMMs."""
    saved = cc.DIRECT3X3_MAX_PAIRS, d3.CHUNK_BYTES, d3.GEMM_COLUMNS
    cc.DIRECT3X3_MAX_PAIRS = 10 ** 9
    if chunk is not None:
        d3.CHUNK_BYTES, d3.GEMM_COLUMNS = chunk
    try:
        yield
    finally:
        cc.DIRECT3X3_MAX_PAIRS, d3.CHUNK_BYTES, d3.GEMM_COLUMNS = saved


@contextlib.contextmanager
def threads(n: int):
    saved = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(saved)


def _draw(seed, n, c, co, h, w, dtype):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((n, c, h, w)), rng.standard_normal((co, c, 3, 3))
    b, dv = rng.standard_normal(co), rng.standard_normal((n, co, h, w))
    return [a.astype(dtype) for a in (x, k, b, dv)]


def _close(got, expected, dtype, what):
    """float64: 1e-12 relative to the largest magnitude; float32: 1e-5 of it."""
    expected = np.asarray(expected, np.float64)
    scale = np.abs(expected).max(initial=0.0) + 1e-300
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale, err_msg=what)


def _all(x, k, b, dv, need=(True, True, True)):
    v = cc.forward(x, k, SAME, b)
    return (v,) + cc.backward(x, k, dv, SAME, *need)


def _check(seed, n, c, co, h, w, dtype, lx=("contiguous",) * 2, chunk=None):
    x, k, b, dv = _draw(seed, n, c, co, h, w, dtype)
    with direct_on(chunk):
        assert cc.use_direct3x3(SAME, k.shape)
        v, du, dk, db = _all(relayout(x, lx[0]), relayout(k, lx[1]), b, relayout(dv, lx[0]))
    x64, k64, b64, dv64 = (a.astype(np.float64) for a in (x, k, b, dv))
    geometry = ((1, 1), PADS, (1, 1), 1)
    _close(v, R.conv2d(x64, k64, b64, padding=PADS), dtype, "out")
    _close(du, R.conv2d_input_grad(dv64, k64, x.shape, *geometry), dtype, "du")
    _close(dk, R.conv2d_weight_grad(x64, dv64, k.shape, *geometry), dtype, "dk")
    _close(db, dv64.sum(axis=(0, 2, 3)), dtype, "db")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(1, 4), c=st.integers(1, 7),
       co=st.integers(1, 7), h=st.integers(1, 9), w=st.integers(1, 11),
       lx=st.tuples(layouts(), layouts()))
def test_matches_reference(dtype, seed, n, c, co, h, w, lx):
    """Any plane size (1x1, widths not multiples of a vector), odd channel counts, any
    layout (strided, transposed, flipped views)."""
    _check(seed, n, c, co, h, w, dtype, lx)


@pytest.mark.parametrize("chunk", [(1, 7), (1 << 30, 1 << 30)],
                         ids=["one image per chunk, GEMMs of 7 columns", "one chunk"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_tall_chunks_of_one_or_many_images(chunk, dtype):
    """Tall planes of one image each, or of the whole slice (odd batch, 2 slices); weight
    gradient GEMMs cut into many pieces, or one per chunk."""
    with threads(2):
        _check(7, 5, 3, 5, 6, 7, dtype, chunk=chunk)


def test_network_sized_float32_case():
    """A ResNet-8 stage's channel count on a small plane, float32, both slices."""
    with threads(2):
        _check(3, 3, 16, 16, 10, 12, np.float32)


def test_reruns_and_thread_counts_are_bit_identical():
    """Reruns give the same bits; forward and input gradient also across thread counts
    (each image on its own), the weight gradient only for a fixed thread count (slices
    are summed)."""
    x, k, b, dv = _draw(11, 6, 8, 8, 9, 33, np.float32)
    with direct_on():
        with threads(1):
            one = _all(x, k, b, dv)
        with threads(2):
            two, again = _all(x, k, b, dv), _all(x, k, b, dv)
    for a, b_ in zip(two, again):
        assert np.array_equal(a, b_)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    np.testing.assert_allclose(one[2], two[2], rtol=1e-5, atol=1e-4)


def test_weight_grad_alone_and_bias_only():
    """need_u=False (a network's first layer) and a bias-only backward."""
    x, k, _, dv = _draw(5, 2, 3, 4, 5, 6, np.float64)
    with direct_on():
        du, dk, db = cc.backward(x, k, dv, SAME, False, True, True)
        none_u, none_k, db2 = cc.backward(x, k, dv, SAME, False, False, True)
    assert du is None and none_u is None and none_k is None
    _close(dk, R.conv2d_weight_grad(x, dv, k.shape, (1, 1), PADS, (1, 1), 1), np.float64, "dk")
    for got in (db, db2):
        _close(got, dv.sum(axis=(0, 2, 3)), np.float64, "db")


@pytest.mark.parametrize("geometry, k_shape, expected", [
    (SAME, (16, 16, 3, 3), True),       # ResNet-8 stage 1
    (SAME, (16, 3, 3, 3), True),        # ResNet-8 stem
    (SAME, (8, 32, 3, 3), True),        # 256 channel pairs
    (SAME, (1, 1, 3, 3), True),
    (SAME, (32, 16, 3, 3), False),      # ResNet-8 stage 2 entry: Winograd
    (SAME, (32, 32, 3, 3), False),      # stage 2
    (SAME, (64, 64, 3, 3), False),      # stage 3
    (SAME, (24, 16, 3, 3), False),      # break-even, left on Winograd
    (cc.Geometry(2, 2, 1, 1, 1, 1, 1, 1, 1), (16, 16, 3, 3), False),     # stride 2
    (cc.Geometry(1, 1, 0, 0, 0, 0, 1, 1, 1), (16, 16, 3, 3), False),     # no padding
    (cc.Geometry(1, 1, 1, 2, 1, 2, 1, 1, 1), (16, 16, 3, 3), False),     # uneven padding
    (cc.Geometry(1, 1, 2, 2, 2, 2, 2, 2, 1), (16, 16, 3, 3), False),     # dilation 2
    (cc.Geometry(1, 1, 1, 1, 1, 1, 1, 1, 2), (16, 8, 3, 3), False),      # groups
    (cc.Geometry(1, 1, 2, 2, 2, 2, 1, 1, 1), (16, 16, 5, 5), False),     # 5x5
])
def test_routing(geometry, k_shape, expected):
    assert cc.use_direct3x3(geometry, k_shape) is expected


@pytest.mark.parametrize("cin", [3, 16])
def test_conv2d_module_matches_torch(cin):
    """nn.Conv2d(cin, 16, 3, padding=1) on 32x32 (ResNet-8's stem and first stage),
    routed to the direct path by default."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(cin)
    x = rng.standard_normal((2, cin, 32, 32)).astype(np.float32)
    g = rng.standard_normal((2, 16, 32, 32)).astype(np.float32)
    conv = tg.nn.Conv2d(cin, 16, 3, padding=1)
    assert cc.use_direct3x3(SAME, conv.weight.shape)
    xt = tg.Tensor(x, requires_grad=True)
    out = conv(xt)
    out.backward(tg.Tensor(g))
    w = torch.tensor(conv.weight.numpy(), requires_grad=True)
    b = torch.tensor(conv.bias.numpy(), requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.conv2d(xr, w, b, padding=1)
    ref.backward(torch.tensor(g))
    for got, want in ((out, ref), (xt.grad, xr.grad), (conv.weight.grad, w.grad),
                      (conv.bias.grad, b.grad)):
        want = want.detach().numpy()
        np.testing.assert_allclose(got.numpy(), want, rtol=0,
                                   atol=2e-5 * (1 + np.abs(want).max()))
