"""``tg.vision.ops`` against torchvision itself, on random inputs, where torchvision imports.

torchvision 0.28 imports only beside PyPI's own build of torch 2.13.0 (beside the
``2.13.0+cpu`` wheel it fails with "operator torchvision::nms does not exist"), so the
normal suite skips this file; run it in such an environment::

    python -m venv /tmp/venv-tv && /tmp/venv-tv/bin/pip install 'torch===2.13.0' torchvision==0.28.0
    /tmp/venv-tv/bin/pip install -e .[test] && /tmp/venv-tv/bin/python -m pytest -q \\
        tests/test_vision_torchvision_parity.py

Compared: the box operators (values, and the GIoU loss's gradients), ``nms`` /
``batched_nms`` kept indices (clustered boxes, exact score ties, both of torchvision's
batched paths), ``roi_align`` / ``roi_pool`` outputs and input gradients, the FPN level
mapping of ``MultiScaleRoIAlign``, the anchor generator, the box coder and the matcher.
The one deliberate difference: above 1,000 boxes torchvision's ``batched_nms`` lists the
kept boxes by an unstable sort of their scores, ours by a stable one (lower index first). The normal suite's oracles for the same rules are the
numpy references and hand-worked cases of ``test_vision_*.py`` and ``test_roi_kernels.py``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.vision import ops

try:  # an ImportError without torchvision, a RuntimeError beside an incompatible torch
    import torch
    import torchvision
    from torchvision.models.detection import _utils as tv_utils
    from torchvision.models.detection.anchor_utils import AnchorGenerator as TVAnchors
    from torchvision.models.detection.image_list import ImageList
except (ImportError, RuntimeError) as error:  # pragma: no cover - depends on the install
    pytest.skip(f"torchvision is not importable here ({error})", allow_module_level=True)

TV = torchvision.ops
SEEDS = range(4)


def _boxes(rng, n: int, dtype=np.float64, span: float = 60.0, degenerate: bool = True):
    """n boxes (x1 <= x2, y1 <= y2) over a span, some of them zero-width or zero-height."""
    xy = rng.uniform(-10, span, size=(n, 2))
    wh = rng.uniform(0, span / 2, size=(n, 2))
    if degenerate:
        wh[rng.random((n, 2)) < 0.1] = 0.0
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


def _grid_boxes(rng, n: int, dtype=np.float32):
    """Integer corners on a small grid: many overlaps, duplicates and exact IoU values."""
    corner = rng.integers(0, 10, size=(n, 2))
    return np.concatenate([corner, corner + rng.integers(1, 7, size=(n, 2))],
                          axis=1).astype(dtype)


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a))   # a copy, C-ordered; 0-d stays 0-d


# -- box operators --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_box_operators(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = _boxes(rng, 7, dtype), _boxes(rng, 5, dtype)
    formats = ("xyxy", "xywh", "cxcywh")
    for fin in formats:
        for fout in formats:
            np.testing.assert_array_equal(ops.box_convert(tg.tensor(a), fin, fout).numpy(),
                                          TV.box_convert(_t(a), fin, fout).numpy(),
                                          err_msg=f"{fin} -> {fout}")
    pairs = {"box_area": ((a,), {}), "box_iou": ((a, b), {}),
             "generalized_box_iou": ((a[a[:, 2] > a[:, 0]], b[b[:, 3] > b[:, 1]]), {})}
    for name, (args, kwargs) in pairs.items():
        ours = getattr(ops, name)(*(tg.tensor(x) for x in args), **kwargs).numpy()
        theirs = getattr(TV, name)(*(_t(x) for x in args), **kwargs).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6 if dtype == np.float32 else 1e-14,
                                   err_msg=name)
    for size in ((20, 35), (64, 8)):
        np.testing.assert_array_equal(ops.clip_boxes_to_image(tg.tensor(a), size).numpy(),
                                      TV.clip_boxes_to_image(_t(a), size).numpy())
    for min_size in (0.0, 1e-3, 5.0, 20.0):
        np.testing.assert_array_equal(ops.remove_small_boxes(tg.tensor(a), min_size).numpy(),
                                      TV.remove_small_boxes(_t(a), min_size).numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_giou_loss_and_its_gradients(seed, reduction):
    """Paired boxes: overlapping, disjoint and nested ones, in float64."""
    rng = np.random.default_rng(seed)
    a, b = _boxes(rng, 9, degenerate=False), _boxes(rng, 9, degenerate=False)
    b[:3] = a[:3] + rng.uniform(-1, 1, size=(3, 4))          # near the target
    b[3] = a[3] + [1, 1, -1, -1] * np.minimum(1, (a[3, 2:] - a[3, :2]).repeat(2) / 3)
    mine = [tg.tensor(x, requires_grad=True) for x in (a, b)]
    loss = ops.generalized_box_iou_loss(*mine, reduction=reduction)
    theirs = [_t(x).requires_grad_() for x in (a, b)]
    expected = TV.generalized_box_iou_loss(*theirs, reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-13)
    g = rng.standard_normal(expected.shape)
    loss.backward(tg.tensor(g))
    expected.backward(_t(g))
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_masks_to_boxes():
    masks = np.random.default_rng(0).random((4, 9, 11)) > 0.8
    np.testing.assert_array_equal(ops.masks_to_boxes(tg.tensor(masks)).numpy(),
                                  TV.masks_to_boxes(_t(masks)).numpy())


# -- non-maximum suppression ----------------------------------------------------------------
def _nms_cases(rng, dtype):
    """Clustered random boxes and grid boxes (exact IoU values, duplicates), with distinct
    scores, scores of four levels (many exact ties) and a few NaN scores."""
    for boxes in (_boxes(rng, 300, dtype, span=40.0), _grid_boxes(rng, 200, dtype)):
        n = len(boxes)
        tied = rng.integers(0, 4, size=n).astype(dtype)
        with_nan = tied.copy()
        with_nan[rng.random(n) < 0.05] = np.nan
        for scores in (rng.permutation(n).astype(dtype) / n, tied, with_nan):
            yield boxes, scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_keeps_what_torchvision_keeps_in_its_order(seed, threshold):
    """Equal scores included: torchvision's CPU kernel sorts stably, as ours."""
    rng = np.random.default_rng(seed)
    for boxes, scores in _nms_cases(rng, (np.float32, np.float64)[seed % 2]):
        np.testing.assert_array_equal(
            ops.nms(tg.tensor(boxes), tg.tensor(scores), threshold).numpy(),
            TV.nms(_t(boxes), _t(scores), threshold).numpy())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [300, 1500])
def test_batched_nms_on_both_of_torchvisions_paths(seed, n):
    """n = 300: torchvision's coordinate trick (up to 1,000 boxes on CPU), exact here since
    the corners are small integers; n = 1,500: its loop per category, on float corners.
    With tied scores the second path lists the kept boxes in an unstable order of score
    (the documented difference): the same boxes, which in a stable order are ours."""
    rng = np.random.default_rng(seed)
    boxes = _grid_boxes(rng, n) if n <= 1000 else _boxes(rng, n, np.float32, span=50.0)
    idxs = rng.integers(0, 5, size=n)
    for scores in (rng.permutation(n).astype(np.float32) / n,
                   rng.integers(0, 3, size=n).astype(np.float32)):
        for threshold in (0.2, 0.5, 0.8):
            ours = ops.batched_nms(tg.tensor(boxes), tg.tensor(scores), tg.tensor(idxs),
                                   threshold).numpy()
            theirs = TV.batched_nms(_t(boxes), _t(scores), _t(idxs), threshold).numpy()
            if n > 1000:
                theirs = np.sort(theirs)[np.argsort(-scores[np.sort(theirs)], kind="stable")]
            np.testing.assert_array_equal(ours, theirs)


# -- region-of-interest pooling ---------------------------------------------------------------
def _rois(rng, k: int, images: int, height: int, width: int, scale: float, dtype):
    """k rows [batch, x1, y1, x2, y2] in image coordinates: boxes inside, across the border,
    wholly outside, and smaller than a pixel."""
    span = np.array([width, height]) / scale
    xy = rng.uniform(-0.3, 1.1, size=(k, 2)) * span
    wh = rng.uniform(0, 0.8, size=(k, 2)) * span
    wh[:2] = rng.uniform(0, 1.5, size=(2, 2)) / scale   # under two feature pixels
    return np.concatenate([rng.integers(0, images, size=(k, 1)), xy, xy + wh],
                          axis=1).astype(dtype)


def _ours_and_theirs(ours_op, theirs_op, x, rois, g, *args):
    """(ours, theirs): each an (output, input gradient) pair for upstream gradient g."""
    leaf = tg.tensor(x, requires_grad=True)
    out = ours_op(leaf, tg.tensor(rois), *args)
    out.backward(tg.tensor(g))
    t = _t(x).requires_grad_()
    expected = theirs_op(t, _t(rois), *args)
    expected.backward(_t(g))
    return (out.numpy(), leaf.grad.numpy()), (expected.detach().numpy(), t.grad.numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
def test_roi_align_outputs_and_input_gradients(seed, aligned, sampling_ratio, scale):
    rng = np.random.default_rng(seed)
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        x = rng.standard_normal((2, 3, 9, 11)).astype(dtype)
        rois = _rois(rng, 7, 2, 9, 11, scale, dtype)
        g = rng.standard_normal((7, 3, 3, 2)).astype(dtype)
        ours, theirs = _ours_and_theirs(ops.roi_align, TV.roi_align, x, rois, g, (3, 2),
                                        scale, sampling_ratio, aligned)
        for name, a, b in zip(("output", "input gradient"), ours, theirs):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=f"{name} {dtype}")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [1.0, 0.5, 0.3])
def test_roi_pool_outputs_and_input_gradients(seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 7, 2, 9, 11, scale, np.float64)
    g = rng.standard_normal((7, 3, 2, 3))
    ours, theirs = _ours_and_theirs(ops.roi_pool, TV.roi_pool, x, rois, g, (2, 3), scale)
    for name, a, b in zip(("output", "input gradient"), ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14, err_msg=name)


def test_box_lists_give_the_k5_rows_as_torchvision():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 8, 8)).astype(np.float32)
    lists = [_boxes(rng, n, np.float32, span=8.0) for n in (3, 2)]
    for ours, theirs in ((ops.roi_align, TV.roi_align), (ops.roi_pool, TV.roi_pool)):
        np.testing.assert_allclose(ours(tg.tensor(x), [tg.tensor(b) for b in lists], 2).numpy(),
                                   theirs(_t(x), [_t(b) for b in lists], 2).numpy(),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("canonical", [(224, 4), (56, 4), (32, 3)])
def test_multiscale_roi_align_maps_levels_and_pools_as_torchvision(seed, canonical):
    """A 64 x 64 batch (images 64 x 64 and 60 x 52) with maps at strides 4, 8, 16 and a
    "pool" map that is not pooled from; boxes from 1 to 90 pixels, so every level is used."""
    rng = np.random.default_rng(seed)
    shapes = {"0": 16, "1": 8, "2": 4, "pool": 2}
    maps = {k: rng.standard_normal((2, 3, s, s)) for k, s in shapes.items()}
    boxes = []
    for _ in range(2):
        side = np.exp(rng.uniform(0, math.log(90), size=(12, 1)))
        xy = rng.uniform(-4, 60, size=(12, 2))
        boxes.append(np.concatenate([xy, xy + side * rng.uniform(0.5, 1.5, (12, 2))], axis=1))
    image_shapes = [(64, 64), (60, 52)]
    scale, level = canonical
    mine = ops.MultiScaleRoIAlign(["0", "1", "2"], 5, 2, canonical_scale=scale,
                                  canonical_level=level)
    theirs = TV.MultiScaleRoIAlign(["0", "1", "2"], 5, 2, canonical_scale=scale,
                                   canonical_level=level)
    leaves = {k: tg.tensor(v, requires_grad=True) for k, v in maps.items()}
    out = mine(leaves, [tg.tensor(b) for b in boxes], image_shapes)
    tmaps = {k: _t(v).requires_grad_() for k, v in maps.items()}
    expected = theirs(tmaps, [_t(b) for b in boxes], image_shapes)
    assert mine.scales == theirs.scales
    np.testing.assert_array_equal(mine.map_levels(boxes),
                                  theirs.map_levels([_t(b) for b in boxes]).numpy())
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(expected.shape))
    out.backward(tg.tensor(g))
    expected.backward(_t(g))
    for k in ("0", "1", "2"):
        np.testing.assert_allclose(leaves[k].grad.numpy(), tmaps[k].grad.numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=k)


# -- the detection helpers ----------------------------------------------------------------------
class _Images:
    """The two attributes an anchor generator reads of torchvision's ``ImageList``."""

    def __init__(self, tensors, image_sizes):
        self.tensors, self.image_sizes = tensors, image_sizes


@pytest.mark.parametrize("sizes, ratios", [
    (((8,), (16,), (32,), (64,)), ((0.5, 1.0, 2.0),) * 4),
    (((16, 24, 40),), ((0.25, 0.7, 1.0, 1.3),)),
    (((5, 11), (13,)), ((1.0,), (0.5, 3.0))),
])
@pytest.mark.parametrize("batch_hw, grids", [
    ((64, 64), [(16, 16), (8, 8), (4, 4), (2, 2)]),
    ((48, 80), [(12, 20), (6, 10), (3, 5), (2, 3)]),
    ((50, 50), [(13, 13), (7, 7), (4, 4), (2, 2)]),   # strides by integer division
])
def test_anchor_generator(sizes, ratios, batch_hw, grids):
    grids = grids[:len(sizes)]
    theirs = TVAnchors(sizes, ratios)
    batch = torch.zeros((2, 3) + batch_hw)
    expected = theirs(ImageList(batch, [batch_hw, (40, 40)]),
                      [torch.zeros((2, 1) + g) for g in grids])
    mine = ops.AnchorGenerator(sizes, ratios)
    got = mine(_Images(tg.zeros(2, 3, *batch_hw), [batch_hw, (40, 40)]),
               [tg.zeros(2, 1, *g) for g in grids])
    assert mine.num_anchors_per_location() == theirs.num_anchors_per_location()
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0),
                                     (2.0, 3.0, 0.5, 7.0)])
def test_box_coder_encode_and_decode(seed, weights):
    rng = np.random.default_rng(seed)
    ref_boxes, proposals = (_boxes(rng, 11, np.float32, degenerate=False) + [0, 0, 1, 1]
                            for _ in range(2))
    codes = rng.standard_normal((11, 8)).astype(np.float32) * 3
    codes[0, 2:4] = [40.0, -40.0]                       # beyond bbox_xform_clip
    mine, theirs = ops.BoxCoder(weights), tv_utils.BoxCoder(weights)
    close = {"rtol": 2e-6, "atol": 1e-4}
    np.testing.assert_allclose(mine.encode_single(tg.tensor(ref_boxes),
                                                  tg.tensor(proposals)).numpy(),
                               theirs.encode_single(_t(ref_boxes), _t(proposals)).numpy(),
                               **close)
    np.testing.assert_allclose(mine.decode_single(tg.tensor(codes), tg.tensor(proposals)).numpy(),
                               theirs.decode_single(_t(codes), _t(proposals)).numpy(), **close)
    split = [slice(0, 4), slice(4, 11)]
    for a, b in zip(mine.encode([tg.tensor(ref_boxes[s]) for s in split],
                                [tg.tensor(proposals[s]) for s in split]),
                    theirs.encode([_t(ref_boxes[s]) for s in split],
                                  [_t(proposals[s]) for s in split])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **close)
    np.testing.assert_allclose(
        mine.decode(tg.tensor(codes), [tg.tensor(proposals[s]) for s in split]).numpy(),
        theirs.decode(_t(codes), [_t(proposals[s]) for s in split]).numpy(), **close)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("thresholds", [(0.7, 0.3), (0.5, 0.5), (0.6, 0.0)])
@pytest.mark.parametrize("low_quality", [False, True])
def test_matcher_with_ties(seed, thresholds, low_quality):
    """Qualities on a coarse grid (ties within a column and within a row), some all zero."""
    rng = np.random.default_rng(seed)
    quality = (rng.integers(0, 6, size=(5, 30)) / 5).astype(np.float32)
    quality[:, :3] = 0
    quality[rng.integers(0, 5), 3:6] = 0.9
    np.testing.assert_array_equal(
        ops.Matcher(*thresholds, low_quality)(tg.tensor(quality)).numpy(),
        tv_utils.Matcher(*thresholds, low_quality)(_t(quality)).numpy())
