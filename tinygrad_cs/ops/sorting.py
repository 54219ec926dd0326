"""Sorting and selection along a dim: ``sort``, ``argsort``, ``topk``, ``unique``.

``sort`` computes the permutation with numpy (NaN sorts as the largest value, as in
PyTorch) and gathers the values with ``take_along_dim``, so the gradient of the values
goes back to the positions they came from (a scatter), and second derivatives work.
Indices are int64 tensors without gradient. ``unique`` has no gradient (as in PyTorch).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._util import constant, normalize_dim, raw, shape_of
from .movement import getitem, permute, reshape, take_along_dim

__all__ = ["argsort", "bucketize", "kthvalue", "median", "msort", "quantile", "searchsorted", "sort", "topk", "unique"]

SortResult = namedtuple("SortResult", ["values", "indices"])  # torch.return_types.sort
TopKResult = namedtuple("TopKResult", ["values", "indices"])  # torch.return_types.topk


def _order(data: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """The stable sorting permutation along ``d`` (ties keep their order either way)."""
    if not descending:
        return np.argsort(data, axis=d, kind="stable")
    flipped = np.flip(data, d)  # a stable ascending sort of the reversal, read backwards
    return data.shape[d] - 1 - np.flip(np.argsort(flipped, axis=d, kind="stable"), d)


def _dim(op: str, a, dim: int) -> int:
    shape = shape_of(a)
    return normalize_dim(dim, len(shape), op, shape)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """``torch.argsort``: int64 indices that sort ``input`` along ``dim`` (ascending unless
    ``descending``). The sort is always stable (equal elements keep their order)."""
    d = _dim("argsort", input, dim)
    if not shape_of(input):
        return constant(lambda x: np.zeros((), np.int64), input)
    return constant(lambda x: _order(np.asarray(x), d, descending).astype(np.int64), input)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """``torch.sort``: ``(values, indices)`` along ``dim``; ``values = input.gather(dim,
    indices)``. Always stable. The gradient flows from ``values`` to ``input``."""
    indices = argsort(input, dim, descending, stable)
    if not shape_of(input):
        return SortResult(input * 1, indices)
    return SortResult(take_along_dim(input, raw(indices), _dim("sort", input, dim)), indices)


def msort(input):
    """``torch.msort``: ``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``torch.topk``: the ``k`` largest (``largest=False``: smallest) elements along ``dim``
    as ``(values, indices)``. The result is sorted either way (PyTorch leaves the order
    unspecified when ``sorted=False``); among equal elements the first comes first."""
    shape = shape_of(input)
    d = _dim("topk", input, dim)
    n = shape[d] if shape else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {d} of "
                           f"size {n} (input shape {shape})")
    values, indices = sort(input, dim, descending=largest)
    if not shape:
        return TopKResult(values, indices)
    keep = (slice(None),) * d + (slice(0, k),)
    return TopKResult(getitem(values, keep), constant(lambda x: x[keep], indices))


def unique(input, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """``torch.unique``: the distinct elements (``dim=None``: of the flattened input, a 1-D
    tensor; else the distinct slices along ``dim``), always sorted; with
    ``return_inverse`` also the index of each element (slice) in the result, shaped like
    the input (like ``dim``); with ``return_counts`` how often each occurs (int64)."""
    data = np.asarray(raw(input))
    if dim is None:
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(data.shape)
    else:
        d = normalize_dim(dim, data.ndim, "unique", data.shape)
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True,
                                            axis=d)
        inverse = inverse.reshape(-1)
    out = [constant(lambda _: values, input)]
    if return_inverse:
        out.append(constant(lambda _: inverse.astype(np.int64), input))
    if return_counts:
        out.append(constant(lambda _: counts.astype(np.int64), input))
    return out[0] if len(out) == 1 else tuple(out)


MedianResult = namedtuple("MedianResult", ["values", "indices"])  # torch.return_types.median
KthvalueResult = namedtuple("KthvalueResult", ["values", "indices"])


def _pick_sorted(op: str, input, k: int, dim: int, keepdim: bool, result):
    """The k-th smallest (0-based) along ``dim`` with its index in ``input``."""
    d = _dim(op, input, dim)
    values, indices = sort(input, d)
    keep = (slice(None),) * d + (slice(k, k + 1),)
    v, i = getitem(values, keep), constant(lambda x: x[keep], indices)
    if not keepdim:
        v = reshape(v, shape_of(v)[:d] + shape_of(v)[d + 1:])
        i = constant(lambda x: np.squeeze(x, d), i)
    return result(v, i)


def median(input, dim: int | None = None, keepdim: bool = False):
    """``torch.median``: the lower median (the ((n - 1) // 2)-th smallest). Without ``dim``:
    of all elements, a 0-d tensor; with ``dim``: ``(values, indices)``. The gradient goes to
    the element chosen."""
    if dim is None:
        flat = reshape(input, (int(np.prod(shape_of(input))),))
        return reshape(_pick_sorted("median", flat, (shape_of(flat)[0] - 1) // 2, 0, False,
                                    MedianResult).values, ())
    n = shape_of(input)[_dim("median", input, dim)] if shape_of(input) else 1
    return _pick_sorted("median", input, (n - 1) // 2, dim, keepdim, MedianResult)


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """``torch.kthvalue``: ``(values, indices)`` of the k-th smallest (1-based) along ``dim``."""
    n = shape_of(input)[_dim("kthvalue", input, dim)]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension "
                           f"{dim} of size {n} (input shape {shape_of(input)})")
    return _pick_sorted("kthvalue", input, k - 1, dim, keepdim, KthvalueResult)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(input, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear"):
    """``torch.quantile``: the q-quantiles along ``dim`` (all elements when None), q in
    [0, 1] a number or a 1-D tensor (then a leading dim of len(q)). Position q (n - 1) in
    the sorted values, between neighbours per ``interpolation``; differentiable through
    the values it reads."""
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile(): interpolation must be one of {_INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    qs = np.asarray(raw(q), dtype=np.float64)
    if qs.ndim > 1 or qs.size == 0 or (qs < 0).any() or (qs > 1).any():
        raise RuntimeError(f"quantile(): q must be a number or a non-empty 1-D tensor with "
                           f"values in [0, 1], got {qs}")
    x = reshape(input, (int(np.prod(shape_of(input))),)) if dim is None else input
    d = _dim("quantile", x, 0 if dim is None else dim)
    values = sort(x, d).values
    n = shape_of(x)[d]
    pos = qs.reshape(-1) * (n - 1)
    lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
    lead = (slice(None),) * d
    v_lo, v_hi = getitem(values, lead + (lo,)), getitem(values, lead + (hi,))
    shape = [1] * len(shape_of(v_lo))
    shape[d] = len(pos)
    if interpolation == "lower":
        out = v_lo
    elif interpolation == "higher":
        out = v_hi
    elif interpolation == "nearest":
        out = getitem(values, lead + (np.round(pos).astype(np.int64),))
    else:
        weight = 0.5 if interpolation == "midpoint" else (pos - lo).reshape(shape)
        out = v_lo + (v_hi - v_lo) * np.asarray(weight, dtype=np.asarray(raw(input)).dtype)
    out = _to_front(out, d)                       # (len(q), ...reduced dims...)
    if keepdim:
        kept = list(shape_of(input)) if dim is not None else [1] * len(shape_of(input))
        if dim is not None:
            kept[d] = 1
        out = reshape(out, (len(pos), *kept))
    return reshape(out, shape_of(out)[1:]) if qs.ndim == 0 else out


def _to_front(x, d: int):
    """``x`` with dim ``d`` moved first (the others keep their order)."""
    order = (d,) + tuple(i for i in range(len(shape_of(x))) if i != d)
    return x if d == 0 else permute(x, order)


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter=None):
    """``torch.searchsorted``: for each value, the index where it would be inserted in the
    (last dim of the) sorted sequence to keep it sorted; ``right`` (or ``side='right'``)
    goes after equal elements. N-D sequences search row by row. No gradient."""
    seq = np.asarray(raw(sorted_sequence))
    if sorter is not None:
        seq = np.take_along_axis(seq, np.asarray(raw(sorter)), -1)
    side = side or ("right" if right else "left")
    values = np.asarray(raw(input))
    if seq.ndim == 1:
        found = np.searchsorted(seq, values, side=side)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(f"searchsorted(): boundaries {seq.shape} and input "
                               f"{values.shape} must have the same leading dims")
        rows = seq.reshape(-1, seq.shape[-1])
        found = np.stack([np.searchsorted(r, v, side=side) for r, v in
                          zip(rows, values.reshape(len(rows), -1))]).reshape(values.shape)
    dtype = np.int32 if out_int32 else np.int64
    like = input if hasattr(input, "_data") else sorted_sequence
    return constant(lambda _: np.asarray(found, dtype), like)


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """``torch.bucketize``: the bucket of each value among the 1-D ``boundaries``
    (``boundaries[i-1] < x <= boundaries[i]``; with ``right``: ``<= x <``)."""
    if np.ndim(raw(boundaries)) != 1:
        raise RuntimeError(f"bucketize(): boundaries must be 1-D, got shape "
                           f"{np.shape(raw(boundaries))}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
