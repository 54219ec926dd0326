"""Entries for the fused loss ops (``ops/cross_entropy.py``, ``ops/binary_cross_entropy.py``),
called as ``nn.functional`` calls them: (N, C, d) scores become rows (N*d, C) first.

Class weights are passed as tuples of floats (turned into arrays inside ``fn``): they are
constants of these ops (no gradient flows to them, as in PyTorch), so they must not arrive
as Tensors that require grad. Every drawn target set keeps at least one counted target,
since a 'mean' over no targets is NaN.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import binary_cross_entropy as B
from ...ops import cross_entropy as CE
from ..registry import register
from ..strategies import arrays, floats

IGNORE = -100


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _reference(logp, target, weight, reduction, smoothing=0.0):
    """PyTorch's class-index loss on log-probabilities (M, C) in float64 (module docstring
    of ``ops/cross_entropy.py``): smoothing 0 is NLL."""
    m, c = logp.shape
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    valid = target != IGNORE
    y = np.where(valid, target, 0)
    w_y = w[y] * valid
    losses = -(1.0 - smoothing) * w_y * logp[np.arange(m), y]
    losses -= smoothing / c * (logp * w).sum(axis=1) * valid
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / w_y.sum()


@st.composite
def _class_args(draw, weighted: bool, ignore: bool, rank: int = 2):
    """``(x, target, weight)``: x (N, C[, d]), integer targets, weight a tuple or None."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    extra = (draw(st.integers(1, 3)),) if rank == 3 else ()
    x = draw(arrays((n, c) + extra, elements=floats(-4.0, 4.0), contiguous=True))
    size = n * int(np.prod(extra))
    labels = st.integers(0, c - 1) | st.just(IGNORE) if ignore else st.integers(0, c - 1)
    target = np.array(draw(st.lists(labels, min_size=size, max_size=size)), dtype=np.int64)
    if (target == IGNORE).all():
        target[0] = 0
    weight = tuple(draw(st.lists(floats(0.2, 2.0), min_size=c, max_size=c))) if weighted else None
    return x, target.reshape((n,) + extra), weight


def _rows(x, target):
    """(N, C, d) scores as rows (N*d, C) and targets (N*d,), as ``nn.functional`` does."""
    if x.ndim == 2:
        return x, target
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), target.reshape(-1)


def _class_loss(op, x, target, weight, *args):
    """``op`` on the rows of x (N, C[, d]) (classes last, as ``nn.functional`` arranges them);
    'none' losses come back in the target's shape."""
    w = None if weight is None else np.array(weight)
    rows = x if len(x.shape) == 2 else ops.reshape(ops.permute(x, (0, 2, 1)), (-1, x.shape[1]))
    loss = op.apply(rows, target.reshape(-1), w, IGNORE, *args)
    return ops.reshape(loss, target.shape) if args[-1] == "none" else loss


def _ce_entry(name, reduction, smoothing=0.0, weighted=False, ignore=False, rank=2):
    def fn(x, target, weight):
        return _class_loss(CE.CrossEntropy, x, target, weight, float(smoothing), reduction)

    def reference(x, target, weight):
        rows, t = _rows(x, target)
        out = _reference(_log_softmax(rows), t, weight, reduction, smoothing)
        return out.reshape(target.shape) if reduction == "none" else out

    register(name, fn, reference=reference, inputs=_class_args(weighted, ignore, rank),
             covers=CE.CrossEntropy, forward_rtol=1e-10, forward_atol=1e-12)


_ce_entry("cross_entropy[mean]", "mean")
_ce_entry("cross_entropy[sum]", "sum")
_ce_entry("cross_entropy[none]", "none")
_ce_entry("cross_entropy[weight, ignore_index, label_smoothing]", "mean", 0.2, True, True)
_ce_entry("cross_entropy[label_smoothing, none]", "none", 0.1, False, True)
_ce_entry("cross_entropy[(N, C, d) scores]", "mean", 0.1, True, True, rank=3)


def _nll_entry(name, reduction, weighted=False, ignore=False):
    def fn(x, target, weight):
        return _class_loss(CE.NLL, x, target, weight, reduction)

    register(name, fn, reference=lambda x, t, w: _reference(x, t, w, reduction),
             inputs=_class_args(weighted, ignore), covers=CE.NLL, forward_rtol=1e-12)


_nll_entry("nll_loss[mean]", "mean")
_nll_entry("nll_loss[weight, ignore_index, none]", "none", True, True)
_nll_entry("nll_loss[weight, ignore_index, mean]", "mean", True, True)


@st.composite
def _probabilities(draw):
    """``(x, y)``: x in (0.05, 0.95) (away from the clamp), y in [0, 1], one shape."""
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2))))
    return (draw(arrays(shape, elements=floats(0.05, 0.95), contiguous=True)),
            draw(arrays(shape, elements=floats(0.0, 1.0), contiguous=True)))


register("binary_cross_entropy", lambda x, y: B.BinaryCrossEntropy.apply(x, y),
         reference=lambda x, y: -(y * np.log(x) + (1 - y) * np.log(1 - x)),
         inputs=_probabilities(), covers=B.BinaryCrossEntropy, forward_rtol=1e-12)


@st.composite
def _scores(draw, with_pos_weight: bool):
    """``(x, y[, p])``: scores x in [-6, 6], targets y in [0, 1], pos_weight p in [0.5, 3]
    broadcast along the last dim (a tensor: the gradient flows to it too)."""
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2))))
    x = draw(arrays(shape, elements=floats(-6.0, 6.0), contiguous=True))
    y = draw(arrays(shape, elements=floats(0.0, 1.0), contiguous=True))
    if not with_pos_weight:
        return x, y
    return x, y, draw(arrays(shape[-1:], elements=floats(0.5, 3.0), contiguous=True))


def _bce_logits_ref(x, y, p=None):
    weight = 1.0 if p is None else 1.0 + (p - 1.0) * y
    return (1.0 - y) * x + weight * np.logaddexp(0.0, -x)


register("binary_cross_entropy_with_logits",
         lambda x, y: B.BinaryCrossEntropyWithLogits.apply(x, y, None),
         reference=_bce_logits_ref, inputs=_scores(False),
         covers=B.BinaryCrossEntropyWithLogits, forward_rtol=1e-12)
register("binary_cross_entropy_with_logits[pos_weight]",
         lambda x, y, p: B.BinaryCrossEntropyWithLogits.apply(x, y, p),
         reference=_bce_logits_ref, inputs=_scores(True),
         covers=B.BinaryCrossEntropyWithLogits, forward_rtol=1e-12)
