"""Detection mAP (tinygrad_cs.data.detection.metrics): hand-worked precision-recall curves,
COCO's and VOC's matching rules on cases built to tell them apart, and parity with pycocotools'
COCOeval on random boxes and masks (skipped without pycocotools)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.data.detection import average_precision, box_iou, evaluate_detections, mask_iou


def box(x, y, w=10.0, h=10.0):
    return [x, y, x + w, y + h]


def test_box_and_mask_iou_closed_forms():
    a = np.array([box(0, 0), box(5, 0)])
    b = np.array([box(0, 0), box(0, 5, 10, 10), box(20, 20)])
    expected = [[1, 50 / 150, 0], [1 / 3, 25 / 175, 0]]
    np.testing.assert_allclose(box_iou(a, b), expected)
    rng = np.random.default_rng(0)
    ma, mb = rng.uniform(size=(3, 6, 5)) > 0.5, rng.uniform(size=(2, 6, 5)) > 0.4
    brute = [[(x & y).sum() / (x | y).sum() for y in mb] for x in ma]
    np.testing.assert_allclose(mask_iou(ma, mb), brute)
    assert mask_iou(ma[:0], mb).shape == (0, 2)


def test_perfect_predictions_score_one_and_wrong_ones_zero():
    targets = [{"boxes": np.array([box(0, 0), box(30, 30)]), "labels": np.array([1, 2])},
               {"boxes": np.array([box(5, 40)]), "labels": np.array([1])}]
    perfect = [dict(t, scores=np.linspace(0.9, 0.5, len(t["labels"]))) for t in targets]
    result = evaluate_detections(perfect, targets)
    # 1 up to COCO's eps: precision is TP / (TP + FP + 2.2e-16), in pycocotools too
    for key in ("map", "map_50", "map_75", "voc_map_50", "mar_100"):
        assert result[key] == pytest.approx(1.0, abs=1e-12)
    assert result["classes"] == (1, 2)
    wrong_class = [dict(p, labels=3 - p["labels"]) for p in perfect]
    far = [dict(p, boxes=p["boxes"] + 100) for p in perfect]
    for preds in (wrong_class, far):
        result = evaluate_detections(preds, targets)
        assert result["map"] == result["map_50"] == result["voc_map_50"] == 0.0
    empty = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int), "scores": np.zeros(0)}] * 2
    assert average_precision(empty, targets) == 0.0
    assert np.isnan(average_precision(perfect, [dict(t, labels=t["labels"][:0],
                                                      boxes=t["boxes"][:0]) for t in targets]))


def _known_curve():
    """One class, 4 objects in 2 images; 5 detections ranked TP, FP, TP, FP, TP (exact boxes or
    nowhere near): precision 1, 1/2, 2/3, 1/2, 3/5 at recall 1/4, 1/4, 1/2, 1/2, 3/4."""
    targets = [{"boxes": np.array([box(0, 0), box(20, 0)]), "labels": np.array([1, 1])},
               {"boxes": np.array([box(0, 0), box(20, 20)]), "labels": np.array([1, 1])}]
    preds = [{"boxes": np.array([box(0, 0), box(50, 50), box(20, 0)]),
              "scores": np.array([0.9, 0.8, 0.5]), "labels": np.array([1, 1, 1])},
             {"boxes": np.array([box(0, 0), box(60, 60)]),
              "scores": np.array([0.7, 0.6]), "labels": np.array([1, 1])}]
    return preds, targets


def test_a_known_precision_recall_curve():
    preds, targets = _known_curve()
    # VOC: area under the monotone envelope = 1/4 * 1 + 1/4 * 2/3 + 1/4 * 3/5
    voc = 0.25 + 0.25 * 2 / 3 + 0.25 * 0.6
    assert average_precision(preds, targets, style="voc") == pytest.approx(voc, abs=1e-12)
    # COCO: 26 recall points in [0, .25] at precision 1, 25 in (.25, .5] at 2/3, 25 in
    # (.5, .75] at 3/5, 25 above .75 at 0 (the same at every IoU threshold: boxes are exact)
    coco = (26 + 25 * 2 / 3 + 25 * 0.6) / 101
    assert average_precision(preds, targets) == pytest.approx(coco, abs=1e-12)
    assert average_precision(preds, targets, iou_thresholds=[0.5]) == pytest.approx(coco)
    # at most 1 detection per image: only the two TPs at 0.9 and 0.7 remain (recall 1/2)
    assert average_precision(preds, targets, max_dets=1) == pytest.approx(51 / 101)


def test_coco_and_voc_matching_rules_differ_as_documented():
    """d1 (best score) is object A exactly; d2 overlaps A most (IoU 100/120) and B less (95/125):
    COCO gives d2 the still unmatched B (a TP at IoU 0.5), VOC looks only at A, already taken
    (a FP). At a threshold between the two overlaps COCO finds nothing for d2 either."""
    a, b, d2 = [0.0, 0.0, 10.0, 10.0], [0.0, 2.5, 10.0, 12.5], [0.0, 0.0, 10.0, 12.0]
    ious = box_iou(np.array([d2]), np.array([a, b]))[0]
    np.testing.assert_allclose(ious, [100 / 120, 95 / 125])
    targets = [{"boxes": np.array([a, b]), "labels": np.array([1, 1])}]
    preds = [{"boxes": np.array([a, d2]), "scores": np.array([0.9, 0.8]),
              "labels": np.array([1, 1])}]
    assert average_precision(preds, targets, iou_thresholds=[0.5]) == pytest.approx(1.0)
    # VOC: TP then FP: recall 1/2 at precision 1, nothing more: AP = 1/2
    assert average_precision(preds, targets, style="voc") == pytest.approx(0.5)
    # COCO at 0.8: d2 is a FP, recall stops at 1/2: 51 of the 101 points at precision 1
    assert average_precision(preds, targets, iou_thresholds=[0.8]) == pytest.approx(51 / 101)


def test_masks_use_mask_iou_and_tensors_are_accepted():
    masks = np.zeros((2, 8, 8), np.uint8)
    masks[0, :4, :4] = 1
    masks[1, 4:, 4:] = 1
    boxes = np.array([box(0, 0, 4, 4), box(4, 4, 4, 4)])
    targets = [{"boxes": tg.tensor(boxes), "labels": tg.tensor([1, 2]),
                "masks": tg.tensor(masks)}]
    # right boxes, masks (float probabilities, (n, 1, H, W) as Mask R-CNN gives) swapped
    swapped = masks[::-1, None].astype(np.float32) * 0.9
    preds = [{"boxes": boxes, "labels": np.array([1, 2]), "scores": np.array([0.9, 0.8]),
              "masks": swapped}]
    assert average_precision(preds, targets, iou_type="bbox") == pytest.approx(1.0)
    assert average_precision(preds, targets, iou_type="segm") == 0.0
    preds[0]["masks"] = masks[:, None] * 0.7
    assert average_precision(preds, targets, iou_type="segm") == pytest.approx(1.0)


def test_bad_inputs_raise_and_name_the_problem():
    preds, targets = _known_curve()
    with pytest.raises(ValueError, match="2 predictions for 1 images"):
        average_precision(preds, targets[:1])
    with pytest.raises(ValueError, match="prediction 0 lacks \\['masks'\\]"):
        average_precision(preds, targets, iou_type="segm")
    bad = [dict(preds[0], scores=preds[0]["scores"][:2]), preds[1]]
    with pytest.raises(ValueError, match="prediction 0 has fields of different lengths"):
        average_precision(bad, targets)
    with pytest.raises(ValueError, match="style"):
        average_precision(preds, targets, style="kitti")


# -- parity with pycocotools ----------------------------------------------------------------------

H = W = 24


def _random_case(seed: int, segm: bool, n_images: int = 5, n_classes: int = 3):
    """Ground truth, and detections that are noisy copies of some of it plus random boxes."""
    rng = np.random.default_rng(seed)
    preds, gts = [], []

    def boxes(n):
        corner = rng.uniform(0, 16, (n, 2))
        return np.concatenate([corner, np.minimum(corner + rng.uniform(2, 10, (n, 2)), W)], 1)

    def masks(b):
        out = np.zeros((len(b), H, W), np.uint8)
        for j, (x0, y0, x1, y1) in enumerate(np.round(b).astype(int)):
            out[j, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = 1
        return out & (rng.uniform(size=out.shape) < 0.9)

    for _ in range(n_images):
        n_gt, n_det = int(rng.integers(0, 5)), int(rng.integers(0, 8))
        gt_boxes, det_boxes = boxes(n_gt), boxes(n_det)
        k = min(n_gt, n_det)
        det_boxes[:k] = gt_boxes[:k] + rng.normal(0, 0.8, (k, 4))
        det_boxes = np.clip(det_boxes, 0, W)
        det_boxes[:, 2:] = np.maximum(det_boxes[:, 2:], det_boxes[:, :2] + 0.5)
        gt_labels = rng.integers(1, n_classes + 1, n_gt)
        det_labels = rng.integers(1, n_classes + 1, n_det)
        det_labels[:k] = np.where(rng.uniform(size=k) < 0.8, gt_labels[:k], det_labels[:k])
        gt = {"boxes": gt_boxes, "labels": gt_labels}
        pred = {"boxes": det_boxes, "labels": det_labels, "scores": rng.uniform(size=n_det)}
        if segm:
            gt["masks"], pred["masks"] = masks(gt_boxes), masks(det_boxes)
        gts.append(gt)
        preds.append(pred)
    return preds, gts


def _cocoeval_stats(preds, gts, iou_type: str, n_classes: int = 3) -> np.ndarray:
    """COCOeval's 12 stats on COCO json structures built in memory."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(mask):
        return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))

    images = [{"id": i + 1, "height": H, "width": W} for i in range(len(gts))]
    annotations, results = [], []
    for i, (gt, pred) in enumerate(zip(gts, preds)):
        for j, (x0, y0, x1, y1) in enumerate(gt["boxes"]):
            ann = {"id": len(annotations) + 1, "image_id": i + 1, "iscrowd": 0,
                   "category_id": int(gt["labels"][j]), "bbox": [x0, y0, x1 - x0, y1 - y0],
                   "area": (x1 - x0) * (y1 - y0)}
            if iou_type == "segm":
                ann["segmentation"], ann["area"] = rle(gt["masks"][j]), float(gt["masks"][j].sum())
            annotations.append(ann)
        for j, (x0, y0, x1, y1) in enumerate(pred["boxes"]):
            res = {"image_id": i + 1, "category_id": int(pred["labels"][j]),
                   "score": float(pred["scores"][j]), "bbox": [x0, y0, x1 - x0, y1 - y0]}
            if iou_type == "segm":
                res["segmentation"] = rle(pred["masks"][j])
            results.append(res)
    with contextlib.redirect_stdout(io.StringIO()):          # COCOeval prints as it goes
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": c} for c in range(1, n_classes + 1)]}
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
@given(seed=st.integers(0, 2**31 - 1))
def test_matches_pycocotools_cocoeval(iou_type, seed):
    pytest.importorskip("pycocotools")
    preds, gts = _random_case(seed, segm=iou_type == "segm")
    # loadRes needs a detection; COCOeval gives -1 without ground truth
    assume(any(len(p["labels"]) for p in preds) and any(len(g["labels"]) for g in gts))
    stats = _cocoeval_stats(preds, gts, iou_type)
    mine = evaluate_detections(preds, gts, iou_type=iou_type)
    assert mine["map"] == pytest.approx(stats[0], abs=1e-6)
    assert mine["map_50"] == pytest.approx(stats[1], abs=1e-6)
    assert mine["map_75"] == pytest.approx(stats[2], abs=1e-6)
    assert mine["mar_100"] == pytest.approx(stats[8], abs=1e-6)
    assert average_precision(preds, gts, iou_type=iou_type) == pytest.approx(stats[0], abs=1e-6)


def test_known_curve_matches_pycocotools():
    pytest.importorskip("pycocotools")
    preds, targets = _known_curve()
    stats = _cocoeval_stats(preds, targets, "bbox", n_classes=1)
    assert average_precision(preds, targets) == pytest.approx(stats[0], abs=1e-12)
    assert stats[0] == pytest.approx((26 + 25 * 2 / 3 + 25 * 0.6) / 101)
