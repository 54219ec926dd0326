"""One-hot codes, normalisation and distances, as ``torch.nn.functional`` / ``torch.nn``:

    one_hot(t, C)[..., c]       = 1 if t[...] == c else 0             (int64)
    normalize(x, p, dim)        = x / max(||x||_p, eps)               (along dim)
    cosine_similarity(a, b, d)  = sum(a b) / (max(||a||, eps) max(||b||, eps))  (along d)
    pairwise_distance(a, b, p)  = ||a - b + eps||_p                   (along the last dim)

All differentiable (``one_hot`` excepted), composed of the engine's ops.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import Tensor, ops

from ._checks import tensor_input
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance", "cosine_similarity", "normalize", "one_hot",
           "pairwise_distance"]


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 codes with a new last dim of ``num_classes`` (-1: the largest label + 1)."""
    labels = np.asarray(tensor.numpy() if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: is only applicable to index tensor (integer), got dtype "
                           f"{labels.dtype}")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got values "
                           f"from {labels.min()} to {labels.max()}")
    return Tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Any:
    """``input`` divided by its p-norm along ``dim`` (at least ``eps``)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported (assign the result instead)")
    return ops.div(input, ops.clamp(ops.norm(input, p, dim, keepdim=True), min=eps))


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """The cosine of the angle between x1 and x2 along ``dim`` (broadcast together)."""
    n1 = ops.clamp(ops.norm(x1, 2, dim), min=eps)
    n2 = ops.clamp(ops.norm(x2, 2, dim), min=eps)
    return ops.div(ops.sum(ops.mul(x1, x2), dim), ops.mul(n1, n2))


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Any:
    """The p-norm of x1 - x2 + eps along the last dim."""
    return ops.norm(ops.add(ops.sub(x1, x2), eps), p, -1, keepdim)


class CosineSimilarity(Module):
    """``cosine_similarity(x1, x2, dim, eps)``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Any, x2: Any) -> Any:
        tensor_input(self, x1, "x1")
        return cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"


class PairwiseDistance(Module):
    """``pairwise_distance(x1, x2, p, eps, keepdim)``."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Any, x2: Any) -> Any:
        tensor_input(self, x1, "x1")
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def extra_repr(self) -> str:
        return f"p={self.norm}, eps={self.eps}, keepdim={self.keepdim}"
