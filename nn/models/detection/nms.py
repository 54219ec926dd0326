"""Non-maximum suppression, as ``torchvision.ops.nms`` / ``batched_nms``, and soft-NMS.

``nms(boxes, scores, t)``: visit the boxes (N, 4) in ``(x1, y1, x2, y2)`` by decreasing
score; keep a box unless a kept box has IoU > t with it (strictly greater). Returns the
int64 indices of the kept boxes, by decreasing score. ``batched_nms`` does the same within
each category of ``idxs``: boxes of different categories never suppress each other (the
guarantee of torchvision's coordinate-offset trick, here exact: the kernel runs each
category as a segment of its own, which is also what torchvision does on CPU above 4,000
coordinates). The loop is a Numba kernel (``kernels/nms.py``), in the boxes' dtype.

Equal scores: the boxes are visited in a stable order (of equal scores, the lower index
first), as torchvision's CPU kernel does (``scores.sort(stable=True, descending=True)``;
its documentation leaves the order unspecified only between CPU and GPU); a NaN score
sorts first, as in ``torch.sort``. Checked against torchvision 0.28 with many exact ties
(``tests/test_vision_torchvision_parity.py``). One difference remains in ``batched_nms``
above 1,000 boxes, where torchvision runs each category apart and then orders the kept
boxes by an unstable sort: the kept boxes are the same, but of equal scores it may list
them in another order; here they come lowest index first.

``soft_nms`` (Bodla et al. 2017, not in torchvision) decays scores instead of discarding
boxes: see its docstring.
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs.kernels import nms as _kernels
from tinygrad_cs.tensor import Tensor

__all__ = ["batched_nms", "nms", "soft_nms"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _array(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _check(op: str, boxes, scores) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as arrays, or a ValueError / TypeError naming ``op`` and the shapes."""
    b, s = _array(boxes), _array(scores)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{op}: boxes must be (N, 4) as (x1, y1, x2, y2), got shape "
                         f"{tuple(b.shape)}")
    if s.ndim != 1 or len(s) != len(b):
        raise ValueError(f"{op}: scores must be (N,) with N = {len(b)} boxes, got shape "
                         f"{tuple(s.shape)} for boxes {tuple(b.shape)}")
    if b.dtype not in _FLOATS or s.dtype != b.dtype:
        raise TypeError(f"{op}: boxes and scores must be float32 or float64 of one dtype, "
                        f"got {b.dtype} and {s.dtype}")
    return b, s


def _threshold(iou_threshold: float, dtype: np.dtype):
    """The largest value of ``dtype`` <= t: for x of that dtype, x > it iff x > t exactly."""
    t = float(iou_threshold)
    typed = dtype.type(t)
    if float(typed) > t:
        typed = np.nextafter(typed, dtype.type(-np.inf))
    return typed


def _suppress(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray | None,
              iou_threshold: float) -> Tensor:
    by_score = _kernels.score_order(scores)
    order = by_score
    if groups is not None:  # categories as contiguous segments, score order within each
        order = by_score[np.argsort(groups[by_score], kind="stable")]
        cut = np.flatnonzero(groups[order][1:] != groups[order][:-1]) + 1
        starts = np.concatenate([[0], cut, [len(order)]]).astype(np.int64)
    else:
        starts = np.array([0, len(order)], dtype=np.int64)
    columns = [np.ascontiguousarray(boxes[order, k]) for k in range(4)]
    suppressed = np.zeros(len(order), dtype=np.uint8)
    if len(order):
        _kernels.suppress_sorted(*columns, starts, _threshold(iou_threshold, boxes.dtype),
                                 suppressed)
    kept = np.zeros(len(boxes), dtype=bool)
    kept[order[suppressed == 0]] = True
    return Tensor(by_score[kept[by_score]].astype(np.int64))


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices (K,) int64 of the boxes (N, 4) that survive NMS, by decreasing score.

    A box is discarded when a higher-scored kept box has IoU > ``iou_threshold`` with it.
    ``boxes`` and ``scores`` (N,) share one dtype, float32 or float64.
    """
    b, s = _check("nms", boxes, scores)
    return _suppress(b, s, None, iou_threshold)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """``nms`` applied within each category: ``idxs`` (N,) gives each box's category.

    Returns the int64 indices (K,) of the kept boxes, by decreasing score over all
    categories.
    """
    b, s = _check("batched_nms", boxes, scores)
    groups = _array(idxs)
    if groups.shape != (len(b),):
        raise ValueError(f"batched_nms: idxs must be (N,) with N = {len(b)} boxes, got shape "
                         f"{tuple(groups.shape)}")
    return _suppress(b, s, groups, iou_threshold)


def soft_nms(boxes: Tensor, scores: Tensor, iou_threshold: float, sigma: float = 0.5,
             score_threshold: float = 0.001,
             method: str = "gaussian") -> tuple[Tensor, Tensor]:
    """Soft-NMS: ``(keep (K,) int64, new scores (K,))``, in order of selection.

    Repeatedly select the remaining box M of highest current score (ties: lowest index),
    keep it with its current score, and decay each remaining box b's score by
    ``exp(-IoU(M, b)^2 / sigma)`` (``method="gaussian"``) or, when IoU(M, b) >
    ``iou_threshold``, by ``1 - IoU(M, b)`` (``"linear"``; the gaussian ignores the
    threshold). A box whose score is below ``score_threshold`` (at the start or after a
    decay) is dropped, so every returned score is >= ``score_threshold``; the selection
    order is by decreasing decayed score. Arithmetic in float64; the scores come back in
    ``scores``' dtype. (Bodla et al.'s original code checks the threshold only after a
    decay, and breaks ties by its own swaps.)
    """
    b, s = _check("soft_nms", boxes, scores)
    if method not in ("gaussian", "linear"):
        raise ValueError(f"soft_nms: method must be 'gaussian' or 'linear', got {method!r}")
    if method == "gaussian" and not float(sigma) > 0:
        raise ValueError(f"soft_nms: sigma must be > 0 for the gaussian method, got {sigma}")
    keep = np.zeros(len(b), dtype=np.int64)
    kept_scores = np.zeros(len(b), dtype=np.float64)
    count = _kernels.soft_suppress(b.astype(np.float64), s.astype(np.float64),
                                   float(iou_threshold), float(sigma), float(score_threshold),
                                   method == "linear", keep, kept_scores) if len(b) else 0
    return Tensor(keep[:count].copy()), Tensor(kept_scores[:count].astype(s.dtype))
