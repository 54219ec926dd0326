"""Pictures of detections: images with their boxes, masks and scores, coloured by class.

``draw_detections(images, detections, class_names, path)`` draws a grid with one panel per
image; ``draw_nms_before_after(image, boxes, scores, kept, path)`` shows what non-maximum
suppression removed (it takes the kept indices, so it works with any NMS). Images are
``(C, H, W)`` (C = 1 or 3) floats in [0, 1] or uint8, numpy arrays or Tensors; a detection is
a dict ``{"boxes" (n, 4) xyxy pixel edges, "labels" (n,), "scores" (n,) optional, "masks"
(n, H, W) optional}`` (torchvision's), so ground truth draws the same way without scores.

Masks are blended into the pixels (``overlay_masks``: ``(1 - alpha) * pixel + alpha *
colour``), boxes are drawn on top with a label ``"name 0.93"`` at their top-left corner
(inside the box when it touches the image's top). Each
panel's axes cover the image exactly (data coordinates = pixel edges). As in ``plots``, a
``Figure`` is built without pyplot (no global state, headless, deterministic) and returned;
it is written to ``path`` when one is given.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .plots import _matplotlib

__all__ = ["CLASS_COLORS", "class_color", "draw_detections", "draw_nms_before_after",
           "overlay_masks"]

# label -> colour, cycling (label 0, the background, has one too: unlabelled boxes use it)
CLASS_COLORS = ("#7f7f7f", "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
                "#f032e6", "#bfef45", "#ffe119", "#469990", "#9a6324")
MASK_ALPHA = 0.45
EDGE_PIXELS = 3.0       # box edges are this many pixels wide in the saved picture


def class_color(label: int) -> np.ndarray:
    """The RGB colour (3,) in [0, 1] of a class label."""
    text = CLASS_COLORS[int(label) % len(CLASS_COLORS)]
    return np.array([int(text[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255


def _numpy(x: Any) -> np.ndarray:
    return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else np.asarray(x)


def _rgb(image: Any) -> np.ndarray:
    """(C, H, W) float [0, 1] or uint8 -> (H, W, 3) float64 in [0, 1]."""
    a = _numpy(image)
    if a.ndim != 3 or a.shape[0] not in (1, 3):
        raise ValueError(f"draw_detections: expected an image (1 or 3, H, W), got shape "
                         f"{a.shape}")
    a = a.astype(np.float64) / 255 if a.dtype == np.uint8 else a.astype(np.float64)
    return np.clip(np.repeat(a, 3 // a.shape[0], axis=0).transpose(1, 2, 0), 0, 1)


def overlay_masks(image: Any, masks: Any, labels: Sequence[int],
                  alpha: float = MASK_ALPHA) -> np.ndarray:
    """``(H, W, 3)`` float: ``image`` (C, H, W) with each mask (n, H, W) (nonzero, or > 0.5 for
    float masks; (n, 1, H, W) accepted) blended in its class colour, in order."""
    rgb = _rgb(image)
    m = _numpy(masks)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if len(m) and m.shape[1:] != rgb.shape[:2]:
        raise ValueError(f"overlay_masks: masks of shape {m.shape} do not fit an image of "
                         f"{rgb.shape[:2]}")
    inside = m > 0.5 if m.dtype.kind == "f" else m != 0
    for mask, label in zip(inside, labels):
        rgb[mask] = (1 - alpha) * rgb[mask] + alpha * class_color(label)
    return rgb


def _panel(ax: Any, image: Any, det: dict, class_names: Sequence[str] | None,
           score_threshold: float, alpha: float, edge: float, title: str | None) -> None:
    """One image with its detections on ``ax``."""
    from matplotlib.patches import Rectangle

    det = {k: _numpy(v) for k, v in det.items()}
    boxes = det.get("boxes", np.zeros((0, 4))).reshape(-1, 4)
    labels = det.get("labels", np.zeros(len(boxes), dtype=np.int64)).reshape(-1)
    scores = det.get("scores")
    show = np.ones(len(boxes), bool) if scores is None else scores >= score_threshold
    masks = det.get("masks")
    rgb = (overlay_masks(image, masks[show], labels[show], alpha) if masks is not None
           else _rgb(image))
    height, width = rgb.shape[:2]
    ax.imshow(rgb, extent=(0, width, height, 0), interpolation="nearest")
    for i in np.flatnonzero(show):
        (x1, y1, x2, y2), color = boxes[i], class_color(labels[i])
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                               linewidth=edge, antialiased=False))
        name = (class_names[labels[i]] if class_names is not None
                and 0 <= labels[i] < len(class_names) else str(labels[i]))
        text = name if scores is None else f"{name} {scores[i]:.2f}"
        inside = y1 < 0.12 * height                   # no room above: label inside the box
        ax.text(x1, y1, text, fontsize=6, color="white", va="top" if inside else "bottom",
                ha="left", clip_on=True,
                bbox={"facecolor": color, "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=8)


def draw_detections(images: Any, detections: Sequence[dict],
                    class_names: Sequence[str] | None = None,
                    path: str | os.PathLike | None = None, *, score_threshold: float = 0.0,
                    columns: int = 4, panel_size: float = 2.4, dpi: int = 100,
                    alpha: float = MASK_ALPHA, titles: Sequence[str] | None = None):
    """A grid of ``len(images)`` panels (``columns`` per row, each ``panel_size`` inches):
    image i with ``detections[i]``'s masks, boxes and labels (those with ``score >=
    score_threshold``), coloured by class (``class_color``); ``class_names[label]`` names them.
    ``images``: a (B, C, H, W) array/Tensor or a list of (C, H, W). Returns the Figure; writes a
    PNG (or the suffix's format) to ``path`` at ``dpi``."""
    Figure, _ = _matplotlib()
    images = list(images)
    if len(images) != len(detections) or not images:
        raise ValueError(f"draw_detections: need one detection dict per image, got "
                         f"{len(images)} images and {len(detections)} dicts")
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    title_space = 0.25 if titles else 0.0
    fig = Figure(figsize=(columns * panel_size, rows * (panel_size + title_space)), dpi=dpi)
    edge = EDGE_PIXELS * 72 / dpi                     # points, so edges have a known width
    cell_w, cell_h = 1 / columns, 1 / rows
    for k, (image, det) in enumerate(zip(images, detections)):
        r, c = divmod(k, columns)
        inner = panel_size / (panel_size + title_space)
        ax = fig.add_axes((c * cell_w + 0.04 * cell_w, 1 - (r + 1) * cell_h + 0.04 * cell_h,
                           0.92 * cell_w, 0.92 * cell_h * inner))
        _panel(ax, image, det, class_names, score_threshold, alpha, edge,
               titles[k] if titles else None)
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


def draw_nms_before_after(image: Any, boxes: Any, scores: Any, kept: Any,
                          path: str | os.PathLike | None = None, *, labels: Any = None,
                          class_names: Sequence[str] | None = None, panel_size: float = 3.0,
                          dpi: int = 100):
    """Two panels of ``image``: every box with its score ("before NMS: n boxes"), and only the
    boxes at indices ``kept`` ("after NMS: k kept"), e.g. ``kept = vision.ops.nms(boxes,
    scores, 0.5)``. ``labels`` colour the boxes by class (default: all one colour). Returns
    the Figure; writes it to ``path`` if given."""
    boxes = _numpy(boxes).reshape(-1, 4)
    scores = _numpy(scores).reshape(-1)
    kept = _numpy(kept).astype(np.int64).reshape(-1)
    labels = (np.zeros(len(boxes), np.int64) if labels is None
              else _numpy(labels).astype(np.int64).reshape(-1))
    if len(scores) != len(boxes) or len(labels) != len(boxes):
        raise ValueError(f"draw_nms_before_after: boxes {boxes.shape}, scores {scores.shape} "
                         f"and labels {labels.shape} must have one row per box")
    if kept.size and (kept.min() < 0 or kept.max() >= len(boxes)):
        raise ValueError(f"draw_nms_before_after: kept indices must be in [0, {len(boxes)}), "
                         f"got {kept.tolist()}")
    before = {"boxes": boxes, "scores": scores, "labels": labels}
    after = {k: v[kept] for k, v in before.items()}
    return draw_detections([image, image], [before, after], class_names, path, columns=2,
                           panel_size=panel_size, dpi=dpi,
                           titles=[f"before NMS: {len(boxes)} boxes",
                                   f"after NMS: {len(kept)} kept"])
