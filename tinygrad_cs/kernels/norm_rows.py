"""Layer-norm kernels: statistics per row of ``x`` (R, D), an affine per column.

    y = (x - mean_r) * invstd_r * w + c,    invstd_r = 1 / sqrt(var_r + eps)
    dx = invstd_r * (w dy - mean_r(w dy) - xhat * mean_r(w dy xhat))
    dw = sum_r dy * xhat,   dc = sum_r dy

Rows run in parallel; each row is summed as in ``norm.py`` (two passes in its dtype over
blocks, float64 across blocks, centred on the mean rounded to x's dtype). The column sums
of the backward go to one partial row per chunk of rows, so no two threads add into the
same memory. ``weight``/``bias`` are in x's dtype; statistics and dw, dc float64.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import parallel_kernel
from .norm import FAST, centred_sums
from .sums import weighted_row_sums


@parallel_kernel(fastmath=FAST, error_model="numpy")
def row_norm_forward(x, weight, bias, eps, out, mean, invstd):
    """Layer norm of each row of ``x`` (R, D); ``weight``, ``bias`` (D,) in x's dtype.

    Fills ``out`` (R, D) and ``mean``, ``invstd`` (R,).
    """
    R, D = x.shape
    t = x.dtype.type
    for r in prange(R):
        row = x[r]
        acc = np.zeros(2)
        centred_sums(row, t(0.0), acc)
        mh = t(acc[0] / D)
        acc[:] = 0.0
        centred_sums(row, mh, acc)
        shift = acc[0] / D
        s = 1.0 / np.sqrt(max(acc[1] / D - shift * shift, 0.0) + eps)
        m = mh + shift
        mean[r] = m
        invstd[r] = s
        ts = t(s)
        lo = t(shift * s)
        dst = out[r]
        for i in range(D):
            dst[i] = ((row[i] - mh) * ts - lo) * weight[i] + bias[i]


CHUNKS = 8  # row chunks of the layer-norm backward, whatever the thread count


@parallel_kernel(fastmath=FAST, error_model="numpy")
def row_norm_backward(dy, x, mean, invstd, weight, chunks, dx, dweight, dbias):
    """Layer-norm backward; fills ``dx`` (R, D), ``dweight`` and ``dbias`` (D,) (float64).

    The column sums ``dweight``, ``dbias`` are accumulated in one partial row per chunk of
    rows (``chunks`` of them run in parallel, so no two threads add into the same partial),
    then added in chunk order: ``chunks`` must not follow the thread count (``CHUNKS``), or
    the sums' rounding would.
    """
    R, D = x.shape
    t = x.dtype.type
    chunks = max(1, min(R, chunks))
    part_w = np.zeros((chunks, D))
    part_b = np.zeros((chunks, D))
    for c in prange(chunks):
        pw = part_w[c]
        pb = part_b[c]
        wd = np.empty(D, dtype=x.dtype)   # w dy and xhat of one row, for the fixed-order
        xh = np.empty(D, dtype=x.dtype)   # sums (sums.py) of the two row means
        for r in range(c * R // chunks, (c + 1) * R // chunks):
            m = mean[r]
            mh = t(m)
            s = t(invstd[r])
            lo = t((m - mh) * invstd[r])
            d_row = dy[r]
            x_row = x[r]
            for i in range(D):
                d = d_row[i]
                xhat = (x_row[i] - mh) * s - lo
                wd[i] = d * weight[i]
                xh[i] = xhat
                pw[i] += d * xhat
                pb[i] += d
            s1, s2 = weighted_row_sums(wd, xh, t(0.0))
            a = s1 / D
            b = s2 / D
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
