"""Plain-numpy RoIAlign and RoIPool (torchvision.ops' CPU semantics): the oracle for
``kernels/roi.py``.

Written from the definitions, one Python loop iteration per (ROI, bin, sample), vectorised
over channels only, independently of the kernels (no separable tables). Inputs: ``x``
(N, C, H, W), ``rois`` (K, 5) rows ``[batch_index, x1, y1, x2, y2]`` in image coordinates,
``spatial_scale`` mapping them onto the feature map. Sums run in float64 and are cast back
to ``x``'s dtype.

RoIAlign, for ROI k with ``off = 0.5 if aligned else 0``::

    start = box * spatial_scale - off;  size = end - start  (at least 1 unless aligned)
    bin = size / pooled;   grid = sampling_ratio if > 0 else ceil(size / pooled)
    sample (iy, ix) of bin (ph, pw):  y = y1' + ph * bin_h + (iy + 0.5) * bin_h / grid_h
    out[k, c, ph, pw] = sum over samples of bilinear(x[b, c], y, x) / max(grid_h grid_w, 1)

``bilinear`` is zero for a sample outside [-1, H] x [-1, W]; otherwise coordinates below 0
are read at 0 and those at or beyond the last row (column) read the last row (column).

RoIPool: ``start = round(box * spatial_scale)`` (halves away from zero), size =
``max(end - start + 1, 1)``, bin ``[floor(p * size / pooled), ceil((p + 1) * size /
pooled))`` shifted by start and clipped to the map; the output is the bin's maximum (the
first one in row-major order; an empty bin gives 0 and sends no gradient back).
"""
from __future__ import annotations

import math

import numpy as np

FLT_MAX = float(np.finfo(np.float32).max)  # torchvision starts every max at -FLT_MAX


def _bilinear_taps(y: float, x: float, height: int, width: int) -> list:
    """[(row, col, weight), ...]: the four pixels a sample at (y, x) reads, [] if outside."""
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return []
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return [(y_low, x_low, hy * hx), (y_low, x_high, hy * lx),
            (y_high, x_low, ly * hx), (y_high, x_high, ly * lx)]


def _align_samples(roi, height, width, pooled, spatial_scale, sampling_ratio, aligned):
    """For each bin (ph, pw): its list of taps over all samples, and the count divided by."""
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (float(v) * spatial_scale - offset for v in roi[1:5])
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    ph_n, pw_n = pooled
    bin_h, bin_w = roi_h / ph_n, roi_w / pw_n
    grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph_n)
    grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw_n)
    count = max(grid_h * grid_w, 1)
    bins = {}
    for ph in range(ph_n):
        for pw in range(pw_n):
            taps = []
            for iy in range(grid_h):
                y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                    taps.extend(_bilinear_taps(y, x, height, width))
            bins[ph, pw] = taps
    return bins, count


def roi_align(x, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """(K, C, PH, PW): the average of bilinear samples per bin (see the module docstring)."""
    _, c, h, w = x.shape
    out = np.zeros((len(rois), c) + tuple(output_size))
    for k, roi in enumerate(rois):
        b = int(roi[0])
        bins, count = _align_samples(roi, h, w, output_size, spatial_scale, sampling_ratio,
                                     aligned)
        for (ph, pw), taps in bins.items():
            total = np.zeros(c)
            for row, col, weight in taps:
                total += weight * x[b, :, row, col].astype(np.float64)
            out[k, :, ph, pw] = total / count
    return out.astype(x.dtype)


def roi_align_backward(grad, rois, input_shape, spatial_scale=1.0, sampling_ratio=-1,
                       aligned=False):
    """dx (N, C, H, W): each output's gradient spread back over its taps, weight / count."""
    h, w = input_shape[2:]
    dx = np.zeros(input_shape)
    for k, roi in enumerate(rois):
        b = int(roi[0])
        bins, count = _align_samples(roi, h, w, grad.shape[2:], spatial_scale, sampling_ratio,
                                     aligned)
        for (ph, pw), taps in bins.items():
            for row, col, weight in taps:
                dx[b, :, row, col] += grad[k, :, ph, pw] * weight / count
    return dx.astype(grad.dtype)


def _round_half_away(v: float) -> int:
    """C's ``round``: halves go away from zero (numpy's round goes to even)."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def roi_pool(x, rois, output_size, spatial_scale=1.0):
    """(out (K, C, PH, PW), argmax (K, C, PH, PW) flat ``h * W + w`` or -1)."""
    _, c, h, w = x.shape
    ph_n, pw_n = output_size
    out = np.zeros((len(rois), c, ph_n, pw_n))
    argmax = np.full(out.shape, -1, dtype=np.int64)
    for k, roi in enumerate(rois):
        b = int(roi[0])
        x1, y1, x2, y2 = (_round_half_away(float(v) * spatial_scale) for v in roi[1:5])
        bin_h = max(y2 - y1 + 1, 1) / ph_n
        bin_w = max(x2 - x1 + 1, 1) / pw_n
        for ph in range(ph_n):
            h0 = min(max(math.floor(ph * bin_h) + y1, 0), h)
            h1 = min(max(math.ceil((ph + 1) * bin_h) + y1, 0), h)
            for pw in range(pw_n):
                w0 = min(max(math.floor(pw * bin_w) + x1, 0), w)
                w1 = min(max(math.ceil((pw + 1) * bin_w) + x1, 0), w)
                if h1 <= h0 or w1 <= w0:
                    continue  # an empty bin: 0, and no argmax
                for ch in range(c):
                    best, where = -FLT_MAX, -1
                    for row in range(h0, h1):
                        for col in range(w0, w1):
                            if x[b, ch, row, col] > best:
                                best, where = x[b, ch, row, col], row * w + col
                    out[k, ch, ph, pw], argmax[k, ch, ph, pw] = best, where
    return out.astype(x.dtype), argmax


def roi_pool_backward(grad, rois, argmax, input_shape):
    """dx (N, C, H, W): each output's gradient added to its argmax pixel."""
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for k, roi in enumerate(rois):
        b = int(roi[0])
        for ch in range(c):
            for m, where in enumerate(argmax[k, ch].reshape(-1)):
                if where >= 0:
                    dx[b, ch, where] += grad[k, ch].reshape(-1)[m]
    return dx.reshape(input_shape).astype(grad.dtype)
