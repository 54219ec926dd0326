"""The gradient of ``x[rows]`` (``IndexAdd``): plain assignment when no row repeats, else
``np.add.at``; both must equal ``np.add.at``, the accumulating oracle."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.ops.movement import _distinct_rows


@given(st.integers(1, 12), st.lists(st.integers(-12, 11), max_size=15), st.integers(0, 2**31))
def test_gradient_of_row_gather_equals_add_at(n, picks, seed):
    rows = np.array([p for p in picks if -n <= p < n], dtype=np.int64)
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((n, 3, 2)), requires_grad=True)
    g = rng.standard_normal((len(rows), 3, 2))
    (x[rows] * tg.tensor(g)).sum().backward()
    expect = np.zeros((n, 3, 2))
    np.add.at(expect, (rows,), g)
    np.testing.assert_array_equal(x.grad.numpy(), expect)


def test_distinct_rows_takes_the_fast_path_only_without_repeats():
    assert _distinct_rows((np.array([2, 0, -1]),), (4, 5))          # rows 2, 0, 3
    assert not _distinct_rows((np.array([2, 0, -2]),), (4, 5))      # -2 is row 2 again
    assert not _distinct_rows((np.array([1, 1]),), (4,))
    assert not _distinct_rows((np.array([0, 1]), np.array([1, 0])), (4, 4))
    assert _distinct_rows((np.zeros(0, np.int64),), (4,))
