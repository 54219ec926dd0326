"""``Embedding``: a lookup table of learned vectors, one row per index.

Shapes: indices (*) integer, weight (num_embeddings, embedding_dim) -> out (*, embedding_dim),
``out[..., :] = weight[indices[...], :]``. Backward scatters the output gradient back into
the rows that were read, summing where an index occurs more than once:
``dW[k] = sum over positions i with indices[i] = k of g[i]``.

``padding_idx``: that row is initialised to zeros and never receives a gradient (so it stays
zero under any optimizer without weight decay), as PyTorch. ``max_norm``: before the lookup,
every row that is read and whose ``norm_type``-norm exceeds ``max_norm`` is rescaled in place
to norm ``max_norm`` (no gradient flows through this renormalisation).
``scale_grad_by_freq``: each row's gradient is divided by how often its index occurs in the
mini-batch. Default initialisation: N(0, 1), as PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import Tensor, dtypes, no_grad
from tinygrad_cs.ops._util import raw
from tinygrad_cs.ops.indexing import EmbeddingLookup

from . import init
from ._checks import layer_name, tensor_input
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding", "embedding"]


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"Embedding: padding_idx ({padding_idx}) must be within "
                         f"num_embeddings ({num_embeddings})")
    return padding_idx % num_embeddings


def _renorm_(weight: np.ndarray, indices: np.ndarray, max_norm: float, norm_type: float) -> None:
    rows = np.unique(indices)
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    weight[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(weight.dtype)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input`` (*): (*, dim)."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported (dense only)")
    indices = np.asarray(raw(input))
    if indices.dtype not in (np.int64, np.int32):  # PyTorch's Long and Int, nothing else
        raise RuntimeError(f"embedding: Expected tensor for argument #1 'indices' to have one "
                           f"of the following scalar types: Long, Int (int64, int32); but got "
                           f"{indices.dtype} instead (indices of shape {indices.shape})")
    num = np.shape(raw(weight))[0]
    if indices.size and (indices.min() < 0 or indices.max() >= num):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(f"embedding: index {bad} is out of range for a table of "
                         f"{num} rows")
    if max_norm is not None:
        _renorm_(raw(weight), indices, max_norm, norm_type)
    scale = None
    if scale_grad_by_freq:
        counts = np.bincount(indices.reshape(-1), minlength=num)
        scale = (1.0 / counts[indices])[..., None]
    pad = _padding_index(padding_idx, num)
    if pad is not None:
        scale = np.where((indices == pad)[..., None], 0.0, 1.0 if scale is None else scale)
    if scale is not None:
        scale = scale.astype(np.asarray(raw(weight)).dtype)
    return EmbeddingLookup.apply(weight, indices, scale)


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
    norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False,
    device=None, dtype=None)``: indices (*) -> vectors (*, embedding_dim)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"Embedding: tinygrad_cs runs on the CPU only, got {device!r}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        dt = dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, "Embedding")
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dt),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(np.shape(raw(_weight))) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {np.shape(raw(_weight))}, "
                                 f"expected ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1) entries; the padding row (if any) zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        tensor_input(self, input, "indices")
        try:
            return embedding(input, self.weight, self.padding_idx, self.max_norm,
                             self.norm_type, self.scale_grad_by_freq, self.sparse)
        except (RuntimeError, IndexError) as e:  # say which layer refused the indices
            raise type(e)(f"{layer_name(self)}: {e}") from None

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D), frozen unless ``freeze=False``."""
        rows, dim = np.shape(raw(embeddings))
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        for name, default in (("padding_idx", None), ("max_norm", None), ("norm_type", 2.0),
                              ("scale_grad_by_freq", False), ("sparse", False)):
            value = getattr(self, name)
            if value != default:
                s += f", {name}={value}"
        return s
