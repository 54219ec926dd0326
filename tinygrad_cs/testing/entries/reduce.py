"""Entries for the reductions (``tinygrad_cs/ops/reduce.py``) and softmax / log_softmax."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import logexp as N
from ...ops import reduce as R
from ..registry import register
from ..strategies import arrays, dims, floats, separated_arrays, shapes
from . import SMALL


@st.composite
def _reduce_args(draw, values=None, min_dims=0, allow_tuple=True, allow_none=True, min_side=1):
    """``(a, dim, keepdim)``; ``values(shape)`` is a strategy for ``a`` (default floats)."""
    shape = draw(shapes(**{**SMALL, "min_dims": min_dims, "min_side": min_side}))
    a = draw(arrays(shape, contiguous=True) if values is None else values(shape))
    dim = draw(dims(len(shape), allow_none=allow_none, allow_tuple=allow_tuple))
    return a, dim, draw(st.booleans())


def _axis(dim):
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


def _group_size(shape, dim) -> int:
    if dim is None:
        return math.prod(shape)
    axes = dim if isinstance(dim, tuple) else (dim,)
    return math.prod(shape[d] for d in axes)


def _separated(shape):
    return separated_arrays(shape)


def _separated_abs(shape):
    return separated_arrays(shape, distinct_abs=True)


register("sum", lambda a, d, k: ops.sum(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.sum(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(), covers=R.Sum)
register("mean", lambda a, d, k: ops.mean(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.mean(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(), covers=R.Mean)
register("logsumexp", lambda a, d, k: ops.logsumexp(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.log(np.sum(np.exp(a), axis=_axis(d), keepdims=k)),
         inputs=_reduce_args())

# -- max/min: distinct, well-separated elements (no ties, no argmax switch under eps) ----
register("amax", lambda a, d, k: ops.amax(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.max(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(_separated), covers=R.AMax)
register("amin", lambda a, d, k: ops.amin(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.min(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(_separated), covers=R.AMin)
register("max[all]", lambda a: ops.max(a), reference=np.max,
         inputs=st.tuples(shapes(**SMALL).flatmap(_separated)), covers=R.AMax)
register("min[all]", lambda a: ops.min(a), reference=np.min,
         inputs=st.tuples(shapes(**SMALL).flatmap(_separated)), covers=R.AMin)


def _along(np_value, np_index):
    def reference(a, d, k):
        return np_value(a, axis=d, keepdims=k), np_index(a, axis=d, keepdims=k)
    return reference


register("max[dim]", lambda a, d, k: tuple(ops.max(a, d, k)),
         reference=_along(np.max, np.argmax),
         inputs=_reduce_args(_separated, min_dims=1, allow_tuple=False, allow_none=False))
register("min[dim]", lambda a, d, k: tuple(ops.min(a, d, k)),
         reference=_along(np.min, np.argmin),
         inputs=_reduce_args(_separated, min_dims=1, allow_tuple=False, allow_none=False))


# -- statistics ----------------------------------------------------------------------
@st.composite
def _stat_args(draw, min_side=1):
    """``(a, dim, keepdim, correction)`` with more elements per group than the correction.

    std needs ``min_side=2``: a group of one has std 0, where sqrt has no derivative.
    """
    a, dim, keepdim = draw(_reduce_args(_separated, min_dims=min_side - 1, min_side=min_side))
    n = _group_size(a.shape, dim)
    return a, dim, keepdim, draw(st.integers(0, min(2, n - 1)))


register("var", lambda a, d, k, c: ops.var(a, dim=d, keepdim=k, correction=c),
         reference=lambda a, d, k, c: np.var(a, axis=_axis(d), keepdims=k, ddof=c),
         inputs=_stat_args())
register("var[unbiased]", lambda a: ops.var(a, unbiased=True),
         reference=lambda a: np.var(a, ddof=1),
         inputs=st.tuples(shapes(1, 3, 2, 3).flatmap(_separated)))
register("std", lambda a, d, k, c: ops.std(a, dim=d, keepdim=k, correction=c),
         reference=lambda a, d, k, c: np.std(a, axis=_axis(d), keepdims=k, ddof=c),
         inputs=_stat_args(min_side=2), covers=R.StdSqrt)


def _prod_values(shape):
    """Magnitudes in [0.5, 2] with random signs: no zeros, products stay moderate."""
    return arrays(shape, elements=st.one_of(floats(0.5, 2.0), floats(-2.0, -0.5)),
                  contiguous=True)


@st.composite
def _prod_values_with_zeros(draw, shape):
    """As ``_prod_values`` but with at least one exact zero (the backward's other branch)."""
    a = draw(_prod_values(shape))
    zeros = draw(st.lists(st.integers(0, a.size - 1), min_size=1, max_size=2))
    a.reshape(-1)[zeros] = 0.0
    return a


register("prod", lambda a, d, k: ops.prod(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.prod(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(_prod_values), covers=R.Prod)
register("prod[zeros]", lambda a, d, k: ops.prod(a, dim=d, keepdim=k),
         reference=lambda a, d, k: np.prod(a, axis=_axis(d), keepdims=k),
         inputs=_reduce_args(_prod_values_with_zeros), covers=R.Prod)


# -- norms: away from 0 (|x| kink); the inf-norms need distinct magnitudes -------------------
def _norm_ref(p):
    def reference(a, d, k):
        ax, m = _axis(d), np.abs(a)
        if p == np.inf:
            return np.max(m, axis=ax, keepdims=k)
        if p == -np.inf:
            return np.min(m, axis=ax, keepdims=k)
        return np.sum(m ** p, axis=ax, keepdims=k) ** (1.0 / p)
    return reference


def _norm(p):
    return lambda a, d, k: ops.norm(a, p, dim=d, keepdim=k)


_NORM_OPS = {2: R.Norm2, 3: R.PNorm, 0.5: R.PNorm}
for _p, _tag in ((2, "2"), (1, "1"), (np.inf, "inf"), (-np.inf, "-inf"), (3, "3"), (0.5, "0.5")):
    register(f"norm[p={_tag}]", _norm(_p), reference=_norm_ref(_p),
             inputs=_reduce_args(_separated_abs), covers=_NORM_OPS.get(_p, ()))


# -- softmax family (a dim each) ---------------------------------------------------------
@st.composite
def _softmax_args(draw):
    shape = draw(shapes(**{**SMALL, "min_dims": 1}))
    return draw(arrays(shape, contiguous=True)), draw(st.integers(-len(shape), len(shape) - 1))


def _softmax_ref(a, d):
    e = np.exp(a - np.max(a, axis=d, keepdims=True))
    return e / np.sum(e, axis=d, keepdims=True)


register("softmax", lambda a, d: ops.softmax(a, d), reference=_softmax_ref,
         inputs=_softmax_args(), covers=N.SoftmaxFn)
def _log_softmax_ref(a, d):
    shifted = a - np.max(a, axis=d, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=d, keepdims=True))


register("log_softmax", lambda a, d: ops.log_softmax(a, d), reference=_log_softmax_ref,
         inputs=_softmax_args(), covers=N.LogSoftmaxFn)
