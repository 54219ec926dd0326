"""``torchvision.ops``' region-of-interest pooling: ``roi_align``, ``roi_pool``, the modules
``RoIAlign`` and ``RoIPool``, and ``MultiScaleRoIAlign`` (the FPN pooler of Faster R-CNN).

Boxes come as one (K, 5) tensor of rows ``[batch_index, x1, y1, x2, y2]`` or as a list of
per-image (L_i, 4) tensors ``[x1, y1, x2, y2]`` (image i's boxes get batch index i, in list
order, as torchvision's ``convert_boxes_to_roi_format``). The math is in
``tinygrad_cs/ops/roi.py``; the boxes carry no gradient.

``MultiScaleRoIAlign`` pools each box from one pyramid level, chosen by the FPN paper's
eq. 1 (``LevelMapper``): for a box of area A, ``k = floor(k0 + log2(sqrt(A) / s0) + 1e-6)``
clamped to ``[k_min, k_max]``, with ``s0 = canonical_scale`` and ``k0 = canonical_level``.
Each level's scale is inferred on the first call as ``2 ** round(log2(feature_h / image_h))``
(image size: the largest of ``image_shapes``), and ``k_min``, ``k_max`` are ``-log2`` of the
first and last scales.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_cs import Tensor, ops
from tinygrad_cs.ops._util import raw

from ...module import Module

__all__ = ["LevelMapper", "MultiScaleRoIAlign", "RoIAlign", "RoIPool", "roi_align", "roi_pool"]


def _box_rows(boxes: Sequence, op: str) -> list:
    """The per-image (L_i, 4) arrays of a list of boxes, checked."""
    rows = [np.asarray(raw(b)) for b in boxes]
    for i, b in enumerate(rows):
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"{op}: boxes[{i}] has shape {b.shape}; a list of boxes holds "
                             "one (L, 4) tensor [x1, y1, x2, y2] per image")
    if not rows:
        raise ValueError(f"{op}: boxes is an empty list (expected one (L, 4) tensor per "
                         "image, or a (K, 5) tensor)")
    return rows


def convert_boxes_to_roi_format(boxes: Sequence) -> np.ndarray:
    """List of per-image (L_i, 4) boxes -> (sum L_i, 5) rows ``[i, x1, y1, x2, y2]``."""
    rows = _box_rows(boxes, "convert_boxes_to_roi_format")
    concat = np.concatenate(rows, axis=0)
    ids = np.concatenate([np.full((len(b), 1), i, dtype=concat.dtype)
                          for i, b in enumerate(rows)], axis=0)
    return np.concatenate([ids, concat], axis=1)


def _rois(boxes: Any, op: str) -> Any:
    """A (K, 5) tensor/array passes through; a list of (L, 4) boxes is converted."""
    if isinstance(boxes, (list, tuple)):
        _box_rows(boxes, op)
        return convert_boxes_to_roi_format(boxes)
    if not isinstance(boxes, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: boxes must be a (K, 5) Tensor or a list of (L, 4) Tensors, "
                        f"got {type(boxes).__name__}")
    return boxes


def roi_align(input: Tensor, boxes: Any, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoIAlign: input (N, C, H, W), boxes (K, 5) or [(L_i, 4)] -> (K, C, PH, PW).

    Each output bin averages bilinear samples of its box region (``sampling_ratio`` per
    axis, or ``ceil(roi_size / output_size)`` when <= 0); ``aligned=True`` shifts the box
    by -0.5 pixel. Boxes are in image coordinates times ``spatial_scale``.
    """
    return ops.roi_align(input, _rois(boxes, "roi_align"), output_size, spatial_scale,
                         sampling_ratio, aligned)


def roi_pool(input: Tensor, boxes: Any, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoIPool: input (N, C, H, W), boxes (K, 5) or [(L_i, 4)] -> (K, C, PH, PW), the max
    over each bin of the box rounded to whole pixels."""
    return ops.roi_pool(input, _rois(boxes, "roi_pool"), output_size, spatial_scale)


class RoIAlign(Module):
    """``RoIAlign(output_size, spatial_scale, sampling_ratio, aligned=False)``: see
    :func:`roi_align`. No parameters."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Any) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}")


class RoIPool(Module):
    """``RoIPool(output_size, spatial_scale)``: see :func:`roi_pool`. No parameters."""

    def __init__(self, output_size, spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois: Any) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"


# -- multi-scale pooling -------------------------------------------------------------------------
class LevelMapper:
    """Level of each box (0 = level ``k_min``) by the FPN paper's eq. 1, computed in the
    boxes' dtype as torchvision does: ``floor(k0 + log2(sqrt(area) / s0) + eps)``."""

    def __init__(self, k_min: int, k_max: int, canonical_scale: int = 224,
                 canonical_level: int = 4, eps: float = 1e-6) -> None:
        self.k_min, self.k_max = k_min, k_max
        self.s0, self.lvl0, self.eps = canonical_scale, canonical_level, eps

    def __call__(self, boxlists: Sequence) -> np.ndarray:
        """(K,) int64 levels of the boxes of every image, concatenated."""
        rows = _box_rows(boxlists, "LevelMapper")
        boxes = np.concatenate(rows, axis=0)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        s = np.sqrt(area)
        eps = np.asarray(self.eps, dtype=s.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            levels = np.floor(self.lvl0 + np.log2(s / self.s0) + eps)
        levels = np.clip(np.nan_to_num(levels, nan=self.k_min), self.k_min, self.k_max)
        return levels.astype(np.int64) - self.k_min


def _infer_scale(size: tuple, original_size: tuple) -> float:
    """2 ** round(log2(feature_h / image_h)) (in float32, as torchvision)."""
    approx = float(size[0]) / float(original_size[0])
    return float(2.0 ** float(np.round(np.log2(np.float32(approx)))))


def _setup_scales(features: list, image_shapes: Sequence, canonical_scale: int,
                  canonical_level: int) -> tuple:
    if not image_shapes:
        raise ValueError("MultiScaleRoIAlign: image_shapes is empty (one (H, W) per image "
                         "expected)")
    original = (max(int(s[0]) for s in image_shapes), max(int(s[1]) for s in image_shapes))
    scales = [_infer_scale(tuple(f.shape[-2:]), original) for f in features]
    k_min = int(-np.log2(np.float32(scales[0])))
    k_max = int(-np.log2(np.float32(scales[-1])))
    return scales, LevelMapper(k_min, k_max, canonical_scale, canonical_level)


class MultiScaleRoIAlign(Module):
    """``MultiScaleRoIAlign(featmap_names, output_size, sampling_ratio, *,
    canonical_scale=224, canonical_level=4)``: RoIAlign from one level of a feature pyramid.

    ``forward(x, boxes, image_shapes)``: ``x`` a dict of (N, C, H_l, W_l) feature maps (those
    named in ``featmap_names``, in the dict's order, are the levels, finest first),
    ``boxes`` a list of per-image (L_i, 4) boxes in image coordinates, ``image_shapes`` the
    (H, W) of each image. Returns (sum L_i, C, PH, PW), rows in box order; a box whose level
    has no feature map gets zeros (as torchvision).
    """

    def __init__(self, featmap_names: list, output_size, sampling_ratio: int, *,
                 canonical_scale: int = 224, canonical_level: int = 4) -> None:
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = featmap_names
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales = None
        self.map_levels = None
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(self, x: dict, boxes: list, image_shapes: list) -> Tensor:
        features = [v for k, v in x.items() if k in self.featmap_names]
        if not features:
            raise KeyError(f"MultiScaleRoIAlign: none of featmap_names {self.featmap_names} "
                           f"is among the feature maps given ({list(x)})")
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(
                features, image_shapes, self.canonical_scale, self.canonical_level)
        rois = _rois(list(boxes), "MultiScaleRoIAlign")
        if len(features) == 1:
            return roi_align(features[0], rois, self.output_size, self.scales[0],
                             self.sampling_ratio)
        levels = self.map_levels(boxes)
        pieces, order = [], []
        for level, (feature, scale) in enumerate(zip(features, self.scales)):
            index = np.flatnonzero(levels == level)
            pieces.append(roi_align(feature, rois[index], self.output_size, scale,
                                    self.sampling_ratio))
            order.append(index)
        order = np.concatenate(order)
        if len(order) < len(rois):  # levels beyond the last feature map: zeros
            missing = np.setdiff1d(np.arange(len(rois)), order)
            first = np.asarray(raw(features[0]))
            pieces.append(Tensor(np.zeros((len(missing), first.shape[1]) + self.output_size,
                                          dtype=first.dtype)))
            order = np.concatenate([order, missing])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return ops.cat(pieces, 0)[inverse]

    def extra_repr(self) -> str:
        return (f"featmap_names={self.featmap_names}, output_size={self.output_size}, "
                f"sampling_ratio={self.sampling_ratio}")
