"""Sums in an order written in the source, so every compilation gives the same bits.

A floating-point sum depends on the order of its additions. With ``fastmath``'s
``reassoc`` flag LLVM chooses that order itself (how many SIMD lanes, how many
accumulators), and a kernel compiled in this process and the same kernel loaded from
Numba's cache were seen to choose differently: two runs of one training script with one
seed drifted apart. Without ``reassoc``, a plain ``s += v[i]`` loop is a serial chain,
several times slower.

So the lanes are spelled out: element ``i`` of a row goes to accumulator ``i % 8``
(eight independent accumulators, which LLVM packs into one SIMD register without
changing any addition), and the eight are added as a fixed tree at the end::

    a[l] += v[i]   for i = l, l + 8, l + 16, ... < 8 (n // 8)    (l = 0..7)
    a[0] += v[i]   for the last n % 8 elements, in order
    sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))

The result depends only on the values and the row length. These kernels take no
``fastmath`` flags at all.
"""
from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel(error_model="numpy")
def row_sum64(v):
    """sum(v) of a 1-D array in the fixed order above, accumulated in float64."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    n = v.size
    full = n - n % 8
    for i in range(0, full, 8):
        a0 += np.float64(v[i])
        a1 += np.float64(v[i + 1])
        a2 += np.float64(v[i + 2])
        a3 += np.float64(v[i + 3])
        a4 += np.float64(v[i + 4])
        a5 += np.float64(v[i + 5])
        a6 += np.float64(v[i + 6])
        a7 += np.float64(v[i + 7])
    for i in range(full, n):
        a0 += np.float64(v[i])
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@kernel(error_model="numpy")
def centred_row_sums(v, shift):
    """(sum(d), sum(d * d)) with d = v - shift, for a 1-D array, in the fixed order."""
    t = v.dtype.type
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = t(0.0)
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = t(0.0)
    n = v.size
    full = n - n % 8
    for i in range(0, full, 8):
        d0 = v[i] - shift
        d1 = v[i + 1] - shift
        d2 = v[i + 2] - shift
        d3 = v[i + 3] - shift
        d4 = v[i + 4] - shift
        d5 = v[i + 5] - shift
        d6 = v[i + 6] - shift
        d7 = v[i + 7] - shift
        a0 += d0
        a1 += d1
        a2 += d2
        a3 += d3
        a4 += d4
        a5 += d5
        a6 += d6
        a7 += d7
        q0 += d0 * d0
        q1 += d1 * d1
        q2 += d2 * d2
        q3 += d3 * d3
        q4 += d4 * d4
        q5 += d5 * d5
        q6 += d6 * d6
        q7 += d7 * d7
    for i in range(full, n):
        d = v[i] - shift
        a0 += d
        q0 += d * d
    return (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)),
            ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7)))


@kernel(error_model="numpy")
def weighted_row_sums(dy, x, shift):
    """(sum(dy), sum(dy * (x - shift))) for 1-D arrays of one length, in the fixed order."""
    t = x.dtype.type
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = t(0.0)
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = t(0.0)
    n = x.size
    full = n - n % 8
    for i in range(0, full, 8):
        a0 += dy[i]
        a1 += dy[i + 1]
        a2 += dy[i + 2]
        a3 += dy[i + 3]
        a4 += dy[i + 4]
        a5 += dy[i + 5]
        a6 += dy[i + 6]
        a7 += dy[i + 7]
        q0 += dy[i] * (x[i] - shift)
        q1 += dy[i + 1] * (x[i + 1] - shift)
        q2 += dy[i + 2] * (x[i + 2] - shift)
        q3 += dy[i + 3] * (x[i + 3] - shift)
        q4 += dy[i + 4] * (x[i + 4] - shift)
        q5 += dy[i + 5] * (x[i + 5] - shift)
        q6 += dy[i + 6] * (x[i + 6] - shift)
        q7 += dy[i + 7] * (x[i + 7] - shift)
    for i in range(full, n):
        a0 += dy[i]
        q0 += dy[i] * (x[i] - shift)
    return (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)),
            ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7)))
