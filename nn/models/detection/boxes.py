"""Box arithmetic, as ``torchvision.ops``: formats, areas, IoU, GIoU and its loss, clipping.

Boxes are rows of 4 numbers. Formats: ``xyxy`` = (x1, y1, x2, y2), corners, the format
every other function here expects (with x1 <= x2, y1 <= y2); ``xywh`` = (x1, y1, w, h);
``cxcywh`` = (cx, cy, w, h), centre and size.

For boxes a (N, 4) and b (M, 4):

    area(a)      = (x2 - x1)(y2 - y1)                                        (N,)
    inter(a, b)  = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1))     (N, M)
    union        = area(a)[:, None] + area(b)[None, :] - inter
    IoU          = inter / union
    GIoU         = IoU - (C - union) / C,   C = area of the smallest box enclosing both

``generalized_box_iou_loss`` pairs row i of boxes1 with row i of boxes2 (not all pairs):
``1 - (inter / (union + eps) - (C - union) / (C + eps))``.

Everything is built from differentiable Tensor ops, so gradients come from the engine
(at a tie of ``max``/``min`` the gradient takes one side, as PyTorch's does).
``remove_small_boxes`` and ``masks_to_boxes`` return plain (non-differentiable) results.
"""
from __future__ import annotations

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

__all__ = [
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes_to_image",
    "generalized_box_iou",
    "generalized_box_iou_loss",
    "masks_to_boxes",
    "remove_small_boxes",
]

FORMATS = ("xyxy", "xywh", "cxcywh")


def _boxes(op: str, boxes: Tensor, name: str = "boxes", any_batch: bool = False) -> Tensor:
    """``boxes`` if it is (N, 4) (or (..., 4) with ``any_batch``), else a ValueError."""
    if not isinstance(boxes, Tensor):
        boxes = tg.as_tensor(boxes)
    shape = tuple(boxes.shape)
    ok = (len(shape) >= 1 if any_batch else len(shape) == 2) and shape[-1:] == (4,)
    if not ok:
        want = "(..., 4)" if any_batch else "(N, 4)"
        raise ValueError(f"{op}: {name} must be {want}, got shape {shape}")
    return boxes


def _to_xyxy(boxes: Tensor, fmt: str) -> Tensor:
    a, b, c, d = boxes.unbind(-1)
    if fmt == "xywh":                       # (x, y, w, h) -> (x, y, x + w, y + h)
        return tg.stack([a, b, a + c, b + d], dim=-1)
    # (cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)
    return tg.stack([a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d], dim=-1)


def _from_xyxy(boxes: Tensor, fmt: str) -> Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    if fmt == "xywh":
        return tg.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)
    return tg.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Boxes (..., 4) from ``in_fmt`` to ``out_fmt`` (``"xyxy"``, ``"xywh"``, ``"cxcywh"``).

    Conversions between the two non-corner formats go through ``xyxy``, as torchvision's;
    equal formats return a copy. (torchvision's rotated formats are not supported.)
    """
    if in_fmt not in FORMATS or out_fmt not in FORMATS:
        raise ValueError(f"box_convert: formats must be among {FORMATS}, got in_fmt="
                         f"{in_fmt!r}, out_fmt={out_fmt!r}")
    boxes = _boxes("box_convert", boxes, any_batch=True)
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt != "xyxy":
        boxes = _to_xyxy(boxes, in_fmt)
    return boxes if out_fmt == "xyxy" else _from_xyxy(boxes, out_fmt)


def box_area(boxes: Tensor) -> Tensor:
    """Areas (N,) of boxes (N, 4) in xyxy: ``(x2 - x1) * (y2 - y1)``."""
    boxes = _boxes("box_area", boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _inter_union(op: str, boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise intersections and unions (N, M) of boxes1 (N, 4) and boxes2 (M, 4)."""
    boxes1, boxes2 = _boxes(op, boxes1, "boxes1"), _boxes(op, boxes2, "boxes2")
    lt = tg.maximum(boxes1[:, None, :2], boxes2[None, :, :2])    # (N, M, 2)
    rb = tg.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter
    return inter, union


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU (N, M) of boxes1 (N, 4) and boxes2 (M, 4) in xyxy: inter / union."""
    inter, union = _inter_union("box_iou", boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU (N, M): ``IoU - (C - union) / C``, C the enclosing box's area."""
    inter, union = _inter_union("generalized_box_iou", boxes1, boxes2)
    boxes1, boxes2 = tg.as_tensor(boxes1), tg.as_tensor(boxes2)
    lt = tg.minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = tg.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    enclosing = wh[:, :, 0] * wh[:, :, 1]
    return inter / union - (enclosing - union) / enclosing


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                             eps: float = 1e-7) -> Tensor:
    """GIoU loss of matched pairs: boxes1, boxes2 (..., 4) broadcast together.

    ``loss = 1 - (inter / (union + eps) - (C - union) / (C + eps))`` per pair, where
    ``inter`` counts only a positive overlap in both x and y; ``reduction``: ``"none"``
    (shape (...)), ``"mean"`` (0 for no boxes, as torchvision's) or ``"sum"``.
    """
    op = "generalized_box_iou_loss"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    boxes1 = _boxes(op, boxes1, "boxes1", any_batch=True)
    boxes2 = _boxes(op, boxes2, "boxes2", any_batch=True)
    try:
        np.broadcast_shapes(tuple(boxes1.shape), tuple(boxes2.shape))
    except ValueError:
        raise ValueError(f"{op}: boxes1 {tuple(boxes1.shape)} and boxes2 "
                         f"{tuple(boxes2.shape)} do not broadcast") from None
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    w = tg.minimum(x2, x2g) - tg.maximum(x1, x1g)
    h = tg.minimum(y2, y2g) - tg.maximum(y1, y1g)
    overlap = (w > 0) & (h > 0)
    inter = tg.where(overlap, w * h, tg.zeros_like(w))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    enclosing = ((tg.maximum(x2, x2g) - tg.minimum(x1, x1g))
                 * (tg.maximum(y2, y2g) - tg.minimum(y1, y1g)))
    loss = 1 - (inter / (union + eps) - (enclosing - union) / (enclosing + eps))
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    return loss.sum() if reduction == "sum" else loss


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Boxes (..., 4) in xyxy with x clamped to [0, width] and y to [0, height];
    ``size`` is (height, width)."""
    boxes = _boxes("clip_boxes_to_image", boxes, any_batch=True)
    height, width = size
    xs = boxes[..., 0::2].clamp(min=0, max=width)
    ys = boxes[..., 1::2].clamp(min=0, max=height)
    return tg.stack([xs, ys], dim=boxes.dim()).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices (K,) int64 of the boxes (N, 4) whose width and height are both >= min_size."""
    b = _boxes("remove_small_boxes", boxes).detach().numpy()
    keep = (b[:, 2] - b[:, 0] >= min_size) & (b[:, 3] - b[:, 1] >= min_size)
    return Tensor(np.flatnonzero(keep).astype(np.int64))


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Boxes (N, 4) float32 in xyxy around the nonzero pixels of masks (N, H, W):
    (min x, min y, max x, max y), pixel indices (so a one-pixel mask has x1 == x2)."""
    m = masks.detach().numpy() if isinstance(masks, Tensor) else np.asarray(masks)
    if m.ndim != 3:
        raise ValueError(f"masks_to_boxes: masks must be (N, H, W), got shape {m.shape}")
    if m.size == 0:
        return Tensor(np.zeros((0, 4), dtype=np.float32))
    boxes = np.zeros((m.shape[0], 4), dtype=np.float32)
    for k in range(m.shape[0]):
        ys, xs = np.nonzero(m[k])
        if len(xs) == 0:
            raise ValueError(f"masks_to_boxes: mask {k} of masks {m.shape} is empty (no "
                             f"nonzero pixel), so it has no bounding box")
        boxes[k] = xs.min(), ys.min(), xs.max(), ys.max()
    return Tensor(boxes)
