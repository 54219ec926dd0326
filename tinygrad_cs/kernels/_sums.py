"""Sums in a fixed order: vectorised, yet the same bits from every compilation of them.

A floating-point sum's value depends on the order of its additions. With ``fastmath``'s
``reassoc`` LLVM picks that order itself (how many SIMD lanes, how many accumulators),
and it may pick differently for two compilations of the same source: a kernel compiled
in this process and the same kernel loaded from Numba's cache gave different floats.
Without ``reassoc`` a plain ``s += v[i]`` loop is a scalar chain, 4-10x slower.

So the order is written out. Element ``i`` of a row goes to lane ``i % W`` of a float64
``lanes`` array (the caller's, ``W = lanes.size``), and the lanes are added in a fixed
pairwise tree at the end (``fold``)::

    lanes[l] += v[i]            for i = l, l + W, l + 2W, ...     (elementwise in l)
    fold(lanes) = ((lanes[0] + lanes[h]) + ...)                  (halving, see fold)

Both loops are elementwise in ``l``, so LLVM vectorises them without reordering any
addition: IEEE arithmetic then has exactly one result, whichever machine code computes
it. Rows may be added one after another into the same lanes (a statistic over many
rows); the result depends only on the values, the row lengths and ``W``, never on
threads. float64 lanes also make these sums more accurate than float32 blocks.
"""
from __future__ import annotations

import numpy as np

from ._jit import kernel

#: Lanes of a row sum: several SIMD registers of float64, so the adds of one row overlap.
LANES = 32


@kernel
def lane_count(row_length):
    """Lanes for rows of ``row_length`` elements: LANES, or fewer for short rows."""
    return max(1, min(LANES, row_length))


@kernel(error_model="numpy")
def add_rows(v, lanes):
    """lanes[i % W] += v[i] for the 1-D array v (W = lanes.size)."""
    w = lanes.size
    n = v.size
    for i0 in range(0, n, w):
        m = min(w, n - i0)
        for j in range(m):
            lanes[j] += v[i0 + j]


@kernel(error_model="numpy")
def add_centred(v, shift, l1, l2):
    """l1[i % W] += d, l2[i % W] += d^2 with d = v[i] - shift (in v's dtype, exact near
    the mean), for the 1-D array v."""
    w = l1.size
    n = v.size
    for i0 in range(0, n, w):
        m = min(w, n - i0)
        for j in range(m):
            d = np.float64(v[i0 + j] - shift)
            l1[j] += d
            l2[j] += d * d


@kernel(error_model="numpy")
def add_grad(dy, x, shift, l1, l2):
    """l1[i % W] += dy[i], l2[i % W] += dy[i] (x[i] - shift), for 1-D dy and x."""
    w = l1.size
    n = x.size
    for i0 in range(0, n, w):
        m = min(w, n - i0)
        for j in range(m):
            d = np.float64(dy[i0 + j])
            l1[j] += d
            l2[j] += d * np.float64(x[i0 + j] - shift)


@kernel(error_model="numpy")
def fold(lanes):
    """sum(lanes) as a fixed pairwise tree; ``lanes`` is used as scratch (overwritten).

    With w entries left and h = w // 2: lanes[l] += lanes[l + w - h] for l < h, then
    w -= h (an odd middle entry waits for the next round), until one is left.
    """
    w = lanes.size
    if w == 0:
        return lanes.dtype.type(0.0)
    while w > 1:
        h = w // 2
        k = w - h
        for j in range(h):
            lanes[j] += lanes[j + k]
        w = k
    return lanes[0]

