"""``tinygrad_cs.vision``: torchvision's counterpart, for the idioms real code uses.

``import tinygrad_cs.vision as torchvision`` or ``from tinygrad_cs.vision import datasets,
transforms``: ``datasets`` (MNIST, FashionMNIST, CIFAR10/100, ImageFolder, FakeData, read from
local files only), ``transforms`` (torchvision's per-image transforms, and
``transforms.functional``). It sits on top of ``nn`` and ``data``; the engine core never
imports it.
"""
from . import datasets, transforms

__all__ = ["datasets", "transforms"]
