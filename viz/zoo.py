"""How the viz draws a model of the zoo (``tinygrad_cs.nn.models``): ``zoo_sample(entry)``.

``tgcs graph resnet18`` and ``python -m tinygrad_cs.viz resnet18`` draw the zoo's models:
image classifiers in their standard layout on one 32x32 image with the builder's default
channels (every zoo CNN, ImageNet layouts included, reduces 32x32 to at least 1x1), in eval
mode, and drawn up to a cross-entropy loss against class 0, so the root is a scalar and
``--grads`` colours the gradient flowing back from a loss; the others (vector, language and
GAN models) in their tiny configuration. Models with several outputs (FPN's pyramid, the
GAN pair) are drawn from the sum of their outputs' means, so every output is in the picture.
"""
from __future__ import annotations

import inspect
from typing import Any

from tinygrad_cs.creation import randn, tensor
from tinygrad_cs.nn.functional import cross_entropy
from tinygrad_cs.nn.models import registry as zoo
from tinygrad_cs.random import manual_seed
from tinygrad_cs.tensor import Tensor

from .registry import Sample

__all__ = ["IMAGE_SIZE", "zoo_sample"]

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


def zoo_sample(entry: zoo.ZooEntry) -> Sample:
    """The drawing of one zoo model (see the module docstring), seeded."""
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
