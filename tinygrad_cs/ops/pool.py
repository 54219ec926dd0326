"""Pooling and nearest-neighbour resampling on (N, C, H, W) or unbatched (C, H, W) input.

    max_pool2d            out = max over each window;   dx: g scattered to the argmax
    avg_pool2d            out = A x (A: window means);  dx = A^T g
    adaptive_avg_pool2d   the same with windows [floor(o H / OH), ceil((o + 1) H / OH))
    interpolate(nearest)  out = x gathered at src(dst) = min(floor(dst * scale), in - 1)

Every one is linear in x once the window (or argmax) is fixed, and each backward is the
adjoint linear map, written as another op whose backward is the forward map again. So
the ops are differentiable twice (the second derivative w.r.t. x is zero, as it is
almost everywhere), while all the work runs in the Numba kernels of
``tinygrad_cs.kernels.pool`` (their numpy oracle is ``kernels/pool_reference.py``).

Shapes follow PyTorch: a window of size k, stride s, padding p, dilation d gives
``floor((n + 2p - d (k - 1) - 1 + (s - 1 if ceil_mode)) / s) + 1`` outputs, minus one
when ceil_mode would start the last window beyond the input and its left padding.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..engine import Function
from ..kernels import pool as K
from ._util import constant, shape_of

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "interpolate", "max_pool2d"]


# -- argument checking -----------------------------------------------------------------
def _ints(value, n: int, name: str, op: str) -> tuple:
    """``value`` as an n-tuple of ints (an int repeats; a 1-tuple repeats too)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) == 1:
        items = items * n
    if len(items) != n or not all(isinstance(v, (int, np.integer)) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in items)


def _planes(x, op: str) -> tuple:
    """Check a (C, H, W) / (N, C, H, W) input; return its shape."""
    shape = shape_of(x)
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise RuntimeError(f"{op}: expected a non-empty 3D (C, H, W) or 4D (N, C, H, W) input, "
                           f"got shape {shape}")
    return shape


def _float_data(x: np.ndarray, op: str) -> np.ndarray:
    """x as a C-contiguous float32/float64 array (the dtypes the kernels are built for)."""
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected a float32 or float64 input, got {x.dtype}")
    return np.ascontiguousarray(x)


def _out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (see the module docstring)."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _check_window(op, kernel, stride, padding, dilation, dilated: bool) -> None:
    for name, values, low in (("kernel_size", kernel, 1), ("stride", stride, 1),
                              ("padding", padding, 0), ("dilation", dilation, 1)):
        if min(values) < low:
            raise ValueError(f"{op}: {name} must be {'positive' if low else 'non-negative'}, "
                             f"got {values}")
    for p, k, d in zip(padding, kernel, dilation):
        if p > ((k - 1) * d + 1) // 2:  # PyTorch's limit: padding never covers half a window
            raise ValueError(f"{op}: pad should be at most half of "
                             f"{'effective ' if dilated else ''}kernel size, but got pad={p}, "
                             f"kernel_size={k}" + (f" and dilation={d}" if dilated else ""))


def _output_shape(op, shape, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """(OH, OW), or an error when the window does not fit in the padded input."""
    out = tuple(_out_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(shape[-2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        raise RuntimeError(
            f"{op}: input of shape {shape} is too small for kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation}: the output would be "
            f"{out[0]}x{out[1]} (the window does not fit in the padded input)")
    return out


def _lead(shape: tuple, spatial: int) -> tuple:
    return shape[:len(shape) - spatial]


# -- max pooling -------------------------------------------------------------------------
class MaxPool2dFn(Function):
    """out = max over each window; ``ctx.indices`` (P, OH*OW) holds flat argmax positions.

    ``geometry`` = (kh, kw, sh, sw, ph, pw, dh, dw, OH, OW); ``keep``, a list, receives the
    indices (for ``return_indices``). Backward: the gradient scattered to the argmax.
    """
    name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, geometry, keep=None):
        kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = geometry
        shape = np.shape(x)
        data = _float_data(x, "max_pool2d")
        planes = data.reshape(-1, shape[-2], shape[-1])
        out = np.empty((planes.shape[0], oh, ow), dtype=data.dtype)
        idx = np.empty((planes.shape[0], oh, ow), dtype=np.int64)
        if planes.shape[0]:  # an empty batch has nothing to pool
            K.max_pool2d_forward(planes, kh, kw, sh, sw, ph, pw, dh, dw, out, idx)
        ctx.indices = idx.reshape(idx.shape[0], oh * ow)  # not -1: zero planes are valid
        ctx.in_shape = shape
        if keep is not None:
            keep.append(idx.reshape(_lead(shape, 2) + (oh, ow)))
        return out.reshape(_lead(shape, 2) + (oh, ow))

    @staticmethod
    def backward(ctx, grad):
        return ScatterAddPlanes.apply(grad, ctx.indices, ctx.in_shape)


class GatherPlanes(Function):
    """out[p, m] = x[p, idx[p, m]] per plane p (idx rows: one per plane, or one shared).

    ``x`` (*lead, *in_spatial) -> ``out_shape`` (*lead, *out_spatial); the flat index runs
    over each plane's spatial elements. Backward: ``ScatterAddPlanes`` (its adjoint).
    """
    name = "gather_planes"

    @staticmethod
    def forward(ctx, x, idx, out_shape):
        ctx.idx, ctx.in_shape = idx, np.shape(x)
        out_shape = tuple(out_shape)
        m = idx.shape[1]
        planes = math.prod(out_shape) // m
        out = np.empty((planes, m), dtype=np.asarray(x).dtype)
        if planes:
            src = np.ascontiguousarray(x).reshape(planes, -1)
            K.plane_gather(src, idx, out)
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return ScatterAddPlanes.apply(grad, ctx.idx, ctx.in_shape)


class ScatterAddPlanes(Function):
    """out = zeros(out_shape); out[p, idx[p, m]] += g[p, m]: the adjoint of GatherPlanes."""
    name = "scatter_add_planes"

    @staticmethod
    def forward(ctx, g, idx, out_shape):
        ctx.idx, ctx.in_shape = idx, np.shape(g)
        out_shape = tuple(out_shape)
        g = np.ascontiguousarray(g)
        planes = g.size // idx.shape[1] if idx.shape[1] else 0
        out = np.empty(out_shape, dtype=g.dtype)
        if planes:
            out = out.reshape(planes, -1)
            K.plane_scatter_add(g.reshape(planes, -1), idx, out)
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return GatherPlanes.apply(grad, ctx.idx, ctx.in_shape)


def max_pool2d(input: Any, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over k x k windows of (N, C, H, W) or (C, H, W) input.

    ``out[n, c, oh, ow] = max_{i, j} x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]`` over the
    positions inside the input (padding never wins). ``stride`` defaults to
    ``kernel_size``. Ties send the gradient to the first maximum in row-major window order,
    as PyTorch. With ``return_indices`` also returns the flat ``h * W + w`` argmax per
    output (int64, no gradient), as ``torch.nn.functional.max_pool2d``.
    """
    op = "max_pool2d"
    shape = _planes(input, op)
    kernel = _ints(kernel_size, 2, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else _ints(stride, 2, "stride", op)
    padding = _ints(padding, 2, "padding", op)
    dilation = _ints(dilation, 2, "dilation", op)
    _check_window(op, kernel, stride, padding, dilation, dilated=True)
    out = _output_shape(op, shape, kernel, stride, padding, dilation, ceil_mode)
    geometry = (*kernel, *stride, *padding, *dilation, *out)
    if not return_indices:
        return MaxPool2dFn.apply(input, geometry)
    keep: list = []
    values = MaxPool2dFn.apply(input, geometry, keep=keep)
    return values, constant(lambda _: keep[0], input)


# -- average pooling -----------------------------------------------------------------------
class Windows(NamedTuple):
    """Rectangular windows: rows [hs[o], he[o]) x columns [ws[o], we[o]), factor inv (OH, OW)."""
    hs: np.ndarray
    he: np.ndarray
    ws: np.ndarray
    we: np.ndarray
    inv: np.ndarray


class AvgPool2dFn(Function):
    """out[p, oh, ow] = inv[oh, ow] * sum of x[p] over the window (``Windows``).

    Backward: ``AvgPool2dBackward``, the transpose map (each output's gradient times inv,
    spread back over its window).
    """
    name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, windows):
        shape = np.shape(x)
        data = _float_data(x, "avg_pool2d")
        planes = data.reshape(-1, shape[-2], shape[-1])
        out = np.empty((planes.shape[0],) + windows.inv.shape, dtype=data.dtype)
        K.window_mean(planes, *windows, out)
        ctx.windows, ctx.in_shape = windows, shape
        return out.reshape(_lead(shape, 2) + windows.inv.shape)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2dBackward.apply(grad, ctx.windows, ctx.in_shape)


class AdaptiveAvgPool2dFn(AvgPool2dFn):
    """``AvgPool2d`` over the adaptive windows (its own name in graphs)."""
    name = "adaptive_avg_pool2d"


class AvgPool2dBackward(Function):
    """dx = A^T g: the adjoint of ``AvgPool2d``; its own backward is ``AvgPool2d`` again."""
    name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx, g, windows, in_shape):
        g = np.ascontiguousarray(g)
        oh, ow = windows.inv.shape
        planes = g.reshape(-1, oh, ow)
        out = np.empty((planes.shape[0],) + tuple(in_shape[-2:]), dtype=g.dtype)
        K.window_mean_transpose(planes, *windows, out)
        ctx.windows = windows
        return out.reshape(in_shape)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2dFn.apply(grad, ctx.windows)


def _avg_windows(n: int, k: int, s: int, p: int, count: int) -> tuple:
    """Clipped window bounds along one axis and the sizes PyTorch divides by."""
    start = np.arange(count, dtype=np.int64) * s - p
    end = np.minimum(start + k, n + p)
    padded_size = end - start
    start, end = np.maximum(start, 0), np.minimum(end, n)
    return start, np.maximum(end, start), padded_size


def avg_pool2d(input: Any, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Any:
    """Mean over k x k windows of (N, C, H, W) or (C, H, W) input.

    ``out = sum(window inside the input) / divisor``: the divisor is ``divisor_override``
    if given, else the window's size within the padded input (``count_include_pad``) or
    within the input itself. ``stride`` defaults to ``kernel_size``. Linear:
    dx = A^T g spreads each output's gradient / divisor over its window.
    """
    op = "avg_pool2d"
    shape = _planes(input, op)
    kernel = _ints(kernel_size, 2, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else _ints(stride, 2, "stride", op)
    padding = _ints(padding, 2, "padding", op)
    _check_window(op, kernel, stride, padding, (1, 1), dilated=False)
    out = _output_shape(op, shape, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must be non-zero")
    (hs, he, hp), (ws, we, wp) = (_avg_windows(n, k, s, p, o) for n, k, s, p, o in
                                  zip(shape[-2:], kernel, stride, padding, out))
    if divisor_override is not None:
        divisor = np.full(out, float(divisor_override))
    elif count_include_pad:
        divisor = np.outer(hp, wp).astype(np.float64)
    else:
        divisor = np.outer(he - hs, we - ws).astype(np.float64)
    inv = np.divide(1.0, divisor, out=np.zeros(out), where=divisor != 0)
    return AvgPool2dFn.apply(input, Windows(hs, he, ws, we, inv))


def adaptive_avg_pool2d(input: Any, output_size) -> Any:
    """Mean pooling to a fixed output size (OH, OW) (an int means square; None keeps).

    Output ``o`` of an axis of length n averages ``[floor(o n / O), ceil((o + 1) n / O))``,
    PyTorch's rule: windows cover the input and neighbours may overlap by one.
    """
    op = "adaptive_avg_pool2d"
    shape = _planes(input, op)
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise TypeError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(n if o is None else o for o, n in zip(sizes, shape[-2:]))
    if not all(isinstance(o, (int, np.integer)) and o > 0 for o in sizes):
        raise ValueError(f"{op}: output_size must be positive ints (or None), got {output_size!r}")
    bounds = []
    for n, o in zip(shape[-2:], sizes):
        pos = np.arange(o, dtype=np.int64)
        bounds.append(((pos * n) // o, ((pos + 1) * n + o - 1) // o))
    (hs, he), (ws, we) = bounds
    inv = 1.0 / np.outer(he - hs, we - ws).astype(np.float64)
    return AdaptiveAvgPool2dFn.apply(input, Windows(hs, he, ws, we, inv))


# -- nearest-neighbour resampling ------------------------------------------------------------
class InterpolateNearest(GatherPlanes):
    """``GatherPlanes`` along the nearest-neighbour index map (its own name in graphs)."""
    name = "interpolate"


def _nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    """Source index of each output position, in PyTorch's float32 arithmetic."""
    dst = np.arange(n_out, dtype=np.int64)
    if not exact and n_out == n_in:
        return dst
    if not exact and n_out == 2 * n_in:
        return dst >> 1
    if scale is not None and scale > 0:
        step = np.float32(1.0 / scale)
    else:
        step = np.float32(n_in) / np.float32(n_out)
    if exact:
        pos = np.float32((dst + 0.5) * np.float64(step))
    else:
        pos = dst.astype(np.float32) * step
    return np.minimum(np.floor(pos).astype(np.int64), n_in - 1)


def interpolate(input: Any, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False) -> Any:
    """Resample (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` (or by
    ``scale_factor``), nearest neighbour.

    mode 'nearest' (PyTorch's legacy rule): ``src = min(floor(dst * scale), in - 1)`` with
    ``scale = 1 / scale_factor`` when a scale factor is given (and not recomputed), else
    ``in / out``; 'nearest-exact': ``src = min(floor((dst + 0.5) * scale), in - 1)``.
    Output size from a scale factor: ``floor(in * scale_factor)``. Backward: each
    output's gradient added to its source.
    """
    op = "interpolate"
    shape = shape_of(input)
    dims = len(shape) - 2
    if dims not in (1, 2, 3):
        raise NotImplementedError(f"{op}: expected 3D, 4D or 5D input (N, C, *spatial), got "
                                  f"shape {shape}")
    if mode not in ("nearest", "nearest-exact"):
        raise NotImplementedError(f"{op}: mode {mode!r} is not implemented (only 'nearest' "
                                  "and 'nearest-exact')")
    if align_corners is not None:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear | bicubic | trilinear")
    if antialias:
        raise ValueError(f"{op}: anti-alias option is not available for mode {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor should be defined "
                         f"(got size={size!r}, scale_factor={scale_factor!r})")
    spatial = shape[2:]
    scales = (None,) * dims
    if size is not None:
        out = _ints(size, dims, "size", op)
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (
            (scale_factor,) * dims)
        if len(factors) != dims:
            raise ValueError(f"{op}: scale_factor {scale_factor!r} does not match the "
                             f"{dims} spatial dims of input {shape}")
        out = tuple(math.floor(float(n) * float(f)) for n, f in zip(spatial, factors))
        if not recompute_scale_factor:
            scales = tuple(float(f) for f in factors)
    if min(out) < 1 or min(spatial) < 1:
        raise ValueError(f"{op}: input and output sizes should be greater than 0, got input "
                         f"{shape} and output size {out}")
    index = np.zeros(1, dtype=np.int64)
    for n_in, n_out, scale in zip(spatial, out, scales):
        src = _nearest_index(n_in, n_out, scale, mode == "nearest-exact")
        index = (index[:, None] * n_in + src[None, :]).reshape(-1)
    return InterpolateNearest.apply(input, index.reshape(1, -1), shape[:2] + out)
