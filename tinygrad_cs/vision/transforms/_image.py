"""The kinds of image the vision transforms take, and the one form they compute on.

* a numpy array (H, W) or (H, W, C), channels last (usually uint8): what ``vision.datasets``
  yield where torchvision yields a PIL image, and what array-in transforms give back;
* a PIL image, when Pillow is installed: read as its array, so the result is an array;
* a Tensor (..., C, H, W) or (..., H, W): torchvision's tensor images (a batch too).

The transforms compute on *planes*: the image with its two spatial axes last, i.e. the
Tensor itself or a channels-first (C, H, W) view of the array. ``to_planes`` returns them with a
function that puts a result back into the input's kind.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_cs.tensor import Tensor

from .._pil import is_pil_image

__all__ = ["Planes", "dimensions", "image_array", "to_planes"]

Planes = np.ndarray | Tensor


def image_array(img: Any, op: str) -> np.ndarray:
    """A PIL image or array image as a numpy array (H, W) or (H, W, C). PIL's 1-bit mode
    becomes uint8 0/255, as torchvision's ``pil_to_tensor``."""
    a = np.array(img) if is_pil_image(img) else img
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: expected an image: a numpy array (H, W) or (H, W, C), a Tensor "
                        f"(..., C, H, W) or a PIL image; got {type(img).__name__}")
    if a.ndim not in (2, 3):
        raise ValueError(f"{op}: an image array must be (H, W) or (H, W, C), got shape "
                         f"{a.shape}")
    return a.astype(np.uint8) * 255 if a.dtype == np.bool_ and is_pil_image(img) else a


def _array_back(y: np.ndarray) -> np.ndarray:
    """Planes (C, H, W) back to a new array image (never a view of the input, as a PIL
    transform makes a new image): (H, W) for one channel (PIL's mode 'L'), else (H, W, C)."""
    return np.array(y[0] if y.shape[0] == 1 else y.transpose(1, 2, 0), order="C")


def _same(y: Planes) -> Planes:
    return y


def to_planes(img: Any, op: str) -> tuple[Planes, Callable[[Planes], Any]]:
    """``(planes, back)``: ``img`` with its spatial axes last, and ``back(result)`` in the
    kind of ``img`` (an array for arrays and PIL images, a Tensor for Tensors)."""
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{op}: a tensor image needs at least 2 dims (..., H, W), got "
                             f"shape {tuple(img.shape)}")
        return img, _same
    a = image_array(img, op)
    return (a[None] if a.ndim == 2 else a.transpose(2, 0, 1)), _array_back


def dimensions(img: Any, op: str) -> tuple[int, int, int]:
    """``(channels, height, width)`` of any image kind (a Tensor (H, W) has one channel)."""
    x, _ = to_planes(img, op)
    channels = x.shape[-3] if x.ndim >= 3 else 1
    return int(channels), int(x.shape[-2]), int(x.shape[-1])
