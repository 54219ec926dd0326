"""A character-level Transformer language model (a small GPT-style decoder): ``CharTransformer``.

``Embedding(V, E) * sqrt(E) + PositionalEncoding -> TransformerEncoder(num_layers, causal
self-attention, pre-norm, final LayerNorm) -> Linear(E, V)``. Given ids ``x`` (N, T) it
returns logits (N, T, V): ``logits[n, t]`` scores the character that follows ``x[n, :t+1]``
(the causal mask keeps position t from reading positions after it), so it trains exactly as
``CharRNN`` does: ``CrossEntropyLoss`` on ``logits.reshape(N*T, V)`` against the next
characters, with a loss in nats per character comparable to ``unigram_entropy``.

Pre-norm layers (``norm_first=True``, Xiong et al. 2020) keep the residual path an identity,
which trains at the learning rates ``tgcs train`` uses without a warm-up.

``sample`` (``char_lm.CharSampling``, the same API as ``CharRNN.sample``) has no state to
carry: each step re-reads the last ``max_len`` characters (the model's context) and draws
the next one from the last position's logits.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from ..embedding import Embedding
from ..linear import Linear
from ..module import Module
from ..normalization import LayerNorm
from ..transformer import Transformer, TransformerEncoder
from ..transformer_layers import TransformerEncoderLayer
from .char_lm import CharSampling, as_ids, vocab_size_of
from .positional_encoding import PositionalEncoding
from .registry import ZooEntry, register
from .vocab import CharVocab

__all__ = ["CharTransformer", "char_transformer"]


class CharTransformer(CharSampling, Module):
    """Next-character model: ids (N, T) int64 -> logits (N, T, vocab_size).

    Args:
        vocab_size: V, the number of distinct characters.
        d_model: E, the size of each position's vector.
        nhead: attention heads per layer (E must be divisible by it).
        num_layers: stacked encoder layers.
        dim_feedforward: the hidden size of each layer's feed-forward block.
        dropout: on the positional sum, the attention weights and inside each layer
            (training mode only).
        max_len: the longest context, T <= max_len.

    ``vocab``: a ``CharVocab`` of the ``vocab_size`` characters the ids stand for, or None
    (the default) when the model was built without text; ``sample`` decodes with it.
    """

    def __init__(self, vocab_size: int, d_model: int = 128, nhead: int = 4,
                 num_layers: int = 2, dim_feedforward: int = 512, dropout: float = 0.1,
                 max_len: int = 512) -> None:
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size < 2:
            raise ValueError(f"CharTransformer: vocab_size must be an integer >= 2, got "
                             f"{vocab_size!r}")
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.vocab: CharVocab | None = None
        self.embedding = Embedding(vocab_size, d_model)
        self.pos_encoder = PositionalEncoding(d_model, dropout, max_len, batch_first=True)
        layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, num_layers, LayerNorm(d_model))
        self.decoder = Linear(d_model, vocab_size)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, T, V) for ids ``x`` (N, T) (an unbatched (T,) gives (T, V))."""
        x = as_ids(x, "CharTransformer")
        length = x.shape[-1]
        if length > self.max_len:
            raise ValueError(f"CharTransformer: {length} characters exceed the context of "
                             f"max_len={self.max_len} (ids of shape {tuple(x.shape)})")
        h = self.pos_encoder(self.embedding(x) * math.sqrt(self.d_model))
        mask = Transformer.generate_square_subsequent_mask(length, dtype=h.dtype)
        return self.decoder(self.encoder(h, mask=mask, is_causal=True))

    def _next_logits(self, ids: np.ndarray):
        """Each step reads the last ``max_len`` ids again (there is no state to carry)."""
        history = list(ids)
        while True:
            window = np.array([history[-self.max_len:]], dtype=np.int64)
            history.append((yield self(tg.tensor(window)).numpy()[0, -1]))


def char_transformer(num_classes: int | None = None, vocab_size: int | None = None,
                     **kwargs: Any) -> CharTransformer:
    """A ``CharTransformer``; ``num_classes`` (the data's vocabulary size, as
    ``Splits.num_classes`` gives it) and ``vocab_size`` are the same thing."""
    return CharTransformer(vocab_size_of("char_transformer", num_classes, vocab_size),
                           **kwargs)


def _tiny() -> tuple[CharTransformer, Tensor]:
    model = CharTransformer(5, d_model=4, nhead=2, num_layers=1, dim_feedforward=6,
                            dropout=0.0, max_len=8)
    return model, tg.tensor(np.array([[0, 3, 1, 4], [2, 2, 0, 1]], dtype=np.int64))


register(ZooEntry("char_transformer", char_transformer, task="language", tiny=_tiny,
                  description="character-level Transformer language model (causal "
                              "self-attention): Embedding + sinusoidal positions -> pre-norm "
                              "TransformerEncoder -> Linear"))
