"""Numba kernels of non-maximum suppression: the hard loop of ``nms`` and soft-NMS.

Boxes are ``(x1, y1, x2, y2)``; IoU(a, b) = inter / (area_a + area_b - inter), with
``inter = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1))``.

* ``suppress_sorted``: the boxes arrive already sorted by decreasing score, as contiguous
  coordinate columns, cut into segments ``[starts[s], starts[s + 1])`` (one segment for
  ``nms``; one per category for ``batched_nms``, so boxes of different categories never
  meet). Within a segment, box i (in score order) is kept unless an earlier kept box
  suppressed it, and a kept box suppresses every later box j of its segment with
  ``IoU(i, j) > threshold`` (strictly). That is torchvision's CPU loop; two choices make it
  fast without changing its result: the columns are gathered in score order, so the inner
  loop reads memory in sequence, and the inner loop also recomputes the IoU of boxes that
  are already suppressed (flagging them again changes nothing), which leaves it free of
  branches, so LLVM turns it into SIMD code. The arithmetic is the input's dtype, as
  torchvision's (``max`` / ``min`` act as its ``std::max`` / ``std::min`` on numbers;
  boxes with NaN coordinates are unspecified); the caller passes the threshold rounded
  down to that dtype, which makes the float32 comparison ``iou > t32`` agree with
  torchvision's ``(double) iou > t``.
* ``soft_suppress``: soft-NMS (Bodla et al. 2017) in float64: repeatedly select the box of
  highest current score (ties: the lowest index), keep it, and decay every remaining box's
  score by ``exp(-iou^2 / sigma)`` (gaussian) or by ``1 - iou`` where ``iou > threshold``
  (linear); a box whose score falls below ``score_threshold`` is dropped.

Both are sequential (each step depends on the previous one), hence deterministic.
"""
from __future__ import annotations

import math

import numpy as np

from ._jit import kernel


def score_order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score: a stable sort (equal scores keep their index order),
    NaN first (as ``torch.sort`` puts NaN first when descending)."""
    nan = np.isnan(scores)
    rest = np.flatnonzero(~nan)
    return np.concatenate([np.flatnonzero(nan),
                           rest[np.argsort(-scores[rest], kind="stable")]]).astype(np.int64)


@kernel(error_model="numpy")
def suppress_sorted(x1, y1, x2, y2, starts, threshold, suppressed):
    """Fill ``suppressed`` (uint8, zeros in) for boxes sorted by score within segments."""
    area = (x2 - x1) * (y2 - y1)
    zero = np.zeros(1, x1.dtype)[0]  # 0 in the boxes' dtype: float32 stays float32
    for s in range(starts.shape[0] - 1):
        end = starts[s + 1]
        for i in range(starts[s], end):
            if suppressed[i]:
                continue
            ix1, iy1, ix2, iy2, iarea = x1[i], y1[i], x2[i], y2[i], area[i]
            # slices from 0: LLVM vectorises this loop, not one that starts at i + 1
            a, b, c, d = x1[i + 1:end], y1[i + 1:end], x2[i + 1:end], y2[i + 1:end]
            rest, flags = area[i + 1:end], suppressed[i + 1:end]
            for j in range(end - i - 1):
                w = max(zero, min(ix2, c[j]) - max(ix1, a[j]))
                h = max(zero, min(iy2, d[j]) - max(iy1, b[j]))
                inter = w * h
                iou = inter / (iarea + rest[j] - inter)
                flags[j] = flags[j] | (iou > threshold)


@kernel(error_model="numpy")
def soft_suppress(boxes, scores, threshold, sigma, score_threshold, linear, keep, kept_scores):
    """Soft-NMS over float64 ``boxes`` (N, 4) and ``scores`` (N,), which it decays in
    place; fills ``keep`` / ``kept_scores`` in selection order and returns their count."""
    n = boxes.shape[0]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    alive = np.empty(n, dtype=np.bool_)
    for k in range(n):
        alive[k] = scores[k] >= score_threshold
    count = 0
    while True:
        best = -1
        for k in range(n):
            if alive[k] and (best < 0 or scores[k] > scores[best]):
                best = k
        if best < 0:
            return count
        alive[best] = False
        keep[count] = best
        kept_scores[count] = scores[best]
        count += 1
        bx1, by1, bx2, by2 = boxes[best, 0], boxes[best, 1], boxes[best, 2], boxes[best, 3]
        for k in range(n):
            if not alive[k]:
                continue
            w = min(bx2, boxes[k, 2]) - max(bx1, boxes[k, 0])
            h = min(by2, boxes[k, 3]) - max(by1, boxes[k, 1])
            inter = max(w, 0.0) * max(h, 0.0)
            iou = inter / (area[best] + area[k] - inter)
            if linear:
                if iou > threshold:
                    scores[k] *= 1.0 - iou
            else:
                scores[k] *= math.exp(-(iou * iou) / sigma)
            if not scores[k] >= score_threshold:
                alive[k] = False


def warm() -> None:
    """Compile (or load from the cache) each kernel for float32 and float64 boxes."""
    for dtype in (np.float32, np.float64):
        b = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], dtype=dtype)
        suppress_sorted(*(np.ascontiguousarray(b[:, k]) for k in range(4)),
                        np.array([0, 2], dtype=np.int64), dtype(0.5), np.zeros(2, np.uint8))
    soft_suppress(np.array([[0, 0, 2, 2.0]]), np.ones(1), 0.3, 0.5, 0.001, False,
                  np.zeros(1, np.int64), np.zeros(1))
