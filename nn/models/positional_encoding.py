"""``PositionalEncoding``: the sinusoidal position signal of "Attention Is All You Need".

Self-attention is blind to order (permuting the keys permutes nothing in the result), so each
position p gets a fixed vector added to its embedding::

    pe[p, 2i]     = sin(p / 10000^(2i / d_model))
    pe[p, 2i + 1] = cos(p / 10000^(2i / d_model))

wavelengths from 2 pi to 10000 * 2 pi; pe[p + k] is a linear function of pe[p] for every
offset k, which lets attention read relative positions. An odd ``d_model`` works too (the
last column is a sine).

Shapes: x (T, N, E) -> (T, N, E) (``batch_first=True``: (N, T, E)); unbatched (T, E). The
buffer ``pe`` is (max_len, 1, d_model), the layout of PyTorch's word-language-model example,
so its state_dicts load here.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_cs import Tensor, dtypes

from ..dropout import Dropout
from ..module import Module

__all__ = ["PositionalEncoding", "sinusoids"]


def sinusoids(max_len: int, d_model: int) -> np.ndarray:
    """The (max_len, d_model) table of the module docstring, in float64."""
    position = np.arange(max_len, dtype=np.float64)[:, None]
    frequency = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency[:d_model // 2])
    return table


class PositionalEncoding(Module):
    """``PositionalEncoding(d_model, dropout=0.1, max_len=5000, batch_first=False)``:
    x + pe[:T], then dropout (training mode only)."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000,
                 batch_first: bool = False) -> None:
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(p=dropout)
        table = sinusoids(max_len, d_model).astype(dtypes.get_default_dtype())
        self.register_buffer("pe", Tensor(table[:, None, :]))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise ValueError(f"PositionalEncoding: expected x of shape (T, N, {self.d_model}), "
                             f"(N, T, {self.d_model}) with batch_first, or (T, {self.d_model}),"
                             f" got {tuple(x.shape)}")
        length = x.shape[1] if x.ndim == 3 and self.batch_first else x.shape[0]
        if length > self.max_len:
            raise ValueError(f"PositionalEncoding: a sequence of length {length} is longer "
                             f"than max_len={self.max_len} (input of shape {tuple(x.shape)})")
        # (T, 1, E) broadcasts over the batch of (T, N, E); (T, E) for the other layouts
        pe = self.pe[:length] if x.ndim == 3 and not self.batch_first else self.pe[:length, 0]
        return self.dropout(x + pe)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"
