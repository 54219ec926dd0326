"""Running sums and products along a dim (``cumsum``, ``cumprod``) and their inverse,
finite differences (``diff``).

The adjoint of a running sum is a running sum from the other end:
``d out_j / d a_i = [j >= i]``, so ``da = revcumsum(g)``. Both backward formulas are
written with these ops (flips are ``getitem`` with a reversed slice), so second
derivatives work.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function, Node
from ._util import normalize_dim, raw, shape_of
from .elementwise import div, mul, sub, where
from .movement import cat, getitem, reshape, transpose, unsqueeze
from .reduce import sum

__all__ = ["cumprod", "cumsum", "diff"]


def _dim(op: str, a, dim) -> int:
    shape = shape_of(a)
    return normalize_dim(dim, len(shape), op, shape)


def _accumulator(a: np.ndarray, dtype) -> np.dtype:
    """PyTorch's result dtype: ``dtype`` if given, int64 for integer and bool input."""
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype


def _flip(x, d: int):
    return getitem(x, (slice(None),) * d + (slice(None, None, -1),))


def _revcumsum(x, d: int):
    """out_i = sum_{j >= i} x_j along ``d``."""
    return _flip(cumsum(_flip(x, d), d), d)


class CumSum(Function):
    """out_j = sum_{i <= j} a_i along ``dim``;  da = revcumsum(g)."""
    @staticmethod
    def forward(ctx, a, dim, dtype=None):
        a = np.asarray(a)
        ctx.dim = dim
        return np.cumsum(a, axis=dim, dtype=_accumulator(a, dtype))

    @staticmethod
    def backward(ctx, grad):
        return _revcumsum(grad, ctx.dim)


class CumProd(Function):
    """out_j = prod_{i <= j} a_i along ``dim``;  da_i = sum_{j >= i} g_j prod_{k <= j, k != i} a_k.

    Without zeros that is revcumsum(g out) / a. With a first zero at position z (per
    slice, as PyTorch): positions before z keep that formula (the terms j >= z vanish on
    both sides), positions after z get 0 (every term holds a_z), and position z gets
    ``prod_{k < z} a_k * sum_{j >= z} g_j prod_{z < k <= j} a_k``.
    """
    @staticmethod
    def forward(ctx, a, dim, dtype=None):
        a = np.asarray(a)
        out = np.cumprod(a, axis=dim, dtype=_accumulator(a, dtype))
        ctx.save_for_backward(a, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        d = ctx.dim
        zero = raw(a) == 0
        if not zero.any():
            return div(_revcumsum(mul(grad, out), d), a)
        if isinstance(a, Node):  # recording a double backward: stay differentiable at zeros
            return _cumprod_grad_differentiable(a, grad, d)
        shape = zero.shape
        pos = np.arange(shape[d]).reshape((-1,) + (1,) * (len(shape) - d - 1))
        first = np.where(zero.any(axis=d, keepdims=True), np.argmax(zero, axis=d, keepdims=True),
                         shape[d])
        before, at = pos < first, pos == first
        safe = where(zero, 1.0, a)
        head = where(before, div(_revcumsum(mul(grad, out), d), safe), 0.0)
        after = cumprod(where(pos <= first, 1.0, a), d)          # prod_{z < k <= j} a_k
        tail = _revcumsum(where(pos >= first, mul(grad, after), 0.0), d)
        prefix = cumprod(where(before, a, 1.0), d)                 # prod_{k < z} a_k at z
        return head + where(at, mul(prefix, tail), 0.0)


def _cumprod_grad_differentiable(a, grad, d: int):
    """da_i = sum_{j >= i} g_j C_ij with C_ij = prod_{k <= j, k != i} a_k, written with graph
    ops (C is the running product of ``a`` with a_i set to 1): O(n**2) memory, used only by
    ``create_graph`` at inputs with zeros, where every derivative of the formula is exact."""
    n = shape_of(a)[d]
    rows = where(np.eye(n, dtype=bool), 1.0, unsqueeze(transpose(a, d, -1), -2))  # (..., i, k)
    others = cumprod(rows, -1)                                                     # (..., i, j)
    upper = np.triu(np.ones((n, n), dtype=bool))                                   # j >= i
    g = unsqueeze(transpose(grad, d, -1), -2)
    return transpose(sum(where(upper, mul(others, g), 0.0), -1), d, -1)


def cumsum(input, dim: int, *, dtype=None):
    """``torch.cumsum``: running sums along ``dim`` (int and bool input sum in int64)."""
    if not shape_of(input):  # a 0-d tensor is its own running sum
        return reshape(CumSum.apply(reshape(input, (1,)), 0, dtype=dtype), ())
    return CumSum.apply(input, _dim("cumsum", input, dim), dtype=dtype)


def cumprod(input, dim: int, *, dtype=None):
    """``torch.cumprod``: running products along ``dim``; the gradient is exact with zeros."""
    if not shape_of(input):
        return reshape(CumProd.apply(reshape(input, (1,)), 0, dtype=dtype), ())
    return CumProd.apply(input, _dim("cumprod", input, dim), dtype=dtype)


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """``torch.diff``: the ``n``-th forward difference ``out_i = a_{i+1} - a_i`` along ``dim``,
    after concatenating ``prepend`` / ``append`` (tensors) along it (not for ``n = 0``)."""
    if not shape_of(input):
        raise RuntimeError("diff(): expects input to be at least one-dimensional")
    d = _dim("diff", input, dim)
    if n == 0:  # as PyTorch (and numpy): nothing is differenced, nothing concatenated
        return input
    parts = [p for p in (prepend, input, append) if p is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    lead = (slice(None),) * d
    for _ in range(n):
        x = sub(getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),)))
    return x
