"""Shape and indexing ops: reshape, permute, broadcast, repeat, indexing, cat, pad.

Most are their own adjoints: reshape's backward reshapes back, permute's
permutes by the inverse, ``broadcast_to``'s is ``sum_to``, indexing's is a
scatter-add (``add_at``) whose backward is indexing again. Written with
these ops, every backward is itself differentiable.
"""
from __future__ import annotations

import math

import numpy as np

from ..engine import Function
from ._util import normalize_dim, raw, shape_of

__all__ = ["add_at", "broadcast_to", "cat", "chunk", "expand", "flatten", "getitem", "pad", "permute", "repeat", "reshape", "scatter_add_along", "split", "squeeze", "stack", "sum_to", "take_along_dim", "transpose", "unsqueeze"]


class Reshape(Function):
    """out = a viewed with a new shape (same elements, row-major order); ``shape`` is
    explicit (no -1), as ``reshape`` resolves and checks it first."""
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = np.shape(a)
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape)


class Permute(Function):
    """out = a with axes reordered by ``dims``;  da = g permuted by the inverse."""
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return permute(grad, tuple(np.argsort(ctx.dims)))


class BroadcastTo(Function):
    """out = a broadcast to ``shape``;  da = g summed over the broadcast dims (by the engine)."""
    @staticmethod
    def forward(ctx, a, shape):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"expand: input of shape {np.shape(a)} cannot be broadcast to "
                               f"{tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad


class SumTo(Function):
    """out = a summed down to ``shape`` (the inverse of broadcasting);  da = g broadcast back."""
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = np.shape(a)
        return _sum_to(a, tuple(shape))

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape)


def _sum_to(a, shape: tuple):
    lead = np.ndim(a) - len(shape)
    if lead < 0:
        raise RuntimeError(f"sum_to: cannot sum shape {np.shape(a)} down to {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and np.shape(a)[lead + i] != 1)
    out = np.sum(a, axis=axes, keepdims=True) if axes else a
    return np.reshape(out, shape) if lead else out


class Repeat(Function):
    """out = a tiled ``sizes`` times per dim (``torch.Tensor.repeat``);  da = sum over the copies."""
    @staticmethod
    def forward(ctx, a, sizes):
        if len(sizes) < np.ndim(a):
            raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller "
                               f"than the number of input dims (shape {np.shape(a)})")
        ctx.in_shape = np.shape(a)
        ctx.sizes = sizes
        return np.tile(a, sizes)

    @staticmethod
    def backward(ctx, grad):
        sizes = ctx.sizes
        padded = (1,) * (len(sizes) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        interleaved = tuple(x for r, s in zip(sizes, padded) for x in (r, s))
        g = reshape(grad, interleaved)
        from .reduce import sum as _sum
        g = _sum(g, dim=tuple(range(0, 2 * len(sizes), 2)))
        return reshape(g, ctx.in_shape)


def _normalize_index(index, shape: tuple | None = None):
    """Index -> a form numpy accepts, with nodes unwrapped and bool masks as nonzero().

    With ``shape`` (the indexed tensor's), every bool mask must match the dims it covers,
    as PyTorch: nonzero() alone would silently select rows from a mask of the wrong length.
    Without it, masks are left as they are, for numpy to check against the array.
    """
    items = index if isinstance(index, tuple) else (index,)
    items = [np.asarray(i) if isinstance(i, list) else i for i in map(raw, items)]
    if shape is not None:
        _check_masks(items, tuple(shape))
    out = []
    for item in items:
        if _is_mask(item) and shape is not None:
            out.extend(np.nonzero(item))
        elif (isinstance(item, np.ndarray) and item.dtype != np.bool_
              and not np.issubdtype(item.dtype, np.integer)):
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, "
                             f"got dtype {item.dtype}")
        else:
            out.append(item)
    return tuple(out)


def _is_mask(item) -> bool:
    return isinstance(item, np.ndarray) and item.dtype == np.bool_ and item.ndim > 0


def _check_masks(items: list, shape: tuple) -> None:
    """IndexError (PyTorch's wording) for a bool mask whose shape differs from the dims of
    ``shape`` it indexes. A mask covers ``mask.ndim`` dims, Ellipsis the dims that the
    other items leave, None a new dim of size 1 (PyTorch reports shapes with it), anything
    else one."""
    def width(item) -> int:
        return item.ndim if _is_mask(item) else (0 if item is None or item is Ellipsis else 1)

    rest = len(shape) - sum(width(i) for i in items)  # the dims an Ellipsis stands for
    dim = 0
    for item in items:
        if item is Ellipsis:
            dim += max(rest, 0)
        elif item is None:
            shape = shape[:dim] + (1,) + shape[dim:]
            dim += 1
        else:
            if _is_mask(item):
                for k, size in enumerate(item.shape):
                    if dim + k >= len(shape) or shape[dim + k] != size:
                        raise IndexError(f"The shape of the mask {list(item.shape)} at index "
                                         f"{k} does not match the shape of the indexed tensor "
                                         f"{list(shape)} at index {dim + k}")
            dim += width(item)


def _is_basic(index: tuple) -> bool:
    """Basic indices (ints, slices, None, ...) never select one element twice."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in index)


class GetItem(Function):
    """out = a[index];  da = g scattered back (repeated indices accumulate)."""
    @staticmethod
    def forward(ctx, a, index):
        ctx.in_shape = np.shape(a)
        ctx.index = index
        try:
            return a[index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor of shape {np.shape(a)})") from None

    @staticmethod
    def backward(ctx, grad):
        return add_at(grad, ctx.index, ctx.in_shape)


def _distinct_rows(index: tuple, shape: tuple) -> bool:
    """One integer array picking rows (dim 0) with no row twice: then ``out[index] = g`` is
    ``np.add.at``'s result, about 10x sooner (the backward of ``x[perm]``, ``x[kept]``)."""
    if len(index) != 1 or not isinstance(index[0], np.ndarray) or not shape:
        return False
    rows = index[0].ravel()
    if not np.issubdtype(rows.dtype, np.integer) or rows.size > shape[0]:
        return False
    rows = np.where(rows < 0, rows + shape[0], rows)
    return rows.size == 0 or (rows.min() >= 0 and rows.max() < shape[0]
                              and np.bincount(rows).max() <= 1)


class IndexAdd(Function):
    """out = zeros(shape) with g added at ``index`` (np.add.at);  dg = out_grad[index]."""
    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        g = np.asarray(g)
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index) or _distinct_rows(index, shape):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return getitem(grad, ctx.index)


class Cat(Function):
    """out = the inputs joined along ``dim``;  each input's grad is its slice of g."""
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        if not arrays:
            raise ValueError("cat: expected a non-empty sequence of tensors")
        ndim = np.ndim(arrays[0])
        d = normalize_dim(dim, ndim, "cat", np.shape(arrays[0]))
        ctx.dim = d
        ctx.sizes = [np.shape(x)[d] if np.ndim(x) == ndim else None for x in arrays]
        try:
            return np.concatenate(arrays, axis=d)
        except ValueError:
            shapes = [np.shape(x) for x in arrays]
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {d}; "
                               f"got shapes {shapes}") from None

    @staticmethod
    def backward(ctx, grad):
        grads, start, d = [], 0, ctx.dim
        for size in ctx.sizes:
            index = (slice(None),) * d + (slice(start, start + size),)
            grads.append(getitem(grad, index))
            start += size
        return tuple(grads)


class PadFn(Function):
    """Constant padding; ``pad`` is (left, right) pairs from the last dim backwards, as
    ``torch.nn.functional.pad``; negative amounts crop. da = g padded by the negated amounts."""
    name = "Pad"

    @staticmethod
    def forward(ctx, a, pad, value=0.0):
        ctx.pad = pad
        widths = _pad_widths(np.shape(a), pad)
        crop = tuple(slice(-lo if lo < 0 else 0, s + hi if hi < 0 else s)
                     for (lo, hi), s in zip(widths, np.shape(a)))
        a = np.asarray(a)[crop]
        return np.pad(a, [(_positive_part(lo), _positive_part(hi)) for lo, hi in widths],
                      mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return PadFn.apply(grad, tuple(-p for p in ctx.pad), 0.0)


def _positive_part(x: int) -> int:
    return max(0, x)


def _pad_widths(shape: tuple, pad) -> list:
    if len(pad) % 2 or len(pad) > 2 * len(shape):
        raise ValueError(f"pad: padding length must be even and at most 2 * ndim; got "
                         f"{len(pad)} for input of shape {shape}")
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for (lo, hi), s in zip(widths, shape):
        if s + lo + hi < 0 or (lo < 0 and -lo > s) or (hi < 0 and -hi > s):
            raise ValueError(f"pad: padding {tuple(pad)} crops more than the input shape {shape}")
    return widths


class TakeAlongDim(Function):
    """out = np.take_along_axis(a, index, dim) (a gather);  da = g scatter-added back."""
    @staticmethod
    def forward(ctx, a, index, dim):
        out = np.take_along_axis(a, index, axis=dim)
        # the index broadcasts against ``a`` off ``dim``: keep it at the output's shape
        ctx.in_shape, ctx.index, ctx.dim = np.shape(a), np.broadcast_to(index, out.shape), dim
        return out

    @staticmethod
    def backward(ctx, grad):
        return scatter_add_along(grad, ctx.index, ctx.dim, ctx.in_shape)


class ScatterAddAlong(Function):
    """out = zeros(shape); out[..index along dim..] += g;  dg = out_grad gathered at index
    (``index`` may be smaller than ``shape`` off ``dim``)."""
    @staticmethod
    def forward(ctx, g, index, dim, shape):
        ctx.index, ctx.dim = index, dim
        out = np.zeros(shape, dtype=np.asarray(g).dtype)
        np.add.at(out, _along_index(index, dim), g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return take_along_dim(_leading_block(grad, ctx.index.shape, ctx.dim), ctx.index, ctx.dim)


def _leading_block(a, shape: tuple, dim: int):
    """``a`` cut to ``shape`` off ``dim`` (an index smaller than ``a`` there, as
    ``torch.scatter_add`` allows, must not broadcast in ``take_along_dim``)."""
    if all(i == dim or s == t for i, (s, t) in enumerate(zip(shape, shape_of(a)))):
        return a
    return getitem(a, tuple(slice(None) if i == dim else slice(0, s) for i, s in enumerate(shape)))


def _along_index(index: np.ndarray, dim: int) -> tuple:
    """The full fancy index equivalent to take_along_axis(., index, dim)."""
    grids = np.ogrid[tuple(slice(s) for s in index.shape)]
    return tuple(index if i == dim else grids[i] for i in range(index.ndim))


# -- functional forms (PyTorch names) ---------------------------------------------
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(a, *shape):
    """``a`` with a new shape; one entry may be -1 (inferred)."""
    shape = _shape_arg(shape)
    old = shape_of(a)
    if old == shape:
        return a
    return Reshape.apply(a, _infer_shape(shape, old))


def _infer_shape(shape: tuple, old: tuple) -> tuple:
    """``shape`` with its -1 (if any) resolved for an input of shape ``old``; RuntimeError
    with PyTorch's wording when the sizes are invalid or do not multiply out."""
    size = math.prod(old)

    def invalid(why: str = "") -> RuntimeError:
        return RuntimeError(f"reshape: shape '{list(shape)}' is invalid for input of size "
                            f"{size}{why} (input of shape {old})")

    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"reshape: shape must be a sequence of ints, got {shape!r}")
    inferred = None
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise invalid(" (only one dimension can be inferred)")
            inferred = i
        elif s < 0:
            raise invalid(f" (invalid shape dimension {s} at index {i})")
    known = math.prod(s for i, s in enumerate(shape) if i != inferred)
    if inferred is None:
        if known != size:
            raise invalid()
        return tuple(int(s) for s in shape)
    if known == 0:
        # as PyTorch: 0 elements fit any size there, so the -1 is ambiguous (or impossible)
        raise invalid(" (the unspecified dimension size -1 can be any value and is "
                      "ambiguous)" if size == 0 else "")
    if size % known:
        raise invalid()
    return tuple(size // known if i == inferred else int(s) for i, s in enumerate(shape))


def flatten(a, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    shape = shape_of(a)
    if not shape:
        return reshape(a, (1,))
    s = normalize_dim(start_dim, len(shape), "flatten", shape)
    e = normalize_dim(end_dim, len(shape), "flatten", shape)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(a, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def squeeze(a, dim=None):
    """Remove size-1 dims (all of them, or only ``dim``: an int or tuple)."""
    shape = shape_of(a)
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {normalize_dim(d, len(shape), "squeeze", shape) for d in dims}
        dims = {d for d in dims if shape and shape[d] == 1}
    return reshape(a, tuple(s for i, s in enumerate(shape) if i not in dims))


def unsqueeze(a, dim):
    """Insert a size-1 dim at ``dim`` (negative counts from the new end)."""
    shape = shape_of(a)
    d = normalize_dim(dim, len(shape) + 1, "unsqueeze", shape)
    return reshape(a, shape[:d] + (1,) + shape[d:])


def permute(a, *dims):
    """Reorder the dims of ``a``; ``dims`` is a permutation of ``range(ndim)``."""
    dims = _shape_arg(dims)
    shape = shape_of(a)
    norm = tuple(normalize_dim(d, len(shape), "permute", shape) for d in dims)
    if sorted(norm) != list(range(len(shape))):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of the {len(shape)} "
                           f"dims of shape {shape}")
    return Permute.apply(a, norm)


def transpose(a, dim0, dim1):
    """Swap two dims."""
    shape = shape_of(a)
    n = len(shape)
    if n < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return a
    d0, d1 = (normalize_dim(d, n, "transpose", shape) for d in (dim0, dim1))
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(a, tuple(dims))


def broadcast_to(a, shape):
    """``a`` broadcast to ``shape`` (numpy rules)."""
    shape = tuple(shape)
    if shape_of(a) == shape:
        return a
    return BroadcastTo.apply(a, shape)


def expand(a, *sizes):
    """``torch.Tensor.expand``: broadcast to ``sizes``; -1 keeps a dim's size."""
    sizes = _shape_arg(sizes)
    shape = shape_of(a)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be at "
                           f"least the number of dims of shape {shape}")
    target = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(a, target)


def sum_to(a, shape):
    """Sum ``a`` down to ``shape``: the adjoint of broadcasting ``shape`` up to ``a``'s shape."""
    shape = tuple(shape)
    if shape_of(a) == shape:
        return a
    return SumTo.apply(a, shape)


def repeat(a, *sizes):
    """``torch.Tensor.repeat``: tile ``a`` ``sizes[i]`` times along each dim."""
    return Repeat.apply(a, _shape_arg(sizes))


def getitem(a, index):
    """``a[index]``: ints, slices, None, Ellipsis, integer arrays and bool masks (each of
    the shape of the dims it covers)."""
    return GetItem.apply(a, _normalize_index(index, shape_of(a)))


def add_at(g, index, shape):
    """zeros(shape) with ``g`` added at ``index`` (accumulating repeats)."""
    return IndexAdd.apply(g, _normalize_index(index, shape), tuple(shape))


def cat(tensors, dim=0):
    """Concatenate along an existing dim."""
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    """Join along a new dim ``dim``: every input must have the same shape."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = [shape_of(t) for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise RuntimeError(f"stack: expects each tensor to be equal size, got shapes {shapes}")
    d = normalize_dim(dim, len(shapes[0]) + 1, "stack", shapes[0])
    return cat([unsqueeze(t, d) for t in tensors], dim=d)


def split(a, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (the last may be smaller) or of the given sizes."""
    shape = shape_of(a)
    d = normalize_dim(dim, len(shape), "split", shape)
    n = shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} do not add up to {n} (dim {d} of shape "
                               f"{shape})")
    out, start = [], 0
    for size in sizes:
        out.append(getitem(a, (slice(None),) * d + (slice(start, start + size),)))
        start += size
    return tuple(out)


def chunk(a, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) (possibly fewer pieces)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    shape = shape_of(a)
    d = normalize_dim(dim, len(shape), "chunk", shape)
    return split(a, max(1, math.ceil(shape[d] / chunks)), d)


_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(a, pad, mode="constant", value=0.0):
    """``torch.nn.functional.pad``: ``pad`` = (left, right, top, bottom, ...) from the last dim.

    Modes: ``constant`` (with ``value``; negative pads crop), ``reflect``,
    ``replicate``, ``circular``. The non-constant modes gather with an index
    array, so their gradients accumulate where border elements are reused.
    """
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return PadFn.apply(a, pad, value)
    if mode not in _NUMPY_PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r} (constant, reflect, replicate, circular)")
    shape = shape_of(a)
    widths = _pad_widths(shape, pad)
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError(f"pad: negative padding {pad} is only allowed in constant mode")
    if mode == "reflect" and any((lo or hi) and (lo >= s or hi >= s)
                                 for (lo, hi), s in zip(widths, shape)):  # padded dims only
        raise ValueError(f"pad: reflect padding {pad} must be smaller than the dims of {shape}")
    axes = [np.pad(np.arange(s), w, mode=_NUMPY_PAD_MODES[mode]) for s, w in zip(shape, widths)]
    return GetItem.apply(a, np.ix_(*axes))


def take_along_dim(a, indices, dim):
    """Gather ``a`` along ``dim`` at integer ``indices`` (same ndim as ``a``)."""
    shape = shape_of(a)
    d = normalize_dim(dim, len(shape), "take_along_dim", shape)
    idx = np.asarray(raw(indices))
    if not np.issubdtype(idx.dtype, np.integer):
        raise IndexError(f"take_along_dim: indices must be integer, got dtype {idx.dtype}")
    return TakeAlongDim.apply(a, idx, d)


def scatter_add_along(g, indices, dim, shape):
    """zeros(shape) with ``g`` added at ``indices`` along ``dim``: the adjoint of take_along_dim."""
    shape = tuple(shape)
    d = normalize_dim(dim, len(shape), "scatter_add_along", shape)
    return ScatterAddAlong.apply(g, np.asarray(raw(indices)), d, shape)

