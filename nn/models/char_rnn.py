"""A character-level language model (Karpathy's char-rnn): ``CharRNN``.

``Embedding(V, E) -> {LSTM | GRU | RNN}(E, H, num_layers, batch_first=True) -> Linear(H, V)``.
Given ids ``x`` (N, T) it returns logits (N, T, V): ``logits[n, t]`` scores the character
that follows ``x[n, :t+1]``. Trained with ``CrossEntropyLoss`` on ``logits.reshape(N*T, V)``
against the next characters ``y.reshape(N*T)``; its loss in nats per character compares
directly with a corpus' ``unigram_entropy``.

``sample`` generates text one character at a time (decoded with ``corpus=`` or the
model's own ``vocab``, a ``CharVocab``): it feeds the prefix once, then each new
character with the carried hidden state (so one step costs one time step, not the whole
history), drawing from ``softmax(logits / temperature)`` restricted to the ``top_k`` best.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from ..dropout import Dropout
from ..embedding import Embedding
from ..linear import Linear
from ..module import Module
from ..rnn import GRU, LSTM, RNN
from .registry import ZooEntry, register
from .vocab import CharVocab, text_codec

__all__ = ["CharRNN", "char_gru", "char_lstm", "char_rnn"]

_CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class CharRNN(Module):
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
        ids = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
        if ids.ndim not in (1, 2):
            raise ValueError(f"CharRNN: expected ids of shape (N, T) or (T,), got shape "
                             f"{ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            # generic code (gradcheck harnesses) may cast every example input to float64
            if not np.array_equal(ids, np.round(ids)):
                raise ValueError(f"CharRNN: expected integer ids, got {ids.dtype} values of "
                                 f"shape {ids.shape} that are not whole numbers")
            x = tg.tensor(ids.astype(np.int64))
        out, new_state = self.rnn(self.embedding(x), state)
        logits = self.decoder(self.dropout(out))
        return (logits, new_state) if return_state else logits

    def sample(self, prefix: Sequence[int] | np.ndarray | str, length: int,
               temperature: float = 1.0, top_k: int | None = None, seed: int | None = None,
               corpus: Any = None) -> np.ndarray | str:
        """Generate ``length`` characters after ``prefix``, one at a time.

        Args:
            prefix: ids to start from (at least one), or a ``str`` when ``corpus`` is given.
            length: how many characters to generate.
            temperature: the logits are divided by it before the softmax; ``0`` picks the
                most likely character every step (greedy decoding), large values flatten the
                distribution towards uniform.
            top_k: if given, draw only among the ``top_k`` most likely characters.
            seed: seeds a private generator (same seed, same text); ``None`` draws from
                tinygrad_cs' global generator (so ``tg.manual_seed`` controls it).
            corpus: a ``CharCorpus`` (or any ``CharVocab``) to encode a ``str`` prefix and
                decode the result; without it a ``str`` prefix uses the model's own ``vocab``
                (set when ``train.prepare`` built it or ``train.load_model`` loaded it).

        Returns:
            the ``length`` generated ids (int64 array), or their text when ``corpus`` is given
            or the prefix is a ``str`` (the prefix is not repeated). Runs in eval mode (no
            dropout) and restores the mode.
        """
        codec = text_codec(self, prefix, corpus, "CharRNN.sample")
        if isinstance(prefix, str):
            prefix = codec.encode(prefix)
        ids = np.asarray(prefix, dtype=np.int64).ravel()
        if ids.size == 0 or ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"CharRNN.sample: prefix must be 1+ ids in 0..{self.vocab_size - 1}"
                             f", got {ids.size} ids" + (f" in {ids.min()}..{ids.max()}"
                                                       if ids.size else ""))
        if temperature < 0:
            raise ValueError(f"CharRNN.sample: temperature must be >= 0, got {temperature}")
        if top_k is not None and not 1 <= top_k <= self.vocab_size:
            raise ValueError(f"CharRNN.sample: top_k must be in 1..{self.vocab_size}, got {top_k}")
        rng = np.random.default_rng(seed) if seed is not None else tg.random.generator()
        was_training = self.training
        self.eval()
        try:
            with tg.no_grad():
                logits, state = self(tg.tensor(ids[None, :]), return_state=True)
                out = np.empty(length, np.int64)
                for t in range(length):
                    last = logits.numpy()[0, -1].astype(np.float64)
                    out[t] = _draw(last, temperature, top_k, rng)
                    logits, state = self(tg.tensor(out[None, t:t + 1]), state,
                                         return_state=True)
        finally:
            self.train(was_training)
        return codec.decode(out) if codec is not None else out


def _draw(logits: np.ndarray, temperature: float, top_k: int | None,
          rng: np.random.Generator) -> int:
    """One id from softmax(logits / temperature) over the top_k best (argmax when T == 0)."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k is not None and top_k < z.size:
        z = np.where(z >= np.partition(z, -top_k)[-top_k], z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(z.size, p=p))


def _builder(cell: str):
    def build(num_classes: int | None = None, vocab_size: int | None = None,
              **kwargs: Any) -> CharRNN:
        """A ``CharRNN`` of this cell; ``num_classes`` (the data's vocabulary size, as
        ``Splits.num_classes`` gives it) and ``vocab_size`` are the same thing."""
        if num_classes is not None and vocab_size is not None and num_classes != vocab_size:
            raise ValueError(f"char_{cell}: num_classes={num_classes} and vocab_size="
                             f"{vocab_size} disagree (both are the vocabulary size)")
        size = vocab_size if vocab_size is not None else num_classes
        if size is None:
            raise TypeError(f"char_{cell}: give the vocabulary size as num_classes= or "
                            "vocab_size=")
        return CharRNN(size, cell=cell, **kwargs)
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
