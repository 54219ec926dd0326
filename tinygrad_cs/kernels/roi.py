"""Numba kernels of RoIAlign and RoIPool, with torchvision.ops' CPU semantics.

``rois`` (K, 5) float64 rows ``[batch_index, x1, y1, x2, y2]``, ``batch`` (K,) int64 their
batch indices (truncated, as torchvision's ``int`` cast), ``x`` (N, C, H, W) float32/64.
The math and the numpy oracle are in ``roi_reference.py``; box geometry runs in float64.

RoIAlign. A sample's bilinear weights are a product (row weight) x (column weight), and a
ROI's sampling grid is a product too: rows come from (ph, iy), columns from (pw, ix). So
``align_tables`` describes ROI k by two short tables, one entry per sampled row
(``PH * grid_h[k]``, from ``row_start[k]``) and per sampled column (``PW * grid_w[k]``):
the two pixels it reads and their weights, ``-1`` for a coordinate outside ``[-1, H]``
(``[-1, W]``) whose samples read nothing. Then

    out[k, c, ph, pw] = sum_{iy, ix} sum_{a, b} wr[a] wc[b] x[b_k, c, r[a], q[b]] / count_k

with ``count_k = max(grid_h grid_w, 1)``. ``roi_align_forward`` gives each (k, c) to one
task; ``roi_align_backward`` gives each input plane (n, c) to one task, which adds the
contributions of the ROIs of image n in ROI order: no two tasks write the same cell and
every sum has a fixed order, so results are bit-identical from run to run.

RoIPool. ``roi_pool_forward``: the max of each quantised bin and its flat index ``h * W +
w`` (-1 for an empty bin, which outputs 0), one task per (k, c); ``roi_pool_backward``
scatters each gradient to its argmax, one task per input plane, ROIs in order.

Each kernel has a ``_serial`` twin running the same tasks in order on the calling thread
(bit-identical results); the drivers ``align_forward`` ... ``pool_backward`` pick the
serial one below ``PARALLEL_MIN`` units of work.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel

FLT_MAX = float(np.finfo(np.float32).max)
# Below this much work (bilinear samples x channels for roi_align, outputs for roi_pool, plus
# gradient cells in backward) a call takes microseconds on one core: waking the thread pool
# would cost more, and on a loaded machine a parallel region waits for its slowest worker.
PARALLEL_MIN = 1 << 16


# -- RoIAlign ---------------------------------------------------------------------------------
@kernel
def _align_box(rois, k, scale, pooled_h, pooled_w, sampling_ratio, aligned):
    """(start_h, start_w, bin_h, bin_w, grid_h, grid_w) of ROI k (grids clamped at 0)."""
    offset = 0.5 if aligned else 0.0
    start_w = rois[k, 1] * scale - offset
    start_h = rois[k, 2] * scale - offset
    roi_w = rois[k, 3] * scale - offset - start_w
    roi_h = rois[k, 4] * scale - offset - start_h
    if not aligned:  # a malformed ROI is forced to 1 x 1
        roi_w = max(roi_w, 1.0)
        roi_h = max(roi_h, 1.0)
    if sampling_ratio > 0:
        grid_h = sampling_ratio
        grid_w = sampling_ratio
    else:
        grid_h = math.ceil(roi_h / pooled_h)
        grid_w = math.ceil(roi_w / pooled_w)
    return (start_h, start_w, roi_h / pooled_h, roi_w / pooled_w, max(grid_h, 0),
            max(grid_w, 0))


@kernel
def align_grids(rois, scale, pooled_h, pooled_w, sampling_ratio, aligned, grid_h, grid_w):
    """grid_h[k], grid_w[k]: samples per bin along each axis, for every ROI."""
    for k in range(rois.shape[0]):
        box = _align_box(rois, k, scale, pooled_h, pooled_w, sampling_ratio, aligned)
        grid_h[k] = box[4]
        grid_w[k] = box[5]


@kernel
def _axis_entries(start, bin_size, grid, pooled, size, index, weight, first):
    """Fill entries first.. (pooled * grid of them) for one axis of one ROI."""
    e = first
    for p in range(pooled):
        for i in range(grid):
            v = start + p * bin_size + (i + 0.5) * bin_size / grid
            if v < -1.0 or v > size:
                index[e, 0] = -1
                index[e, 1] = -1
                weight[e, 0] = 0.0
                weight[e, 1] = 0.0
            else:
                v = max(v, 0.0)
                low = int(v)
                if low >= size - 1:
                    low = size - 1
                    high = low
                    v = float(low)
                else:
                    high = low + 1
                frac = v - low
                index[e, 0] = low
                index[e, 1] = high
                weight[e, 0] = 1.0 - frac
                weight[e, 1] = frac
            e += 1


@kernel(error_model="numpy")
def align_tables(rois, scale, height, width, pooled_h, pooled_w, sampling_ratio, aligned,
                 row_start, col_start, rows, row_w, cols, col_w):
    """The row and column tables of every ROI; see the module docstring. Serial: the work
    is O(K (PH grid_h + PW grid_w)), too little to pay for waking a thread pool."""
    for k in range(rois.shape[0]):
        start_h, start_w, bin_h, bin_w, gh, gw = _align_box(
            rois, k, scale, pooled_h, pooled_w, sampling_ratio, aligned)
        _axis_entries(start_h, bin_h, gh, pooled_h, height, rows, row_w, row_start[k])
        _axis_entries(start_w, bin_w, gw, pooled_w, width, cols, col_w, col_start[k])


@kernel(error_model="numpy")
def _align_task(x, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w,
                out, t):
    """Task t of the forward: out[k, c] for (k, c) = divmod(t, C)."""
    C, PH, PW = out.shape[1], out.shape[2], out.shape[3]
    k = t // C
    c = t - k * C
    plane = x[batch[k], c]
    gh = grid_h[k]
    gw = grid_w[k]
    count = max(gh * gw, 1)
    for ph in range(PH):
        r0 = row_start[k] + ph * gh
        for pw in range(PW):
            c0 = col_start[k] + pw * gw
            acc = 0.0
            for iy in range(gh):
                y0 = rows[r0 + iy, 0]
                if y0 < 0:
                    continue
                y1 = rows[r0 + iy, 1]
                a0 = row_w[r0 + iy, 0]
                a1 = row_w[r0 + iy, 1]
                for ix in range(gw):
                    x0 = cols[c0 + ix, 0]
                    if x0 < 0:
                        continue
                    x1 = cols[c0 + ix, 1]
                    b0 = col_w[c0 + ix, 0]
                    b1 = col_w[c0 + ix, 1]
                    acc += (a0 * b0 * plane[y0, x0] + a0 * b1 * plane[y0, x1]
                            + a1 * b0 * plane[y1, x0] + a1 * b1 * plane[y1, x1])
            out[k, c, ph, pw] = acc / count


@kernel(error_model="numpy")
def _align_plane(g, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w,
                 dx, t):
    """Task t of the backward: input plane (n, c) = divmod(t, C), its ROIs in order."""
    C = dx.shape[1]
    K, PH, PW = g.shape[0], g.shape[2], g.shape[3]
    n = t // C
    c = t - n * C
    plane = dx[n, c]
    plane[:] = 0
    for k in range(K):
        if batch[k] != n:
            continue
        gh = grid_h[k]
        gw = grid_w[k]
        count = gh * gw
        for ph in range(PH):
            r0 = row_start[k] + ph * gh
            for pw in range(PW):
                c0 = col_start[k] + pw * gw
                gv = g[k, c, ph, pw]
                for iy in range(gh):
                    y0 = rows[r0 + iy, 0]
                    if y0 < 0:
                        continue
                    y1 = rows[r0 + iy, 1]
                    a0 = row_w[r0 + iy, 0]
                    a1 = row_w[r0 + iy, 1]
                    for ix in range(gw):
                        x0 = cols[c0 + ix, 0]
                        if x0 < 0:
                            continue
                        x1 = cols[c0 + ix, 1]
                        b0 = col_w[c0 + ix, 0]
                        b1 = col_w[c0 + ix, 1]
                        plane[y0, x0] += gv * (a0 * b0) / count
                        plane[y0, x1] += gv * (a0 * b1) / count
                        plane[y1, x0] += gv * (a1 * b0) / count
                        plane[y1, x1] += gv * (a1 * b1) / count


@parallel_kernel(error_model="numpy")
def roi_align_forward(x, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols,
                      col_w, out):
    """out (K, C, PH, PW): one task per (ROI, channel), in parallel."""
    for t in prange(out.shape[0] * out.shape[1]):
        _align_task(x, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w,
                    out, t)


@kernel(error_model="numpy")
def roi_align_forward_serial(x, batch, grid_h, grid_w, row_start, col_start, rows, row_w,
                             cols, col_w, out):
    """``roi_align_forward``'s tasks, in order on the calling thread."""
    for t in range(out.shape[0] * out.shape[1]):
        _align_task(x, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w,
                    out, t)


@parallel_kernel(error_model="numpy")
def roi_align_backward(g, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols,
                       col_w, dx):
    """dx (N, C, H, W) = the adjoint of the forward applied to g (K, C, PH, PW): one task
    per input plane, in parallel."""
    for t in prange(dx.shape[0] * dx.shape[1]):
        _align_plane(g, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols,
                     col_w, dx, t)


@kernel(error_model="numpy")
def roi_align_backward_serial(g, batch, grid_h, grid_w, row_start, col_start, rows, row_w,
                              cols, col_w, dx):
    """``roi_align_backward``'s tasks, in order on the calling thread."""
    for t in range(dx.shape[0] * dx.shape[1]):
        _align_plane(g, batch, grid_h, grid_w, row_start, col_start, rows, row_w, cols,
                     col_w, dx, t)


# -- RoIPool -----------------------------------------------------------------------------------
@kernel
def _round_half_away(v):
    """C's ``round``: halves go away from zero (numba's ``round`` goes to even)."""
    a = abs(v)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return r if v >= 0 else -r


@kernel(error_model="numpy")
def _pool_task(x, rois, batch, scale, out, argmax, t):
    """Task t of the forward: out, argmax[k, c] for (k, c) = divmod(t, C)."""
    C, PH, PW = out.shape[1], out.shape[2], out.shape[3]
    H = x.shape[2]
    W = x.shape[3]
    k = t // C
    c = t - k * C
    plane = x[batch[k], c]
    start_w = _round_half_away(rois[k, 1] * scale)
    start_h = _round_half_away(rois[k, 2] * scale)
    bin_h = max(_round_half_away(rois[k, 4] * scale) - start_h + 1, 1) / PH
    bin_w = max(_round_half_away(rois[k, 3] * scale) - start_w + 1, 1) / PW
    for ph in range(PH):
        h0 = min(max(math.floor(ph * bin_h) + start_h, 0), H)
        h1 = min(max(math.ceil((ph + 1) * bin_h) + start_h, 0), H)
        for pw in range(PW):
            w0 = min(max(math.floor(pw * bin_w) + start_w, 0), W)
            w1 = min(max(math.ceil((pw + 1) * bin_w) + start_w, 0), W)
            best = -FLT_MAX
            where = -1
            if h1 <= h0 or w1 <= w0:
                best = 0.0
            for h in range(h0, h1):
                for w in range(w0, w1):
                    if plane[h, w] > best:
                        best = plane[h, w]
                        where = h * W + w
            out[k, c, ph, pw] = best
            argmax[k, c, ph, pw] = where


@kernel
def _pool_plane(g, batch, argmax, dx, t):
    """Task t of the backward: input plane (n, c) = divmod(t, C), its ROIs in order."""
    C = dx.shape[1]
    K, M = g.shape[0], g.shape[2]
    n = t // C
    c = t - n * C
    plane = dx[n, c]
    plane[:] = 0
    for k in range(K):
        if batch[k] != n:
            continue
        for m in range(M):
            j = argmax[k, c, m]
            if j >= 0:
                plane[j] += g[k, c, m]


@parallel_kernel(error_model="numpy")
def roi_pool_forward(x, rois, batch, scale, out, argmax):
    """out, argmax (K, C, PH, PW): one task per (ROI, channel), in parallel."""
    for t in prange(out.shape[0] * out.shape[1]):
        _pool_task(x, rois, batch, scale, out, argmax, t)


@kernel(error_model="numpy")
def roi_pool_forward_serial(x, rois, batch, scale, out, argmax):
    """``roi_pool_forward``'s tasks, in order on the calling thread."""
    for t in range(out.shape[0] * out.shape[1]):
        _pool_task(x, rois, batch, scale, out, argmax, t)


@parallel_kernel
def roi_pool_backward(g, batch, argmax, dx):
    """dx (N, C, H*W): each g (K, C, M) added at its argmax; one task per input plane."""
    for t in prange(dx.shape[0] * dx.shape[1]):
        _pool_plane(g, batch, argmax, dx, t)


@kernel
def roi_pool_backward_serial(g, batch, argmax, dx):
    """``roi_pool_backward``'s tasks, in order on the calling thread."""
    for t in range(dx.shape[0] * dx.shape[1]):
        _pool_plane(g, batch, argmax, dx, t)


# -- drivers -------------------------------------------------------------------------------------
def align_geometry(rois: np.ndarray, scale: float, height: int, width: int,
                   pooled: tuple, sampling_ratio: int, aligned: bool) -> tuple:
    """(grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w) of all ROIs."""
    K = rois.shape[0]
    ph, pw = pooled
    grid_h = np.empty(K, dtype=np.int64)
    grid_w = np.empty(K, dtype=np.int64)
    align_grids(rois, scale, ph, pw, sampling_ratio, aligned, grid_h, grid_w)
    row_start = np.zeros(K + 1, dtype=np.int64)
    col_start = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(ph * grid_h, out=row_start[1:])
    np.cumsum(pw * grid_w, out=col_start[1:])
    rows = np.empty((row_start[-1], 2), dtype=np.int64)
    cols = np.empty((col_start[-1], 2), dtype=np.int64)
    row_w = np.empty((row_start[-1], 2))
    col_w = np.empty((col_start[-1], 2))
    align_tables(rois, scale, height, width, ph, pw, sampling_ratio, aligned, row_start,
                 col_start, rows, row_w, cols, col_w)
    return grid_h, grid_w, row_start, col_start, rows, row_w, cols, col_w


def _align_work(tables: tuple, channels: int) -> int:
    """Bilinear samples times channels: sum_k (PH grid_h[k]) (PW grid_w[k]) C."""
    return channels * int(np.dot(np.diff(tables[2]), np.diff(tables[3])))


def align_forward(x: np.ndarray, batch: np.ndarray, tables: tuple, out: np.ndarray) -> None:
    """Fill out (K, C, PH, PW), in parallel from ``PARALLEL_MIN`` units of work on."""
    parallel = _align_work(tables, out.shape[1]) >= PARALLEL_MIN
    (roi_align_forward if parallel else roi_align_forward_serial)(x, batch, *tables, out)


def align_backward(g: np.ndarray, batch: np.ndarray, tables: tuple, dx: np.ndarray) -> None:
    """Fill dx (N, C, H, W) with the adjoint of ``align_forward`` applied to g."""
    parallel = _align_work(tables, dx.shape[1]) + dx.size >= PARALLEL_MIN
    (roi_align_backward if parallel else roi_align_backward_serial)(g, batch, *tables, dx)


def pool_forward(x: np.ndarray, rois: np.ndarray, batch: np.ndarray, scale: float,
                 out: np.ndarray, argmax: np.ndarray) -> None:
    """Fill out and argmax (K, C, PH, PW)."""
    kernel_ = roi_pool_forward if out.size >= PARALLEL_MIN else roi_pool_forward_serial
    kernel_(x, rois, batch, scale, out, argmax)


def pool_backward(g: np.ndarray, batch: np.ndarray, argmax: np.ndarray, dx: np.ndarray) -> None:
    """Fill dx (N, C, H*W) from g and argmax (K, C, PH*PW)."""
    parallel = g.size + dx.size >= PARALLEL_MIN
    (roi_pool_backward if parallel else roi_pool_backward_serial)(g, batch, argmax, dx)


def warm() -> None:
    """Compile (or load from the cache) every kernel here on tiny inputs."""
    for dtype in (np.float32, np.float64):
        x = np.zeros((1, 1, 2, 2), dtype=dtype)
        rois = np.array([[0.0, 0.0, 0.0, 1.0, 1.0]])
        batch = np.zeros(1, dtype=np.int64)
        tables = align_geometry(rois, 1.0, 2, 2, (1, 1), -1, False)
        out = np.empty((1, 1, 1, 1), dtype=dtype)
        argmax = np.empty((1, 1, 1, 1), dtype=np.int64)
        for forward, backward in ((roi_align_forward, roi_align_backward),
                                  (roi_align_forward_serial, roi_align_backward_serial)):
            forward(x, batch, *tables, out)
            backward(out, batch, *tables, x)
        for forward, backward in ((roi_pool_forward, roi_pool_backward),
                                  (roi_pool_forward_serial, roi_pool_backward_serial)):
            forward(x, rois, batch, 1.0, out, argmax)
            backward(out.reshape(1, 1, 1), batch, argmax.reshape(1, 1, 1), x.reshape(1, 1, 4))
