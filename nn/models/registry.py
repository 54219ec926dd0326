"""The model zoo's registry: every zoo model by name, for the CLI, the viz and the tests.

Each model file registers its standard layouts when it is imported::

    register(ZooEntry("resnet20", resnet20, task="classify",
                      tiny=lambda: (resnet20(num_classes=3, in_channels=1), tg.randn(2, 1, 8, 8)),
                      description="CIFAR ResNet-20 (He et al. 2016), 0.27M parameters"))

* ``build(**kwargs)`` makes the model. Classifiers take ``num_classes`` and ``in_channels``
  (``in_features`` for vector models), with PyTorch/torchvision defaults otherwise.
* ``task`` says what the model's forward returns: ``"classify"`` (logits ``(N, C)``),
  ``"language"`` (next-character logits), ``"generate"`` (a GAN pair), ``"features"``
  (a pyramid of feature maps), ``"detect"`` (torchvision's detection convention: in
  training ``model(images, targets)`` -> a dict of losses, in eval ``model(images)`` -> one
  dict of ``boxes``, ``scores``, ``labels`` per image; ``tiny()`` pairs a wrapper whose
  forward returns the training losses of fixed targets).
* ``tiny()`` returns a small ``(model, example_input)`` pair: the gradient checks in
  ``tests/`` and ``tgcs gradcheck`` cast it to float64 and check every parameter.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Registry", "ZooEntry", "get", "names", "register"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> items, filled by importing the ``providers`` modules on the first look-up.

    The one registry mechanism for models: the zoo (below) and the viz's drawings
    (``viz/registry.py``) are each a ``Registry``; the CLI reads both through them.
    """

    def __init__(self, kind: str, providers: list[str]) -> None:
        self.kind, self.providers = kind, providers
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name`` (a later registration of the same name replaces it)."""
        self._items[name] = item
        return item

    def _load(self) -> None:
        if not self._loaded:
            for module in self.providers:
                importlib.import_module(module)
            self._loaded = True

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._items))

    def get(self, name: str) -> T:
        """The item called ``name``; ``KeyError`` listing the known names otherwise."""
        self._load()
        if name not in self._items:
            raise KeyError(f"no {self.kind} called {name!r}; known: {', '.join(sorted(self._items))}")
        return self._items[name]


@dataclass(frozen=True)
class ZooEntry:
    """One named model of the zoo (see the module docstring)."""
    name: str
    build: Callable[..., Any]
    task: str
    tiny: Callable[[], tuple[Any, Any]]
    description: str = ""


#: The model files, whose import registers the zoo's models: loaded on the first look-up, so a
#: process (e.g. a spawned search worker) that only imports the registry still sees them all.
PROVIDERS: list[str] = [f"tinygrad_cs.nn.models.{name}" for name in (
    "perceptron", "mlp", "linear_classifiers", "vgg", "googlenet", "mobilenet", "resnet",
    "resnext", "fpn", "char_rnn", "char_transformer", "dcgan", "detection.yolo",
    "detection.solo", "detection.faster_rcnn", "detection.mask_rcnn")]

ZOO: Registry[ZooEntry] = Registry("zoo model", PROVIDERS)


def register(entry: ZooEntry) -> ZooEntry:
    """Add ``entry`` under ``entry.name`` (a later registration of the same name replaces it)."""
    return ZOO.register(entry.name, entry)


def names(task: str | None = None) -> list[str]:
    """The registered names, sorted; only those of ``task`` when given."""
    return [n for n in ZOO if task is None or ZOO.get(n).task == task]


def get(name: str) -> ZooEntry:
    """The entry called ``name``; ``KeyError`` listing the known names otherwise."""
    return ZOO.get(name)
