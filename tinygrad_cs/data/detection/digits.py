"""The ``digits-detection`` set: scikit-learn's 8 x 8 digits, upscaled and placed on a canvas.

Each image has 1..``max_objects`` digits, each an 8 x 8 ``load_digits`` image upscaled
bilinearly to a random square of ``size_range`` pixels and painted in a random bright colour
with its ink as alpha (so strokes have soft edges). A digit's mask is its ink at or above
``threshold`` (ink in [0, 1], ``load_digits``' 0..16 over 16), minus what later digits hide;
its box is the mask's; its label is digit + 1 (0 is the background, as in torchvision's
detection models). Placement, the overlap limit, occlusion and clutter are as in ``shapes``.
The digit images come from ``pool`` (indices into ``load_digits``), so a train and a test set
can be drawn from disjoint digits. Image i depends only on ``(seed, i)`` and ``pool``.
"""
from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from ..sklearn_sets import load_sklearn
from .canvas import background, fits, mask_box, render, resolve_occlusion
from .resize import bilinear_matrix

__all__ = ["DIGIT_CLASSES", "make_digits_detection"]

DIGIT_CLASSES = ("__background__",) + tuple(str(d) for d in range(10))


def _scene(rng: np.random.Generator, size: int, digits: np.ndarray, labels: np.ndarray,
           max_objects: int, size_range: tuple[int, int], max_iou: float, min_visible: float,
           threshold: float, clutter: float, noise: float) -> tuple[np.ndarray, dict]:
    image = background(rng, size, size, clutter)
    placed = []                                           # (alpha, box, label, colour)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        pick = int(rng.integers(len(digits)))
        color = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.5, 1),
                                             rng.uniform(0.7, 1)), dtype=np.float32)
        for _attempt in range(20):
            side = int(rng.integers(size_range[0], size_range[1] + 1))
            top, left = rng.integers(0, size - side + 1, 2)
            alpha = np.zeros((size, size), dtype=np.float32)
            up = bilinear_matrix(8, side)
            alpha[top:top + side, left:left + side] = up @ digits[pick] @ up.T
            box = mask_box(alpha >= threshold)
            if box is not None and fits(box, [p[1] for p in placed], max_iou):
                placed.append((alpha, box, labels[pick] + 1, color))
                break
    alphas, _, kept_labels, colors = (np.stack(field) for field in zip(*placed))
    keep, visible, visible_boxes = resolve_occlusion(alphas >= threshold, min_visible, max_iou)
    pixels = render(image, np.clip(alphas[keep], 0, 1), colors[keep], noise, rng)
    return pixels, {"boxes": visible_boxes, "labels": kept_labels[keep].astype(np.int64),
                    "masks": visible.astype(np.uint8)}


def make_digits_detection(n: int, seed: int | Sequence[int] = 0, image_size: int = 64,
                          max_objects: int = 3, size_range: tuple[int, int] | None = None,
                          max_iou: float = 0.3, min_visible: float = 0.5, threshold: float = 0.5,
                          clutter: float = 0.3, noise: float = 0.02,
                          pool: np.ndarray | None = None) -> tuple[np.ndarray, list[dict]]:
    """``n`` images ``(n, 3, S, S)`` uint8 and their targets (numpy): ``boxes (k, 4)`` float32,
    ``labels (k,)`` int64 in 1..10 (digit + 1), ``masks (k, S, S)`` uint8, k >= 1 per image.

    ``size_range`` (the digit's square side in pixels) defaults to ``(3S/16, S/2)`` (12..32 at
    S = 64); ``pool``: the ``load_digits`` indices to draw from (default: all 1,797); ``seed``:
    an int or a sequence of ints (``SeedSequence`` entropy). Needs scikit-learn (``pip install
    -e '.[data]'``).
    """
    lo, hi = size_range or (3 * image_size // 16, image_size // 2)
    if image_size < 16 or max_objects < 1 or n < 0 or not 8 <= lo <= hi <= image_size:
        raise ValueError(f"make_digits_detection: need image_size >= 16, max_objects >= 1, "
                         f"n >= 0 and 8 <= size_range <= image_size, got {image_size}, "
                         f"{max_objects}, {n} and {(lo, hi)}")
    if not 0 <= max_iou <= 1 or not 0 <= min_visible <= 1 or not 0 < threshold <= 1:
        raise ValueError(f"make_digits_detection: max_iou and min_visible must be in [0, 1] "
                         f"and threshold in (0, 1], got {max_iou}, {min_visible}, {threshold}")
    x, y, _ = load_sklearn("digits")
    if pool is not None:
        x, y = x[np.asarray(pool)], y[np.asarray(pool)]
    if len(x) == 0:
        raise ValueError("make_digits_detection: the digit pool is empty")
    digits = x[:, 0]                                               # (P, 8, 8) in [0, 1]
    images = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
    targets = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        images[i], target = _scene(np.random.default_rng(child), image_size, digits, y,
                                   max_objects, (lo, hi), max_iou, min_visible, threshold,
                                   clutter, noise)
        targets.append(target)
    return images, targets
