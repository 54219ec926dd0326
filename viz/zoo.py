"""Every model of the zoo (``tinygrad_cs.nn.models``) in the drawing registry.

``tgcs graph resnet18`` and ``python -m tinygrad_cs.viz resnet18`` draw the zoo's models:
image classifiers in their standard layout on one 32x32 image with the builder's default
channels (every zoo CNN, ImageNet layouts included, reduces 32x32 to at least 1x1), in eval
mode, and drawn up to a cross-entropy loss against class 0, so the root is a scalar and
``--grads`` colours the gradient flowing back from a loss; the others (vector, language and
GAN models) in their tiny configuration. Models with several outputs (FPN's pyramid, the
GAN pair) are drawn from the sum of their outputs' means, so every output is in the picture.
Names the viz examples already use (``mlp``) keep the example.
"""
from __future__ import annotations

import inspect
from typing import Any

from tinygrad_cs.creation import randn, tensor
from tinygrad_cs.nn.functional import cross_entropy
from tinygrad_cs.nn.models import registry as zoo
from tinygrad_cs.random import manual_seed
from tinygrad_cs.tensor import Tensor

from .registry import Sample, register_model

__all__ = ["IMAGE_SIZE"]

IMAGE_SIZE = 32


def _root(out: Any) -> Any:
    """One node to draw from: the output itself, or the sum of the outputs' means."""
    if isinstance(out, Tensor):
        return out
    parts = list(out.values()) if isinstance(out, dict) else list(out)
    tensors = [t for t in parts if isinstance(t, Tensor) and t.dtype.kind == "f"]
    total = tensors[0].mean()
    for t in tensors[1:]:
        total = total + t.mean()
    return total


def _builder(entry: zoo.ZooEntry):
    def build() -> Sample:
        manual_seed(0)
        channels = inspect.signature(entry.build).parameters.get("in_channels")
        if entry.task == "classify" and channels is not None:
            model = entry.build()
            c = channels.default if isinstance(channels.default, int) else 3
            x = randn(1, c, IMAGE_SIZE, IMAGE_SIZE)
            model.eval()
            return Sample(cross_entropy(model(x), tensor([0])), model, depth=1)
        model, x = entry.tiny()
        model.eval()
        return Sample(_root(model(x)), model, depth=1)
    return build


for _name in zoo.names():
    _entry = zoo.get(_name)
    register_model(_name, _builder(_entry), description=_entry.description, depth=1,
                   replace=False)
