"""Plain-numpy normalisation: the oracle for ``kernels/norm.py`` and ``ops/normalization.py``.

Everything is computed in float64 straight from the textbook formulas (numpy's two-pass
``mean``/``var``) and cast back to the input's dtype:

    xhat = (x - mean) / sqrt(var + eps),   y = xhat * weight + bias
    dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat)),  gw = g * weight   (batch stats)
    dx = invstd * gw                                                       (fixed stats)
    dweight = sum g * xhat,   dbias = sum g

``normalize`` / ``normalize_backward`` take the axes to normalise over and a weight
already broadcastable to x; the per-op functions below choose them. Running statistics
follow PyTorch: ``r <- (1 - momentum) r + momentum * stat`` with the unbiased variance.
"""
from __future__ import annotations

import numpy as np


def normalize(x, axes, weight=None, bias=None, eps=1e-5, mean=None, var=None):
    """(y, mean, var): normalised over ``axes`` (batch statistics unless mean/var given)."""
    x64 = x.astype(np.float64)
    if mean is None:
        mean = x64.mean(axis=axes, keepdims=True)
        var = x64.var(axis=axes, keepdims=True)
    y = (x64 - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype), mean, var


def normalize_backward(g, x, axes, weight=None, eps=1e-5, mean=None, var=None):
    """(dx, dweight_full, dbias_full): dweight/dbias still shaped like x (sum them yourself)."""
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    batch_stats = mean is None
    if batch_stats:
        mean = x64.mean(axis=axes, keepdims=True)
        var = x64.var(axis=axes, keepdims=True)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x64 - mean) * invstd
    gw = g64 if weight is None else g64 * weight
    if batch_stats:
        dx = invstd * (gw - gw.mean(axis=axes, keepdims=True)
                       - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
    else:
        dx = invstd * gw
    return dx.astype(x.dtype), g64 * xhat, g64


def _channel(v, ndim):
    return None if v is None else np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(y, new_running_mean, new_running_var) for (N, C, *) input."""
    axes = (0,) + tuple(range(2, x.ndim))
    w, b = _channel(weight, x.ndim), _channel(bias, x.ndim)
    if not training:
        y, _, _ = normalize(x, axes, w, b, eps, _channel(running_mean, x.ndim),
                            _channel(running_var, x.ndim))
        return y, running_mean, running_var
    y, mean, var = normalize(x, axes, w, b, eps)
    n = x.size // x.shape[1]
    new_mean = new_var = None
    if running_mean is not None:
        new_mean = ((1 - momentum) * running_mean + momentum * mean.reshape(-1)).astype(
            running_mean.dtype)
    if running_var is not None:
        new_var = ((1 - momentum) * running_var + momentum * var.reshape(-1) * n / (n - 1)
                   ).astype(running_var.dtype)
    return y, new_mean, new_var


def batch_norm_backward(g, x, weight=None, training=True, running_mean=None,
                        running_var=None, eps=1e-5):
    """(dx, dweight, dbias) of ``batch_norm``."""
    axes = (0,) + tuple(range(2, x.ndim))
    fixed = {} if training else {"mean": _channel(running_mean, x.ndim),
                                 "var": _channel(running_var, x.ndim)}
    dx, dw, db = normalize_backward(g, x, axes, _channel(weight, x.ndim), eps, **fixed)
    return dx, dw.sum(axis=axes), db.sum(axis=axes)


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Per (sample, channel) statistics over the spatial dims."""
    axes = tuple(range(2, x.ndim))
    return normalize(x, axes, _channel(weight, x.ndim), _channel(bias, x.ndim), eps)[0]


def instance_norm_backward(g, x, weight=None, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    dx, dw, db = normalize_backward(g, x, axes, _channel(weight, x.ndim), eps)
    outer = (0,) + axes
    return dx, dw.sum(axis=outer), db.sum(axis=outer)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Per (sample, group of C / num_groups channels) statistics."""
    xg = x.reshape(x.shape[0], num_groups, -1)
    y, _, _ = normalize(xg, (2,), eps=eps)
    y = y.astype(np.float64).reshape(x.shape)
    if weight is not None:
        y = y * _channel(weight, x.ndim)
    if bias is not None:
        y = y + _channel(bias, x.ndim)
    return y.astype(x.dtype)


def group_norm_backward(g, x, num_groups, weight=None, eps=1e-5):
    n, c = x.shape[:2]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    gw = g.astype(np.float64) * w.reshape((1, c) + (1,) * (x.ndim - 2))
    dx, _, _ = normalize_backward(gw.reshape(n, num_groups, -1), x.reshape(n, num_groups, -1),
                                  (2,), eps=eps)
    xg = x.reshape(n, num_groups, -1).astype(np.float64)
    xhat = ((xg - xg.mean(axis=2, keepdims=True))
            / np.sqrt(xg.var(axis=2, keepdims=True) + eps)).reshape(x.shape)
    outer = (0,) + tuple(range(2, x.ndim))
    g64 = g.astype(np.float64)
    return dx.reshape(x.shape), (g64 * xhat).sum(axis=outer), g64.sum(axis=outer)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Statistics over the trailing ``normalized_shape`` dims; elementwise affine."""
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    return normalize(x, axes, weight, bias, eps)[0]


def layer_norm_backward(g, x, normalized_shape, weight=None, eps=1e-5):
    k = len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    w = None if weight is None else np.asarray(weight, np.float64)
    dx, dw, db = normalize_backward(g, x, axes, w, eps)
    outer = tuple(range(x.ndim - k))
    return dx, dw.sum(axis=outer), db.sum(axis=outer)
