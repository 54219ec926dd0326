"""``Splits``: what every named data set loads as (see ``tinygrad_cs.data.load_dataset``)."""
from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Splits"]


class Splits(NamedTuple):
    """A data set's training and held-out parts, and what a model needs to know about them.

    Attributes:
        name: the data set's name (``"digits"``, ``"fashion-mnist"``, ...).
        train, test: ``Dataset`` objects; ``test`` is the held-out split that accuracy is
            reported on (a seeded stratified split where the source has no fixed one).
        num_classes: number of classes (the vocabulary size for text).
        input_shape: one sample's input shape, e.g. ``(1, 8, 8)``, ``(4,)``, ``(64,)``.
        classes: the class names (the characters for text).
        extra: anything else worth keeping (e.g. the fitted ``Normalize``, a ``CharCorpus``).
    """
    name: str
    train: Any
    test: Any
    num_classes: int
    input_shape: tuple
    classes: tuple
    extra: dict
