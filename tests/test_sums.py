"""The fixed-order sums of ``kernels/sums.py`` add in exactly the order they document.

Oracle: the same additions, one by one, in numpy scalars of the same dtype (float32
rounding at every step), following the docstring's order: eight lanes ``i % 8``, the
tail into lane 0, then ``((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))``. Plain sums
must match bit for bit; sums of products within ``(n + 1) eps sum |term|``, since LLVM
may fuse a multiply and its add (one rounding fewer, the same in every compilation).
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinygrad_cs.kernels import sums

FLOATS = st.floats(-1e3, 1e3, width=32)


def _by_hand(terms, t):
    """The documented order over a list of already-computed terms, in dtype ``t``.

    (Numba returns a float32 result as a Python float holding the float32 value.)
    """
    lanes = [t(0.0)] * 8
    full = len(terms) - len(terms) % 8
    for i, term in enumerate(terms):
        lane = i % 8 if i < full else 0
        lanes[lane] = t(lanes[lane] + term)
    a = lanes
    return t(t(t(a[0] + a[1]) + t(a[2] + a[3])) + t(t(a[4] + a[5]) + t(a[6] + a[7])))


def _within_one_rounding_per_product(got, terms, t):
    expected = _by_hand(terms, t)
    bound = (len(terms) + 1) * np.finfo(t).eps * sum(abs(float(x)) for x in terms)
    assert abs(float(t(got)) - float(expected)) <= bound, (got, expected)


@settings(max_examples=40, deadline=None)
@given(v=arrays(np.float32, st.integers(0, 45), elements=FLOATS), shift=FLOATS)
def test_centred_and_weighted_sums_follow_the_documented_order(v, shift):
    t = np.float32
    shift = t(shift)
    d = [t(x - shift) for x in v]
    s1, s2 = sums.centred_row_sums(v, shift)
    assert t(s1).tobytes() == _by_hand(d, t).tobytes()
    _within_one_rounding_per_product(s2, [t(x * x) for x in d], t)
    dy = v[::-1].copy()
    w1, w2 = sums.weighted_row_sums(dy, v, shift)
    assert t(w1).tobytes() == _by_hand(list(dy), t).tobytes()
    _within_one_rounding_per_product(w2, [t(g * x) for g, x in zip(dy, d)], t)


@settings(max_examples=40, deadline=None)
@given(v=arrays(np.float32, st.integers(0, 45), elements=FLOATS))
def test_float64_row_sum_follows_the_documented_order(v):
    got = sums.row_sum64(v)
    assert np.float64(got).tobytes() == _by_hand([np.float64(x) for x in v], np.float64).tobytes()
