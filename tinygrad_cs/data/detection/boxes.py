"""Box and mask arithmetic in numpy, for the detection data sets and their evaluation.

Boxes are ``(N, 4)`` ``(x1, y1, x2, y2)`` in pixel-edge coordinates, torchvision's and COCO's
convention for images of H x W pixels: pixel ``(row r, column c)`` is the unit square
``[c, c + 1] x [r, r + 1]``, so a box lies inside ``[0, W] x [0, H]``, its area is
``(x2 - x1) * (y2 - y1)`` and a horizontal flip maps ``x -> W - x``. The box of a mask is therefore
``(min column, min row, max column + 1, max row + 1)`` of its pixels (COCO's ``bbox`` from a
mask; ``torchvision.ops.masks_to_boxes`` returns the max column/row themselves, one less).
"""
from __future__ import annotations

import numpy as np

__all__ = ["box_area", "box_iou", "mask_iou", "masks_to_boxes"]


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` masks -> ``(N, 4)`` float32 boxes enclosing their nonzero pixels (pixel
    edges, see the module's docstring). An empty mask gets the box ``(0, 0, 0, 0)``."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks_to_boxes: expected masks (N, H, W), got shape {masks.shape}")
    n, height, width = masks.shape
    boxes = np.zeros((n, 4), dtype=np.float32)
    if n == 0:
        return boxes
    rows, cols = masks.any(axis=2), masks.any(axis=1)        # (N, H), (N, W)
    present = rows.any(axis=1)
    boxes[:, 0] = cols.argmax(axis=1)
    boxes[:, 1] = rows.argmax(axis=1)
    boxes[:, 2] = width - cols[:, ::-1].argmax(axis=1)
    boxes[:, 3] = height - rows[:, ::-1].argmax(axis=1)
    boxes[~present] = 0
    return boxes


def box_area(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` -> ``(N,)`` areas ``(x2 - x1) * (y2 - y1)``, in float64."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, 4), (M, 4)`` -> ``(N, M)`` float64 intersection over union
    ``|a n b| / (|a| + |b| - |a n b|)``; 0 where the union is empty."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, H, W), (M, H, W)`` -> ``(N, M)`` float64 IoU of the masks' pixel sets (nonzero =
    inside); 0 where both are empty."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0 or len(b) == 0:                 # an empty set of masks may lack (H, W)
        return np.zeros((len(a), len(b)))
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"mask_iou: expected masks (N, H, W) and (M, H, W) of one size, got "
                         f"shapes {a.shape} and {b.shape}")
    pixels = a.shape[1] * a.shape[2]
    fa = (a != 0).reshape(len(a), pixels).astype(np.float64)
    fb = (b != 0).reshape(len(b), pixels).astype(np.float64)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
