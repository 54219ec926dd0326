"""More of ``torch.nn.functional``'s losses, composed of the engine's ops (so gradients and
second derivatives follow), each with PyTorch's arguments and ``reduction``:

* ``margin_ranking_loss(x1, x2, y)``:  max(0, -y (x1 - x2) + margin), y in {1, -1}
* ``hinge_embedding_loss(x, y)``:      x where y = 1, max(0, margin - x) where y = -1
* ``soft_margin_loss(x, y)``:          log(1 + exp(-y x))
* ``cosine_embedding_loss(x1, x2, y)``: 1 - cos where y = 1, max(0, cos - margin) where
  y = -1, cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)) over dim 1 (PyTorch's)
* ``triplet_margin_loss(a, p, n)``:    max(d(a, p) - d(a, n) + margin, 0), d the
  ``pairwise_distance`` (``swap``: d(a, n) replaced by min(d(a, n), d(p, n)))
* ``multilabel_soft_margin_loss(x, y)``: -mean_c [y log sigmoid(x) + (1 - y) log sigmoid(-x)]
  per sample (times ``weight``)
* ``poisson_nll_loss(x, y)``:  exp(x) - y x (``log_input``) or x - y log(x + eps); ``full``
  adds Stirling's y log y - y + log(2 pi y) / 2 where y > 1
* ``gaussian_nll_loss(x, y, var)``: (log max(var, eps) + (x - y)^2 / max(var, eps)) / 2
  (+ log(2 pi) / 2 with ``full``); the clamp passes the gradient unchanged, as PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.ops._util import raw

from .distance import pairwise_distance
from .functional_losses import _reduce, _reduction

__all__ = ["cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss",
           "margin_ranking_loss", "multilabel_soft_margin_loss", "poisson_nll_loss",
           "soft_margin_loss", "triplet_margin_loss"]


def _like(value: Any, x: Any) -> Any:
    """A target as data of the input's dtype (a Tensor target keeps its graph)."""
    return value if hasattr(value, "_data") else np.asarray(value, np.asarray(raw(x)).dtype)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    y = _like(target, input1)
    loss = ops.relu(ops.add(ops.neg(ops.mul(y, ops.sub(input1, input2))), margin))
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    y = np.asarray(raw(target))
    zero = np.zeros((), np.asarray(raw(input)).dtype)
    loss = ops.add(ops.where(y == 1, input, zero),
                   ops.where(y == -1, ops.relu(ops.sub(margin, input)), zero))
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    if getattr(target, "requires_grad", False):  # as PyTorch: no derivative for the target
        raise RuntimeError("soft_margin_loss: the function is not differentiable with respect "
                           "to argument 'target'; detach it")
    loss = ops.softplus(ops.neg(ops.mul(_like(target, input), input)))
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    dim = input1.ndim - 1
    dot = ops.sum(ops.mul(input1, input2), dim)
    norms = ops.mul(ops.add(ops.sum(ops.mul(input1, input1), dim), 1e-12),
                    ops.add(ops.sum(ops.mul(input2, input2), dim), 1e-12))
    cos = ops.div(dot, ops.sqrt(norms))
    y = np.asarray(raw(target))
    zero = np.zeros((), np.asarray(raw(input1)).dtype)
    loss = ops.add(ops.where(y == 1, ops.sub(1.0, cos), zero),
                   ops.where(y == -1, ops.relu(ops.sub(cos, margin)), zero))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(ops.relu(ops.add(ops.sub(d_pos, d_neg), margin)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    y = _like(target, input)
    terms = ops.add(ops.mul(y, ops.logsigmoid(input)),
                    ops.mul(ops.sub(1.0, y), ops.logsigmoid(ops.neg(input))))
    if weight is not None:
        terms = ops.mul(terms, _like(weight, input))
    loss = ops.neg(ops.mean(terms, -1))
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean"):
    reduction = _reduction(reduction, size_average, reduce)
    y = _like(target, input)
    if log_input:
        loss = ops.sub(ops.exp(input), ops.mul(y, input))
    else:
        loss = ops.sub(input, ops.mul(y, ops.log(ops.add(input, eps))))
    if full:
        t = np.asarray(raw(y))
        safe = np.where(t > 1, t, 1.0)
        stirling = np.where(t > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe),
                            0.0).astype(t.dtype)
        loss = ops.add(loss, stirling)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    reduction = _reduction(reduction, None, None)
    var_shape, shape = np.shape(raw(var)), np.shape(raw(input))
    if var_shape != shape:
        if var_shape == shape[:-1] or (var_shape[:-1] == shape[:-1] and var_shape[-1:] == (1,)):
            var = ops.reshape(var, shape[:-1] + (1,))
        else:
            raise ValueError(f"gaussian_nll_loss: var of shape {var_shape} does not fit input "
                             f"of shape {shape}")
    # max(var, eps) in value, var in gradient: add the (constant) amount the clamp raises it
    v = ops.add(var, np.maximum(raw(var), eps) - raw(var))
    d = ops.sub(input, _like(target, input))
    loss = ops.mul(ops.add(ops.log(v), ops.div(ops.mul(d, d), v)), 0.5)
    if full:
        loss = ops.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)
