"""Loss functions, as ``torch.nn.functional`` (re-exported by ``nn.functional``).

Every loss takes ``(input, target, ...)`` with PyTorch's argument names and defaults and a
``reduction``: ``'none'`` (one loss per element / sample), ``'sum'``, or ``'mean'``. The
legacy ``size_average`` / ``reduce`` flags map onto ``reduction`` as in PyTorch.

Classification (scores x (N, C) or (N, C, d1, ...), classes on dim 1):

* ``cross_entropy``: -log softmax(x)[y], from class indices y (N, ...) or class
  probabilities (same shape as x); ``weight`` (C,), ``ignore_index``, ``label_smoothing``;
  'mean' over class indices is the weighted mean sum_i loss_i / sum_i w[y_i].
  Fused into one op (``nn.cross_entropy``); stable at any logit size (max subtracted).
* ``nll_loss``: -x[y] for log-probabilities x (the second half of cross-entropy).
* ``multi_margin_loss``: the multiclass SVM hinge loss (CS231n),
  loss_n = sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C. PyTorch divides by the
  number of classes C; CS231n's L_i = sum_{j != y} max(0, s_j - s_y + 1) does not, so
  CS231n's loss is C times this one (with zero scores: C - 1 there, (C - 1) / C here).

Binary (elementwise, input and target of one shape):

* ``binary_cross_entropy``: -(y log x + (1 - y) log(1 - x)), each log clamped at -100 as
  PyTorch (so x = 0 or 1 gives a finite loss) and PyTorch's gradient
  (x - y) / max(x (1 - x), 1e-12).
* ``binary_cross_entropy_with_logits``: the same on sigmoid(x), computed stably as
  (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x) (softplus by log-add-exp, exact and
  finite for any x); gradient sigmoid(x) (1 + (pos_weight - 1) y) - pos_weight y.
  Fused into one op (``nn.binary_cross_entropy``), whose gradient is PyTorch's.

Regression (elementwise, d = x - y; a target of another shape broadcasts, with a warning):

* ``mse_loss``: d^2;  ``l1_loss``: |d|;
* ``smooth_l1_loss`` (beta=1): 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta;
* ``huber_loss`` (delta=1): 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)
  (Huber = beta * SmoothL1 with beta = delta).

Distributions:

* ``kl_div``: KL(target || input) for log-probabilities ``input``:
  target (log target - input), or exp(t) (t - input) with ``log_target``; terms with
  target 0 count as 0. ``reduction='batchmean'`` (sum / N) is the true KL divergence;
  ``'mean'`` divides by the number of elements (kept for PyTorch parity, with its warning).

Class ``weight`` / ``pos_weight`` arguments are constants for cross-entropy, NLL and
multi-margin (as in PyTorch no gradient flows to them); for the binary losses they take
part in the graph.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.ops._util import raw
from tinygrad_cs.ops.binary_cross_entropy import BinaryCrossEntropy, BinaryCrossEntropyWithLogits
from tinygrad_cs.ops.cross_entropy import NLL, CrossEntropy

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "huber_loss", "kl_div", "l1_loss", "mse_loss", "multi_margin_loss", "nll_loss",
           "smooth_l1_loss"]

_REDUCTIONS = ("none", "mean", "sum")


# -- shared helpers ------------------------------------------------------------------------
def _reduction(reduction: str, size_average, reduce, allowed=_REDUCTIONS) -> str:
    """``reduction``, or what the legacy ``size_average`` / ``reduce`` flags say."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='mean' / 'sum' / 'none' instead.", stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _dtype(x: Any) -> np.dtype:
    return np.asarray(raw(x)).dtype


def _constant(values: Any, dtype) -> np.ndarray | None:
    """A weight argument as a raw array of the input's dtype (no gradient flows to it)."""
    return None if values is None else np.asarray(raw(values), dtype=dtype)


def _indices(target: Any, op: str) -> np.ndarray:
    target = np.asarray(raw(target))
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"{op}: expected class indices of an integer dtype, got {target.dtype} "
                        "(class probabilities need a target of the input's shape)")
    return target


def _as_rows(input: Any, target: np.ndarray, op: str) -> tuple[Any, np.ndarray, tuple]:
    """Scores (C,), (N, C) or (N, C, d1, ...) as rows (M, C) with targets (M,), and the
    shape that per-position losses take: (), (N,) or (N, d1, ...)."""
    shape = np.shape(raw(input))
    if len(shape) == 0:
        raise ValueError(f"{op}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d input")
    out_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if target.shape != out_shape:
        raise ValueError(f"{op}: expected a target of shape {out_shape} for an input of shape "
                         f"{shape}, got {target.shape}")
    if len(shape) == 1:
        return ops.unsqueeze(input, 0), target.reshape(1), out_shape
    if len(shape) > 2:  # classes last, then one row per position
        input = ops.reshape(ops.permute(input, (0, *range(2, len(shape)), 1)), (-1, shape[1]))
        target = target.reshape(-1)
    return input, target, out_shape


def _per_position(loss: Any, out_shape: tuple, reduction: str) -> Any:
    """'none' losses (M,) back in the shape of the positions."""
    if reduction != "none" or len(out_shape) == 1:
        return loss
    return ops.reshape(loss, out_shape)


def _class_weight(weight: Any, n_classes: int, dtype, op: str) -> np.ndarray | None:
    w = _constant(weight, dtype)
    if w is not None and w.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({n_classes},), "
                         f"got {w.shape}")
    return w


def _warn_shape(input: Any, target: Any, op: str) -> None:
    a, b = np.shape(raw(input)), np.shape(raw(target))
    if a != b:
        warnings.warn(f"{op}: Using a target size ({b}) that is different to the input size "
                      f"({a}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


# -- classification ------------------------------------------------------------------------
def cross_entropy(input: Any, target: Any, weight: Any = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    """Cross-entropy of unnormalised scores ``input`` against class indices or probabilities.

    input (C,), (N, C) or (N, C, d1, ...); target: class indices (), (N,) or (N, d1, ...),
    or class probabilities of the input's shape. Output: a scalar, or the per-position losses
    for ``reduction='none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    shape, dtype = np.shape(raw(input)), _dtype(input)
    if np.shape(raw(target)) == shape and _dtype(target).kind == "f":
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    target = _indices(target, "cross_entropy")
    rows, target, out_shape = _as_rows(input, target, "cross_entropy")
    w = _class_weight(weight, np.shape(raw(rows))[1], dtype, "cross_entropy")
    loss = CrossEntropy.apply(rows, target, w, ignore_index, float(label_smoothing), reduction)
    return _per_position(loss, out_shape, reduction)


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    """sum_c -w_c t_c log softmax(x)_c per position; 'mean' divides by the positions."""
    class_dim = 0 if np.ndim(raw(input)) == 1 else 1
    n_classes = np.shape(raw(input))[class_dim]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    logp = ops.log_softmax(input, class_dim)
    w = _class_weight(weight, n_classes, _dtype(input), "cross_entropy")
    if w is not None:
        logp = logp * w.reshape((-1,) + (1,) * (np.ndim(raw(input)) - class_dim - 1))
    losses = -ops.sum(logp * target, dim=class_dim)
    return _reduce(losses, reduction)


def nll_loss(input: Any, target: Any, weight: Any = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Any:
    """-input[n, y_n] * w[y_n] for log-probabilities ``input`` (shapes as ``cross_entropy``)."""
    reduction = _reduction(reduction, size_average, reduce)
    target = _indices(target, "nll_loss")
    rows, target, out_shape = _as_rows(input, target, "nll_loss")
    w = _class_weight(weight, np.shape(raw(rows))[1], _dtype(input), "nll_loss")
    return _per_position(NLL.apply(rows, target, w, ignore_index, reduction), out_shape, reduction)


def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0,
                      weight: Any = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Any:
    """The multiclass hinge loss: input (N, C) or (C,), target (N,) or () class indices;
    loss_n = sum_{i != y_n} max(0, margin - x[n, y_n] + x[n, i])^p * w[y_n] / C."""
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    target = _indices(target, "multi_margin_loss")
    if np.ndim(raw(input)) not in (1, 2):
        raise ValueError(f"multi_margin_loss: expected an input of shape (N, C) or (C,), got "
                         f"{np.shape(raw(input))}")
    input, target, out_shape = _as_rows(input, target, "multi_margin_loss")
    n_classes, dtype = np.shape(raw(input))[1], _dtype(input)
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        raise IndexError(f"multi_margin_loss: target out of range [0, {n_classes}): "
                         f"{target.min() if target.min() < 0 else target.max()}")
    index = target[:, None]
    correct = ops.take_along_dim(input, index, 1)                   # x[n, y_n], (N, 1)
    hinge = ops.relu(margin - correct + input)                      # (N, C)
    if p == 2:
        hinge = hinge * hinge
    others = (np.arange(n_classes) != index).astype(dtype)          # drop i = y_n
    w = _class_weight(weight, n_classes, dtype, "multi_margin_loss")
    if w is not None:
        others = others * w[target][:, None]
    losses = ops.sum(hinge * others, dim=1) / n_classes
    return _per_position(_reduce(losses, reduction), out_shape, reduction)


# -- binary --------------------------------------------------------------------------------
def _same_size(input: Any, target: Any, op: str) -> None:
    a, b = np.shape(raw(input)), np.shape(raw(target))
    if a != b:
        raise ValueError(f"{op}: Using a target size ({b}) that is different to the input size "
                         f"({a}) is deprecated. Please ensure they have the same size.")


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Any:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1]; logs clamped at -100."""
    reduction = _reduction(reduction, size_average, reduce)
    _same_size(input, target, "binary_cross_entropy")
    x = np.asarray(raw(input))
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           "and 1 (pass scores to binary_cross_entropy_with_logits instead)")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Any:
    """binary_cross_entropy(sigmoid(x), y), computed without sigmoid: see the module
    docstring. ``pos_weight`` (broadcast along the last dim) weighs the positive term."""
    reduction = _reduction(reduction, size_average, reduce)
    _same_size(input, target, "binary_cross_entropy_with_logits")
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- regression ----------------------------------------------------------------------------
def mse_loss(input: Any, target: Any, size_average=None, reduce=None,
             reduction: str = "mean") -> Any:
    """(x - y)^2, elementwise, then reduced."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, size_average=None, reduce=None,
            reduction: str = "mean") -> Any:
    """|x - y|, elementwise, then reduced (gradient sign(x - y), 0 at x = y)."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_shape(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction)


def _quadratic_then_linear(d: Any, width: float, slope: float) -> Any:
    """0.5 d^2 / width * slope where |d| < width, else slope (|d| - 0.5 width)."""
    size = ops.abs(d)
    inside = np.asarray(raw(size)) < width
    return ops.where(inside, (0.5 * slope / width) * (d * d), slope * (size - 0.5 * width))


def smooth_l1_loss(input: Any, target: Any, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Any:
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = x - y (beta = 0: L1)."""
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _warn_shape(input, target, "smooth_l1_loss")
    if beta == 0:
        return _reduce(ops.abs(input - target), reduction)
    return _reduce(_quadratic_then_linear(input - target, beta, 1.0), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Any:
    """0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta), d = x - y; ``weight`` (broadcast
    to the input) multiplies each element's loss."""
    reduction = _reduction(reduction, None, None)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    _warn_shape(input, target, "huber_loss")
    loss = _quadratic_then_linear(input - target, delta, delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- distributions -------------------------------------------------------------------------
def kl_div(input: Any, target: Any, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Any:
    """Pointwise KL terms target * (log target - input) for log-probabilities ``input``
    (``log_target``: exp(target) * (target - input)); reductions incl. 'batchmean'."""
    reduction = _reduction(reduction, size_average, reduce, _REDUCTIONS + ("batchmean",))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        positive = np.asarray(raw(target)) > 0
        # t log t with 0 log 0 = 0; log is taken of 1 where t = 0 so no -inf enters the graph
        t_log_t = ops.where(positive, target * ops.log(ops.where(positive, target, 1.0)), 0.0)
        loss = t_log_t - target * input
    if reduction == "batchmean":
        total = ops.sum(loss)
        return total / np.shape(raw(input))[0] if np.ndim(raw(input)) else total
    return _reduce(loss, reduction)
