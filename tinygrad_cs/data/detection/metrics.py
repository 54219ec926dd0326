"""Detection and instance-segmentation mAP: COCO's AP@[.5:.95] and AP@.5 (``pycocotools``'
``COCOeval``, area range "all") and VOC's all-point AP@.5 (VOC2010 and later).

Inputs are as torchvision's detection models give and take them, one dict per image:
predictions ``{"boxes" (n, 4) xyxy, "scores" (n,), "labels" (n,)}`` (plus ``"masks"`` (n, H, W)
or (n, 1, H, W) for ``iou_type="segm"``; float masks are thresholded at 0.5, as torchvision's
reference evaluation does, others are nonzero = inside) and ground truths ``{"boxes",
"labels"(, "masks")}``; numpy arrays or Tensors. Every image and class is matched separately
(``matching``); per class, the detections of all images are then ranked by score, giving
precision ``P_k = TP_k / k`` and recall ``R_k = TP_k / G`` (G ground-truth objects of the class)
after the k best. Precision is made monotone, ``P~(r) = max_{R_k >= r} P_k``, and

* COCO: ``AP = mean over r in {0, .01, ..., 1} of P~(r)`` (0 beyond the largest recall), at
  each IoU threshold in ``.5:.05:.95`` (the ``max_dets`` best detections per image and class);
* VOC: ``AP = sum_k (R_k - R_{k-1}) P~(R_k)``, the exact area under the monotone curve.

mAP is the mean over the classes that have ground truth (detections of other classes are
ignored); with no ground truth at all it is NaN. Crowd regions and area ranges are not
modelled. Boxes are in pixel-edge coordinates (IoU without VOC's "+1").
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from .boxes import box_iou, mask_iou
from .matching import match_coco, match_voc

__all__ = ["COCO_IOU_THRESHOLDS", "RECALL_THRESHOLDS", "average_precision",
           "evaluate_detections"]

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def _numpy(value: Any) -> np.ndarray:
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def _read(sample: dict, what: str, index: int, iou_type: str) -> dict:
    """One prediction or ground truth as float64 boxes, int64 labels, scores, bool masks."""
    keys = ("boxes", "labels") + (("scores",) if what == "prediction" else ())
    keys += ("masks",) if iou_type == "segm" else ()
    missing = [k for k in keys if k not in sample]
    if missing:
        raise ValueError(f"average_precision: {what} {index} lacks {missing} (iou_type="
                         f"{iou_type!r})")
    out = {k: _numpy(sample[k]) for k in keys}
    n = len(out["labels"])
    out["boxes"] = out["boxes"].astype(np.float64).reshape(-1, 4)
    out["labels"] = out["labels"].astype(np.int64).reshape(-1)
    if "scores" in out:
        out["scores"] = out["scores"].astype(np.float64).reshape(-1)
    if "masks" in out:
        masks = out["masks"]
        if masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        out["masks"] = masks > 0.5 if masks.dtype.kind == "f" else masks != 0
    sizes = {k: len(v) for k, v in out.items()}
    if any(size != n for size in sizes.values()):
        raise ValueError(f"average_precision: {what} {index} has fields of different lengths "
                         f"{sizes}")
    return out


def _gather(predictions: Sequence[dict], targets: Sequence[dict], iou_type: str,
            thresholds: np.ndarray, max_dets: int | None, style: str) -> dict:
    """class -> (scores (D,), true positives (T, D), number of ground-truth objects)."""
    if len(predictions) != len(targets):
        raise ValueError(f"average_precision: {len(predictions)} predictions for "
                         f"{len(targets)} images of ground truth")
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"average_precision: iou_type must be 'bbox' or 'segm', got "
                         f"{iou_type!r}")
    preds = [_read(p, "prediction", i, iou_type) for i, p in enumerate(predictions)]
    gts = [_read(t, "target", i, iou_type) for i, t in enumerate(targets)]
    classes = sorted({int(c) for g in gts for c in g["labels"]})
    found = {c: ([], [], 0) for c in classes}
    for p, g in zip(preds, gts):
        for c in classes:
            on_gt, on_det = g["labels"] == c, np.flatnonzero(p["labels"] == c)
            order = on_det[np.argsort(-p["scores"][on_det], kind="mergesort")][:max_dets]
            if iou_type == "bbox":
                ious = box_iou(p["boxes"][order], g["boxes"][on_gt])
            else:
                ious = mask_iou(p["masks"][order], g["masks"][on_gt])
            if style == "coco":
                hits = match_coco(ious, thresholds)
            else:
                hits = np.stack([match_voc(ious, t) for t in thresholds]).reshape(
                    len(thresholds), len(order))
            scores, tps, n_gt = found[c]
            scores.append(p["scores"][order]), tps.append(hits)
            found[c] = scores, tps, n_gt + int(on_gt.sum())
    return {c: (np.concatenate(s), np.concatenate(h, axis=1), n)
            for c, (s, h, n) in found.items()}


def _curves(scores: np.ndarray, hits: np.ndarray, n_gt: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Recall and monotone precision ``(T, D)`` after each of the D detections by score."""
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(hits[:, order], axis=1, dtype=np.float64)
    fp = np.cumsum(~hits[:, order], axis=1, dtype=np.float64)
    recall = tp / n_gt
    precision = tp / (tp + fp + np.spacing(1))
    return recall, np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]


def _coco_ap(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``(T,)``: mean precision at the 101 recall points (0 where a point is never reached)."""
    out = np.zeros(len(recall))
    for t in range(len(recall)):
        at = np.searchsorted(recall[t], RECALL_THRESHOLDS, side="left")
        reached = at < recall.shape[1]
        out[t] = precision[t, at[reached]].sum() / len(RECALL_THRESHOLDS)
    return out


def _voc_ap(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``(T,)``: area under the monotone precision-recall curve."""
    steps = np.diff(np.concatenate([np.zeros((len(recall), 1)), recall], axis=1), axis=1)
    return (steps * precision).sum(axis=1)


def _per_class_ap(predictions: Sequence[dict], targets: Sequence[dict], iou_type: str,
                  thresholds: np.ndarray, max_dets: int | None, style: str
                  ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """class -> (AP per threshold (T,), final recall per threshold (T,))."""
    out = {}
    for c, (scores, hits, n_gt) in _gather(predictions, targets, iou_type, thresholds,
                                           max_dets, style).items():
        recall, precision = _curves(scores, hits, n_gt)
        final = recall[:, -1] if recall.shape[1] else np.zeros(len(thresholds))
        ap = (_coco_ap if style == "coco" else _voc_ap)(recall, precision)
        out[c] = ap, final
    return out


def average_precision(predictions: Sequence[dict], targets: Sequence[dict], *,
                      iou_type: str = "bbox", style: str = "coco",
                      iou_thresholds: Sequence[float] | None = None,
                      max_dets: int | None = None) -> float:
    """Mean average precision over classes and IoU thresholds (see the module's docstring).

    ``style="coco"``: 101-point AP, ``iou_thresholds`` default ``.5:.05:.95`` (AP@[.5:.95];
    pass ``[0.5]`` for COCO's AP@.5), ``max_dets`` default 100 per image and class.
    ``style="voc"``: all-point AP, ``iou_thresholds`` default ``[0.5]``, no limit on detections.
    ``iou_type``: ``"bbox"`` (box IoU) or ``"segm"`` (mask IoU, needs ``"masks"``).
    """
    if style not in ("coco", "voc"):
        raise ValueError(f"average_precision: style must be 'coco' or 'voc', got {style!r}")
    default = COCO_IOU_THRESHOLDS if style == "coco" else [0.5]
    thresholds = np.asarray(default if iou_thresholds is None else iou_thresholds, np.float64)
    if thresholds.ndim != 1 or not len(thresholds) or not np.all((thresholds > 0)
                                                                  & (thresholds <= 1)):
        raise ValueError(f"average_precision: iou_thresholds must be a non-empty list in (0, 1], "
                         f"got {iou_thresholds}")
    if max_dets is None and style == "coco":
        max_dets = 100
    per_class = _per_class_ap(predictions, targets, iou_type, thresholds, max_dets, style)
    if not per_class:
        return float("nan")
    return float(np.mean([ap for ap, _ in per_class.values()]))


def evaluate_detections(predictions: Sequence[dict], targets: Sequence[dict], *,
                        iou_type: str = "bbox", max_dets: int = 100) -> dict[str, Any]:
    """The usual summary, named as torchmetrics' ``MeanAveragePrecision``:

    ``map`` (COCO AP@[.5:.95], ``COCOeval.stats[0]``), ``map_50`` (``stats[1]``), ``map_75``
    (``stats[2]``), ``mar_100`` (recall averaged over thresholds and classes, ``stats[8]`` with
    ``max_dets`` = 100), ``voc_map_50`` (VOC all-point AP@.5), ``map_per_class`` {label: COCO
    AP@[.5:.95]} and ``classes`` (the labels with ground truth). NaN where there is no ground
    truth.
    """
    coco = _per_class_ap(predictions, targets, iou_type, COCO_IOU_THRESHOLDS, max_dets, "coco")
    voc = _per_class_ap(predictions, targets, iou_type, np.array([0.5]), None, "voc")
    classes = tuple(coco)
    shape = (len(classes), len(COCO_IOU_THRESHOLDS))
    ap = np.array([coco[c][0] for c in classes]).reshape(shape)
    recall = np.array([coco[c][1] for c in classes]).reshape(shape)

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if x.size else float("nan")

    return {"map": mean(ap), "map_50": mean(ap[:, 0]), "map_75": mean(ap[:, 5]),
            "mar_100": mean(recall), "voc_map_50": mean(np.array([voc[c][0] for c in classes])),
            "map_per_class": {c: float(coco[c][0].mean()) for c in classes},
            "classes": classes}
