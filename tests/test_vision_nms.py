"""nms / batched_nms / soft_nms: the Numba kernel against the plain-numpy reference
(kernels/nms_reference.py), the defining invariants, and hand-worked cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.kernels import nms_reference as ref
from tinygrad_cs.vision import ops

THRESHOLDS = st.sampled_from([0.0, 0.1, 0.3, 1 / 3, 0.5, 0.7, 0.9, 1.0])
DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def grid_boxes(draw, max_n: int = 40):
    """Boxes with integer corners on a small grid (many overlaps, exact duplicates and exact
    IoU values) and scores from a few levels (many exact ties)."""
    n = draw(st.integers(0, max_n))
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    corner = rng.integers(0, 8, size=(n, 2))
    size = rng.integers(1, 6, size=(n, 2))   # some zero-width boxes come from duplicates
    boxes = np.concatenate([corner, corner + size], axis=1).astype(dtype)
    scores = rng.integers(0, draw(st.integers(1, 5)), size=n).astype(dtype)
    return boxes, scores


def _random_boxes(rng, n: int, dtype=np.float32, span: float = 100.0):
    xy = rng.uniform(0, span, size=(n, 2))
    wh = rng.uniform(1, span / 3, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype), rng.random(n).astype(dtype)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Closed-form IoU of two boxes, in float64."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# -- the kernel against the reference -----------------------------------------------------
@given(grid_boxes(), THRESHOLDS)
def test_nms_matches_reference_with_ties_and_duplicates(data, threshold):
    boxes, scores = data
    got = ops.nms(tg.tensor(boxes), tg.tensor(scores), threshold)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), ref.nms(boxes, scores, threshold))


@given(st.integers(0, 2**32 - 1), DTYPES, THRESHOLDS)
def test_nms_matches_reference_on_random_float_boxes(seed, dtype, threshold):
    boxes, scores = _random_boxes(np.random.default_rng(seed), 300, dtype)
    np.testing.assert_array_equal(ops.nms(tg.tensor(boxes), tg.tensor(scores), threshold).numpy(),
                                  ref.nms(boxes, scores, threshold))


@given(grid_boxes(), st.integers(1, 4), THRESHOLDS, st.integers(0, 2**32 - 1))
def test_batched_nms_matches_the_coordinate_trick(data, categories, threshold, seed):
    boxes, scores = data
    # integer corners: the trick's shifted coordinates are exact, so it is an exact oracle
    idxs = np.random.default_rng(seed).integers(0, categories, size=len(boxes))
    got = ops.batched_nms(tg.tensor(boxes), tg.tensor(scores), tg.tensor(idxs), threshold)
    np.testing.assert_array_equal(got.numpy(), ref.batched_nms(boxes, scores, idxs, threshold))


def test_a_benchmark_sized_input_matches_the_reference():
    boxes, scores = _random_boxes(np.random.default_rng(7), 3000, np.float32, span=400)
    np.testing.assert_array_equal(ops.nms(tg.tensor(boxes), tg.tensor(scores), 0.5).numpy(),
                                  ref.nms(boxes, scores, 0.5))


# -- invariants ------------------------------------------------------------------------------
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.sampled_from([0.2, 0.5, 0.8]))
def test_nms_invariants(seed, categories, threshold):
    rng = np.random.default_rng(seed)
    boxes, scores = _random_boxes(rng, 120, np.float64, span=60)
    idxs = rng.integers(0, categories, size=len(boxes))
    keep = ops.batched_nms(tg.tensor(boxes), tg.tensor(scores), tg.tensor(idxs),
                           threshold).numpy()
    assert len(set(keep)) == len(keep)
    assert np.all(np.diff(scores[keep]) <= 0)                 # by decreasing score
    kept = set(keep.tolist())
    for a in keep:                  # kept boxes of one category overlap at most t
        for b in keep:
            if a != b and idxs[a] == idxs[b]:
                assert _iou(boxes[a], boxes[b]) <= threshold
    for j in set(range(len(boxes))) - kept:   # a suppressed box: a kept, better box covers it
        assert any(idxs[i] == idxs[j] and scores[i] >= scores[j]
                   and _iou(boxes[i], boxes[j]) > threshold for i in kept)


# -- hand-worked cases -----------------------------------------------------------------------
def test_iou_equal_to_the_threshold_does_not_suppress():
    boxes = tg.tensor(np.array([[0, 0, 2, 1], [0, 0, 1, 1]], np.float64))  # IoU = 1/2 exactly
    scores = tg.tensor(np.array([0.9, 0.8]))
    assert ops.nms(boxes, scores, 0.5).tolist() == [0, 1]
    assert ops.nms(boxes, scores, 0.49).tolist() == [0]


def test_float32_iou_is_compared_with_the_double_threshold_as_torchvision():
    # IoU 1/3: rounded to float32 it is 0.33333334 > 1/3, so torchvision suppresses; in
    # float64 it equals 1/3 and does not
    b = np.array([[0, 0, 2, 1], [1, 0, 3, 1]])
    s = np.array([0.9, 0.8])
    assert ops.nms(tg.tensor(b.astype(np.float32)), tg.tensor(s.astype(np.float32)),
                   1 / 3).tolist() == [0]
    assert ops.nms(tg.tensor(b.astype(np.float64)), tg.tensor(s), 1 / 3).tolist() == [0, 1]


def test_equal_scores_visit_the_lower_index_first():
    """As torchvision's CPU kernel, which sorts stably (checked against torchvision 0.28 in
    test_vision_torchvision_parity.py)."""
    boxes = tg.tensor(np.array([[0, 0, 4, 4], [0, 0, 4, 4], [10, 10, 12, 12]], np.float32))
    scores = tg.tensor(np.array([0.5, 0.5, 0.5], np.float32))
    assert ops.nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert ops.nms(boxes[[1, 0, 2]], scores, 0.5).tolist() == [0, 2]


def test_a_nan_score_sorts_first_as_in_torch_sort():
    boxes = tg.tensor(np.array([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10], [0, 0, 1, 1.0]]))
    scores = np.array([0.5, np.nan, 0.9, np.nan])
    assert ops.nms(boxes, tg.tensor(scores), 0.5).tolist() == [1, 3, 2]   # 3 then covers 0
    np.testing.assert_array_equal(ref.nms(boxes.numpy(), scores, 0.5), [1, 3, 2])


def test_kept_indices_are_by_decreasing_score():
    boxes = tg.tensor(np.array([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1.1, 1], [9, 9, 10, 10]]))
    scores = tg.tensor(np.array([0.2, 0.9, 0.5, 0.7]))
    assert ops.nms(boxes, scores, 0.5).tolist() == [1, 3, 2]


def test_batched_nms_never_suppresses_across_categories():
    boxes = tg.tensor(np.array([[0, 0, 4, 4], [0, 0, 4, 4], [0, 0, 4, 4.0]]))
    scores = tg.tensor(np.array([0.9, 0.8, 0.7]))
    assert ops.batched_nms(boxes, scores, tg.tensor(np.array([0, 1, 0])), 0.5).tolist() == [0, 1]
    assert ops.nms(boxes, scores, 0.5).tolist() == [0]


def test_empty_input_gives_empty_int64():
    empty = tg.tensor(np.zeros((0, 4), np.float32))
    none = tg.tensor(np.zeros(0, np.float32))
    for keep in (ops.nms(empty, none, 0.5),
                 ops.batched_nms(empty, none, tg.tensor(np.zeros(0, np.int64)), 0.5),
                 ops.soft_nms(empty, none, 0.5)[0]):
        assert keep.shape == (0,) and keep.dtype == np.int64


@pytest.mark.parametrize("call, message", [
    (lambda: ops.nms(tg.zeros(3, 5), tg.zeros(3), 0.5), r"nms: boxes must be \(N, 4\).*\(3, 5\)"),
    (lambda: ops.nms(tg.zeros(3, 4), tg.zeros(2), 0.5), r"nms: scores must be \(N,\).*\(2,\)"),
    (lambda: ops.nms(tg.zeros(3, 4), tg.zeros(3, dtype=tg.float64), 0.5), "one dtype"),
    (lambda: ops.nms(tg.tensor(np.zeros((3, 4), np.int64)), tg.zeros(3), 0.5), "float32"),
    (lambda: ops.batched_nms(tg.zeros(3, 4), tg.zeros(3), tg.zeros(4), 0.5),
     r"batched_nms: idxs must be \(N,\).*\(4,\)"),
    (lambda: ops.soft_nms(tg.zeros(3, 4), tg.zeros(3), 0.3, method="hard"), "soft_nms: method"),
])
def test_bad_input_names_the_op_and_the_shapes(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# -- soft-NMS --------------------------------------------------------------------------------
@given(grid_boxes(max_n=25), st.sampled_from(["gaussian", "linear"]), THRESHOLDS,
       st.sampled_from([0.1, 0.5, 2.0]), st.sampled_from([0.0, 0.05, 0.3]))
def test_soft_nms_matches_reference(data, method, threshold, sigma, score_threshold):
    boxes, scores = data
    scores = scores / 4 + np.linspace(0, 1e-3, len(scores), dtype=scores.dtype)
    keep, new_scores = ops.soft_nms(tg.tensor(boxes), tg.tensor(scores), threshold, sigma,
                                    score_threshold, method)
    want_keep, want_scores = ref.soft_nms(boxes, scores, threshold, sigma, score_threshold,
                                          method)
    np.testing.assert_array_equal(keep.numpy(), want_keep)
    np.testing.assert_allclose(new_scores.numpy(), want_scores.astype(scores.dtype), rtol=1e-6)
    assert new_scores.dtype == scores.dtype
    assert np.all(new_scores.numpy() >= np.float32(score_threshold) * (1 - 1e-6))
    assert np.all(np.diff(want_scores) <= 0)    # selection by decreasing decayed score


def test_soft_nms_hand_case():
    boxes = tg.tensor(np.array([[0, 0, 2, 1], [0, 0, 1, 1], [5, 5, 6, 6.0]]))  # IoU(0,1) = 1/2
    scores = tg.tensor(np.array([0.9, 0.8, 0.5]))
    keep, s = ops.soft_nms(boxes, scores, iou_threshold=0.3, method="linear")
    assert keep.tolist() == [0, 2, 1]                      # 0.8 decays to 0.8 (1 - 1/2)
    np.testing.assert_allclose(s.numpy(), [0.9, 0.5, 0.4])
    keep, s = ops.soft_nms(boxes, scores, 0.3, sigma=0.5, method="gaussian")
    assert keep.tolist() == [0, 2, 1]                      # to 0.8 exp(-(1/2)^2 / 0.5)
    assert scores.tolist() == [0.9, 0.8, 0.5]              # the input is left as it was
    np.testing.assert_allclose(s.numpy(), [0.9, 0.5, 0.8 * math.exp(-0.25 / 0.5)])
    keep, s = ops.soft_nms(boxes, scores, iou_threshold=0.6, method="linear")  # IoU <= t
    assert keep.tolist() == [0, 1, 2] and s.tolist() == [0.9, 0.8, 0.5]
    keep, _ = ops.soft_nms(boxes, tg.tensor(np.array([0.9, 0.8, 0.4])), method="linear",
                           iou_threshold=0.3, score_threshold=0.45)
    assert keep.tolist() == [0]       # 0.4 starts below 0.45, 0.8 falls to 0.4 after its decay
