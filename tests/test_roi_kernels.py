"""The RoIAlign / RoIPool kernels (``kernels/roi.py``, through ``ops.roi``) against their
numpy oracle (``kernels/roi_reference.py``): forward and backward, float64 and float32,
boxes partly or wholly outside the map, tiny and malformed boxes, aligned both ways,
fixed and adaptive sampling grids; and bit-identical results across runs and thread counts.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.kernels import roi as K
from tinygrad_cs.kernels import roi_reference as R
from tinygrad_cs.ops import roi_align, roi_pool
from tinygrad_cs.testing.entries.roi import boxes
from tinygrad_cs.testing.strategies import arrays, separated_arrays


@st.composite
def cases(draw, separated: bool = False):
    """(x, rois, output_size, spatial_scale) with up to 4 boxes on a map of up to 6 x 6."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    scale = draw(st.sampled_from([0.25, 0.5, 1.0, 1.7]))
    rois = np.array(draw(boxes(n, h, w, scale, max_boxes=4)))
    x = draw(separated_arrays((n, c, h, w)) if separated else arrays((n, c, h, w)))
    return x, rois, (draw(st.integers(1, 3)), draw(st.integers(1, 3))), scale


def _forward_backward(op, x, rois, g, *args):
    """(out, dx) of ``op`` run through the engine on x, with upstream gradient g."""
    leaf = tg.tensor(x, requires_grad=True)
    out = op(leaf, rois, *args)
    out.backward(tg.tensor(g))
    return out.numpy(), leaf.grad.numpy()


@given(case=cases(), sampling_ratio=st.sampled_from([-1, 0, 1, 2]), aligned=st.booleans(),
       seed=st.integers(0, 2**16))
def test_roi_align_matches_the_reference_forward_and_backward(case, sampling_ratio, aligned,
                                                              seed):
    x, rois, size, scale = case
    g = np.random.default_rng(seed).standard_normal((len(rois), x.shape[1]) + size)
    out, dx = _forward_backward(roi_align, x, rois, g, size, scale, sampling_ratio, aligned)
    np.testing.assert_allclose(out, R.roi_align(x, rois, size, scale, sampling_ratio, aligned),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        dx, R.roi_align_backward(g, rois, x.shape, scale, sampling_ratio, aligned),
        rtol=1e-12, atol=1e-12)


@given(case=cases(), sampling_ratio=st.sampled_from([-1, 2]), aligned=st.booleans())
def test_roi_align_float32_matches_the_reference(case, sampling_ratio, aligned):
    x, rois, size, scale = case
    x, rois = x.astype(np.float32), rois.astype(np.float32)
    g = np.ones((len(rois), x.shape[1]) + size, dtype=np.float32)
    out, dx = _forward_backward(roi_align, x, rois, g, size, scale, sampling_ratio, aligned)
    assert out.dtype == dx.dtype == np.float32
    np.testing.assert_allclose(out, R.roi_align(x, rois, size, scale, sampling_ratio, aligned),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        dx, R.roi_align_backward(g, rois, x.shape, scale, sampling_ratio, aligned),
        rtol=1e-5, atol=1e-5)


@given(case=cases(separated=True), seed=st.integers(0, 2**16))
def test_roi_pool_matches_the_reference_forward_and_backward(case, seed):
    x, rois, size, scale = case
    g = np.random.default_rng(seed).standard_normal((len(rois), x.shape[1]) + size)
    out, dx = _forward_backward(roi_pool, x, rois, g, size, scale)
    expected, argmax = R.roi_pool(x, rois, size, scale)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(dx, R.roi_pool_backward(g, rois, argmax, x.shape),
                               rtol=1e-12, atol=1e-12)


def test_tiny_and_degenerate_boxes():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    point = np.array([[0.0, 1.0, 1.0, 1.0, 1.0]])       # zero width and height
    sliver = np.array([[0.0, 1.0, 1.0, 1.01, 3.0]])     # 0.01 wide
    # aligned=False forces a 1 x 1 box: samples at 1.25 / 1.75 average to (1.5, 1.5)
    assert roi_align(x, point, 1, sampling_ratio=2)[0, 0, 0, 0] == pytest.approx(7.5)
    # aligned=True keeps the zero size: the adaptive grid is empty, so the output is 0
    assert roi_align(x, point, 1, aligned=True)[0, 0, 0, 0] == 0.0
    # ... and a fixed grid samples the point (0.5, 0.5) itself: 4 * 0.5 + 0.5
    assert roi_align(x, point, 1, sampling_ratio=2, aligned=True)[0, 0, 0, 0] == \
        pytest.approx(2.5)
    for aligned in (False, True):
        np.testing.assert_allclose(roi_align(x, sliver, (2, 1), aligned=aligned),
                                   R.roi_align(x, sliver, (2, 1), aligned=aligned))
    # roi_pool: a malformed box (x2 < x1) is one pixel wide, at its rounded start
    backwards = np.array([[0.0, 2.0, 1.0, 0.0, 1.0]])
    assert roi_pool(x, backwards, 1)[0, 0, 0, 0] == 6.0


def test_boxes_outside_the_map_read_nothing_and_take_no_gradient():
    x = np.ones((1, 1, 3, 3))
    far = np.array([[0.0, 10.0, 10.0, 14.0, 14.0]])   # every sample beyond H + 1 and W + 1
    np.testing.assert_array_equal(roi_align(x, far, 2), 0.0)
    np.testing.assert_array_equal(roi_pool(x, far, 2), 0.0)  # empty bins give 0
    for op in (roi_align, roi_pool):
        _, dx = _forward_backward(op, x, far, np.ones((1, 1, 2, 2)), 2)
        np.testing.assert_array_equal(dx, 0.0)


def test_roi_pool_rounds_halves_away_from_zero():
    """C's round, not numpy's half-to-even: x1 = 0.5 starts at column 1, 2.5 ends at 3."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    rois = np.array([[0.0, 0.5, 0.5, 2.5, 2.5]])
    out, argmax = R.roi_pool(x, rois, (1, 1))
    assert argmax[0, 0, 0, 0] == 15 and out[0, 0, 0, 0] == 15.0  # bin = rows/cols 1..3
    assert roi_pool(x, rois, 1)[0, 0, 0, 0] == 15.0
    negative = np.array([[0.0, -1.5, -1.5, 0.0, 0.0]])  # start -2: clipped bins
    np.testing.assert_array_equal(roi_pool(x, negative, 3), R.roi_pool(x, negative, (3, 3))[0])


def test_no_boxes_gives_an_empty_output_and_a_zero_gradient():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    empty = np.zeros((0, 5))
    for op in (roi_align, roi_pool):
        out, dx = _forward_backward(op, x, empty, np.zeros((0, 3, 2, 2)), 2)
        assert out.shape == (0, 3, 2, 2)
        np.testing.assert_array_equal(dx, np.zeros_like(x))


def _big_case():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 32, 20, 20)).astype(np.float32)
    corners = rng.uniform(-3, 23, size=(64, 2, 2))
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    rois = np.concatenate([rng.integers(0, 2, (64, 1)), lo, hi], axis=1).astype(np.float32)
    g = rng.standard_normal((64, 32, 7, 7)).astype(np.float32)
    return x, rois, g


@pytest.mark.parametrize("op, args", [(roi_align, (7, 0.8, -1, False)),
                                      (roi_align, (7, 1.0, 2, True)),
                                      (roi_pool, (7, 0.8))])
def test_results_are_bit_identical_across_runs_and_thread_counts(op, args):
    """64 overlapping boxes on two images (enough work for the parallel kernels): every
    scatter-add has one owner and a fixed order, so two runs, and runs on 1 and 2 threads,
    agree to the bit."""
    x, rois, g = _big_case()
    first = _forward_backward(op, x, rois, g, *args)
    again = _forward_backward(op, x, rois, g, *args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        serial = _forward_backward(op, x, rois, g, *args)
    finally:
        numba.set_num_threads(threads)
    for a, b, c in zip(first, again, serial):
        assert a.tobytes() == b.tobytes() == c.tobytes()


def test_serial_and_parallel_kernels_agree_to_the_bit():
    """Small calls run the ``_serial`` twins: the same tasks, so the same bits."""
    x, rois, g = _big_case()
    boxes, batch = rois.astype(np.float64), rois[:, 0].astype(np.int64)
    tables = K.align_geometry(boxes, 0.8, 20, 20, (7, 7), -1, False)
    assert K._align_work(tables, 32) >= K.PARALLEL_MIN and g.size >= K.PARALLEL_MIN
    results = []
    for kernels in ((K.roi_align_forward, K.roi_align_backward, K.roi_pool_forward,
                     K.roi_pool_backward),
                    (K.roi_align_forward_serial, K.roi_align_backward_serial,
                     K.roi_pool_forward_serial, K.roi_pool_backward_serial)):
        align_f, align_b, pool_f, pool_b = kernels
        out, dx = np.empty_like(g), np.empty_like(x)
        align_f(x, batch, *tables, out)
        align_b(g, batch, *tables, dx)
        pooled, argmax, pdx = np.empty_like(g), np.empty(g.shape, np.int64), np.empty_like(x)
        pool_f(x, boxes, batch, 0.8, pooled, argmax)
        pool_b(g.reshape(64, 32, 49), batch, argmax.reshape(64, 32, 49), pdx.reshape(2, 32, 400))
        results.append([a.tobytes() for a in (out, dx, pooled, argmax, pdx)])
    assert results[0] == results[1]


def test_bad_arguments_raise_errors_naming_the_op_and_shapes():
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(RuntimeError, match=r"roi_align: rois must have shape \(K, 5\).*\(3, 4\)"):
        roi_align(x, np.zeros((3, 4)), 2)
    with pytest.raises(IndexError, match=r"roi_pool: .*batch indices from 0 to 2.*\(2, 1, 4, 4\)"):
        roi_pool(x, np.array([[0.0, 0, 0, 1, 1], [2.0, 0, 0, 1, 1]]), 2)
    with pytest.raises(TypeError, match="roi_align: input .*float64.* and rois .*float32"):
        roi_align(x, np.zeros((1, 5), dtype=np.float32), 2)
    with pytest.raises(ValueError, match="roi_align: rois .* NaN"):
        roi_align(x, np.array([[0.0, np.nan, 0, 1, 1]]), 2)
    with pytest.raises(ValueError, match="roi_pool: output_size"):
        roi_pool(x, np.zeros((1, 5)), (2, 0))
    with pytest.raises(RuntimeError, match=r"roi_align: expected a 4D .*\(1, 4, 4\)"):
        roi_align(np.zeros((1, 4, 4)), np.zeros((1, 5)), 2)


def test_no_double_backward():
    """The backward is a raw kernel: recording it (create_graph=True) raises, naming the op."""
    x = tg.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    rois = np.array([[0.0, 0.0, 0.0, 2.0, 2.0]])
    for op in (roi_align, roi_pool):
        with pytest.raises(RuntimeError, match=f"{op.__name__}: .*no double backward"):
            tg.autograd.grad(op(x, rois, 2).sum(), x, create_graph=True)
