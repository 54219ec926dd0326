"""Entries for sorting and running sums/products (``ops/sorting.py``, ``ops/scan.py``)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ... import ops
from ...ops import movement as M
from ...ops import scan as S
from ..registry import register
from ..strategies import arrays, nonzero_floats, separated_arrays, shapes
from . import SMALL


@st.composite
def _along_dim(draw, values=None, min_dims=1):
    """``(a, dim)``: ``a`` with distinct elements (no order swap under a finite difference)."""
    shape = draw(shapes(**{**SMALL, "min_dims": min_dims}))
    a = draw(separated_arrays(shape) if values is None else values(shape))
    return a, draw(st.integers(-len(shape), len(shape) - 1))


def _sort_ref(a, d, descending):
    order = np.argsort(-a if descending else a, axis=d, kind="stable")
    return np.take_along_axis(a, order, d), order


register("sort", lambda a, d, desc: tuple(ops.sort(a, d, desc)), reference=_sort_ref,
         inputs=st.tuples(_along_dim(), st.booleans()).map(lambda t: (*t[0], t[1])),
         covers=M.TakeAlongDim)
register("msort", lambda a: ops.msort(a), reference=lambda a: np.sort(a, axis=0),
         inputs=st.tuples(shapes(**{**SMALL, "min_dims": 1}).flatmap(separated_arrays)),
         covers=M.TakeAlongDim)


@st.composite
def _topk_args(draw):
    a, d = draw(_along_dim())
    return a, draw(st.integers(0, a.shape[d])), d, draw(st.booleans())


def _topk_ref(a, k, d, largest):
    values, order = _sort_ref(a, d, largest)
    keep = (slice(None),) * (d % a.ndim) + (slice(0, k),)
    return values[keep], order[keep]


register("topk", lambda a, k, d, big: tuple(ops.topk(a, k, d, big)), reference=_topk_ref,
         inputs=_topk_args(), covers=M.GetItem)


def _any_values(shape):
    return arrays(shape, contiguous=True)


# cumprod's gradient is revcumsum(g out) / a (PyTorch's formula too): the second derivative
# squares a, so inputs stay away from tiny magnitudes (1e-200**2 underflows), zeros aside.
def _away_from_tiny(shape):
    return arrays(shape, elements=nonzero_floats(2.0, gap=0.1), contiguous=True)


def _with_zeros(shape):
    return hnp.arrays(np.float64, shape, elements=st.one_of(st.just(0.0),
                                                            nonzero_floats(2.0, gap=0.1)))


register("cumsum", lambda a, d: ops.cumsum(a, d), reference=lambda a, d: np.cumsum(a, d),
         inputs=_along_dim(_any_values), covers=S.CumSum)
register("cumprod", lambda a, d: ops.cumprod(a, d), reference=lambda a, d: np.cumprod(a, d),
         inputs=_along_dim(_away_from_tiny),
         covers=S.CumProd)
register("cumprod[zeros]", lambda a, d: ops.cumprod(a, d),
         reference=lambda a, d: np.cumprod(a, d), inputs=_along_dim(_with_zeros),
         covers=S.CumProd)


@st.composite
def _diff_args(draw):
    a, d = draw(_along_dim(_any_values))
    n = draw(st.integers(0, 2))
    side = list(a.shape)
    side[d] = draw(st.integers(1, 2))
    prepend = draw(arrays(tuple(side), contiguous=True)) if draw(st.booleans()) else None
    return a, n, d, prepend


register("diff", lambda a, n, d, p: ops.diff(a, n, d, prepend=p),
         reference=lambda a, n, d, p: np.diff(a, n, d, **({} if p is None else {"prepend": p})),
         inputs=_diff_args())


@st.composite
def _kth_args(draw):
    a, d = draw(_along_dim())
    return a, draw(st.integers(1, a.shape[d])), d, draw(st.booleans())


def _kth_ref(a, k, d, keepdim):
    order = np.argsort(a, axis=d, kind="stable")
    index = np.take(order, [k - 1], axis=d)
    values = np.take_along_axis(a, index, d)
    return (values, index) if keepdim else (np.squeeze(values, d), np.squeeze(index, d))


register("kthvalue", lambda a, k, d, keep: tuple(ops.kthvalue(a, k, d, keep)),
         reference=_kth_ref, inputs=_kth_args(), covers=M.GetItem)
register("median", lambda a: ops.median(a),
         reference=lambda a: np.sort(a, axis=None)[(a.size - 1) // 2],
         inputs=st.tuples(shapes(**SMALL).flatmap(separated_arrays)), covers=M.GetItem)


@st.composite
def _quantile_args(draw):
    a, d = draw(_along_dim())
    q = draw(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3))
    return a, tuple(q), d, draw(st.sampled_from(["linear", "lower", "higher", "midpoint"]))


register("quantile", lambda a, q, d, how: ops.quantile(a, q, d, interpolation=how),
         reference=lambda a, q, d, how: np.quantile(a, q, axis=d, method=how),
         inputs=_quantile_args(), covers=M.GetItem)
