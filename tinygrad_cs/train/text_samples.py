"""``TextSamples``: watch a language model learn, one sample of its text per epoch.

A ``fit`` callback: after each epoch it asks the model for ``length`` characters after a
fixed ``prefix`` (``model.sample(prefix, length, temperature, top_k, seed, corpus)``, the API
of the zoo's ``"language"`` models), prints them and appends them to a file, e.g.::

    == epoch 3 (prefix 'def ', temperature 0.8, seed 0)
    def _parse_args(self, args):
        ...

The sample draws from its own generator seeded with ``seed`` (the same every epoch, so the
epochs differ only by what the model learned) and leaves the global random state, the
model's mode and its parameters as they were: training goes on exactly as without it.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["TextSamples", "sample_prefix"]


def sample_prefix(codec: Any, wanted: str | None, default: str = "def ") -> str:
    """The prefix to sample after: ``wanted`` (a ``ValueError`` naming a character the
    vocabulary ``codec`` lacks), else ``default`` when the vocabulary has its characters,
    else the vocabulary's first character that is a letter (its first character if none is)."""
    known = set(codec.vocab)
    if wanted is not None:
        missing = [c for c in wanted if c not in known]
        if not wanted or missing:
            what = "is empty" if not wanted else f"has {missing[0]!r}, which the text lacks"
            raise ValueError(f"sample prefix {wanted!r} {what}")
        return wanted
    if set(default) <= known:
        return default
    return next((c for c in codec.vocab if c.isalpha()), codec.vocab[0])


class TextSamples:
    """After each epoch, ``model``'s sample after ``prefix``, printed (``echo``) and appended
    to ``path`` (when given) under a ``== epoch N`` line.

    ``corpus``: passed on to ``model.sample`` to encode the prefix and decode the sample
    (default None: the model's own ``vocab``). ``samples``: ``[(epoch, text), ...]`` so far.
    """

    def __init__(self, model: Any, path: str | os.PathLike | None = None, *,
                 prefix: str = "def ", length: int = 200, temperature: float = 0.8,
                 top_k: int | None = None, seed: int = 0, corpus: Any = None,
                 echo: bool = True) -> None:
        if not callable(getattr(model, "sample", None)):
            raise TypeError(f"TextSamples: {type(model).__name__} has no sample method (a "
                            f"language model's sample(prefix, length, ...))")
        if length < 1:
            raise ValueError(f"TextSamples: length must be >= 1, got {length}")
        self.model, self.path, self.prefix, self.length = model, path, prefix, length
        self.temperature, self.top_k, self.seed = temperature, top_k, seed
        self.corpus, self.echo = corpus, echo
        self.samples: list[tuple[int, str]] = []

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        text = self.model.sample(self.prefix, self.length, temperature=self.temperature,
                                 top_k=self.top_k, seed=self.seed, corpus=self.corpus)
        self.samples.append((row["epoch"], text))
        block = (f"== epoch {row['epoch']} (prefix {self.prefix!r}, temperature "
                 f"{self.temperature:g}, seed {self.seed})\n{self.prefix}{text}\n")
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(block + "\n")
        if self.echo:
            print(block, flush=True)
