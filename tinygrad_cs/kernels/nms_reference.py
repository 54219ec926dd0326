"""Plain-numpy non-maximum suppression: the oracle for ``kernels/nms.py``.

Written as the algorithms are stated, not for speed:

* ``nms``: torchvision's CPU loop over the boxes in order of decreasing score (a stable
  sort: equal scores keep their index order; a NaN score counts as the largest, as in
  ``torch.sort``): a box not yet suppressed is kept, and suppresses every later box whose
  IoU with it exceeds the threshold. IoUs are computed in the boxes' dtype.
* ``batched_nms``: torchvision's coordinate trick, literally: every box is shifted by
  ``idx * (max coordinate + 1)`` (in the boxes' dtype) so that boxes of different
  categories cannot overlap, then ``nms``.
* ``soft_nms``: soft-NMS (Bodla et al. 2017) in float64; one Python step per kept box.

Inputs are numpy arrays: boxes (N, 4) as (x1, y1, x2, y2), scores (N,); results are int64
index arrays (and float64 scores for soft-NMS).
"""
from __future__ import annotations

import math

import numpy as np


def score_order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score; ties keep index order; NaN first (as ``torch.sort``)."""
    def key(i: int) -> tuple:
        s = float(scores[i])
        return (0, 0.0, i) if math.isnan(s) else (1, -s, i)
    return np.array(sorted(range(len(scores)), key=key), dtype=np.int64)


def _iou_with(boxes: np.ndarray, i: int, others: np.ndarray) -> np.ndarray:
    """IoU of box i with each box of ``others`` (indices), in the boxes' dtype."""
    zero = boxes.dtype.type(0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    o = boxes[others]
    w = np.maximum(zero, np.minimum(boxes[i, 2], o[:, 2]) - np.maximum(boxes[i, 0], o[:, 0]))
    h = np.maximum(zero, np.minimum(boxes[i, 3], o[:, 3]) - np.maximum(boxes[i, 1], o[:, 1]))
    inter = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area[i] + area[others] - inter)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the kept boxes, by decreasing score."""
    order = score_order(scores)
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        later = order[position + 1:]
        # float64 comparison, as torchvision's ``ovr > iou_threshold`` with a double threshold
        suppressed[later[_iou_with(boxes, i, later).astype(np.float64) > iou_threshold]] = True
    return np.array(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray,
                iou_threshold: float) -> np.ndarray:
    """``nms`` within each category of ``idxs``, by the coordinate-offset trick."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    dtype = boxes.dtype.type
    offsets = idxs.astype(boxes.dtype) * (boxes.max() + dtype(1))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def soft_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, sigma: float,
             score_threshold: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(kept indices in selection order, their scores at selection), as ``soft_nms``."""
    boxes = boxes.astype(np.float64)
    current = scores.astype(np.float64)
    alive = current >= score_threshold
    keep, kept_scores = [], []
    while alive.any():
        candidates = np.flatnonzero(alive)
        best = candidates[np.argmax(current[candidates])]  # first maximum: lowest index
        alive[best] = False
        keep.append(best)
        kept_scores.append(current[best])
        others = np.flatnonzero(alive)
        iou = _iou_with(boxes, best, others)
        if method == "linear":
            weight = np.where(iou > iou_threshold, 1.0 - iou, 1.0)
        else:  # gaussian; math.exp: the same libm call as the kernel's
            weight = np.array([math.exp(-(v * v) / sigma) for v in iou])
        current[others] *= weight
        alive[others] = current[others] >= score_threshold
    return np.array(keep, dtype=np.int64), np.array(kept_scores, dtype=np.float64)
