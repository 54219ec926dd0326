"""``tinygrad_cs.vision``: torchvision's counterpart, for the idioms real code uses.

``import tinygrad_cs.vision as torchvision`` or ``from tinygrad_cs.vision import transforms``:
``transforms`` (torchvision's per-image transforms, and ``transforms.functional``). It sits on
top of ``nn`` and ``data``; the engine core never imports it.
"""
from . import transforms

__all__ = ["transforms"]
