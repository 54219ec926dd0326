"""``CharVocab``: the characters a language model reads and writes, and the map to ids.

A vocabulary of V distinct characters ``chars[0..V-1]`` maps a string to int64 ids
(``encode``: character -> its position) and back (``decode``). ``data.CharCorpus`` is a
``CharVocab`` (its text's sorted characters) that also holds the text; a trained language
model keeps a bare ``CharVocab`` as ``model.vocab`` (set when ``train.prepare`` builds it,
saved in the training checkpoint), so that ``model.sample("def ", 100)`` returns text with
no corpus at hand. ``text_codec`` is that choice, shared by every model's ``sample``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["CharVocab", "text_codec"]


class CharVocab:
    """The characters ``chars`` (distinct, in id order) and the map between text and ids.

    ``vocab``: the characters as a tuple (``vocab[i]`` has id ``i``); ``len()`` is V.
    """

    def __init__(self, chars: Iterable[str]) -> None:
        vocab = tuple(chars)
        bad = [c for c in vocab if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ValueError(f"{type(self).__name__}: expected single characters, got "
                             f"{bad[0]!r}")
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"{type(self).__name__}: the {len(vocab)} characters repeat "
                             f"(only {len(set(vocab))} distinct)")
        self.vocab: tuple[str, ...] = vocab
        self._index = {c: i for i, c in enumerate(vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"CharVocab({len(self.vocab)} characters)"

    def encode(self, text: str) -> np.ndarray:
        """``str`` of length L -> int64 ids (L,); a character outside the vocabulary raises."""
        try:
            return np.fromiter((self._index[c] for c in text), np.int64, len(text))
        except KeyError as e:
            raise KeyError(f"{type(self).__name__}.encode: character {e.args[0]!r} is not in "
                           f"the vocabulary of {len(self.vocab)} characters") from None

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """int ids (any shape, read in order) -> ``str``; an id outside 0..V-1 raises."""
        flat = np.asarray(ids, dtype=np.int64).ravel()
        bad = flat[(flat < 0) | (flat >= len(self.vocab))]
        if bad.size:
            raise IndexError(f"{type(self).__name__}.decode: id {int(bad[0])} is outside the "
                             f"vocabulary 0..{len(self.vocab) - 1}")
        return "".join(self.vocab[i] for i in flat)


def text_codec(model: Any, prefix: Any, corpus: Any, who: str) -> Any:
    """What encodes a ``str`` prefix and decodes a sample: ``corpus`` when given, else the
    model's own ``vocab`` when the prefix is a ``str``; None (ids in, ids out) otherwise.
    ``who`` names the caller in the error for a ``str`` prefix with neither."""
    if corpus is not None:
        return corpus
    if not isinstance(prefix, str):
        return None
    vocab = getattr(model, "vocab", None)
    if vocab is None:
        raise ValueError(f"{who}: a str prefix needs corpus= to encode it (or a model that "
                         f"knows its vocabulary: model.vocab, which train.prepare and "
                         f"train.load_model set)")
    return vocab
