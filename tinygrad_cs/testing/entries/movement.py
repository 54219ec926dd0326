"""Entries for shape and indexing ops (``tinygrad_cs/ops/movement.py``)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ... import ops
from ...ops import movement as M
from ...tensor import Tensor
from ..registry import register
from ..strategies import arrays, shapes
from . import SMALL


def _array(shape):
    return arrays(tuple(shape), contiguous=True)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# -- reshape family -------------------------------------------------------------------
@st.composite
def _reshape_args(draw):
    shape = draw(shapes(**SMALL))
    rest, new = math.prod(shape), []
    while len(new) < 3 and draw(st.booleans()):
        d = draw(st.sampled_from(_divisors(rest)))
        new.append(d)
        rest //= d
    new.append(rest)
    if draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return draw(_array(shape)), tuple(new)


register("reshape", lambda a, s: ops.reshape(a, s), reference=np.reshape,
         inputs=_reshape_args(), covers=M.Reshape)


@st.composite
def _flatten_args(draw):
    shape = draw(shapes(**SMALL))
    n = len(shape)
    if n == 0:
        return draw(_array(shape)), 0, -1
    s = draw(st.integers(0, n - 1))
    e = draw(st.integers(s, n - 1))
    s -= n * draw(st.booleans())
    e -= n * draw(st.booleans())
    return draw(_array(shape)), s, e


def _flatten_ref(a, s, e):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = s % a.ndim, e % a.ndim
    return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:])


register("flatten", lambda a, s, e: ops.flatten(a, s, e), reference=_flatten_ref,
         inputs=_flatten_args())


@st.composite
def _squeeze_args(draw):
    shape = draw(shapes(0, 4, 1, 2))
    n = len(shape)
    if n == 0 or draw(st.booleans()):
        return draw(_array(shape)), None
    picked = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n,
                           unique_by=lambda d: d % n))
    return draw(_array(shape)), picked[0] if len(picked) == 1 else tuple(picked)


def _squeeze_ref(a, dim):
    if dim is None:
        return np.squeeze(a)
    axes = {d % a.ndim for d in (dim if isinstance(dim, tuple) else (dim,))}
    return np.squeeze(a, axis=tuple(d for d in axes if a.shape[d] == 1))


register("squeeze", lambda a, d: ops.squeeze(a, d), reference=_squeeze_ref,
         inputs=_squeeze_args())


@st.composite
def _unsqueeze_args(draw):
    shape = draw(shapes(**SMALL))
    return draw(_array(shape)), draw(st.integers(-len(shape) - 1, len(shape)))


register("unsqueeze", lambda a, d: ops.unsqueeze(a, d), reference=np.expand_dims,
         inputs=_unsqueeze_args())


# -- axis reordering ----------------------------------------------------------------------
@st.composite
def _transpose_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    n = len(shape)
    return draw(_array(shape)), draw(st.integers(-n, n - 1)), draw(st.integers(-n, n - 1))


register("transpose", lambda a, d0, d1: ops.transpose(a, d0, d1), reference=np.swapaxes,
         inputs=_transpose_args(), covers=M.Permute)


@st.composite
def _permute_args(draw):
    shape = draw(shapes(**SMALL))
    n = len(shape)
    perm = draw(st.permutations(range(n)))
    return draw(_array(shape)), tuple(p - n * draw(st.booleans()) for p in perm)


register("permute", lambda a, p: ops.permute(a, p), reference=np.transpose,
         inputs=_permute_args(), covers=M.Permute)


# -- broadcasting and its adjoint --------------------------------------------------------
@st.composite
def _expand_args(draw, allow_minus_one=True):
    """``(a, sizes)``: ``a`` has some size-1 dims; ``sizes`` may add leading dims."""
    shape = draw(shapes(0, 3, 1, 2))
    sizes = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    for s in shape:
        options = [s, -1] if allow_minus_one else [s]
        sizes.append(draw(st.sampled_from(options)) if s != 1 else draw(st.integers(1, 3)))
    return draw(_array(shape)), tuple(sizes)


def _expand_ref(a, sizes):
    lead = len(sizes) - a.ndim
    target = [a.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes)]
    return np.broadcast_to(a, target)


register("expand", lambda a, s: ops.expand(a, s), reference=_expand_ref,
         inputs=_expand_args(), covers=M.BroadcastTo)
register("broadcast_to", lambda a, s: ops.broadcast_to(a, s), reference=np.broadcast_to,
         inputs=_expand_args(allow_minus_one=False), covers=M.BroadcastTo)


@st.composite
def _sum_to_args(draw):
    """``(a, shape)`` with ``shape`` broadcastable to ``a.shape``."""
    target = draw(shapes(0, 3, 1, 2))
    lead = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    full = lead + [draw(st.integers(1, 3)) if t == 1 else t for t in target]
    return draw(_array(full)), tuple(target)


def _sum_to_ref(a, shape):
    lead = a.ndim - len(shape)
    out = a.sum(axis=tuple(range(lead))) if lead else a
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and out.shape[i] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


register("sum_to", lambda a, s: ops.sum_to(a, s), reference=_sum_to_ref,
         inputs=_sum_to_args(), covers=M.SumTo)


@st.composite
def _repeat_args(draw):
    shape = draw(shapes(0, 2, 1, 3))
    extra = draw(st.integers(0 if shape else 1, 1))
    sizes = tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + extra))
    return draw(_array(shape)), sizes


register("repeat", lambda a, s: ops.repeat(a, s), reference=np.tile,
         inputs=_repeat_args(), covers=M.Repeat)


# -- indexing ------------------------------------------------------------------------------
@st.composite
def _basic_index_args(draw):
    shape = draw(shapes(1, 3, 1, 4))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True))
    return draw(_array(shape)), index


@st.composite
def _int_array_index(draw, shape):
    """Integer-array indices with repeats: ``a[i]``, ``a[:, i]`` or ``a[i, j]`` (broadcast)."""
    def ints(n, idx_shape):
        return draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1)))

    kinds = ["first"] + (["second", "pair"] if len(shape) >= 2 else [])
    kind = draw(st.sampled_from(kinds))
    idx_shape = draw(shapes(1, 2, 1, 4))
    if kind == "first":
        return ints(shape[0], idx_shape)
    if kind == "second":
        return (slice(None), ints(shape[1], idx_shape))
    return ints(shape[0], idx_shape), ints(shape[1], idx_shape[-1:])


@st.composite
def _int_index_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    return draw(_array(shape)), draw(_int_array_index(shape))


@st.composite
def _mask_args(draw):
    shape = draw(shapes(1, 3, 1, 3))
    k = draw(st.integers(1, len(shape)))
    mask = draw(hnp.arrays(np.bool_, shape[:k], elements=st.booleans()))
    return draw(_array(shape)), mask


def _getitem_ref(a, index):
    return a[index]


register("getitem[basic]", lambda a, i: ops.getitem(a, i), reference=_getitem_ref,
         inputs=_basic_index_args(), covers=M.GetItem)
register("getitem[int array]", lambda a, i: a[i], reference=_getitem_ref,
         inputs=_int_index_args(), covers=M.GetItem)
register("getitem[int tensor]", lambda a, i: a[Tensor(i) if isinstance(i, np.ndarray) else i],
         reference=_getitem_ref, inputs=_int_index_args(), covers=M.GetItem)
register("getitem[bool mask]", lambda a, m: a[Tensor(m)], reference=_getitem_ref,
         inputs=_mask_args(), covers=M.GetItem)


@st.composite
def _index_add_args(draw):
    """``(g, index, shape)`` with ``g`` shaped like ``zeros(shape)[index]``."""
    shape = draw(shapes(1, 3, 1, 3))
    if draw(st.booleans()):
        index = draw(_int_array_index(shape))
    else:
        index = draw(hnp.basic_indices(shape, allow_newaxis=True))
    g_shape = np.empty(shape)[index].shape
    return draw(_array(g_shape)), index, shape


def _index_add_ref(g, index, shape):
    out = np.zeros(shape)
    np.add.at(out, index, g)
    return out


register("add_at", lambda g, i, s: ops.add_at(g, i, s), reference=_index_add_ref,
         inputs=_index_add_args(), covers=M.IndexAdd)


# -- joining and splitting -----------------------------------------------------------------
@st.composite
def _cat_args(draw):
    """``(dim, *arrays)`` matching except along ``dim``."""
    shape = list(draw(shapes(1, 3, 1, 3)))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        shape[d] = draw(st.integers(1, 3))
        parts.append(draw(_array(shape)))
    return (d, *parts)


register("cat", lambda d, *ts: ops.cat(ts, d), reference=lambda d, *ts: np.concatenate(ts, d),
         inputs=_cat_args(), covers=M.Cat)


@st.composite
def _stack_args(draw):
    shape = draw(shapes(**SMALL))
    d = draw(st.integers(-len(shape) - 1, len(shape)))
    return (d, *[draw(_array(shape)) for _ in range(draw(st.integers(1, 3)))])


register("stack", lambda d, *ts: ops.stack(ts, d), reference=lambda d, *ts: np.stack(ts, d),
         inputs=_stack_args(), covers=M.Cat)


@st.composite
def _split_args(draw, sections: bool):
    shape = draw(shapes(1, 3, 1, 4))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    if sections:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        how = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
    else:
        how = draw(st.integers(1, n + 1))
    return draw(_array(shape)), how, d


def _split_ref(a, how, d):
    n = a.shape[d]
    sizes = how if isinstance(how, list) else [min(how, n - s) for s in range(0, n, how)]
    return tuple(np.split(a, np.cumsum(sizes)[:-1], axis=d))


def _chunk_ref(a, chunks, d):
    return _split_ref(a, max(1, math.ceil(a.shape[d] / chunks)), d)


register("split", lambda a, s, d: ops.split(a, s, d), reference=_split_ref,
         inputs=_split_args(False), covers=M.GetItem)
register("split[sections]", lambda a, s, d: ops.split(a, s, d), reference=_split_ref,
         inputs=_split_args(True), covers=M.GetItem)


@st.composite
def _chunk_args(draw):
    a, _, d = draw(_split_args(False))
    return a, draw(st.integers(1, 4)), d


register("chunk", lambda a, c, d: ops.chunk(a, c, d), reference=_chunk_ref,
         inputs=_chunk_args(), covers=M.GetItem)


# -- padding --------------------------------------------------------------------------------
@st.composite
def _pad_args(draw, mode):
    """``(a, pad)`` (``(a, pad, value)`` for constant): pairs for the last dims."""
    shape = draw(shapes(1, 3, 1, 3))
    pad = []
    for s in reversed(shape[len(shape) - draw(st.integers(1, len(shape))):]):
        if mode == "constant":  # negative crops; keep at least one element
            lo, hi = -(s // 2), -((s - 1) // 2)
            pad += [draw(st.integers(lo, 2)), draw(st.integers(hi, 2))]
        else:
            top = {"reflect": s - 1, "replicate": 2, "circular": s}[mode]
            pad += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    a = draw(_array(shape))
    if mode == "constant":
        return a, tuple(pad), draw(st.floats(-2.0, 2.0))
    return a, tuple(pad)


def _pad_ref(mode):
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]

    def reference(a, pad, value=0.0):
        widths = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(widths, a.shape))
        grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if mode == "constant":
            return np.pad(a[crop], grow, mode="constant", constant_values=value)
        return np.pad(a, grow, mode=np_mode)
    return reference


register("pad[constant]", lambda a, p, v: ops.pad(a, p, value=v), reference=_pad_ref("constant"),
         inputs=_pad_args("constant"), covers=M.PadFn)
def _pad_in(mode):
    return lambda a, p: ops.pad(a, p, mode=mode)


for _mode in ("reflect", "replicate", "circular"):
    register(f"pad[{_mode}]", _pad_in(_mode),
             reference=_pad_ref(_mode), inputs=_pad_args(_mode), covers=M.GetItem, op="pad")


# -- gather / scatter along a dim ------------------------------------------------------------
@st.composite
def _along_args(draw, broadcast=False):
    """``(shape, index, dim)`` with ``index`` shaped like ``shape`` but for ``dim``.

    With ``broadcast``, some other dims of ``index`` are 1 (torch.take_along_dim
    broadcasts them).
    """
    shape = draw(shapes(1, 3, 1, 3))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    idx_shape = [draw(st.sampled_from([1, s])) if broadcast else s for s in shape]
    idx_shape[d] = draw(st.integers(1, 4))
    index = draw(hnp.arrays(np.int64, tuple(idx_shape), elements=st.integers(0, shape[d] - 1)))
    return shape, index, d


@st.composite
def _take_args(draw, broadcast=False):
    shape, index, d = draw(_along_args(broadcast))
    return draw(_array(shape)), index, d


@st.composite
def _scatter_args(draw):
    shape, index, d = draw(_along_args())
    return draw(_array(index.shape)), index, d, shape


def _scatter_ref(g, index, d, shape):
    out = np.zeros(shape)
    for pos in np.ndindex(index.shape):
        target = list(pos)
        target[d] = index[pos]
        out[tuple(target)] += g[pos]
    return out


register("take_along_dim", lambda a, i, d: ops.take_along_dim(a, i, d),
         reference=lambda a, i, d: np.take_along_axis(a, i, d),
         inputs=_take_args(), covers=M.TakeAlongDim)
register("take_along_dim[broadcast index]", lambda a, i, d: ops.take_along_dim(a, i, d),
         reference=lambda a, i, d: np.take_along_axis(a, i, d),
         inputs=_take_args(broadcast=True), covers=M.TakeAlongDim)
register("scatter_add_along", lambda g, i, d, s: ops.scatter_add_along(g, i, d, s),
         reference=_scatter_ref, inputs=_scatter_args(), covers=M.ScatterAddAlong)
