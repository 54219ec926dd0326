"""The model zoo's registry: every zoo model by name, for the CLI, the viz and the tests.

Each model file registers its standard layouts when it is imported::

    register(ZooEntry("resnet20", resnet20, task="classify",
                      tiny=lambda: (resnet20(num_classes=3, in_channels=1), tg.randn(2, 1, 8, 8)),
                      description="CIFAR ResNet-20 (He et al. 2016), 0.27M parameters"))

* ``build(**kwargs)`` makes the model. Classifiers take ``num_classes`` and ``in_channels``
  (``in_features`` for vector models), with PyTorch/torchvision defaults otherwise.
* ``task`` says what the model's forward returns: ``"classify"`` (logits ``(N, C)``),
  ``"language"`` (next-character logits), ``"generate"`` (a GAN pair), ``"features"``
  (a pyramid of feature maps).
* ``tiny()`` returns a small ``(model, example_input)`` pair: the gradient checks in
  ``tests/`` and ``tgcs gradcheck`` cast it to float64 and check every parameter.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ZooEntry", "get", "names", "register"]

# The modules whose import registers the zoo's models: loaded on the first look-up, so a
# process (e.g. a spawned search worker) that only imports the registry still sees them all.
PROVIDERS: list[str] = [f"tinygrad_cs.nn.models.{name}" for name in (
    "perceptron", "mlp", "linear_classifiers", "vgg", "googlenet", "mobilenet", "resnet",
    "resnext", "fpn", "char_rnn", "char_transformer", "dcgan")]

_ZOO: dict[str, ZooEntry] = {}


@dataclass(frozen=True)
class ZooEntry:
    """One named model of the zoo (see the module docstring)."""
    name: str
    build: Callable[..., Any]
    task: str
    tiny: Callable[[], tuple[Any, Any]]
    description: str = ""


def register(entry: ZooEntry) -> ZooEntry:
    """Add ``entry`` under ``entry.name`` (a later registration of the same name replaces it)."""
    _ZOO[entry.name] = entry
    return entry


def _load() -> None:
    for module in PROVIDERS:
        importlib.import_module(module)


def names(task: str | None = None) -> list[str]:
    """The registered names, sorted; only those of ``task`` when given."""
    _load()
    return sorted(n for n, e in _ZOO.items() if task is None or e.task == task)


def get(name: str) -> ZooEntry:
    """The entry called ``name``; ``KeyError`` listing the known names otherwise."""
    _load()
    if name not in _ZOO:
        raise KeyError(f"no zoo model called {name!r}; known: {', '.join(sorted(_ZOO))}")
    return _ZOO[name]
