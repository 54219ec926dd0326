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
from .movement import getitem, take_along_dim

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
