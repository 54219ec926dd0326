"""Normalisation: batch_norm, instance_norm, group_norm, layer_norm (PyTorch's functional forms).

Each normalises x over a set of axes and applies a per-channel (layer norm: per-element)
affine map:

    xhat = (x - mean) / sqrt(var + eps),   y = xhat * weight + bias
    dx   = invstd * (gw - mean(gw) - xhat * mean(gw * xhat)),   gw = g * weight
    dweight = sum g * xhat,   dbias = sum g

(means over the normalised axes, ``var`` biased). With fixed statistics (batch norm in
eval mode, instance norm with ``use_input_stats=False``) ``mean``/``var`` are constants
and ``dx = gw * invstd``.

Forward and plain backward run fused Numba kernels (oracle: ``kernels/norm_reference.py``):
``kernels/norm.py`` for batch / instance / group norm, ``kernels/norm_columns.py`` for batch
norm with fewer than ``COLUMNS_BELOW`` spatial elements (e.g. (N, C) input), and
``kernels/norm_rows.py`` for layer norm. Each measured faster than numpy (and than PyTorch
CPU on the benchmark shapes). With ``create_graph=True`` the backward instead
evaluates the formulas above with the engine's own ops, recomputing the statistics from
the input node, so gradients of gradients are right: every norm here is twice
differentiable, and the plain backward pays nothing for it.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numba
import numpy as np

from .. import versions
from ..engine import Function, Node
from ..kernels import norm as K
from ..kernels import norm_columns as KC
from ..kernels import norm_rows as KR
from ._util import raw, shape_of
from .movement import reshape
from .reduce import mean as _mean
from .reduce import sum as _sum

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm"]

COLUMNS_BELOW = 32  # batch norm with fewer spatial elements runs on the column kernels


def _columns(a: np.ndarray) -> np.ndarray:
    """A (N, C, 1, L) array viewed as (N, C L)."""
    return a.reshape(a.shape[0], a.shape[1] * a.shape[3])  # not -1: N may be 0


class Layout(NamedTuple):
    """How a channel norm sees its input: ``shape4`` = (N, G0, K, L) with statistics over
    ``axes`` (batch norm (0, 2, 3): per channel; instance/group norm (2, 3): per sample)
    and the affine per (G0, K) = C channels."""
    shape4: tuple
    axes: tuple

    @property
    def per_sample(self) -> bool:
        return 0 not in self.axes

    @property
    def kernel_shape(self) -> tuple:
        """The kernels' (B, G, K, L) view: one group per set of statistics."""
        n, g0, k, length = self.shape4
        return (1, n * g0, k, length) if self.per_sample else self.shape4

    @property
    def by_columns(self) -> bool:
        """Batch norm with rows too short to vectorise: the column kernels' (N, C L) view."""
        return not self.per_sample and self.shape4[3] < COLUMNS_BELOW

    @property
    def count(self) -> int:
        """Elements per set of statistics."""
        return math.prod(self.shape4[a] for a in self.axes)


def _per_group(v, layout: Layout, default: float) -> np.ndarray:
    """A (C,) parameter as the kernels' float64 (G, K) array (tiled over samples)."""
    n, g0, k, _ = layout.shape4
    p = np.full((g0, k), default) if v is None else np.asarray(v, np.float64).reshape(g0, k)
    return np.tile(p, (n, 1)) if layout.per_sample else p


def _fold(grad2: np.ndarray, layout: Layout, like) -> np.ndarray:
    """(G, K) per-group gradients summed over samples -> (C,) in ``like``'s dtype."""
    n, g0, k, _ = layout.shape4
    reps = n if layout.per_sample else 1
    return grad2.reshape(reps, g0 * k).sum(axis=0).astype(np.asarray(like).dtype)


class ChannelNorm(Function):
    """Batch / instance / group norm on the kernels' (B, G, K, L) view (see ``Layout``).

    ``fixed``: None to normalise with the batch's own statistics, else ``(mean, invstd)``
    (float64, one per group). ``running``: ``(running_mean, running_var, momentum)``
    arrays updated in place from the batch statistics, as PyTorch (the variance unbiased),
    averaged over the samples when the statistics are per sample (instance norm).
    """
    name = "channel_norm"

    @classmethod
    def forward(cls, ctx, x, weight, bias, layout, eps, fixed=None, running=None):
        data = np.ascontiguousarray(x).reshape(layout.kernel_shape)
        if data.dtype not in (np.float32, np.float64):
            raise TypeError(f"{cls.name}: expected a float32 or float64 input, got {data.dtype}")
        groups = layout.kernel_shape[1]
        w2, b2 = _per_group(weight, layout, 1.0), _per_group(bias, layout, 0.0)
        ctx.save_for_backward(x, weight)
        ctx.bias_like = bias if bias is not None else x  # dtype of the bias gradient
        ctx.layout, ctx.eps, ctx.w2 = layout, eps, w2
        out = np.empty_like(data)
        if data.size == 0:  # an empty batch, as PyTorch: empty output, running stats kept
            ctx.empty = True
            return out.reshape(np.shape(x))
        ctx.empty = False
        batch_stats = fixed is None
        mean, var, invstd = np.empty(groups), np.empty(groups), np.empty(groups)
        if not batch_stats:
            mean, invstd = fixed
        if layout.by_columns:
            KC.forward(_columns(data), data.shape[3], w2[:, 0], b2[:, 0], eps, batch_stats,
                       _columns(out), mean, var, invstd)
        else:
            chunk = K.chunk_size(groups, numba.get_num_threads())
            K.channel_norm_forward(data, w2, b2, float(eps), batch_stats, chunk, out, mean,
                                   var, invstd)
        if batch_stats and running is not None:
            _update_running(running, mean, var, layout)
        ctx.mean, ctx.invstd, ctx.batch_stats = mean, invstd, batch_stats
        return out.reshape(np.shape(x))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        layout = ctx.layout
        if isinstance(grad, Node):  # create_graph: differentiable formula
            return _graph_backward(ctx, grad, x, weight)
        data = np.ascontiguousarray(x).reshape(layout.kernel_shape)
        dy = np.ascontiguousarray(grad, dtype=data.dtype).reshape(layout.kernel_shape)
        dx = np.empty_like(data)
        dw2, db2 = np.zeros_like(ctx.w2), np.zeros_like(ctx.w2)
        if ctx.empty:  # no elements: zero-size dx, zero weight and bias gradients
            pass
        elif layout.by_columns:
            KC.backward(_columns(dy), _columns(data), data.shape[3], ctx.mean, ctx.invstd,
                        ctx.w2[:, 0], ctx.batch_stats, _columns(dx), dw2[:, 0], db2[:, 0])
        else:
            chunk = K.chunk_size(data.shape[1], numba.get_num_threads())
            K.channel_norm_backward(dy, data, ctx.mean, ctx.invstd, ctx.w2, ctx.batch_stats,
                                    chunk, dx, dw2, db2)
        need = ctx.needs_input_grad
        dw = _fold(dw2, layout, weight) if need[1] else None
        db = _fold(db2, layout, ctx.bias_like) if need[2] else None
        return dx.reshape(np.shape(x)), dw, db


class BatchNormFn(ChannelNorm):
    name = "batch_norm"


class InstanceNorm(ChannelNorm):
    name = "instance_norm"


class GroupNormFn(ChannelNorm):
    name = "group_norm"


def _update_running(running, mean, var, layout: Layout) -> None:
    """running <- (1 - momentum) running + momentum * batch statistic (variance unbiased)."""
    running_mean, running_var, momentum = running
    n = layout.count
    reps = layout.shape4[0] if layout.per_sample else 1
    batch_mean = mean.reshape(reps, -1).mean(axis=0)
    batch_var = (var * (n / (n - 1))).reshape(reps, -1).mean(axis=0)
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * batch_mean
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += momentum * batch_var


def _graph_backward(ctx, grad, x, weight):
    """The backward formula in engine ops (module docstring), on (N, G0, K, L) views."""
    layout, axes = ctx.layout, ctx.layout.axes
    n, g0, k, _ = layout.shape4
    g4, x4 = reshape(grad, layout.shape4), reshape(x, layout.shape4)
    w4 = None if weight is None else reshape(weight, (1, g0, k, 1))
    gw = g4 if w4 is None else g4 * w4
    if ctx.batch_stats:
        centred = x4 - _mean(x4, axes, keepdim=True)
        invstd = (_mean(centred * centred, axes, keepdim=True) + ctx.eps) ** -0.5
        xhat = centred * invstd
        dx = invstd * (gw - _mean(gw, axes, keepdim=True)
                       - xhat * _mean(gw * xhat, axes, keepdim=True))
    else:
        shape = (n, g0, 1, 1) if layout.per_sample else (1, g0, 1, 1)
        invstd = ctx.invstd.reshape(shape)
        xhat = (x4 - ctx.mean.reshape(shape)) * invstd
        dx = gw * invstd
    need = ctx.needs_input_grad
    dw = reshape(_sum(g4 * xhat, (0, 3)), (g0 * k,)) if need[1] else None
    db = reshape(_sum(g4, (0, 3)), (g0 * k,)) if need[2] else None
    return reshape(dx, shape_of(x)), dw, db


# -- argument checks --------------------------------------------------------------------
def _check_vector(v, size: int, what: str, op: str) -> None:
    if v is not None and shape_of(v) != (size,):
        raise RuntimeError(f"{op}: {what} should contain {size} elements (one per channel), "
                           f"got shape {shape_of(v)}")


def _buffer(v, what: str, op: str):
    """The numpy array behind a running-statistics buffer (updated in place)."""
    if v is None:
        return None
    data = raw(v)
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a float tensor/array (updated in place), "
                        f"got {type(v).__name__}")
    return data


def _changed_in_place(*buffers) -> None:
    """Bump the versions of running-statistics tensors the op just updated (as PyTorch)."""
    for v in buffers:
        if isinstance(v, Node):
            versions.bump(v)


def _channels_layout(shape: tuple, op: str, groups: int = 0) -> Layout:
    if len(shape) < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, *), got {shape}")
    n, c, length = shape[0], shape[1], math.prod(shape[2:])
    if groups:
        return Layout((n, groups, c // groups, length), (2, 3))
    return Layout((n, c, 1, length), (0, 2, 3))


# -- functional forms (PyTorch names and defaults) ------------------------------------------
def batch_norm(input: Any, running_mean, running_var, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """Batch normalisation over (N, C), (N, C, L) or (N, C, H, W) input, per channel C.

    training: statistics of the batch (over N and the spatial dims; variance biased) and,
    if given, ``running_mean``/``running_var`` updated in place:
    ``r <- (1 - momentum) r + momentum * stat`` (the variance's stat unbiased, n / (n-1)).
    eval: the running statistics normalise. ``weight``/``bias`` (C,) scale and shift.
    """
    op = "batch_norm"
    shape = shape_of(input)
    layout = _channels_layout(shape, op)
    c = layout.shape4[1]
    for v, what in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_vector(v, c, what, op)
    if momentum is None or not isinstance(momentum, (int, float)):
        raise TypeError(f"{op}: momentum must be a float, got {momentum!r} (a cumulative "
                        "average, momentum=None, is the module's business)")
    rm, rv = _buffer(running_mean, "running_mean", op), _buffer(running_var, "running_var", op)
    if training:
        if layout.count == 1:  # (0 elements is an empty batch: PyTorch allows it)
            raise ValueError(f"{op}: expected more than 1 value per channel when training, "
                             f"got input of shape {shape}")
        running = (rm, rv, float(momentum)) if rm is not None or rv is not None else None
        out = BatchNormFn.apply(input, weight, bias, layout, eps, running=running)
        _changed_in_place(running_mean, running_var)
        return out
    if rm is None or rv is None:
        raise RuntimeError(f"{op}: running_mean and running_var must be defined in "
                           "evaluation mode (training=False)")
    fixed = (rm.astype(np.float64), 1.0 / np.sqrt(rv.astype(np.float64) + eps))
    return BatchNormFn.apply(input, weight, bias, layout, eps, fixed=fixed)


def instance_norm(input: Any, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Any:
    """Normalise each (sample, channel) of (N, C, *spatial) input over its spatial dims.

    With ``use_input_stats`` (the default) the running statistics, if given, are updated
    in place with the per-instance statistics averaged over the batch; without it, they
    normalise instead (as batch norm in eval mode).
    """
    op = "instance_norm"
    shape = shape_of(input)
    layout = Layout(_channels_layout(shape, op).shape4, (2, 3))
    n, c, _, length = layout.shape4
    for v, what in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_vector(v, c, what, op)
    rm, rv = _buffer(running_mean, "running_mean", op), _buffer(running_var, "running_var", op)
    if use_input_stats:
        if length <= 1:
            raise ValueError(f"{op}: expected more than 1 spatial element when training, got "
                             f"input of shape {shape}")
        running = (rm, rv, float(momentum)) if rm is not None or rv is not None else None
        out = InstanceNorm.apply(input, weight, bias, layout, eps, running=running)
        _changed_in_place(running_mean, running_var)
        return out
    if rm is None or rv is None:
        raise RuntimeError(f"{op}: running_mean and running_var must be defined when "
                           "use_input_stats is False")
    mean = np.tile(rm.astype(np.float64), n)
    fixed = (mean, np.tile(1.0 / np.sqrt(rv.astype(np.float64) + eps), n))
    return InstanceNorm.apply(input, weight, bias, layout, eps, fixed=fixed)


def group_norm(input: Any, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Any:
    """Normalise each sample of (N, C, *) input over groups of C / num_groups channels
    (and the spatial dims); ``weight``/``bias`` (C,) per channel."""
    op = "group_norm"
    shape = shape_of(input)
    if len(shape) < 2 or num_groups < 1 or shape[1] % num_groups:
        raise RuntimeError(f"{op}: expected the number of channels of input (N, C, *) to be "
                           f"divisible by num_groups, got input of shape {shape} and "
                           f"num_groups={num_groups}")
    layout = _channels_layout(shape, op, groups=num_groups)
    for v, what in ((weight, "weight"), (bias, "bias")):
        _check_vector(v, shape[1], what, op)
    return GroupNormFn.apply(input, weight, bias, layout, eps)


class LayerNormFn(Function):
    """Layer norm over the trailing ``D``-element block of each of ``R`` rows (kernel view
    (R, D)); ``weight``/``bias`` per element of that block."""
    name = "layer_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, norm_shape, eps):
        data = np.ascontiguousarray(x)
        if data.dtype not in (np.float32, np.float64):
            raise TypeError(f"layer_norm: expected a float32 or float64 input, got {data.dtype}")
        d = math.prod(norm_shape)
        rows = data.size // d if d else 0
        data = data.reshape(rows, d)
        w = np.ones(d, data.dtype) if weight is None else np.asarray(weight, data.dtype).ravel()
        b = np.zeros(d, data.dtype) if bias is None else np.asarray(bias, data.dtype).ravel()
        out = np.empty_like(data)
        mean, invstd = np.empty(rows), np.empty(rows)
        if data.size:
            KR.row_norm_forward(data, w, b, float(eps), out, mean, invstd)
        ctx.save_for_backward(x, weight)
        ctx.rows, ctx.norm_shape, ctx.eps = rows, norm_shape, eps
        ctx.w, ctx.mean, ctx.invstd = w, mean, invstd
        ctx.weight_like = weight if weight is not None else x  # dtypes of the gradients
        ctx.bias_like = bias if bias is not None else x
        return out.reshape(np.shape(x))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        shape = shape_of(x)
        if isinstance(grad, Node):
            return _layer_graph_backward(ctx, grad, x, weight)
        data = np.ascontiguousarray(x).reshape(ctx.rows, math.prod(ctx.norm_shape))
        dy = np.ascontiguousarray(grad, dtype=data.dtype).reshape(data.shape)
        dx = np.empty_like(data)
        dw, db = np.zeros(data.shape[1]), np.zeros(data.shape[1])  # stay 0 with no rows
        if data.size:
            KR.row_norm_backward(dy, data, ctx.mean, ctx.invstd, ctx.w, KR.CHUNKS, dx, dw, db)
        need = ctx.needs_input_grad
        dtype_w, dtype_b = np.asarray(ctx.weight_like).dtype, np.asarray(ctx.bias_like).dtype
        dw = dw.reshape(ctx.norm_shape).astype(dtype_w) if need[1] else None
        db = db.reshape(ctx.norm_shape).astype(dtype_b) if need[2] else None
        return dx.reshape(shape), dw, db


def _layer_graph_backward(ctx, grad, x, weight):
    """LayerNorm's backward in engine ops, on the (R, D) view."""
    shape = shape_of(x)
    d = math.prod(ctx.norm_shape)  # not -1: there may be no rows to infer it from
    g2, x2 = reshape(grad, (ctx.rows, d)), reshape(x, (ctx.rows, d))
    gw = g2 if weight is None else g2 * reshape(weight, (1, d))
    centred = x2 - _mean(x2, 1, keepdim=True)
    invstd = (_mean(centred * centred, 1, keepdim=True) + ctx.eps) ** -0.5
    xhat = centred * invstd
    dx = invstd * (gw - _mean(gw, 1, keepdim=True) - xhat * _mean(gw * xhat, 1, keepdim=True))
    need = ctx.needs_input_grad
    dw = reshape(_sum(g2 * xhat, 0), ctx.norm_shape) if need[1] else None
    db = reshape(_sum(g2, 0), ctx.norm_shape) if need[2] else None
    return reshape(dx, shape), dw, db


def layer_norm(input: Any, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Any:
    """Normalise over the trailing dims ``normalized_shape`` of each sample; ``weight`` and
    ``bias`` have shape ``normalized_shape`` (elementwise affine)."""
    op = "layer_norm"
    norm_shape = (tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list))
                  else (normalized_shape,))
    shape = shape_of(input)
    k = len(norm_shape)
    if k == 0 or shape[len(shape) - k:] != norm_shape or len(shape) < k:
        raise RuntimeError(f"{op}: given normalized_shape={list(norm_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, norm_shape))}], but got input "
                           f"of shape {shape}")
    for v, what in ((weight, "weight"), (bias, "bias")):
        if v is not None and shape_of(v) != norm_shape:
            raise RuntimeError(f"{op}: expected {what} of shape normalized_shape="
                               f"{list(norm_shape)}, got {shape_of(v)}")
    return LayerNormFn.apply(input, weight, bias, norm_shape, eps)
