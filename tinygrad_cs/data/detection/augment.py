"""Augmentations that move boxes and masks with the image, as ``torchvision.transforms.v2``
does for detection: each is called as ``t(image, target, rng=None)`` and returns ``(image,
target)``.

``image`` is ``(C, H, W)``; ``target`` a dict with ``"boxes"`` (n, 4) in pixel-edge ``(x1, y1,
x2, y2)`` coordinates, ``"labels"`` (n,) and optionally ``"masks"`` (n, H, W); other keys (e.g.
``"image_id"``) pass through unchanged. Tensors come back as Tensors, numpy arrays as numpy
arrays. When a target has masks, every box leaving a geometric transform is the box of its mask
(``masks_to_boxes``), and objects whose mask became empty are dropped together with their
label and box; without masks, boxes are mapped, clipped and filtered by area. Random draws
come from ``rng`` (default: tg's global generator, so ``tg.manual_seed`` controls them).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...random import generator
from ...tensor import Tensor
from .boxes import box_area, masks_to_boxes
from .resize import resize_bilinear, resize_nearest

__all__ = ["Compose", "RandomCrop", "RandomHorizontalFlip", "RandomScale"]

Sample = tuple[Any, dict]


def _unwrap(image: Any, target: dict) -> tuple[np.ndarray, dict, Callable[..., Sample]]:
    """numpy views of the sample and a function that converts results back to its types."""
    tensors = {k for k, v in target.items() if isinstance(v, Tensor)}
    image_is_tensor = isinstance(image, Tensor)
    as_np = {k: v.numpy() if k in tensors else np.asarray(v) for k, v in target.items()}

    def wrap(new_image: np.ndarray, new_target: dict) -> Sample:
        out = {k: Tensor(np.ascontiguousarray(v)) if k in tensors else v
               for k, v in new_target.items()}
        img = Tensor(np.ascontiguousarray(new_image)) if image_is_tensor else new_image
        return img, out

    array = image.numpy() if image_is_tensor else np.asarray(image)
    if array.ndim != 3:
        raise ValueError(f"detection transform: expected an image (C, H, W), got shape "
                         f"{array.shape}")
    return array, as_np, wrap


def _keep(target: dict, keep: np.ndarray) -> dict:
    """The target with only the objects where ``keep`` is True."""
    out = dict(target)
    for key in ("boxes", "labels", "masks"):
        if key in out:
            out[key] = out[key][keep]
    return out


def _from_masks(target: dict) -> dict:
    """Boxes recomputed from the masks; objects with an empty mask dropped."""
    out = _keep(target, target["masks"].any(axis=(1, 2)))
    out["boxes"] = masks_to_boxes(out["masks"]).astype(target["boxes"].dtype, copy=False)
    return out


class Compose:
    """Apply ``transforms`` in order: ``Compose([RandomHorizontalFlip(), RandomScale()])``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any, target: dict,
                 rng: np.random.Generator | None = None) -> Sample:
        rng = generator() if rng is None else rng
        for t in self.transforms:
            image, target = t(image, target, rng=rng)
        return image, target


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``: columns ``c -> W - 1 - c``, boxes
    ``(x1, x2) -> (W - x2, W - x1)``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: Any, target: dict,
                 rng: np.random.Generator | None = None) -> Sample:
        rng = generator() if rng is None else rng
        array, t, wrap = _unwrap(image, target)
        if rng.uniform() >= self.p:
            return image, target
        width = array.shape[-1]
        t = dict(t)
        boxes = t["boxes"].copy()
        boxes[:, [0, 2]] = width - t["boxes"][:, [2, 0]]
        t["boxes"] = boxes
        if "masks" in t:
            t["masks"] = t["masks"][..., ::-1]
        return wrap(array[..., ::-1], t)


class RandomScale:
    """Resize by a factor ``s`` uniform in ``scale_range``: output ``(round(s H), round(s W))``
    (at least 1), the image bilinearly, masks by nearest pixel centre; boxes are the resized
    masks' boxes (objects that vanish are dropped), or, without masks, scaled by the size
    ratios. (``torchvision.transforms.v2.ScaleJitter`` in spirit, without a target size.)"""

    def __init__(self, scale_range: tuple[float, float] = (0.75, 1.25)) -> None:
        if not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"RandomScale: scale_range must be (lo, hi) with 0 < lo <= hi, "
                             f"got {scale_range}")
        self.scale_range = tuple(scale_range)

    def __call__(self, image: Any, target: dict,
                 rng: np.random.Generator | None = None) -> Sample:
        rng = generator() if rng is None else rng
        array, t, wrap = _unwrap(image, target)
        s = rng.uniform(*self.scale_range)
        height, width = array.shape[-2:]
        size = (max(1, round(s * height)), max(1, round(s * width)))
        resized = resize_bilinear(array, size)
        if array.dtype.kind in "ui":                       # uint8 images stay uint8, rounded
            resized = np.rint(resized)
        resized = resized.astype(array.dtype, copy=False)
        t = dict(t)
        if "masks" in t:
            t["masks"] = resize_nearest(t["masks"], size)
            return wrap(resized, _from_masks(t))
        ratio = np.array([size[1] / width, size[0] / height] * 2, dtype=np.float64)
        t["boxes"] = (t["boxes"] * ratio).astype(t["boxes"].dtype)
        return wrap(resized, t)


class RandomCrop:
    """Cut a random ``size = (h, w)`` window (uniform over the valid corners), as
    ``torchvision.transforms.v2.RandomCrop``; with ``pad_if_needed`` a smaller image is first
    padded with ``fill`` on both sides of each short axis by the shortfall (torchvision's rule).

    An object keeps ``fraction = area inside the window / area before`` of itself (mask pixels,
    or box area without masks); objects with ``fraction < min_visible`` (or nothing left) are
    dropped, the others clipped: their boxes are their cropped masks' boxes, or the boxes
    clipped to the window.
    """

    def __init__(self, size: int | Sequence[int], min_visible: float = 0.3,
                 pad_if_needed: bool = True, fill: float = 0.0) -> None:
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(map(int, size))
        if min(self.size) < 1 or not 0 <= min_visible <= 1:
            raise ValueError(f"RandomCrop: need size >= 1 and min_visible in [0, 1], got "
                             f"{self.size} and {min_visible}")
        self.min_visible, self.pad_if_needed, self.fill = min_visible, pad_if_needed, fill

    def __call__(self, image: Any, target: dict,
                 rng: np.random.Generator | None = None) -> Sample:
        rng = generator() if rng is None else rng
        array, t, wrap = _unwrap(image, target)
        h, w = self.size
        t = dict(t)
        height, width = array.shape[-2:]
        pad_y, pad_x = max(0, h - height), max(0, w - width)
        if (pad_y or pad_x) and not self.pad_if_needed:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the image "
                             f"{(height, width)}; pass pad_if_needed=True")
        if pad_y or pad_x:
            array = np.pad(array, ((0, 0), (pad_y, pad_y), (pad_x, pad_x)),
                           constant_values=self.fill)
            t["boxes"] = t["boxes"] + np.array([pad_x, pad_y] * 2, dtype=t["boxes"].dtype)
            if "masks" in t:
                t["masks"] = np.pad(t["masks"], ((0, 0), (pad_y, pad_y), (pad_x, pad_x)))
            height, width = array.shape[-2:]
        top = int(rng.integers(0, height - h + 1))
        left = int(rng.integers(0, width - w + 1))
        window = (slice(top, top + h), slice(left, left + w))
        if "masks" in t:
            before = t["masks"].sum(axis=(1, 2))
            t["masks"] = t["masks"][(slice(None), *window)]
            after = t["masks"].sum(axis=(1, 2))
            fraction = np.divide(after, before, out=np.zeros(len(after)), where=before > 0)
            t = _from_masks(_keep(t, fraction >= self.min_visible))
        else:
            before = box_area(t["boxes"])
            offset = np.array([left, top] * 2, dtype=np.float64)
            clipped = np.clip(t["boxes"] - offset, 0, [w, h, w, h])
            after = box_area(clipped)
            fraction = np.divide(after, before, out=np.zeros(len(after)), where=before > 0)
            t["boxes"] = clipped.astype(t["boxes"].dtype)
            t = _keep(t, (fraction >= self.min_visible) & (after > 0))
        return wrap(array[(slice(None), *window)], t)
