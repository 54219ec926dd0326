"""Gather and scatter along a dim, index and mask selection, with PyTorch's semantics.

For a 3-D input and ``dim == 0`` (other dims alike)::

    gather:       out[i][j][k] = a[index[i][j][k]][j][k]            out.shape == index.shape
    scatter:      out = a;  out[index[i][j][k]][j][k] = src[i][j][k]
    scatter_add:  out = a;  out[index[i][j][k]][j][k] += src[i][j][k]
    index_add:    out = a;  out[index[i]] += alpha * source[i]      (index 1-D, along dim)
    index_fill:   out = a;  out[index[i]] = value                   (along dim)
    assign_at:    out = a;  out[index] = value      (any numpy index: ``t[index] = value``)

``index`` has ``a``'s number of dims and is no larger than ``a`` (no larger than ``src``
either) off ``dim``; only ``src[:index.shape]`` is used, as in PyTorch. All but
``scatter`` are compositions of the engine's ops (``take_along_dim``, its adjoint
``scatter_add_along``, ``getitem``, ``where``), so their gradients (and second
derivatives) come from those; ``Scatter`` is its own ``Function``. ``nonzero`` /
``argwhere`` return integer indices and carry no gradient.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ._util import constant, normalize_dim, raw, shape_of
from .elementwise import add, mul, where
from .movement import (
    _along_index,
    _leading_block,
    _normalize_index,
    broadcast_to,
    getitem,
    reshape,
    scatter_add_along,
    take_along_dim,
)
from .movement import add_at as _add_at

__all__ = ["argwhere", "assign_at", "gather", "index_add", "index_fill", "index_put", "masked_scatter", "masked_select", "nonzero", "roll", "scatter", "scatter_add"]


def _check_index(op: str, shape: tuple, dim, index, src_shape: tuple | None = None):
    """``(d, index)``: the normalised dim and ``index`` as an int64 array, checked as PyTorch."""
    d = normalize_dim(dim, max(len(shape), 1), op, shape)
    index = np.asarray(raw(index))
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")
    if index.ndim != len(shape) and not (index.ndim <= 1 and len(shape) <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index shape {index.shape}, input shape {shape})")
    index = index.reshape(index.shape if len(shape) else ()).astype(np.int64, copy=False)
    for i, size in enumerate(index.shape):
        if i != d and size > shape[i]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {i} expected index "
                               f"{index.shape} to be smaller than self {shape} apart from "
                               f"dimension {d}")
        if src_shape is not None and size > src_shape[i]:
            raise RuntimeError(f"{op}(): Expected index {index.shape} to be smaller than src "
                               f"{src_shape} in every dimension")
    n = shape[d] if shape else 1
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"{op}(): index {int(index.max() if index.max() >= n else index.min())}"
                         f" is out of bounds for dimension {d} with size {n} (input shape "
                         f"{shape})")
    return d, np.where(index < 0, index + n, index)


def _corner(shape: tuple) -> tuple:
    """The basic index selecting the leading ``shape`` block of a bigger array."""
    return tuple(slice(0, s) for s in shape)


def gather(input, dim: int, index):
    """``torch.gather``: ``out[..., i, ...] = input[..., index[..., i, ...], ...]`` along ``dim``.

    ``index`` (integer, ``input.ndim`` dims, no larger than ``input`` off ``dim``) gives
    the output's shape. The gradient scatter-adds back (repeated indices accumulate).
    """
    shape = shape_of(input)
    d, index = _check_index("gather", shape, dim, index)
    if not shape:
        return reshape(take_along_dim(reshape(input, (1,)), index.reshape(1), 0), ())
    block = tuple(s if i == d else index.shape[i] for i, s in enumerate(shape))
    return take_along_dim(getitem(input, _corner(block)), index, d)


class Scatter(Function):
    """out = a with ``out[index along dim] = src`` (``src`` shaped like ``index``);
    da = g with the written positions zeroed, dsrc = g gathered at ``index``.

    Where ``index`` repeats a position, the last write wins (PyTorch leaves it
    unspecified); every repeated source element then gets the gradient of that output.
    """
    @staticmethod
    def forward(ctx, a, src, index, dim):
        out = np.array(a, copy=True)
        where_ = _along_index(index, dim)
        out[where_] = src
        written = np.zeros(out.shape, dtype=bool)
        written[where_] = True
        ctx.index, ctx.dim, ctx.written = index, dim, written
        return out

    @staticmethod
    def backward(ctx, grad):
        need_a, need_src = ctx.needs_input_grad[:2]
        ga = where(ctx.written, 0.0, grad) if need_a else None
        gsrc = take_along_dim(_leading_block(grad, ctx.index.shape, ctx.dim), ctx.index,
                              ctx.dim) if need_src else None
        return ga, gsrc


def _src_block(op: str, src, index: np.ndarray, dtype):
    """``src[:index.shape]`` (a node stays in the graph), or a scalar ``value`` filled out."""
    if np.ndim(raw(src)) == 0 and not hasattr(src, "_data"):
        return np.full(index.shape, src, dtype=dtype)
    src_shape = shape_of(src)
    if len(src_shape) != index.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"src tensor (index shape {index.shape}, src shape {src_shape})")
    if any(i > s for i, s in zip(index.shape, src_shape)):
        raise RuntimeError(f"{op}(): Expected index {index.shape} to be smaller than src "
                           f"{src_shape} in every dimension")
    return src if src_shape == index.shape else getitem(src, _corner(index.shape))


def scatter(input, dim: int, index, src=None, *, value=None, reduce: str | None = None):
    """``torch.scatter``: a copy of ``input`` with ``src`` (a tensor, or a number given as
    ``src`` or ``value=``) written at ``index`` along ``dim``; ``reduce='add'`` adds instead
    (``scatter_add``). ``reduce='multiply'`` is not supported."""
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src (a tensor or number) and value")
    src = value if src is None else src
    if reduce == "add":
        return scatter_add(input, dim, index, _src_block("scatter", src, np.asarray(raw(index)),
                                                         np.asarray(raw(input)).dtype))
    if reduce is not None:
        raise ValueError(f"scatter(): reduce must be None or 'add', got {reduce!r} "
                         "('multiply' is not supported)")
    shape = shape_of(input)
    d, index = _check_index("scatter", shape, dim, index)
    block = _src_block("scatter", src, index, np.asarray(raw(input)).dtype)
    return Scatter.apply(input, block, index, d)


def scatter_add(input, dim: int, index, src):
    """``torch.scatter_add``: ``input`` plus ``src`` added at ``index`` along ``dim``
    (repeated positions accumulate). Gradients: ``input`` gets g, ``src`` g gathered."""
    shape = shape_of(input)
    d, index = _check_index("scatter_add", shape, dim, index, shape_of(src))
    block = _src_block("scatter_add", src, index, None)
    return add(input, scatter_add_along(block, index, d, shape))


def _dim_index(op: str, shape: tuple, dim, index) -> tuple:
    """``(d, full_index)`` for a 1-D ``index`` along ``dim``: ``(:, ..., index)``."""
    d = normalize_dim(dim, max(len(shape), 1), op, shape)
    index = np.asarray(raw(index))
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise IndexError(f"{op}(): index must be a 0-D or 1-D integer tensor, got shape "
                         f"{index.shape} and dtype {index.dtype}")
    n = shape[d] if shape else 1
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"{op}(): index out of range for dimension {d} with size {n} "
                         f"(input shape {shape})")
    return d, (slice(None),) * d + (index.reshape(-1).astype(np.int64),)


def index_add(input, dim: int, index, source, *, alpha=1):
    """``torch.index_add``: ``out = input``; ``out[(:,) * dim + (index[i],)] += alpha *
    source[(:,) * dim + (i,)]``; repeated indices accumulate."""
    shape = shape_of(input)
    d, full = _dim_index("index_add", shape, dim, index)
    expected = np.empty(shape, dtype=np.int8)[full].shape
    if shape_of(source) != expected:
        raise RuntimeError(f"index_add(): source has shape {shape_of(source)}, expected "
                           f"{expected} (input {shape}, {len(full[-1])} indices along dim {d})")
    return add(input, _add_at(source if alpha == 1 else mul(source, alpha), full, shape))


def index_fill(input, dim: int, index, value):
    """``torch.index_fill``: ``input`` with every slice ``index[i]`` along ``dim`` set to
    ``value`` (a number or a 0-d tensor); the gradient of ``input`` is 0 there."""
    shape = shape_of(input)
    _, full = _dim_index("index_fill", shape, dim, index)
    mask = np.zeros(shape, dtype=bool)
    mask[full] = True
    if np.ndim(raw(value)) != 0:
        raise RuntimeError(f"index_fill(): only supports a 0-dimensional value tensor, got "
                           f"shape {shape_of(value)}")
    fill = value if hasattr(value, "_data") else np.asarray(value, np.asarray(raw(input)).dtype)
    return where(mask, fill, input)


def _mask(op: str, mask, shape: tuple) -> np.ndarray:
    mask = np.asarray(raw(mask))
    if mask.dtype != np.bool_:
        raise RuntimeError(f"{op}(): expected a boolean mask, got dtype {mask.dtype}")
    try:
        return np.broadcast_to(mask, np.broadcast_shapes(mask.shape, shape))
    except ValueError:
        raise RuntimeError(f"{op}(): mask of shape {mask.shape} cannot be broadcast with the "
                           f"input's shape {shape}") from None


def masked_select(input, mask):
    """``torch.masked_select``: the elements where ``mask`` is True, as a 1-D tensor (both
    broadcast to a common shape first; row-major order)."""
    shape = shape_of(input)
    mask = _mask("masked_select", mask, shape)
    return getitem(broadcast_to(input, mask.shape), np.ascontiguousarray(mask))


def masked_scatter(input, mask, source):
    """``torch.masked_scatter``: ``input`` with the positions where ``mask`` is True filled,
    in row-major order, by consecutive elements of ``source`` (which needs at least as
    many elements as the mask has True entries). Gradients: ``input`` gets g where the
    mask is False, ``source``'s first k elements the g of the positions they filled."""
    shape = shape_of(input)
    mask = _mask("masked_scatter", mask, shape)
    if mask.shape != shape:
        raise RuntimeError(f"masked_scatter(): mask of shape {mask.shape} must broadcast to "
                           f"the input's shape {shape}")
    need, have = int(mask.sum()), int(np.prod(shape_of(source)))
    if need > have:
        raise RuntimeError(f"masked_scatter(): the mask has {need} True entries but source "
                           f"(shape {shape_of(source)}) has only {have} elements")
    position = np.maximum(np.cumsum(mask.reshape(-1)) - 1, 0).reshape(shape)
    flat = reshape(source, (have,))
    picked = getitem(flat, (position,)) if have else np.zeros(shape, np.asarray(raw(input)).dtype)
    return where(mask, picked, input)


def nonzero(input, *, as_tuple: bool = False):
    """``torch.nonzero``: the indices of the non-zero elements, an int64 ``(n, ndim)`` tensor
    (row-major order), or with ``as_tuple`` one 1-D index tensor per dim."""
    data = np.asarray(raw(input))
    if as_tuple:
        found = np.nonzero(data) if data.ndim else np.nonzero(data.reshape(1))
        return tuple(constant(lambda _, i=i: i.astype(np.int64), input) for i in found)
    return constant(lambda x: np.argwhere(x).astype(np.int64), input)


def argwhere(input):
    """``torch.argwhere``: ``nonzero(input)``, an int64 ``(n, ndim)`` tensor."""
    return nonzero(input)


def roll(input, shifts, dims=None):
    """``torch.roll``: elements shifted by ``shifts`` along ``dims`` (wrapping around); with
    ``dims=None`` the flattened tensor is rolled and reshaped back."""
    shape = shape_of(input)
    if dims is None:
        if isinstance(shifts, (tuple, list)) and len(shifts) != 1:
            raise RuntimeError(f"roll(): with dims=None, shifts must be one number, got {shifts}")
        n = int(np.prod(shape))
        flat = reshape(input, (n,))
        shift = int(shifts[0] if isinstance(shifts, (tuple, list)) else shifts)
        return reshape(getitem(flat, (np.roll(np.arange(n), shift),)), shape)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll(): shifts {shifts} and dims {dims} must have the same length")
    out = input
    for shift, dim in zip(shifts, dims):
        d = normalize_dim(dim, len(shape), "roll", shape)
        out = getitem(out, (slice(None),) * d + (np.roll(np.arange(shape[d]), int(shift)),))
    return out


def index_put(input, indices, values, accumulate: bool = False):
    """``torch.index_put``: ``input`` with ``input[indices] = values`` (``accumulate``:
    ``+=``, repeated positions adding up); ``indices`` a tuple of index tensors (or masks),
    ``values`` broadcast to the selected shape. Without ``accumulate``, repeated positions
    receive the sum of their values (PyTorch leaves that case undefined)."""
    index = tuple(np.asarray(raw(i)) for i in indices)
    placed = _placed(input, index, values, "index_put()")
    if accumulate:
        return add(input, placed)
    mask = np.zeros(shape_of(input), dtype=bool)
    mask[index] = True
    return where(mask, placed, input)


def assign_at(input, index, value):
    """``input`` with ``input[index] = value`` (``value`` broadcast to the indexed shape),
    out of place: what ``t[index] = value`` records while the graph is built. ``index`` is
    any index ``t[index]`` takes (ints, slices, None, Ellipsis, integer or boolean arrays).
    Gradients: ``g`` where nothing was assigned for ``input``; ``g[index]`` (summed over
    broadcast dims) for ``value``. Repeated positions receive the sum of their values."""
    index = _normalize_index(index, shape_of(input))
    placed = _placed(input, index, value, "setitem")
    mask = np.zeros(shape_of(input), dtype=bool)
    mask[index] = True
    return where(mask, placed, input)


def _placed(input, index, values, op: str):
    """A zero tensor of ``input``'s shape with ``values`` (broadcast to ``input[index]``'s
    shape) added at ``index``: differentiable in ``values``."""
    shape = shape_of(input)
    picked = np.empty(shape, dtype=np.int8)[index].shape
    try:
        np.broadcast_shapes(shape_of(values), picked)
    except ValueError:
        raise RuntimeError(f"{op}: values of shape {shape_of(values)} cannot be broadcast to "
                           f"the indexed shape {picked} (input of shape {shape})") from None
    if not hasattr(values, "_data"):
        values = np.asarray(values, dtype=np.asarray(raw(input)).dtype)
    return _add_at(broadcast_to(values, picked), index, shape)


class EmbeddingLookup(Function):
    """out = weight[indices];  dweight = g scatter-added into the rows read, times ``row_scale``
    (0 for the padding row, 1 / frequency with ``scale_grad_by_freq``, else 1)."""

    name = "embedding"

    @staticmethod
    def forward(ctx, weight, indices, row_scale):
        ctx.indices, ctx.shape, ctx.row_scale = indices, np.shape(weight), row_scale
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        if ctx.row_scale is not None:
            grad = grad * ctx.row_scale
        return _add_at(grad, ctx.indices, ctx.shape), None, None
