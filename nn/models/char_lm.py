"""What the character-level language models share (``CharRNN``, ``CharTransformer``): reading
their id inputs, naming their vocabulary size in a zoo builder, and generating text.

``CharSampling.sample`` draws one character at a time from ``softmax(logits / temperature)``
restricted to the ``top_k`` most likely; each model says how it gets the next logits by
``_next_logits(ids)``, a generator that yields the last position's logits (V,) and receives
the id drawn (the RNN carries its hidden state, the Transformer re-reads a window).
"""
from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor
from tinygrad_cs.ops._util import raw

from .vocab import text_codec

__all__ = ["CharSampling", "as_ids", "draw", "vocab_size_of"]


def as_ids(x: Any, owner: str) -> Tensor:
    """``x`` as int64 ids (N, T) or (T,). Generic harnesses (gradient checks) may cast every
    example input to float64: whole-number floats are accepted, anything else raises."""
    # raw, not numpy(): the values are only checked (integer ids pass on as ``x`` itself),
    # which tg.compile must not take for a value computed in numpy
    ids = raw(x) if isinstance(x, Tensor) else np.asarray(x)
    if ids.ndim not in (1, 2):
        raise ValueError(f"{owner}: expected ids of shape (N, T) or (T,), got shape {ids.shape}")
    if np.issubdtype(ids.dtype, np.integer):
        return x if isinstance(x, Tensor) else tg.tensor(ids)
    if not np.array_equal(ids, np.round(ids)):
        raise ValueError(f"{owner}: expected integer ids, got {ids.dtype} values of shape "
                         f"{ids.shape} that are not whole numbers")
    return tg.tensor(ids.astype(np.int64))


def vocab_size_of(name: str, num_classes: int | None, vocab_size: int | None) -> int:
    """A zoo builder's vocabulary size: ``num_classes`` (as ``Splits.num_classes`` gives it)
    and ``vocab_size`` are the same thing; one of them is needed, and they must agree."""
    if num_classes is not None and vocab_size is not None and num_classes != vocab_size:
        raise ValueError(f"{name}: num_classes={num_classes} and vocab_size={vocab_size} "
                         "disagree (both are the vocabulary size)")
    size = vocab_size if vocab_size is not None else num_classes
    if size is None:
        raise TypeError(f"{name}: give the vocabulary size as num_classes= or vocab_size=")
    return size


def draw(logits: np.ndarray, temperature: float, top_k: int | None,
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


class CharSampling:
    """Mixin of the character models: ``sample``. Needs ``vocab_size``, ``vocab`` (a
    ``CharVocab`` or None) and ``_next_logits``."""

    vocab_size: int

    def _next_logits(self, ids: np.ndarray) -> Generator[np.ndarray, int, None]:
        """Yield the logits (V,) that follow ``ids``, then those after each id sent in.
        Every model defines its own (called in eval mode, under ``no_grad``)."""
        raise NotImplementedError(f"{type(self).__name__} must define _next_logits")

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
        name = f"{type(self).__name__}.sample"
        codec = text_codec(self, prefix, corpus, name)
        if isinstance(prefix, str):
            prefix = codec.encode(prefix)
        ids = np.asarray(prefix, dtype=np.int64).ravel()
        if ids.size == 0 or ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"{name}: prefix must be 1+ ids in 0..{self.vocab_size - 1}, got "
                             f"{ids.size} ids" + (f" in {ids.min()}..{ids.max()}"
                                                  if ids.size else ""))
        if temperature < 0:
            raise ValueError(f"{name}: temperature must be >= 0, got {temperature}")
        if top_k is not None and not 1 <= top_k <= self.vocab_size:
            raise ValueError(f"{name}: top_k must be in 1..{self.vocab_size}, got {top_k}")
        rng = np.random.default_rng(seed) if seed is not None else tg.random.generator()
        was_training = self.training
        self.eval()
        try:
            with tg.no_grad():
                out = np.empty(length, np.int64)
                stream = self._next_logits(ids)
                logits = next(stream)
                for t in range(length):
                    out[t] = draw(logits.astype(np.float64), temperature, top_k, rng)
                    if t + 1 < length:
                        logits = stream.send(int(out[t]))
                stream.close()
        finally:
            self.train(was_training)
        return codec.decode(out) if codec is not None else out
