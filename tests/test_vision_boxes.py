"""Box ops of tinygrad_cs.vision.ops against closed forms written per pair in numpy,
hand-worked values, and central differences (gradcheck) away from the kinks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.vision import ops


@st.composite
def separated_boxes(draw, max_n: int = 4, max_m: int = 4):
    """Two sets of valid boxes (x1 < x2, y1 < y2) whose x coordinates are all distinct,
    at least 0.2 apart (likewise y): no max/min ties and no zero-width overlaps, so every
    op is smooth within a finite-difference step. Disjoint and nested pairs both occur."""
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_m))
    k = 2 * (n + m)
    axes = []
    for _ in range(2):
        ranks = np.array(draw(st.permutations(range(k))), dtype=np.float64)
        jitter = draw(arrays(np.float64, k, elements=st.floats(0, 0.4)))
        c = (ranks + jitter).reshape(-1, 2)
        axes.append((c.min(axis=1), c.max(axis=1)))
    (x1, x2), (y1, y2) = axes
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    return boxes[:n], boxes[n:]


@st.composite
def valid_boxes(draw, max_n: int = 6, min_size: float = 0.0):
    """Boxes (n, 4) float64 with x1 <= x2, y1 <= y2 (sides >= min_size)."""
    count = draw(st.integers(0, max_n))
    xy = draw(arrays(np.float64, (count, 2), elements=st.floats(-50, 50)))
    wh = draw(arrays(np.float64, (count, 2), elements=st.floats(min_size, 30)))
    return np.concatenate([xy, xy + wh], axis=1)


def _iou_pair(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    enclosing = ((max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1])))
    return inter, union, enclosing


# -- formats ---------------------------------------------------------------------------------
@given(valid_boxes())
def test_box_convert_against_closed_forms_and_round_trips(b):
    t = tg.tensor(b)
    x1, y1, x2, y2 = b.T
    xywh = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
    cxcywh = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)
    np.testing.assert_allclose(ops.box_convert(t, "xyxy", "xywh").numpy(), xywh)
    np.testing.assert_allclose(ops.box_convert(t, "xyxy", "cxcywh").numpy(), cxcywh)
    np.testing.assert_allclose(ops.box_convert(tg.tensor(xywh), "xywh", "cxcywh").numpy(),
                               cxcywh, atol=1e-12)
    for fmt in ("xywh", "cxcywh"):
        back = ops.box_convert(ops.box_convert(t, "xyxy", fmt), fmt, "xyxy").numpy()
        np.testing.assert_allclose(back, b, atol=1e-12)


def test_box_convert_keeps_batch_dims_and_copies_on_equal_formats():
    b = tg.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert ops.box_convert(b, "cxcywh", "xyxy").shape == (2, 3, 4)
    same = ops.box_convert(b, "xyxy", "xyxy")
    same[0, 0, 0] = 100.0
    assert b[0, 0, 0].item() == 0.0
    assert ops.box_convert(tg.tensor([[10.0, 20, 4, 6]]), "cxcywh",
                           "xyxy").tolist() == [[8.0, 17.0, 12.0, 23.0]]


# -- areas, IoU, GIoU -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")  # 0 / 0: empty boxes
@given(valid_boxes(), valid_boxes(max_n=5))
def test_iou_and_giou_against_the_pairwise_closed_form(b1, b2):
    iou = ops.box_iou(tg.tensor(b1), tg.tensor(b2)).numpy()
    giou = ops.generalized_box_iou(tg.tensor(b1), tg.tensor(b2)).numpy()
    np.testing.assert_allclose(ops.box_area(tg.tensor(b1)).numpy(),
                               (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1]))
    assert iou.shape == giou.shape == (len(b1), len(b2))
    for i in range(len(b1)):
        for j in range(len(b2)):
            inter, union, enclosing = _iou_pair(b1[i], b2[j])
            if union > 1e-6 and enclosing > 1e-6:
                np.testing.assert_allclose(iou[i, j], inter / union, rtol=1e-9, atol=1e-12)
                np.testing.assert_allclose(giou[i, j], inter / union
                                           - (enclosing - union) / enclosing,
                                           rtol=1e-9, atol=1e-12)
                assert -1 - 1e-12 <= giou[i, j] <= iou[i, j] + 1e-12


def test_iou_and_giou_hand_cases():
    a = tg.tensor([[0.0, 0, 2, 2], [0, 0, 1, 1]])
    b = tg.tensor([[1.0, 1, 3, 3], [2, 0, 3, 1]])
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), [[1 / 7, 0], [0, 0]], atol=1e-7)
    # [0,0,1,1] vs [2,0,3,1]: disjoint, union 2, enclosing box 3 x 1: GIoU = -(3 - 2) / 3
    np.testing.assert_allclose(ops.generalized_box_iou(a, b).numpy()[1, 1], -1 / 3, rtol=1e-6)
    # [0,0,2,2] vs [1,1,3,3]: IoU 1/7, enclosing 9, union 7: 1/7 - 2/9
    np.testing.assert_allclose(ops.generalized_box_iou(a, b).numpy()[0, 0], 1 / 7 - 2 / 9,
                               rtol=1e-6)
    assert ops.box_area(a).tolist() == [4.0, 1.0]


@given(valid_boxes(min_size=0.5), st.sampled_from(["none", "mean", "sum"]))
def test_giou_loss_is_one_minus_the_paired_giou(b, reduction):
    rng = np.random.default_rng(len(b))
    other = b[rng.permutation(len(b))] + rng.uniform(-3, 3, size=(len(b), 1))
    loss = ops.generalized_box_iou_loss(tg.tensor(b), tg.tensor(other), reduction, eps=0.0)
    per_pair = []
    for p, q in zip(b, other):
        inter, union, enclosing = _iou_pair(p, q)
        per_pair.append(1 - (inter / union - (enclosing - union) / enclosing))
    per_pair = np.array(per_pair)
    want = {"none": per_pair, "sum": per_pair.sum(),
            "mean": per_pair.mean() if len(per_pair) else 0.0}[reduction]
    np.testing.assert_allclose(loss.numpy(), want, rtol=1e-9, atol=1e-12)


def test_giou_loss_hand_case_and_eps():
    a = tg.tensor(np.array([[0.0, 0, 1, 1], [0, 0, 2, 2]]))
    b = tg.tensor(np.array([[2.0, 0, 3, 1], [0, 0, 2, 2]]))
    # disjoint: 1 - (0 - (3 - 2) / 3) = 4 / 3; identical: 1 - (4 / (4 + eps) - 0)
    np.testing.assert_allclose(ops.generalized_box_iou_loss(a, b).numpy(),
                               [1 + 1 / (3 + 1e-7), 1 - 4 / (4 + 1e-7)], rtol=1e-6)
    assert ops.generalized_box_iou_loss(tg.zeros(0, 4), tg.zeros(0, 4), "mean").item() == 0.0


# -- gradients, float64 central differences --------------------------------------------------
@given(separated_boxes())
def test_box_iou_and_giou_gradcheck(pair):
    b1, b2 = (tg.tensor(b, requires_grad=True) for b in pair)
    assert gradcheck(ops.box_iou, (b1, b2))
    assert gradcheck(ops.generalized_box_iou, (b1, b2))


@given(separated_boxes(max_m=1), st.sampled_from(["none", "mean", "sum"]))
def test_giou_loss_gradcheck(pair, reduction):
    b1 = tg.tensor(pair[0], requires_grad=True)
    b2 = tg.tensor(np.repeat(pair[1], len(pair[0]), axis=0), requires_grad=True)
    assert gradcheck(lambda p, q: ops.generalized_box_iou_loss(p, q, reduction), (b1, b2))


def test_giou_loss_gradient_of_disjoint_boxes_in_closed_form():
    # [x1, 0, x2, 1] vs [3, 0, 4, 1], disjoint: loss = 1 + (C - U) / C = 2 - U / C with
    # U = (x2 - x1) + 1, C = 4 - x1: at (0, 1), dL/dx1 = (C - U) / C^2 = 1/8, dL/dx2 = -1/C
    pred = tg.tensor(np.array([[0.0, 0, 1, 1]]), requires_grad=True)
    ops.generalized_box_iou_loss(pred, tg.tensor(np.array([[3.0, 0, 4, 1]])), "sum",
                                 eps=0.0).backward()
    gx1, _, gx2, _ = pred.grad.numpy()[0]
    assert (gx1, gx2) == (0.125, -0.25)


# -- clipping, small boxes, masks ------------------------------------------------------------
@given(valid_boxes(), st.integers(1, 40), st.integers(1, 40))
def test_clip_boxes_to_image(b, height, width):
    got = ops.clip_boxes_to_image(tg.tensor(b), (height, width)).numpy()
    want = b.copy()
    want[:, 0::2] = np.clip(b[:, 0::2], 0, width)
    want[:, 1::2] = np.clip(b[:, 1::2], 0, height)
    np.testing.assert_array_equal(got, want)


def test_remove_small_boxes():
    b = tg.tensor([[0.0, 0, 2, 2], [0, 0, 0.5, 3], [0, 0, 3, 0.9], [1, 1, 2, 2]])
    keep = ops.remove_small_boxes(b, 1.0)
    assert keep.tolist() == [0, 3] and keep.dtype == np.int64


def test_masks_to_boxes():
    masks = np.zeros((3, 5, 6), np.uint8)
    masks[0, 1:4, 2:5] = 1
    masks[1, 4, 0] = 7
    masks[2, [0, 4], [5, 1]] = 1
    boxes = ops.masks_to_boxes(tg.tensor(masks))
    assert boxes.dtype == np.float32
    assert boxes.tolist() == [[2, 1, 4, 3], [0, 4, 0, 4], [1, 0, 5, 4]]
    assert ops.masks_to_boxes(tg.zeros(0, 4, 4)).shape == (0, 4)
    with pytest.raises(ValueError, match="mask 1 .* is empty"):
        ops.masks_to_boxes(tg.tensor(np.stack([masks[0], 0 * masks[0]])))


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: ops.box_area(tg.zeros(3, 5)), r"box_area: boxes must be \(N, 4\), got shape \(3, 5\)"),
    (lambda: ops.box_iou(tg.zeros(3, 4), tg.zeros(4)), r"box_iou: boxes2 must be \(N, 4\).*\(4,\)"),
    (lambda: ops.box_convert(tg.zeros(2, 4), "xyxy", "xywhr"), "box_convert: formats"),
    (lambda: ops.box_convert(tg.zeros(2, 3), "xyxy", "xywh"), r"\(\.\.\., 4\).*\(2, 3\)"),
    (lambda: ops.generalized_box_iou_loss(tg.zeros(3, 4), tg.zeros(2, 4)),
     r"generalized_box_iou_loss: boxes1 \(3, 4\) and boxes2 \(2, 4\) do not broadcast"),
    (lambda: ops.generalized_box_iou_loss(tg.zeros(3, 4), tg.zeros(3, 4), "avg"), "reduction"),
    (lambda: ops.masks_to_boxes(tg.zeros(4, 4)), r"masks_to_boxes: masks must be \(N, H, W\)"),
])
def test_bad_input_names_the_op_and_the_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
