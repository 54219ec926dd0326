"""Region-of-interest pooling, as ``torchvision.ops.roi_align`` / ``roi_pool`` (CPU).

Input ``x`` (N, C, H, W) and ``rois`` (K, 5), rows ``[batch_index, x1, y1, x2, y2]`` in
image coordinates (``spatial_scale`` maps them onto the feature map), give (K, C, PH, PW):

    roi_align  out[k, c, ph, pw] = mean over a grid of sampling points in bin (ph, pw) of
               ROI k of the bilinear interpolation of x[batch_k, c] there (the grid is
               sampling_ratio^2 points, or ceil(roi_h / PH) x ceil(roi_w / PW) when
               sampling_ratio <= 0; aligned=True shifts the box by -0.5 pixel)
    roi_pool   out[k, c, ph, pw] = max of x[batch_k, c] over the quantised bin (ph, pw)
               (0 for an empty bin)

Both are linear in x once the boxes (and, for roi_pool, the argmax) are fixed; backward
is the adjoint, dx = A^T g, computed by the raw kernels of ``kernels/roi.py`` (numpy
oracle: ``kernels/roi_reference.py``). So these ops are ``once_differentiable``, and the
boxes get no gradient, as in torchvision. The exact rules (clamping, rounding, empty bins)
are spelled out in ``roi_reference.py``. One difference: box geometry (sample positions,
bin edges) is computed in float64, where torchvision uses the input's dtype; for float32
input the two can differ in the last bits of a weight (or, at an exact tie, in a rounded
bin edge or an adaptive grid size). Samples outside the map read nothing at all, where
torchvision's forward multiplies pixel (0, 0) by a zero weight (a NaN there would spread).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..engine import Function
from ..kernels import roi as K
from ._util import raw, shape_of

__all__ = ["roi_align", "roi_pool"]


class AlignParams(NamedTuple):
    """The fixed arguments of roi_align: pooled (PH, PW), scale, sampling ratio, aligned."""
    output_size: tuple
    spatial_scale: float
    sampling_ratio: int
    aligned: bool


class RoIAlignPooling(Function):
    """(x (N, C, H, W), rois (K, 5) float64, params) -> (K, C, PH, PW); backward dx only."""
    name = "roi_align"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, rois, params):
        data = np.ascontiguousarray(x)
        _, c, h, w = data.shape
        tables = K.align_geometry(rois, params.spatial_scale, h, w, params.output_size,
                                  params.sampling_ratio, params.aligned)
        batch = rois[:, 0].astype(np.int64)
        out = np.empty((rois.shape[0], c) + params.output_size, dtype=data.dtype)
        K.align_forward(data, batch, tables, out)
        ctx.tables, ctx.batch, ctx.in_shape = tables, batch, data.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        dtype = np.result_type(grad)
        g = np.ascontiguousarray(grad, dtype=dtype)
        dx = np.empty(ctx.in_shape, dtype=dtype)
        K.align_backward(g, ctx.batch, ctx.tables, dx)
        return dx


class RoIMaxPooling(Function):
    """(x (N, C, H, W), rois (K, 5) float64, output_size, spatial_scale) -> (K, C, PH, PW);
    ``ctx.argmax`` (K, C, PH*PW) holds each output's flat ``h * W + w`` source (-1: none)."""
    name = "roi_pool"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, rois, output_size, spatial_scale):
        data = np.ascontiguousarray(x)
        shape = (rois.shape[0], data.shape[1]) + output_size
        out = np.empty(shape, dtype=data.dtype)
        argmax = np.empty(shape, dtype=np.int64)
        batch = rois[:, 0].astype(np.int64)
        K.pool_forward(data, rois, batch, spatial_scale, out, argmax)
        ctx.argmax = argmax.reshape(shape[0], shape[1], shape[2] * shape[3])
        ctx.batch, ctx.in_shape = batch, data.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        dtype = np.result_type(grad)
        n, c, h, w = ctx.in_shape
        g = np.ascontiguousarray(grad, dtype=dtype).reshape(ctx.argmax.shape)
        dx = np.empty((n, c, h * w), dtype=dtype)
        K.pool_backward(g, ctx.batch, ctx.argmax, dx)
        return dx.reshape(ctx.in_shape)


# -- argument checks ------------------------------------------------------------------------
def _pair(output_size, op: str) -> tuple:
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  and v > 0 for v in items):
        raise ValueError(f"{op}: output_size must be a positive int or a pair of positive "
                         f"ints, got {output_size!r}")
    return tuple(int(v) for v in items)


def _checked(op: str, input: Any, boxes: Any) -> np.ndarray:
    """The rois as a C-contiguous float64 (K, 5) array, after checking input and boxes."""
    shape = shape_of(input)
    if len(shape) != 4:
        raise RuntimeError(f"{op}: expected a 4D (N, C, H, W) input, got shape {shape}")
    dtype = np.asarray(raw(input)).dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected a float32 or float64 input, got {dtype}")
    rois = np.asarray(raw(boxes))
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise RuntimeError(f"{op}: rois must have shape (K, 5) rows [batch_index, x1, y1, x2, "
                           f"y2], got shape {rois.shape} (input {shape})")
    if rois.dtype != dtype:
        raise TypeError(f"{op}: input ({dtype}) and rois ({rois.dtype}) must have the same "
                        "dtype")
    if not np.isfinite(rois).all():
        raise ValueError(f"{op}: rois (shape {rois.shape}) contain NaN or infinite values")
    batch = np.trunc(rois[:, 0])
    if len(rois) and (batch.min() < 0 or batch.max() >= shape[0]):
        raise IndexError(f"{op}: rois name batch indices from {batch.min():g} to "
                         f"{batch.max():g}, but the input of shape {shape} has {shape[0]} "
                         "images")
    if len(rois) and min(shape[2:]) == 0:
        raise RuntimeError(f"{op}: cannot pool {len(rois)} rois from an input of shape "
                           f"{shape} with no pixels")
    return np.ascontiguousarray(rois, dtype=np.float64)


def _scale(spatial_scale, op: str) -> float:
    scale = float(spatial_scale)
    if not np.isfinite(scale):
        raise ValueError(f"{op}: spatial_scale must be finite, got {spatial_scale!r}")
    return scale


def roi_align(input: Any, boxes: Any, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Any:
    """RoIAlign (Mask R-CNN): input (N, C, H, W), boxes (K, 5) -> (K, C, PH, PW).

    ``output_size`` is an int or (PH, PW). Each output is the average of bilinear samples
    on a regular grid in its bin (``sampling_ratio`` per axis, or adaptive when <= 0); see
    the module docstring. The boxes carry no gradient; the input's is the adjoint.
    """
    op = "roi_align"
    rois = _checked(op, input, boxes)
    if not isinstance(sampling_ratio, (int, np.integer)) or isinstance(sampling_ratio, bool):
        raise TypeError(f"{op}: sampling_ratio must be an int, got {sampling_ratio!r}")
    params = AlignParams(_pair(output_size, op), _scale(spatial_scale, op),
                         int(sampling_ratio), bool(aligned))
    return RoIAlignPooling.apply(input, rois, params)


def roi_pool(input: Any, boxes: Any, output_size, spatial_scale: float = 1.0) -> Any:
    """RoIPool (Fast R-CNN): input (N, C, H, W), boxes (K, 5) -> (K, C, PH, PW).

    Each output is the maximum over a bin of the box quantised to whole pixels; the
    gradient goes to that maximum (the first in row-major order on ties).
    """
    op = "roi_pool"
    rois = _checked(op, input, boxes)
    return RoIMaxPooling.apply(input, rois, _pair(output_size, op), _scale(spatial_scale, op))
