"""Reductions over ``dim`` (an int, a tuple of ints, or None for all elements).

The gradient of a reduction is spread back over the reduced axes: the output
gradient is reshaped to the ``keepdim`` shape and broadcast to the input shape.
"""
from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..engine import Function, Node
from ._util import constant, normalize_dim, normalize_dims, raw, shape_of
from .elementwise import abs as _abs
from .elementwise import exp, log, maximum, minimum, sign, where
from .movement import broadcast_to, permute, reshape, squeeze, take_along_dim, unsqueeze

__all__ = ["amax", "amin", "argmax", "argmin", "logsumexp", "max", "mean", "min", "norm", "prod", "std", "sum", "var"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])
MinResult = namedtuple("MinResult", ["values", "indices"])


def _kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    """The output shape with ``keepdim=True``: reduced axes become 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _spread(grad, shape: tuple, axes, keepdim: bool):
    """Broadcast a reduction's output gradient back over the reduced axes."""
    if not keepdim:
        grad = reshape(grad, _kept_shape(shape, axes))
    return broadcast_to(grad, shape)


def _axes(a, dim, op):
    shape = np.shape(a)
    return normalize_dims(dim, len(shape), op, shape)


class Sum(Function):
    """out = sum of a over ``dim``;  da = g broadcast back."""
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = np.shape(a), _axes(a, dim, "sum"), keepdim
        return np.sum(a, axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx.shape, ctx.axes, ctx.keepdim)


class Mean(Function):
    """out = sum(a) / n over ``dim``;  da = g / n broadcast back."""
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _axes(a, dim, "mean")
        if not np.issubdtype(np.asarray(a).dtype, np.floating):
            raise TypeError(f"mean: input dtype must be floating point, got {np.asarray(a).dtype}")
        ctx.shape, ctx.axes, ctx.keepdim = np.shape(a), axes, keepdim
        return np.mean(a, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, axes = ctx.shape, ctx.axes
        n = np.prod([shape[i] for i in axes]) if axes is not None else np.prod(shape)
        return _spread(grad / (int(n) or 1), shape, axes, ctx.keepdim)


class _Extreme(Function):
    """amax / amin: ties share the gradient evenly (as PyTorch's amax)."""
    reduce = None

    @classmethod
    def forward(cls, ctx, a, dim=None, keepdim=False):
        axes = _axes(a, dim, cls.name)
        if np.size(a) == 0 and (axes is None or any(np.shape(a)[i] == 0 for i in axes)):
            raise RuntimeError(f"{cls.name}: cannot reduce an empty tensor of shape {np.shape(a)}"
                               f" over dims {axes} (a reduced dim has size 0)")
        out = cls.reduce(a, axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.shape, ctx.axes, ctx.keepdim = np.shape(a), axes, keepdim
        return out if keepdim else np.reshape(out, _reduced_shape(np.shape(a), axes))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        hit = raw(a) == raw(out)
        share = hit / np.sum(hit, axis=ctx.axes, keepdims=True)
        return _spread(grad, ctx.shape, ctx.axes, ctx.keepdim) * share


def _reduced_shape(shape, axes):
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class AMax(_Extreme):
    name = "amax"
    reduce = staticmethod(np.max)


class AMin(_Extreme):
    name = "amin"
    reduce = staticmethod(np.min)


class Prod(Function):
    """out = product over ``dim`` (kept as size 1);  da_i = g * prod_{j != i} a_j.

    Where ``a`` has no zeros that is g * out / a (differentiable again, with the
    saved output as a node); with zeros the product of the others is computed
    directly, as PyTorch does."""
    @staticmethod
    def forward(ctx, a, axes):
        out = np.prod(a, axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.shape, ctx.axes = np.shape(a), axes
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        g = broadcast_to(grad, ctx.shape)
        if np.all(raw(a) != 0):
            return g * out / a
        if isinstance(a, Node):  # recording a double backward: stay differentiable
            return g * _product_of_others_differentiable(a, ctx.axes)
        return g * _product_of_others(raw(a), ctx.axes)


def _product_of_others_differentiable(a, axes):
    """``_product_of_others`` written with graph ops, for second derivatives at zeros.

    Each group of n reduced elements is repeated n times with the diagonal set
    to 1, then multiplied out: O(n**2) memory, used only by ``create_graph``.
    """
    shape = shape_of(a)
    axes = tuple(range(len(shape))) if axes is None else axes
    rest = [i for i in range(len(shape)) if i not in axes]
    moved = permute(a, tuple(rest + list(axes)))
    n = int(np.prod([shape[i] for i in axes]))
    flat = reshape(moved, tuple(shape[i] for i in rest) + (n,))
    rows = where(np.eye(n, dtype=bool), 1.0, unsqueeze(flat, -2))   # (..., n, n)
    others = reshape(prod(rows, dim=-1), shape_of(moved))
    return permute(others, tuple(np.argsort(rest + list(axes))))


def _product_of_others(a: np.ndarray, axes) -> np.ndarray:
    """For each element, the product of the other elements in its reduction group."""
    axes = tuple(range(a.ndim)) if axes is None else axes
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=a.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


class Norm2(Function):
    """out = sqrt(sum a**2) over ``dim`` (kept as size 1);  da = g a / out (0 where out = 0,
    as PyTorch)."""
    @staticmethod
    def forward(ctx, a, axes):
        out = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
        ctx.save_for_backward(a, out)
        ctx.shape = np.shape(a)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        zero = raw(out) == 0
        g = broadcast_to(grad, ctx.shape)
        return where(zero, 0.0, g * a / where(zero, 1.0, out))


class PNorm(Function):
    """out = (sum |a|**p)**(1/p) over ``dim`` (kept as size 1), any p > 0;
    da = g sign(a) (|a| / out)**(p - 1), and 0 where out = 0 or (for p < 1) a = 0, as PyTorch
    (the chain rule through pow would give 0 * inf = NaN there)."""
    @staticmethod
    def forward(ctx, a, axes, p):
        out = np.sum(np.abs(a) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(a, out)
        ctx.shape, ctx.p = np.shape(a), p
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        zero = (raw(out) == 0) | (raw(a) == 0)  # a = 0: the term is 0 (p > 1) or masked (p < 1)
        ratio = _abs(a) / where(raw(out) == 0, 1.0, out)
        g = broadcast_to(grad, ctx.shape)
        return where(zero, 0.0, g * sign(a) * where(zero, 1.0, ratio) ** (ctx.p - 1.0))


class StdSqrt(Function):
    """out = sqrt(v), the last step of ``std``;  dv = g / (2 out), and 0 where out = 0.

    std is not differentiable at a constant input (a cone's tip, like |x| at 0); PyTorch
    takes 0 there, where plain sqrt would give g / 0 = inf, then inf * 0 = NaN."""
    @staticmethod
    def forward(ctx, v):
        out = np.sqrt(v)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        zero = raw(out) == 0
        return where(zero, 0.0, grad / (2.0 * where(zero, 1.0, out)))


def _keepdim_op(fn, a, dim, keepdim, op):
    """Run a reduction ``fn(a, axes)`` that keeps reduced dims, then drop them unless asked."""
    axes = _axes(raw(a), dim, op)
    out = fn(a, axes)
    return out if keepdim else reshape(out, _reduced_shape(shape_of(a), axes))


# -- functional forms -----------------------------------------------------------
def sum(a, dim=None, keepdim=False):
    """Sum over ``dim`` (int, tuple, or None for all)."""
    return Sum.apply(a, dim=dim, keepdim=keepdim)


def mean(a, dim=None, keepdim=False):
    """Arithmetic mean over ``dim``."""
    return Mean.apply(a, dim=dim, keepdim=keepdim)


def amax(a, dim=None, keepdim=False):
    """Maximum over ``dim``; tied maxima share the gradient evenly."""
    return AMax.apply(a, dim=dim, keepdim=keepdim)


def amin(a, dim=None, keepdim=False):
    """Minimum over ``dim``; tied minima share the gradient evenly."""
    return AMin.apply(a, dim=dim, keepdim=keepdim)


def _extreme_along(a, dim, keepdim, pick, result, op):
    d = normalize_dim(dim, len(shape_of(a)), op, shape_of(a))
    if len(shape_of(a)) == 0:
        return result(a, constant(lambda x: np.zeros((), np.int64), a))
    # the index is computed by ``constant`` (not from raw data), so tg.compile records it
    index = constant(lambda x: pick(x, axis=d, keepdims=True), a)
    values = take_along_dim(a, index, d)
    if not keepdim:
        values, index = squeeze(values, d), constant(lambda i: np.squeeze(i, d), index)
    return result(values, index)


def max(a, dim=None, keepdim=False):
    """``max(a)``: the largest element (ties share the gradient).
    ``max(a, dim)``: ``(values, indices)``; the gradient goes to the index, as PyTorch.
    ``max(a, other_tensor)``: elementwise maximum."""
    if dim is None:
        return amax(a)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"max: dim must be an int (got {dim!r}); use amax for several dims")
    if not isinstance(dim, (int, np.integer)):
        return maximum(a, dim)
    return _extreme_along(a, dim, keepdim, np.argmax, MaxResult, "max")


def min(a, dim=None, keepdim=False):
    """Counterpart of ``max``: smallest element, ``(values, indices)``, or elementwise."""
    if dim is None:
        return amin(a)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"min: dim must be an int (got {dim!r}); use amin for several dims")
    if not isinstance(dim, (int, np.integer)):
        return minimum(a, dim)
    return _extreme_along(a, dim, keepdim, np.argmin, MinResult, "min")


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance: sum((a - mean)**2) / (n - correction); ``unbiased=True`` is correction 1.

    Default correction is 1 (Bessel), as ``torch.var``. With n <= correction PyTorch warns
    and divides by 0 (NaN for one element, inf otherwise); so does this.
    """
    return _variance(a, dim, unbiased, keepdim, correction, "var")


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt(var(a, ...)), with gradient 0 at a constant input (PyTorch's)."""
    return StdSqrt.apply(_variance(a, dim, unbiased, keepdim, correction, "std"))


def _variance(a, dim, unbiased, keepdim, correction, op):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = _axes(raw(a), dim, op)
    shape = shape_of(a)
    n = int(np.prod([shape[i] for i in axes])) if axes is not None else int(np.prod(shape))
    centered = a - mean(a, dim=dim, keepdim=True)
    squares = sum(centered * centered, dim=dim, keepdim=keepdim)
    if n - correction > 0:
        return squares / (n - correction)
    warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less "
                  "than the reduction factor (input numel divided by output numel).",
                  UserWarning, stacklevel=3)
    with np.errstate(invalid="ignore"):  # 0 * inf: the NaN is the answer, as PyTorch's
        return squares * np.inf


def prod(a, dim=None, keepdim=False):
    """Product over ``dim``."""
    return _keepdim_op(Prod.apply, a, dim, keepdim, "prod")


def logsumexp(a, dim=None, keepdim=False):
    """log(sum(exp(a))) over ``dim``, computed as m + log(sum(exp(a - m))) with m = max (stable)."""
    axes = _axes(raw(a), dim, "logsumexp")
    m = np.max(raw(a), axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = log(sum(exp(a - m), dim=dim, keepdim=True)) + m
    return out if keepdim else reshape(out, _reduced_shape(shape_of(a), axes))


def norm(a, p="fro", dim=None, keepdim=False):
    """Vector p-norm over ``dim`` (``'fro'``/2, 1, inf, -inf, or any p > 0)."""
    if p in ("fro", 2, 2.0):
        return _keepdim_op(Norm2.apply, a, dim, keepdim, "norm")
    if p in (1, 1.0):
        return sum(_abs(a), dim=dim, keepdim=keepdim)
    if p == float("inf"):
        return amax(_abs(a), dim=dim, keepdim=keepdim)
    if p == float("-inf"):
        return amin(_abs(a), dim=dim, keepdim=keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return _keepdim_op(lambda x, axes: PNorm.apply(x, axes, float(p)), a, dim, keepdim,
                           "norm")
    raise ValueError(f"norm: unsupported p={p!r} (use 'fro', a positive number, inf or -inf)")


def argmax(a, dim=None, keepdim=False):
    """Index of the largest element (flattened when ``dim`` is None)."""
    if dim is not None:
        dim = normalize_dim(dim, len(shape_of(a)), "argmax", shape_of(a))
    return constant(lambda x: np.asarray(np.argmax(x, axis=dim, keepdims=keepdim)), a)


def argmin(a, dim=None, keepdim=False):
    """Index of the smallest element (flattened when ``dim`` is None)."""
    if dim is not None:
        dim = normalize_dim(dim, len(shape_of(a)), "argmin", shape_of(a))
    return constant(lambda x: np.asarray(np.argmin(x, axis=dim, keepdims=keepdim)), a)
