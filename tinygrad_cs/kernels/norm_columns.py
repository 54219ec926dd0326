"""Batch-norm kernels for inputs with few spatial elements, e.g. (N, C) after a linear layer.

The channel kernels of ``norm.py`` walk each channel's rows of L contiguous elements; at
L = 1 that is one element per row and the loops never vectorise. Here the input is seen
as ``x[n, j]``, shape ``(N, M)`` with ``M = C L`` (channel ``c`` owns the columns
``[c L, (c + 1) L)``), and every kernel is one pass over the rows in memory order, each
thread taking a block of columns, with a float64 accumulator or a constant per column
(vectorised across columns):

    column_sums        sum_n (x - mh[j]),  sum_n (x - mh[j])^2     (statistics passes)
    column_affine      out = (x - mh[j]) * scale[j] + shift[j]     (normalising pass)
    column_grad_sums   sum_n dy,  sum_n dy (x - mh[j])              (backward, sums)
    column_grad        dx = alpha[j] dy - beta[j] (x - mh[j]) - gamma[j]

The per-channel algebra between the passes (folding columns into channels, the mean
``mh`` rounded to x's dtype, the constants) is a few numpy operations on length-M vectors,
in the drivers ``forward`` / ``backward`` below; it follows ``norm.py``. (Small kernels
and numpy glue, rather than one fused kernel per direction, because Numba compiled the
fused version in 8 s of CPU per dtype; these take a fraction of that.) Arrays are C-contiguous; ``x``,
``dy`` and the outputs share one float dtype, the per-column constants too.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import parallel_kernel
from .norm import FAST

TASKS = 8  # parallel tasks per pass, whatever the thread count (see column_blocks)


def column_blocks(columns: int) -> int:
    """Columns per parallel task: ``columns / TASKS`` (at least one). Fixed, not one share
    per thread: a column's place in its block decides whether it runs in the vectorised
    body or the remainder loop, which may round differently (``contract``), so blocks that
    followed the thread count made results depend on it."""
    return max(1, -(-columns // TASKS))


@parallel_kernel(fastmath=FAST, error_model="numpy")
def column_sums(x, mh, block, d1, d2):
    """d1[j] = sum_n (x[n, j] - mh[j]),  d2[j] = sum_n (x[n, j] - mh[j])^2 (float64)."""
    N, M = x.shape
    for task in prange((M + block - 1) // block):
        j0 = task * block
        j1 = min(M, j0 + block)
        a1 = np.zeros(j1 - j0)
        a2 = np.zeros(j1 - j0)
        m = mh[j0:j1]
        for n in range(N):
            row = x[n, j0:j1]
            for j in range(j1 - j0):
                d = row[j] - m[j]
                a1[j] += d
                a2[j] += d * d
        d1[j0:j1] = a1
        d2[j0:j1] = a2


@parallel_kernel(fastmath=FAST, error_model="numpy")
def column_affine(x, mh, scale, shift, block, out):
    """out[n, j] = (x[n, j] - mh[j]) * scale[j] + shift[j]."""
    N, M = x.shape
    for task in prange((M + block - 1) // block):
        j0 = task * block
        j1 = min(M, j0 + block)
        m, a, c = mh[j0:j1], scale[j0:j1], shift[j0:j1]
        for n in range(N):
            src = x[n, j0:j1]
            dst = out[n, j0:j1]
            for j in range(j1 - j0):
                dst[j] = (src[j] - m[j]) * a[j] + c[j]


@parallel_kernel(fastmath=FAST, error_model="numpy")
def column_grad_sums(dy, x, mh, block, s1, s2):
    """s1[j] = sum_n dy[n, j],  s2[j] = sum_n dy[n, j] (x[n, j] - mh[j]) (float64)."""
    N, M = x.shape
    for task in prange((M + block - 1) // block):
        j0 = task * block
        j1 = min(M, j0 + block)
        a1 = np.zeros(j1 - j0)
        a2 = np.zeros(j1 - j0)
        m = mh[j0:j1]
        for n in range(N):
            d_row = dy[n, j0:j1]
            x_row = x[n, j0:j1]
            for j in range(j1 - j0):
                d = d_row[j]
                a1[j] += d
                a2[j] += d * (x_row[j] - m[j])
        s1[j0:j1] = a1
        s2[j0:j1] = a2


@parallel_kernel(fastmath=FAST, error_model="numpy")
def column_grad(dy, x, mh, alpha, beta, gamma, block, dx):
    """dx[n, j] = alpha[j] dy[n, j] - beta[j] (x[n, j] - mh[j]) - gamma[j]."""
    N, M = x.shape
    for task in prange((M + block - 1) // block):
        j0 = task * block
        j1 = min(M, j0 + block)
        m, al, be, ga = mh[j0:j1], alpha[j0:j1], beta[j0:j1], gamma[j0:j1]
        for n in range(N):
            d_row = dy[n, j0:j1]
            x_row = x[n, j0:j1]
            dx_row = dx[n, j0:j1]
            for j in range(j1 - j0):
                dx_row[j] = al[j] * d_row[j] - be[j] * (x_row[j] - m[j]) - ga[j]


# -- drivers: the per-channel algebra between the passes (numpy on length-M vectors) ---------
def _per_channel(column_values: np.ndarray, length: int) -> np.ndarray:
    return column_values.reshape(-1, length).sum(axis=1)


def _per_column(channel_values: np.ndarray, length: int, dtype) -> np.ndarray:
    return np.repeat(np.asarray(channel_values, dtype=dtype), length)


def forward(x, length, weight, bias, eps, batch_stats, out, mean, var, invstd):
    """Batch norm of ``x`` (N, C L) into ``out``; with ``batch_stats`` fills ``mean``,
    ``var`` (biased), ``invstd`` (C,) from the batch, else normalises with the given ones."""
    m = x.shape[1]
    block = column_blocks(m)
    if batch_stats:
        count = x.shape[0] * length
        d1, d2 = np.empty(m), np.empty(m)
        column_sums(x, np.zeros(m, x.dtype), block, d1, d2)
        mh = (_per_channel(d1, length) / count).astype(x.dtype)
        column_sums(x, _per_column(mh, length, x.dtype), block, d1, d2)
        shift = _per_channel(d1, length) / count  # mean - mh
        mean[:] = mh + shift
        var[:] = np.maximum(_per_channel(d2, length) / count - shift * shift, 0.0)
        invstd[:] = 1.0 / np.sqrt(var + eps)
    mh = mean.astype(x.dtype)
    scale = invstd * weight
    offset = bias - (mean - mh) * scale
    column_affine(x, _per_column(mh, length, x.dtype), _per_column(scale, length, x.dtype),
                  _per_column(offset, length, x.dtype), block, out)


def backward(dy, x, length, mean, invstd, weight, batch_stats, dx, dweight, dbias):
    """Fills ``dx`` (N, C L) and ``dweight``, ``dbias`` (C,) (formulas of ``norm.py``)."""
    m = x.shape[1]
    block = column_blocks(m)
    mh = mean.astype(x.dtype)
    mh_columns = _per_column(mh, length, x.dtype)
    s1, s2 = np.empty(m), np.empty(m)
    column_grad_sums(dy, x, mh_columns, block, s1, s2)
    s1 = _per_channel(s1, length)
    s2 = _per_channel(s2, length) - (mean - mh) * s1  # sum dy (x - mean)
    dbias[:] = s1
    dweight[:] = s2 * invstd
    alpha = invstd * weight
    beta = np.zeros_like(alpha)
    gamma = np.zeros_like(alpha)
    if batch_stats:
        count = x.shape[0] * length
        beta = invstd * invstd * weight * dweight / count
        gamma = alpha * s1 / count + beta * (mean - mh)
    column_grad(dy, x, mh_columns, _per_column(alpha, length, x.dtype),
                _per_column(beta, length, x.dtype), _per_column(gamma, length, x.dtype),
                block, dx)
