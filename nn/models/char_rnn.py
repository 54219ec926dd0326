"""A character-level language model (Karpathy's char-rnn): ``CharRNN``.

``Embedding(V, E) -> {LSTM | GRU | RNN}(E, H, num_layers, batch_first=True) -> Linear(H, V)``.
Given ids ``x`` (N, T) it returns logits (N, T, V): ``logits[n, t]`` scores the character
that follows ``x[n, :t+1]``. Trained with ``CrossEntropyLoss`` on ``logits.reshape(N*T, V)``
against the next characters ``y.reshape(N*T)``; its loss in nats per character compares
directly with a corpus' ``unigram_entropy``.

``sample`` (``char_lm.CharSampling``) generates text one character at a time (decoded with
``corpus=`` or the model's own ``vocab``, a ``CharVocab``): it feeds the prefix once, then
each new character with the carried hidden state (so one step costs one time step, not the
whole history), drawing from ``softmax(logits / temperature)`` restricted to the ``top_k``
best.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from ..dropout import Dropout
from ..embedding import Embedding
from ..linear import Linear
from ..module import Module
from ..rnn import GRU, LSTM, RNN
from .char_lm import CharSampling, as_ids, vocab_size_of
from .registry import ZooEntry, register
from .vocab import CharVocab

__all__ = ["CharRNN", "char_gru", "char_lstm", "char_rnn"]

_CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class CharRNN(CharSampling, Module):
    """Next-character model: ids (N, T) int64 -> logits (N, T, vocab_size).

    Args:
        vocab_size: V, the number of distinct characters.
        embed_dim: E, the size of each character's learned vector.
        hidden_size: H, the recurrent state size.
        num_layers: stacked recurrent layers.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (Elman, tanh).
        dropout: probability of zeroing the recurrent output before the classifier (and,
            with ``num_layers > 1``, between layers, as ``nn.LSTM`` does); training mode only.

    ``vocab``: a ``CharVocab`` of the ``vocab_size`` characters the ids stand for, or None
    (the default) when the model was built without text; ``sample`` decodes with it.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if not isinstance(vocab_size, int) or vocab_size < 2:
            raise ValueError(f"CharRNN: vocab_size must be an integer >= 2, got {vocab_size!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.vocab: CharVocab | None = None
        self.embedding = Embedding(vocab_size, embed_dim)
        # nn.LSTM's own dropout acts only between layers (it warns when num_layers == 1)
        self.rnn = _CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = Dropout(dropout)
        self.decoder = Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor, state: Any = None, return_state: bool = False):
        """Logits (N, T, V) for ids ``x`` (N, T) (an unbatched (T,) gives (T, V)).

        ``state`` is the recurrent state to start from (``None``: zeros): ``(h, c)`` for the
        LSTM, ``h`` for GRU/RNN, each (num_layers, N, H). With ``return_state=True`` the
        result is ``(logits, new_state)``, to continue the sequence where it stopped.
        """
        x = as_ids(x, "CharRNN")
        out, new_state = self.rnn(self.embedding(x), state)
        logits = self.decoder(self.dropout(out))
        return (logits, new_state) if return_state else logits

    def _next_logits(self, ids: np.ndarray):
        """The prefix is read once; then each new id is one step from the carried state."""
        logits, state = self(tg.tensor(ids[None, :]), return_state=True)
        while True:
            nxt = yield logits.numpy()[0, -1]
            logits, state = self(tg.tensor(np.array([[nxt]], np.int64)), state,
                                 return_state=True)


def _builder(cell: str):
    def build(num_classes: int | None = None, vocab_size: int | None = None,
              **kwargs: Any) -> CharRNN:
        """A ``CharRNN`` of this cell; ``num_classes`` (the data's vocabulary size, as
        ``Splits.num_classes`` gives it) and ``vocab_size`` are the same thing."""
        return CharRNN(vocab_size_of(f"char_{cell}", num_classes, vocab_size), cell=cell,
                       **kwargs)
    build.__name__ = build.__qualname__ = f"char_{cell}"
    return build


char_lstm, char_gru, char_rnn = _builder("lstm"), _builder("gru"), _builder("rnn")


def _tiny(cell: str):
    def tiny() -> tuple[CharRNN, Tensor]:
        model = CharRNN(5, embed_dim=3, hidden_size=4, cell=cell)
        return model, tg.tensor(np.array([[0, 3, 1, 4], [2, 2, 0, 1]], dtype=np.int64))
    return tiny


for _cell, _build, _what in (("lstm", char_lstm, "LSTM"), ("rnn", char_rnn, "Elman RNN (tanh)"),
                             ("gru", char_gru, "GRU")):
    register(ZooEntry(f"char_{_cell}", _build, task="language", tiny=_tiny(_cell),
                      description=f"character-level {_what} language model (Karpathy's "
                                  "char-rnn): Embedding -> recurrent -> Linear"))
