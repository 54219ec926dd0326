"""Numba kernels of the normalisation family: one fused pass family forward, one backward.

*Channel norms* (batch, instance and group norm) see the input as ``x[b, g, k, l]``,
shape ``(B, G, K, L)``: statistics per group ``g`` over its ``M = B K L`` elements, an
affine ``w[g, k], c[g, k]`` per (group, channel-in-group). The ops choose the view:

    batch norm      (N, C, *S)  ->  (N, C, 1, L)        stats per channel
    instance norm   (N, C, *S)  ->  (1, N C, 1, L)      stats per (sample, channel)
    group norm      (N, C, *S)  ->  (1, N G, C/G, L)    stats per (sample, group)

Layer norm has its own kernels (``norm_rows.py``: statistics per row, affine per column),
and so does batch norm of inputs with few spatial elements, e.g. (N, C)
(``norm_columns.py``: the rows here would be a few elements long and never vectorise).

Forward, per group (each thread owns a run of neighbouring groups, ``chunk_size``, and
walks it in memory order: two statistics passes, one normalising pass):

    mean = sum(x) / M,   var = sum((x - mean)^2) / M - (sum(x - mean) / M)^2
    y = (x - mean) * invstd * w + c,    invstd = 1 / sqrt(var + eps)

Backward, with ``xhat = (x - mean) * invstd``:

    dc[g, k] = sum dy,     dw[g, k] = sum dy * xhat          (over b, l)
    dx = invstd * (w dy - mean_g(w dy) - xhat * mean_g(w dy xhat))   batch statistics
    dx = invstd * w dy                                                fixed statistics

(``mean_g`` averages over the group's M elements): one pass for the two sums per
(g, k), one for dx.

Accuracy in float32, and why it is cheap: sums run in x's dtype over blocks of ``BLOCK``
elements (vectorised) and in float64 across blocks; the variance is the corrected
two-pass formula (whose second term cancels the rounding of the mean; no
sum-of-squares cancellation). Element-wise, data is centred on ``mh``, the mean rounded to
x's dtype: ``x - mh`` is exact near the mean (Sterbenz), and the remainder ``mean - mh``
is folded into per-group float64 constants. So a float32 batch with mean 1e4 and unit
variance normalises to float32 precision, not to 1e4 * 2^-24.

Channel-norm weights, biases and statistics are float64 arrays (row norms: weight and
bias in x's dtype); ``x``, ``dy`` and the outputs share x's dtype (float32 or float64)
and are C-contiguous. Outputs are filled in place (the ops
allocate them, fresh for every call).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from .sums import centred_row_sums, weighted_row_sums

# IEEE semantics for NaN and Inf are kept (no "nnan"/"ninf"), and no "reassoc": the
# reductions vectorise through the fixed-order sums of sums.py instead, so a kernel
# compiled now and one loaded from the cache give the same bits.
FAST = {"nsz", "arcp", "contract"}
BLOCK = 512  # elements summed in x's own dtype before a float64 add


def chunk_size(groups: int, threads: int) -> int:
    """Groups per parallel task: an equal share per thread.

    Rows of neighbouring groups are adjacent in memory, so a task that owns a run of
    groups streams through memory in order (the prefetcher keeps up) instead of hopping
    between rows that lie a whole sample apart. Measured on (32, 64, 32, 32) float32, one
    thread: 1 group per task 1.8 ms forward, 64 groups 1.0-1.2 ms. (Numba's ``prange``
    hands each thread one contiguous block of tasks anyway, so smaller tasks would not
    balance the load better.)
    """
    return max(1, -(-groups // max(1, threads)))


@kernel(error_model="numpy")
def centred_sums(v, shift, acc):
    """Add sum(v - shift) and sum((v - shift)^2) of the 1-D array ``v`` into ``acc[0:2]``.

    Summed in v's dtype over blocks (in the fixed order of ``sums.py``: vectorised, and
    the same bits from every compilation), in float64 across blocks.
    """
    for i0 in range(0, v.size, BLOCK):
        p1, p2 = centred_row_sums(v[i0:i0 + BLOCK], shift)
        acc[0] += p1
        acc[1] += p2


@kernel(error_model="numpy")
def grad_sums(dy, x, shift, acc):
    """Add sum(dy) and sum(dy * (x - shift)) of 1-D arrays into ``acc[0:2]`` (blocks as
    ``centred_sums``)."""
    for i0 in range(0, x.size, BLOCK):
        p1, p2 = weighted_row_sums(dy[i0:i0 + BLOCK], x[i0:i0 + BLOCK], shift)
        acc[0] += p1
        acc[1] += p2


@kernel(fastmath=FAST, error_model="numpy")
def _affine_row(src, dst, mh, a, c):
    """dst = (src - mh) * a + c over 1-D rows, in their dtype."""
    for i in range(src.size):
        dst[i] = (src[i] - mh) * a + c


@kernel(fastmath=FAST, error_model="numpy")
def _chunk_stats(x, g0, g1, mean, var):
    """mean[g], var[g] (biased) for the groups g0 <= g < g1 of x[b, g, k, l]: two passes.

    The first pass sums x; the second sums x - mh and its square, mh being the first
    pass's mean rounded to x's dtype. Rows are visited in memory order (b, g, k), so the
    chunk's groups stream contiguously.
    """
    B, _, K, L = x.shape
    t = x.dtype.type
    n = B * K * L
    acc = np.zeros((g1 - g0, 2))
    for b in range(B):
        for g in range(g0, g1):
            for k in range(K):
                centred_sums(x[b, g, k], t(0.0), acc[g - g0])
    mh = np.empty(g1 - g0, dtype=x.dtype)
    for g in range(g0, g1):
        mh[g - g0] = t(acc[g - g0, 0] / n)
    acc[:, :] = 0.0
    for b in range(B):
        for g in range(g0, g1):
            for k in range(K):
                centred_sums(x[b, g, k], mh[g - g0], acc[g - g0])
    for g in range(g0, g1):
        shift = acc[g - g0, 0] / n  # mean - mh
        mean[g] = mh[g - g0] + shift
        var[g] = max(acc[g - g0, 1] / n - shift * shift, 0.0)


@kernel(fastmath=FAST, error_model="numpy")
def _chunk_normalize(x, g0, g1, weight, bias, mean, invstd, out):
    """out = (x - mean) * invstd * w + c for the groups g0 <= g < g1 (centred on mh)."""
    B, _, K, _ = x.shape
    t = x.dtype.type
    scale = np.empty((g1 - g0, K))
    shift = np.empty((g1 - g0, K))
    mh = np.empty(g1 - g0, dtype=x.dtype)
    for g in range(g0, g1):
        mh[g - g0] = t(mean[g])
        for k in range(K):
            scale[g - g0, k] = invstd[g] * weight[g, k]
            shift[g - g0, k] = bias[g, k] - (mean[g] - mh[g - g0]) * scale[g - g0, k]
    for b in range(B):
        for g in range(g0, g1):
            for k in range(K):
                _affine_row(x[b, g, k], out[b, g, k], mh[g - g0], t(scale[g - g0, k]),
                            t(shift[g - g0, k]))


@parallel_kernel(fastmath=FAST, error_model="numpy")
def channel_norm_forward(x, weight, bias, eps, batch_stats, chunk, out, mean, var, invstd):
    """The normalised output ``out``. With ``batch_stats`` the statistics are the batch's
    and are filled in (per group ``mean``, biased ``var``, ``invstd``); without, the given
    ``mean`` and ``invstd`` normalise (``var`` is not used).

    Runs of ``chunk`` neighbouring groups run in parallel (see ``chunk_size``).
    """
    G = x.shape[1]
    for c in prange((G + chunk - 1) // chunk):
        g0 = c * chunk
        g1 = min(G, g0 + chunk)
        if batch_stats:
            _chunk_stats(x, g0, g1, mean, var)
            for g in range(g0, g1):
                invstd[g] = 1.0 / np.sqrt(var[g] + eps)
        _chunk_normalize(x, g0, g1, weight, bias, mean, invstd, out)


@parallel_kernel(fastmath=FAST, error_model="numpy")
def channel_norm_backward(dy, x, mean, invstd, weight, batch_stats, chunk, dx, dweight,
                          dbias):
    """Fills ``dx`` (like x) and ``dweight``, ``dbias`` (G, K); see the module docstring.

    Per chunk of groups: one pass for sum(dy) and sum(dy (x - mh)) per (g, k), one for dx.
    """
    B, G, K, _ = x.shape
    n = B * K * x.shape[3]
    t = x.dtype.type
    for c in prange((G + chunk - 1) // chunk):
        g0 = c * chunk
        g1 = min(G, g0 + chunk)
        mh = np.empty(g1 - g0, dtype=x.dtype)
        for g in range(g0, g1):
            mh[g - g0] = t(mean[g])
        acc = np.zeros((g1 - g0, K, 2))
        for b in range(B):
            for g in range(g0, g1):
                for k in range(K):
                    grad_sums(dy[b, g, k], x[b, g, k], mh[g - g0], acc[g - g0, k])
        alpha = np.empty((g1 - g0, K))
        beta = np.zeros(g1 - g0)
        gamma = np.zeros(g1 - g0)
        for g in range(g0, g1):
            s = invstd[g]
            lo = mean[g] - mh[g - g0]
            sum_wdy = 0.0
            sum_wdy_xhat = 0.0
            for k in range(K):
                s1 = acc[g - g0, k, 0]
                s2 = acc[g - g0, k, 1] - lo * s1  # sum dy (x - mean) from sum dy (x - mh)
                dbias[g, k] = s1
                dweight[g, k] = s2 * s
                sum_wdy += weight[g, k] * s1
                sum_wdy_xhat += weight[g, k] * s2 * s
                alpha[g - g0, k] = s * weight[g, k]
            if batch_stats:  # dx = alpha dy - beta (x - mean) - gamma, centred on mh
                beta[g - g0] = s * s * sum_wdy_xhat / n
                gamma[g - g0] = s * sum_wdy / n + beta[g - g0] * lo
        for b in range(B):
            for g in range(g0, g1):
                tb = t(beta[g - g0])
                tg = t(gamma[g - g0])
                m = mh[g - g0]
                for k in range(K):
                    a = t(alpha[g - g0, k])
                    d_row = dy[b, g, k]
                    x_row = x[b, g, k]
                    dx_row = dx[b, g, k]
                    for i in range(d_row.size):
                        dx_row[i] = a * d_row[i] - tb * (x_row[i] - m) - tg
