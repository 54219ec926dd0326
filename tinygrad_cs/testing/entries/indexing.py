"""Entries for gather / scatter / masked selection and roll (``tinygrad_cs/ops/indexing.py``)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ... import ops
from ...ops import elementwise as E
from ...ops import indexing as I
from ...ops import movement as M
from ..registry import register
from ..strategies import arrays, floats, shapes


def _array(shape):
    return arrays(tuple(shape), contiguous=True)


def _loop_positions(index: np.ndarray, d: int):
    """(position in index, target position in the input) pairs of a scatter along ``d``."""
    for pos in np.ndindex(index.shape):
        target = list(pos)
        target[d] = index[pos]
        yield pos, tuple(target)


@st.composite
def _index_along(draw, shape, d, distinct=False):
    """An int64 index for gather/scatter along ``d``: no larger than ``shape`` off ``d``;
    with ``distinct`` no two entries of one line along ``d`` coincide (scatter targets)."""
    idx_shape = [draw(st.integers(1, s)) for s in shape]
    n = shape[d]
    if not distinct:
        idx_shape[d] = draw(st.integers(1, 4))
        return draw(hnp.arrays(np.int64, tuple(idx_shape), elements=st.integers(0, n - 1)))
    idx_shape[d] = draw(st.integers(1, n))
    keys = draw(hnp.arrays(np.float64, tuple(idx_shape[:d]) + (n,) + tuple(idx_shape[d + 1:]),
                           elements=floats(0.0, 1.0)))
    order = np.argsort(keys, axis=d, kind="stable")
    return np.take(order, np.arange(idx_shape[d]), axis=d).astype(np.int64)


@st.composite
def _gather_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    return draw(_array(shape)), d, draw(_index_along(shape, d % len(shape)))


def _gather_ref(a, d, index):
    d %= a.ndim
    block = tuple(slice(0, s if i == d else index.shape[i]) for i, s in enumerate(a.shape))
    return np.take_along_axis(a[block], index, d)


register("gather", lambda a, d, i: ops.gather(a, d, i), reference=_gather_ref,
         inputs=_gather_args(), covers=M.TakeAlongDim)


@st.composite
def _scatter_args(draw, distinct=True, value=False):
    shape = draw(shapes(1, 3, 1, 3))
    d = draw(st.integers(0, len(shape) - 1))
    index = draw(_index_along(shape, d, distinct))
    if value:
        return draw(_array(shape)), d, index, draw(floats(-3.0, 3.0))
    src_shape = [s + draw(st.integers(0, 1)) for s in index.shape]  # src may be larger
    return draw(_array(shape)), d, index, draw(_array(src_shape))


def _scatter_ref(add):
    def reference(a, d, index, src):
        out = np.array(a, copy=True)
        src = np.broadcast_to(src, index.shape) if np.ndim(src) == 0 else src
        for pos, target in _loop_positions(index, d):
            out[target] = out[target] + src[pos] if add else src[pos]
        return out
    return reference


register("scatter", lambda a, d, i, s: ops.scatter(a, d, i, s), reference=_scatter_ref(False),
         inputs=_scatter_args(), covers=I.Scatter)
register("scatter[value]", lambda a, d, i, v: ops.scatter(a, d, i, value=v),
         reference=_scatter_ref(False), inputs=_scatter_args(value=True), covers=I.Scatter)
register("scatter_add", lambda a, d, i, s: ops.scatter_add(a, d, i, s),
         reference=_scatter_ref(True), inputs=_scatter_args(distinct=False),
         covers=M.ScatterAddAlong)


@st.composite
def _index_add_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    index = draw(hnp.arrays(np.int64, (draw(st.integers(0, 4)),), elements=st.integers(0, n - 1)))
    source_shape = list(shape)
    source_shape[d] = len(index)
    return draw(_array(shape)), d, index, draw(_array(source_shape)), draw(floats(-2.0, 2.0))


def _index_add_ref(a, d, index, source, alpha):
    out = np.array(a, copy=True)
    np.add.at(out, (slice(None),) * (d % a.ndim) + (index,), alpha * source)
    return out


register("index_add[dim]", lambda a, d, i, s, k: I.index_add(a, d, i, s, alpha=k),
         reference=_index_add_ref, inputs=_index_add_args(), covers=M.IndexAdd)


def _index_fill_ref(a, d, index, value):
    out = np.array(a, copy=True)
    out[(slice(None),) * (d % a.ndim) + (index,)] = value
    return out


@st.composite
def _index_fill_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    index = draw(hnp.arrays(np.int64, (draw(st.integers(0, 4)),),
                            elements=st.integers(0, shape[d] - 1)))
    return draw(_array(shape)), d, index, draw(floats(-2.0, 2.0))


register("index_fill", lambda a, d, i, v: ops.index_fill(a, d, i, v), reference=_index_fill_ref,
         inputs=_index_fill_args(), covers=E.Where)


@st.composite
def _mask_args(draw, source=False):
    shape = draw(shapes(1, 3, 1, 3))
    mask_shape = shape[draw(st.integers(0, len(shape))):]  # broadcasts from the right
    mask = draw(hnp.arrays(np.bool_, mask_shape, elements=st.booleans()))
    if not source:
        return draw(_array(shape)), mask
    k = int(np.broadcast_to(mask, shape).sum())
    return draw(_array(shape)), mask, draw(_array((k + draw(st.integers(0, 2)),)))


def _masked_scatter_ref(a, mask, source):
    out = np.array(a, copy=True)
    mask = np.broadcast_to(mask, a.shape)
    out[mask] = source[:mask.sum()]
    return out


register("masked_select", lambda a, m: ops.masked_select(a, m),
         reference=lambda a, m: a[np.broadcast_to(m, a.shape)], inputs=_mask_args(),
         covers=M.GetItem)
register("masked_scatter", lambda a, m, s: ops.masked_scatter(a, m, s),
         reference=_masked_scatter_ref, inputs=_mask_args(source=True), covers=M.GetItem)


@st.composite
def _roll_args(draw):
    shape = draw(shapes(1, 3, 1, 4))
    if draw(st.booleans()):
        return draw(_array(shape)), draw(st.integers(-5, 5)), None
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3))
    shifts = [draw(st.integers(-5, 5)) for _ in dims]
    return draw(_array(shape)), tuple(shifts), tuple(dims)


register("roll", lambda a, s, d: ops.roll(a, s, d),
         reference=lambda a, s, d: np.roll(a, s, d), inputs=_roll_args(), covers=M.GetItem)


@st.composite
def _index_put_args(draw):
    shape = draw(shapes(2, 3, 1, 3))
    k = draw(st.integers(1, 4))
    rows = draw(hnp.arrays(np.int64, (k,), elements=st.integers(0, shape[0] - 1)))
    cols = draw(hnp.arrays(np.int64, (k,), elements=st.integers(0, shape[1] - 1)))
    accumulate = draw(st.booleans())
    if not accumulate:  # distinct targets: PyTorch leaves repeated ones undefined
        pairs = sorted(set(zip(rows.tolist(), cols.tolist())))
        rows, cols = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    values = draw(_array((len(rows),) + tuple(shape[2:])))
    return draw(_array(shape)), rows, cols, values, accumulate


def _index_put_ref(a, rows, cols, values, accumulate):
    out = np.array(a, copy=True)
    if accumulate:
        np.add.at(out, (rows, cols), values)
    else:
        out[rows, cols] = values
    return out


register("index_put", lambda a, r, c, v, acc: ops.index_put(a, (r, c), v, acc),
         reference=_index_put_ref, inputs=_index_put_args(), covers=M.IndexAdd)


@st.composite
def _assign_args(draw):
    """``(a, index, value)`` for ``a[index] = value``: a basic index (an int or a slice on
    the first dim), distinct integer rows, or a boolean mask of ``a``'s shape; ``value`` of
    the indexed shape, or one that broadcasts to it."""
    shape = draw(shapes(1, 3, 1, 4))
    a = draw(_array(shape))
    kind = draw(st.sampled_from(["int", "slice", "rows", "mask"]))
    if kind == "int":
        index = draw(st.integers(-shape[0], shape[0] - 1))
    elif kind == "slice":
        start = draw(st.integers(0, shape[0] - 1))
        index = slice(start, draw(st.integers(start + 1, shape[0])))
    elif kind == "rows":
        index = draw(st.permutations(range(shape[0])))[:draw(st.integers(1, shape[0]))]
        index = np.asarray(index, dtype=np.int64)
    else:
        index = draw(hnp.arrays(np.bool_, shape))
    picked = a[index].shape
    broadcast = draw(st.booleans()) and len(picked) > 0
    return a, index, draw(_array(picked[-1:] if broadcast else picked))


def _assign_ref(a, index, value):
    out = a.copy()
    out[index] = value
    return out


register("assign_at", lambda a, i, v: ops.assign_at(a, i, v), reference=_assign_ref,
         inputs=_assign_args(), covers=M.IndexAdd)
