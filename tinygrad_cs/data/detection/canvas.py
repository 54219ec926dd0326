"""What the generated detection sets share: a cluttered background, placement under an overlap
limit, occlusion (later objects paint over earlier ones) and the targets that result.

An object is an alpha map ``(H, W)`` in [0, 1] (1 inside a shape; a digit's upscaled ink), a
colour and a label; its *full* mask is ``alpha >= threshold``. Objects are painted in order, so
object j hides the pixels of every earlier object that its mask covers. Each object's *visible*
mask is what is left of it; its box is the box of the visible mask (as COCO and torchvision's
detection sets do), in pixel-edge coordinates (see ``boxes``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .boxes import box_iou, masks_to_boxes
from .resize import bilinear_matrix

__all__ = ["background", "fits", "mask_box", "render", "resolve_occlusion"]


def background(rng: np.random.Generator, height: int, width: int,
               clutter: float) -> np.ndarray:
    """A ``(3, H, W)`` float32 background in [0, 1]: a dark random colour, a smooth texture of
    amplitude ``0.3 * clutter`` (a 4 x 4 grid of random offsets, upscaled bilinearly) and
    ``round(6 * clutter)`` one-pixel distractor lines of random colours (at most; the count is
    uniform in 0..that). Everything lies under the objects, so no mask is changed by it."""
    base = rng.uniform(0.0, 0.35, size=(3, 1, 1)).astype(np.float32)
    texture = rng.uniform(-1, 1, size=(3, 4, 4)).astype(np.float32) * np.float32(0.3 * clutter)
    image = base + bilinear_matrix(4, height) @ texture @ bilinear_matrix(4, width).T
    steps = np.linspace(0.0, 1.0, 2 * max(height, width))
    for _ in range(int(rng.integers(0, round(6 * clutter) + 1))):
        (x0, x1), (y0, y1) = rng.uniform(0, width, 2), rng.uniform(0, height, 2)
        cols = np.minimum((x0 + steps * (x1 - x0)).astype(np.int64), width - 1)
        rows = np.minimum((y0 + steps * (y1 - y0)).astype(np.int64), height - 1)
        image[:, rows, cols] = rng.uniform(0.2, 1.0, size=(3, 1)).astype(np.float32)
    return np.clip(image, 0, 1)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box of one ``(H, W)`` mask as Python floats (``masks_to_boxes`` for one mask, without
    its array overhead: placement calls it for every try), or None for an empty mask."""
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(cols):
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def fits(box: Sequence[float], boxes: Sequence[Sequence[float]], max_iou: float) -> bool:
    """Whether ``box`` overlaps each of ``boxes`` by an IoU of at most ``max_iou`` (plain
    Python: a handful of boxes, checked once per placement try)."""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    for a1, b1, a2, b2 in boxes:
        inter = max(0.0, min(x2, a2) - max(x1, a1)) * max(0.0, min(y2, b2) - max(y1, b1))
        if inter > max_iou * (area + (a2 - a1) * (b2 - b1) - inter):
            return False
    return True


def _visible(full: np.ndarray) -> np.ndarray:
    """``(n, H, W)`` full masks painted in order -> the visible masks (each pixel belongs to the
    last object covering it)."""
    n = len(full)
    top = n - 1 - np.argmax(full[::-1], axis=0)                     # last object per pixel
    covered = full.any(axis=0)
    return (top[None] == np.arange(n)[:, None, None]) & covered[None]


def resolve_occlusion(full: np.ndarray, min_visible: float,
                      max_iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which objects to keep, their visible masks and boxes.

    ``full``: ``(n, H, W)`` bool full masks in painting order. Repeatedly drop every object whose
    visible area is below ``min_visible`` times its full area, then (if none) the lower object of
    every pair whose visible boxes overlap by an IoU above ``max_iou``, until nothing changes.
    Dropping an object only uncovers others, and the top object is never dropped, so at least
    one object is kept when ``n >= 1``. Returns ``(kept indices (k,), visible masks (k, H, W)
    bool, boxes (k, 4) float32)``.
    """
    keep = np.arange(len(full))
    area = full.sum(axis=(1, 2))
    while True:
        visible = _visible(full[keep])
        shown = visible.sum(axis=(1, 2))
        drop = (shown == 0) | (shown < min_visible * area[keep])
        boxes = masks_to_boxes(visible)
        if not drop.any():
            iou = np.triu(box_iou(boxes, boxes), k=1)               # pairs i < j: i is lower
            drop = (iou > max_iou).any(axis=1)
        if not drop.any():
            return keep, visible, boxes
        keep = keep[~drop]


def render(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, noise: float,
           rng: np.random.Generator) -> np.ndarray:
    """Paint the objects' colours over ``image`` (3, H, W) in order, each pixel as
    ``(1 - alpha) * below + alpha * colour`` (``alphas`` bool: the colour where True), add
    per-pixel noise of std ``noise`` (uniform on ``[-a, a]``, ``a = sqrt(3) * noise``: a third
    of the cost of Gaussian noise) and quantise: ``(3, H, W)`` uint8."""
    image = image.copy()
    for alpha, color in zip(alphas, colors):
        if alpha.dtype == bool:
            np.copyto(image, color[:, None, None], where=alpha)
        else:
            image += alpha[None] * (color[:, None, None] - image)
    if noise > 0:
        spread = np.float32(2 * np.sqrt(3) * noise)
        image += (rng.random(image.shape, dtype=np.float32) - np.float32(0.5)) * spread
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
