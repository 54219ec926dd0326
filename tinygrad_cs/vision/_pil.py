"""Pillow, where it is installed: an optional companion, never a dependency.

Pillow comes with matplotlib (the ``plot`` extra) but tinygrad_cs does not need it: data sets
yield numpy arrays where torchvision yields PIL images, and ``save_image`` writes PNG itself.
Only what is about PIL images as such (``ToPILImage``, ``ImageFolder``'s image files, formats
other than PNG) imports it, through ``pil_image``.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

__all__ = ["is_pil_image", "pil_image"]


def pil_image(op: str) -> ModuleType:
    """``PIL.Image``, or an ImportError naming ``op`` and how to install Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{op} needs Pillow, which is not installed: `pip install pillow` "
                          f"(or the plot extra, `pip install -e '.[plot]'`)") from None
    return Image


def is_pil_image(x: Any) -> bool:
    """Whether ``x`` is a PIL image; never imports Pillow (no image exists before it is)."""
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(x, module.Image)
