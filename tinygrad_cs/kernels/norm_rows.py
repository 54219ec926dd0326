"""Layer-norm kernels: statistics per row of ``x`` (R, D), an affine per column.

    y = (x - mean_r) * invstd_r * w + c,    invstd_r = 1 / sqrt(var_r + eps)
    dx = invstd_r * (w dy - mean_r(w dy) - xhat * mean_r(w dy xhat))
    dw = sum_r dy * xhat,   dc = sum_r dy

Rows are split into ``row_chunks(R)`` runs of neighbouring rows, a number that depends
on R alone (never on the thread count), and the runs go in parallel. Each row is summed
as in ``norm.py`` (float64 lanes in the fixed order of ``_sums.py``, centred on the mean
rounded to x's dtype). The column sums of the backward go to one partial row per run,
added up in run order at the end, so no two threads add into the same memory and the
result is the same for any number of threads. ``weight``/``bias`` are in x's dtype;
statistics and dw, dc float64.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from ._sums import add_centred, add_rows, fold, lane_count

#: Runs of rows per call (fewer for fewer rows): enough to keep a few cores busy.
ROW_CHUNKS = 16


@kernel
def row_chunks(rows):
    """The number of runs ``rows`` rows are split into: a function of ``rows`` only."""
    return max(1, min(rows, ROW_CHUNKS))


@parallel_kernel(error_model="numpy")
def row_norm_forward(x, weight, bias, eps, out, mean, invstd):
    """Layer norm of each row of ``x`` (R, D); ``weight``, ``bias`` (D,) in x's dtype.

    Fills ``out`` (R, D) and ``mean``, ``invstd`` (R,).
    """
    R, D = x.shape
    t = x.dtype.type
    chunks = row_chunks(R)
    for c in prange(chunks):
        l1 = np.empty(lane_count(D))
        l2 = np.empty(lane_count(D))
        for r in range(c * R // chunks, (c + 1) * R // chunks):
            row = x[r]
            l1[:] = 0.0
            add_rows(row, l1)
            mh = t(fold(l1) / D)
            l1[:] = 0.0
            l2[:] = 0.0
            add_centred(row, mh, l1, l2)
            shift = fold(l1) / D
            s = 1.0 / np.sqrt(max(fold(l2) / D - shift * shift, 0.0) + eps)
            mean[r] = mh + shift
            invstd[r] = s
            ts = t(s)
            lo = t(shift * s)
            dst = out[r]
            for i in range(D):
                dst[i] = ((row[i] - mh) * ts - lo) * weight[i] + bias[i]


@parallel_kernel(error_model="numpy")
def row_norm_backward(dy, x, mean, invstd, weight, dx, dweight, dbias):
    """Layer-norm backward; fills ``dx`` (R, D), ``dweight`` and ``dbias`` (D,) (float64).

    The column sums ``dweight``, ``dbias`` are accumulated in one partial row per run of
    rows (``row_chunks``), then added in run order.
    """
    R, D = x.shape
    t = x.dtype.type
    chunks = row_chunks(R)
    part_w = np.zeros((chunks, D))
    part_b = np.zeros((chunks, D))
    for c in prange(chunks):
        pw = part_w[c]
        pb = part_b[c]
        w = lane_count(D)
        l1 = np.empty(w)
        l2 = np.empty(w)
        for r in range(c * R // chunks, (c + 1) * R // chunks):
            m = mean[r]
            mh = t(m)
            s = t(invstd[r])
            lo = t((m - mh) * invstd[r])
            d_row = dy[r]
            x_row = x[r]
            l1[:] = 0.0
            l2[:] = 0.0
            for i0 in range(0, D, w):  # the lanes of ``_sums``, with two sums fused in
                for j in range(min(w, D - i0)):
                    i = i0 + j
                    d = d_row[i]
                    xhat = (x_row[i] - mh) * s - lo
                    wd = d * weight[i]
                    l1[j] += wd
                    l2[j] += wd * xhat
                    pw[i] += d * xhat
                    pb[i] += d
            a = t(fold(l1) / D)
            b = t(fold(l2) / D)
            dx_row = dx[r]
            for i in range(D):
                xhat = (x_row[i] - mh) * s - lo
                dx_row[i] = s * (d_row[i] * weight[i] - a - xhat * b)
    for i in range(D):
        dweight[i] = 0.0
        dbias[i] = 0.0
    for c in range(chunks):
        for i in range(D):
            dweight[i] += part_w[c, i]
            dbias[i] += part_b[c, i]
