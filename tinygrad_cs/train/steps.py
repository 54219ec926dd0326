"""One batch's worth of work, shared by ``fit``, the sanity checks and the LR finder.

A batch is any ``(x, y)`` pair (extra fields are ignored) of Tensors or numpy arrays, as a
``DataLoader`` yields them. The loss and the accuracy understand two output layouts:

* classification: scores ``(N, C)`` against class indices ``(N,)``;
* sequences (character language models): scores ``(N, T, V)`` against indices ``(N, T)``.
  They are flattened to ``(N*T, V)`` / ``(N*T,)`` before ``loss_fn``, as char-RNN training
  loops do, because ``CrossEntropyLoss`` (like PyTorch's) wants the classes in dim 1.

Accuracy is ``mean(argmax(scores, -1) == y)`` over all predicted positions; it is ``None``
when the targets are not integer class indices of that shape (regression, for example).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

__all__ = ["as_tensor", "batch_loss", "correct", "split_batch"]


def as_tensor(value: Any) -> Tensor:
    """A Tensor as is; a numpy array or number wrapped (arrays keep their dtype)."""
    return value if isinstance(value, Tensor) else tg.tensor(np.asarray(value))


def split_batch(batch: Any) -> tuple[Tensor, Tensor]:
    """``(x, y)`` Tensors of one batch; ``ValueError`` naming what came instead."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(f"train: a batch must be an (inputs, targets) pair, got "
                         f"{type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, (tuple, list))
                            else ""))
    return as_tensor(batch[0]), as_tensor(batch[1])


def _is_sequence(out: Tensor, y: Tensor) -> bool:
    return out.ndim >= 3 and y.ndim == out.ndim - 1 and out.shape[:-1] == y.shape


def batch_loss(loss_fn: Callable[[Tensor, Tensor], Tensor], out: Tensor, y: Tensor) -> Tensor:
    """``loss_fn(out, y)``, with sequence outputs ``(N, T, V)`` flattened first (see above)."""
    if _is_sequence(out, y):
        out, y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
    loss = loss_fn(out, y)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"train: loss_fn {type(loss_fn).__name__} must return a scalar "
                         f"Tensor, got {shape} for outputs {out.shape} and targets {y.shape}")
    return loss


def correct(out: Tensor, y: Tensor) -> tuple[int, int] | None:
    """(number of correct argmax predictions, number of predictions), or ``None`` when the
    targets are not class indices matching ``out``'s leading dims."""
    if y.dtype.kind not in "iu" or out.ndim != y.ndim + 1 or out.shape[:-1] != y.shape:
        return None
    predicted = np.argmax(out.numpy(), axis=-1)
    return int(np.count_nonzero(predicted == y.numpy())), int(y.numel())
