"""The class-index losses as fused ops: ``CrossEntropy`` (log-softmax + NLL + label smoothing
in one node) and ``NLL``.

Shapes: scores x (M, C), targets y (M,) integer (``nn.functional`` flattens (N, C, d1, ...)
inputs to M = N * d1 * ... rows first). With class weights w (C,) (all 1 if none), ignore
mask v_i = [y_i != ignore_index], smoothing e and log-probabilities logp = log_softmax(x):

    NLL:            loss_i = -v_i w[y_i] x[i, y_i]                 (x holds log-probabilities)
    cross-entropy:  loss_i = v_i ( (1 - e) w[y_i] (-logp[i, y_i]) + e / C sum_c w_c (-logp[i, c]) )

Reductions, as PyTorch: 'none' -> loss (M,); 'sum' -> sum_i loss_i; 'mean' -> sum_i loss_i / D
with D = sum_i v_i w[y_i], the *weighted* number of counted targets (so a weighted mean, not
sum / M; NaN when every target is ignored, with zero gradients).

Gradients (s_i = the output gradient g_i, or g, or g / D for the three reductions):

    NLL:            dx[i, c] = -s_i v_i w[y_i] [c = y_i]
    cross-entropy:  dx[i, c] = s_i ( p[i, c] k_i - t[i, c] ),   p = softmax(x),
                    t[i, c] = v_i ((1 - e) w[y_i] [c = y_i] + e / C w_c),   k_i = sum_c t[i, c]

Why fused: log_softmax followed by a gather builds two graph nodes and runs two backward
passes over the (M, C) scores; one op does it in one (``benchmarks/bench_mlp.py`` times
both). The backward is written with the engine's ops (``softmax`` of the saved input), so
second derivatives work; a plain backward reuses the probabilities kept by the forward
instead of recomputing them. The class weights are constants (no gradient flows to
``weight``, as in PyTorch).
"""
from __future__ import annotations

import numpy as np

from ..engine import Function, Node
from ..grad_mode import state as _state
from .logexp import softmax

__all__ = ["NLL", "CrossEntropy", "class_weights"]


def class_weights(target: np.ndarray, n_classes: int, weight: np.ndarray | None,
                  ignore_index: int, dtype) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(index, w_y, valid)`` for class-index targets y (M,).

    ``index`` is y with ignored positions set to 0 (safe to gather with); ``valid[i] = v_i``;
    ``w_y[i] = v_i w[y_i]`` as ``dtype``, or None when every w_y is 1 (no class weights and
    nothing ignored: the common case, which then skips the multiplications by w_y). Under
    ``tg.compile``'s trace w_y is always an array and ``index`` a new one: whether a target
    is ignored depends on the data, so the program must carry both as values, not freeze
    the trace's None (or ``index`` being the target array itself).
    Raises IndexError naming a target outside [0, C).
    """
    valid = target != ignore_index
    # under a trace: the array forms, whatever this batch holds (see above)
    all_valid = valid.all() and not _state.in_trace
    index = target if all_valid else np.where(valid, target, 0)
    if index.size and (index.min() < 0 or index.max() >= n_classes):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"Target {bad} is out of bounds: expected class indices in "
                         f"[0, {n_classes}) (or ignore_index={ignore_index})")
    if weight is None:
        w_y = None if all_valid else valid.astype(dtype)
    else:
        w_y = np.where(valid, weight[index], 0).astype(dtype)
    return index, w_y, valid


def _reduce(losses: np.ndarray, w_y: np.ndarray | None, reduction: str):
    """(reduced loss, the factor 1 / D that 'mean' puts on the output gradient).

    With w_y, D depends on the targets, so 1 / D is a numpy float64 (``tg.compile`` then
    keeps it as a program value, not a constant); without, D is the number of rows.
    """
    if reduction == "none":
        return losses, None
    total = losses.sum()
    if reduction == "sum":
        return total, None
    denominator = len(losses) if w_y is None else w_y.sum()
    if denominator == 0:  # every target ignored (or no rows): NaN, as PyTorch; zero gradients
        inv = 0.0
        total = total * np.nan
    else:
        inv = 1.0 / float(denominator)
        total = total / denominator
    return total, (inv if w_y is None else np.float64(inv))


def _scale(grad, ctx):
    """The output gradient as a column, one s_i per row (see the module docstring)."""
    if ctx.reduction == "none":
        return grad[:, None]
    # float(): a Python number keeps grad's dtype (a numpy float64 would widen it)
    return grad * float(ctx.inv_total) if ctx.reduction == "mean" else grad


def _onehot(shape: tuple, index: np.ndarray, values, dtype) -> np.ndarray:
    """zeros(shape) with values[i] (an array, or one number for all) at (i, index[i])."""
    t = np.zeros(shape, dtype=dtype)
    t[np.arange(shape[0]), index] = values
    return t


class NLL(Function):
    """The negative log-likelihood of log-probabilities x (M, C) at class indices (M,)."""

    name = "nll_loss"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        index, w_y, _ = class_weights(target, x.shape[1], weight, ignore_index, x.dtype)
        losses = -x[np.arange(x.shape[0]), index]
        if w_y is not None:
            losses *= w_y
        loss, ctx.inv_total = _reduce(losses, w_y, reduction)
        ctx.shape, ctx.dtype, ctx.index, ctx.w_y = x.shape, x.dtype, index, w_y
        ctx.reduction = reduction
        return loss

    @staticmethod
    def backward(ctx, grad):
        t = _onehot(ctx.shape, ctx.index, 1.0 if ctx.w_y is None else ctx.w_y, ctx.dtype)
        return -(_scale(grad, ctx) * t), None, None, None, None


class CrossEntropy(Function):
    """Cross-entropy of scores x (M, C) against class indices (M,), with class weights,
    ``ignore_index`` and label smoothing; see the module docstring for the formulas."""

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        rows, n_classes = x.shape
        index, w_y, valid = class_weights(target, n_classes, weight, ignore_index, x.dtype)
        shifted = x - x.max(axis=1, keepdims=True)  # exp() cannot overflow: every entry <= 0
        probs = np.exp(shifted)
        total = probs.sum(axis=1, keepdims=True)
        log_total = np.log(total)
        # -logp[i, y_i] = log(sum_c exp(shifted[i, c])) - shifted[i, y_i]
        losses = log_total[:, 0] - shifted[np.arange(rows), index]
        if w_y is not None:
            losses *= w_y
        if label_smoothing:
            wc = 1.0 if weight is None else weight
            smooth = ((log_total - shifted) * wc).sum(axis=1)
            if w_y is not None:
                smooth *= valid
            losses = (1.0 - label_smoothing) * losses + (label_smoothing / n_classes) * smooth
        loss, ctx.inv_total = _reduce(losses, w_y, reduction)
        ctx.save_for_backward(x)
        probs /= total
        ctx.probs = probs  # softmax(x), for a plain backward
        ctx.index, ctx.w_y, ctx.valid, ctx.weight = index, w_y, valid, weight
        ctx.label_smoothing, ctx.reduction = label_smoothing, reduction
        return loss

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        probs = softmax(x, 1) if isinstance(x, Node) else ctx.probs
        e, shape, dtype = ctx.label_smoothing, ctx.probs.shape, ctx.probs.dtype
        if e == 0 and ctx.w_y is None:  # the common case: t = onehot(y), k = 1
            return ((probs - _onehot(shape, ctx.index, 1.0, dtype)) * _scale(grad, ctx),
                    None, None, None, None, None)
        w_y = np.ones(shape[0], dtype) if ctx.w_y is None else ctx.w_y
        t = _onehot(shape, ctx.index, (1.0 - e) * w_y, dtype)
        k = (1.0 - e) * w_y  # k_i = sum_c t[i, c]
        if e:
            wc = np.ones(shape[1], dtype) if ctx.weight is None else ctx.weight
            t += (e / shape[1]) * wc * ctx.valid[:, None]
            k += (e / shape[1]) * wc.sum() * ctx.valid
        return (probs * k[:, None] - t) * _scale(grad, ctx), None, None, None, None, None
