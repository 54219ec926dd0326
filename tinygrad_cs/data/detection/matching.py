"""Matching detections to ground truth, one image and one class at a time, the two classic ways.

Both take ``ious`` ``(D, G)``: the IoU of each detection (rows, sorted by score, highest first)
with each ground-truth object (columns) of that image and class.

* COCO (``cocoeval.evaluateImg``): for each IoU threshold t separately, each detection in turn
  takes the still unmatched ground truth it overlaps most, if that IoU is >= t (ties: the last
  such object); otherwise it is a false positive.
* VOC (the devkit's ``VOCevaldet``): each detection looks only at the ground truth it overlaps
  most (ties: the first); it is a true positive if that IoU is >= t and the object is not yet
  taken, else a false positive (a second detection of an object counts against the detector
  even when another object would have fitted).
"""
from __future__ import annotations

import numpy as np

__all__ = ["match_coco", "match_voc"]


def match_coco(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(T, D)`` bool: whether detection d is a true positive at threshold ``thresholds[t]``."""
    n_det, n_gt = ious.shape
    hits = np.zeros((len(thresholds), n_det), dtype=bool)
    if n_det == 0 or n_gt == 0:
        return hits
    for t, threshold in enumerate(thresholds):
        limit = min(float(threshold), 1 - 1e-10)    # COCO's cap: IoU 1 must still match at 1.0
        free = np.ones(n_gt, dtype=bool)
        for d in range(n_det):
            row = np.where(free, ious[d], -np.inf)
            best = n_gt - 1 - int(np.argmax(row[::-1]))                 # last of the maxima
            if row[best] >= limit:
                hits[t, d], free[best] = True, False
    return hits


def match_voc(ious: np.ndarray, threshold: float) -> np.ndarray:
    """``(D,)`` bool true positives at ``threshold``. VOC walks the detections of all images in
    one global score order, but an object can only be taken by detections of its own image, so
    walking each image's detections in their score order gives the same answer."""
    hits = np.zeros(len(ious), dtype=bool)
    if ious.shape[1] == 0:
        return hits
    taken = np.zeros(ious.shape[1], dtype=bool)
    for d in range(len(ious)):
        best = int(np.argmax(ious[d]))                                  # first of the maxima
        if ious[d, best] >= threshold and not taken[best]:
            hits[d], taken[best] = True, True
    return hits
