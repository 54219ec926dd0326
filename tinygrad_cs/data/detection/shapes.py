"""The ``shapes`` detection set: coloured circles, rectangles and triangles on a cluttered
background, with boxes, labels and instance masks, generated from a seed.

Each image has 1..``max_objects`` shapes of ``size_range`` pixels (a circle's diameter, a
rectangle's longer side, a triangle's circumscribed diameter), placed wholly inside the image
so that each shape's box overlaps every earlier shape's box by an IoU of at most ``max_iou``
(a placement is redrawn up to 20 times, then the shape is left out). Later shapes hide earlier
ones; a shape left with less than ``min_visible`` of its area visible is removed (its pixels
are not painted). Labels follow torchvision's detection models: 0 is the background, the
classes are 1 = circle, 2 = rectangle, 3 = triangle. Image i depends only on ``(seed, i)``.
"""
from __future__ import annotations

import colorsys
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .canvas import background, fits, mask_box, render, resolve_occlusion

__all__ = ["SHAPE_CLASSES", "make_shapes"]

SHAPE_CLASSES = ("__background__", "circle", "rectangle", "triangle")
_CLASS_HUES = (0.0, 0.33, 0.62)   # with class_colors: red circles, green rectangles, blue triangles


def _shape_mask(kind: int, cx: float, cy: float, extent: float, aspect: float, tall: bool,
                angle: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels whose centres ``(xs, ys)`` lie inside the shape, which fits in
    the ``extent`` x ``extent`` square centred on ``(cx, cy)``: a circle of that diameter, an
    axis-aligned rectangle with that longer side (the shorter one ``aspect`` times it, upright
    when ``tall``) or a triangle of that circumscribed diameter turned by ``angle``."""
    dx, dy = xs - cx, ys - cy
    if kind == 1:
        return dx * dx + dy * dy <= (extent / 2) ** 2
    if kind == 2:
        half_w, half_h = extent / 2, extent * aspect / 2
        if tall:
            half_w, half_h = half_h, half_w
        return (np.abs(dx) <= half_w) & (np.abs(dy) <= half_h)
    corners = angle + 2 * np.pi * np.arange(3) / 3
    px, py = extent / 2 * np.cos(corners), extent / 2 * np.sin(corners)
    inside = np.ones((ys.shape[0], xs.shape[1]), dtype=bool)
    for i in range(3):                                  # on the inner side of each edge (CCW)
        j = (i + 1) % 3
        inside &= (px[j] - px[i]) * (dy - py[i]) - (py[j] - py[i]) * (dx - px[i]) >= 0
    return inside


@lru_cache(maxsize=4)
def _centres(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres: (rows (S, 1), columns (1, S)), which broadcast to (S, S)."""
    centres = np.arange(size, dtype=np.float64) + 0.5
    return centres[:, None], centres[None, :]


def _color(rng: np.random.Generator, hue: float | None) -> np.ndarray:
    hue = rng.uniform() if hue is None else (hue + rng.uniform(-0.04, 0.04)) % 1
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1), rng.uniform(0.65, 1)),
                    dtype=np.float32)


def _scene(rng: np.random.Generator, size: int, max_objects: int, size_range: tuple[int, int],
           max_iou: float, min_visible: float, clutter: float, noise: float,
           class_colors: bool) -> tuple[np.ndarray, dict]:
    ys, xs = _centres(size)
    image = background(rng, size, size, clutter)
    placed = []                                           # (mask, box, label, colour)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind = int(rng.integers(1, 4))
        color = _color(rng, _CLASS_HUES[kind - 1] if class_colors else None)
        for _attempt in range(20):
            extent = rng.uniform(*size_range)
            aspect, tall, angle = rng.uniform(0.5, 1.0), rng.uniform() < 0.5, rng.uniform(0, 7)
            cx, cy = rng.uniform(extent / 2, size - extent / 2, 2)
            mask = _shape_mask(kind, cx, cy, extent, aspect, tall, angle, xs, ys)
            box = mask_box(mask)
            if box is not None and fits(box, [p[1] for p in placed], max_iou):
                placed.append((mask, box, kind, color))
                break
    masks, _, labels, colors = (np.stack(field) for field in zip(*placed))
    keep, visible, visible_boxes = resolve_occlusion(masks, min_visible, max_iou)
    pixels = render(image, masks[keep], colors[keep], noise, rng)
    return pixels, {"boxes": visible_boxes, "labels": labels[keep].astype(np.int64),
                    "masks": visible.astype(np.uint8)}


def make_shapes(n: int, seed: int | Sequence[int] = 0, image_size: int = 64,
                max_objects: int = 4, size_range: tuple[int, int] | None = None,
                max_iou: float = 0.3, min_visible: float = 0.5, clutter: float = 0.3,
                noise: float = 0.02, class_colors: bool = False) -> tuple[np.ndarray, list[dict]]:
    """``n`` images ``(n, 3, S, S)`` uint8 and their targets (numpy): ``boxes (k, 4)`` float32,
    ``labels (k,)`` int64 in 1..3, ``masks (k, S, S)`` uint8, k >= 1 per image.

    ``size_range`` defaults to ``(3S/16, 7S/16)`` pixels (12..28 at S = 64); ``clutter`` in
    [0, 1] scales the background texture and the number of distractor lines; ``noise`` is the
    std of per-pixel noise (on [0, 1] intensities); with ``class_colors`` each class
    has its own hue (an easier task), else colours are independent of the class. ``seed``: an
    int or a sequence of ints (``numpy.random.SeedSequence`` entropy).
    """
    if image_size < 16 or max_objects < 1 or n < 0:
        raise ValueError(f"make_shapes: need image_size >= 16, max_objects >= 1 and n >= 0, "
                         f"got {image_size}, {max_objects} and {n}")
    lo, hi = size_range or (3 * image_size / 16, 7 * image_size / 16)
    if not 4 <= lo <= hi <= image_size:
        raise ValueError(f"make_shapes: size_range must satisfy 4 <= lo <= hi <= image_size "
                         f"({image_size}), got {(lo, hi)}")
    if not 0 <= max_iou <= 1 or not 0 <= min_visible <= 1:
        raise ValueError(f"make_shapes: max_iou and min_visible must be in [0, 1], got "
                         f"{max_iou} and {min_visible}")
    images = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
    targets = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        images[i], target = _scene(np.random.default_rng(child), image_size, max_objects,
                                   (lo, hi), max_iou, min_visible, clutter, noise, class_colors)
        targets.append(target)
    return images, targets
