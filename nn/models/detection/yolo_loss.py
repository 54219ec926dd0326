"""YOLO v1's targets and loss (Redmon et al. 2016, section 2.2), for ``yolo.YOLOv1``.

The image is cut into an S x S grid of cells of ``(H/S, W/S)`` pixels. The cell holding an
object's box centre is *responsible* for it (``encode_target``):

    j = floor(cx / (W/S)),  i = floor(cy / (H/S))           column j, row i (clipped to S-1)
    x = cx / (W/S) - j,  y = cy / (H/S) - i                  the centre within the cell, [0, 1]
    sqrt_w = sqrt(w / W),  sqrt_h = sqrt(h / H)              the size relative to the image

A cell holds one object, as in v1: when several centres fall into one cell, the largest box
(by area; the lowest index among equal areas) is kept, the others are not learnt.

Each cell predicts B boxes ``(x, y, sqrt_w, sqrt_h, conf)`` (after a sigmoid, so in (0, 1))
and K class scores. In a cell with an object, the *responsible predictor* is the one of the B
whose decoded box has the highest IoU with the target (the first at a tie); the IoU is a
constant for the loss (no gradient flows through the choice, as in v1). With ``1obj_ib`` = 1
for the responsible predictor b of cell i and ``1noobj_ib = 1 - 1obj_ib``, the loss of a
batch of N images is (each term divided by N)::

    loss_coord = l_coord * sum 1obj_ib [(x - x^)^2 + (y - y^)^2
                                        + (sqrt_w - sqrt_w^)^2 + (sqrt_h - sqrt_h^)^2]
    loss_obj   = sum 1obj_ib (conf_ib - t_ib)^2
    loss_noobj = l_noobj * sum 1noobj_ib conf_ib^2
    loss_class = sum over cells with an object of CE(class scores, label)

with ``l_coord = 5``, ``l_noobj = 0.5``. The objectness target ``t_ib`` is 1
(``conf_target="one"``, the default: confidence = Pr(object)) or the IoU of the predicted box
with its target (``"iou"``, the paper's: confidence = Pr(object) * IoU). On the shapes set,
with the zoo's recipe, 1 gave held-out AP@.5 0.914 (AP@[.5:.95] 0.478) and the IoU 0.878
(0.458), both after the same 14 epochs. The class term is a softmax
cross-entropy over the K classes, where v1 used the squared error of the scores: with a
softmax, ``Pr(class | object)`` is a distribution, and the detection score
``conf * Pr(class | object)`` is a probability.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_cs import Tensor
from tinygrad_cs import tensor as as_tensor
from tinygrad_cs.nn.functional import cross_entropy

__all__ = ["CONF_TARGETS", "decoded_corners", "encode_target", "encode_targets", "predictor_ious",
           "yolo_loss"]

CONF_TARGETS = ("iou", "one")
IGNORE = -100        # the label of cells without an object (cross_entropy's ignore_index)


def _numpy(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def encode_target(boxes: Any, labels: Any, grid: int, image_size: tuple[int, int]
                  ) -> dict[str, np.ndarray]:
    """One image's ground truth on the S x S grid (see the module docstring).

    Args:
        boxes: (n, 4) ``(x1, y1, x2, y2)`` in pixels; labels: (n,) in 1..K (0 is background).
        grid: S; image_size: ``(H, W)`` in pixels.

    Returns numpy arrays: ``"obj"`` (S, S) bool, the cells that hold an object; ``"box"``
    (S, S, 4) float64 ``(x, y, sqrt_w, sqrt_h)``; ``"corners"`` (S, S, 4) float64 the box as
    ``(x1, y1, x2, y2)`` in units of the image size (for the IoU); ``"label"`` (S, S) int64,
    the class index 0..K-1 (label - 1), ``IGNORE`` (-100) where there is no object.
    Indexed ``[row i, column j]``.
    """
    b = _numpy(boxes).astype(np.float64).reshape(-1, 4)
    lab = _numpy(labels).astype(np.int64).reshape(-1)
    if len(b) != len(lab):
        raise ValueError(f"encode_target: boxes {b.shape} and labels {lab.shape} must have one "
                         f"row per object")
    height, width = image_size
    out = {"obj": np.zeros((grid, grid), bool), "box": np.zeros((grid, grid, 4)),
           "corners": np.zeros((grid, grid, 4)),
           "label": np.full((grid, grid), IGNORE, np.int64)}
    if not len(b):
        return out
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    w, h = np.maximum(b[:, 2] - b[:, 0], 0.0), np.maximum(b[:, 3] - b[:, 1], 0.0)
    fx, fy = cx * grid / width, cy * grid / height            # centres in cell units
    j = np.clip(np.floor(fx).astype(np.int64), 0, grid - 1)
    i = np.clip(np.floor(fy).astype(np.int64), 0, grid - 1)
    order = np.lexsort((np.arange(len(b)), -(w * h)))         # largest first, then by index
    _, first = np.unique((i * grid + j)[order], return_index=True)
    won = order[first]                                        # one object per cell
    i, j = i[won], j[won]
    out["obj"][i, j] = True
    out["box"][i, j] = np.stack([fx[won] - j, fy[won] - i, np.sqrt(w[won] / width),
                                 np.sqrt(h[won] / height)], axis=1)
    out["corners"][i, j] = b[won] / np.array([width, height, width, height])
    out["label"][i, j] = lab[won] - 1
    return out


def encode_targets(targets: Sequence[dict], grid: int, image_size: tuple[int, int]
                   ) -> dict[str, np.ndarray]:
    """``encode_target`` of every image, stacked: ``"obj"`` (N, S, S), ``"box"`` (N, S, S, 4),
    ``"corners"`` (N, S, S, 4), ``"label"`` (N, S, S)."""
    encoded = [encode_target(t["boxes"], t["labels"], grid, image_size) for t in targets]
    return {k: np.stack([e[k] for e in encoded]) for k in ("obj", "box", "corners", "label")}


def decoded_corners(box: np.ndarray) -> np.ndarray:
    """(..., S, S, B, 4) ``(x, y, sqrt_w, sqrt_h)`` per cell -> ``(x1, y1, x2, y2)`` in units
    of the image size: centre ``((j + x) / S, (i + y) / S)``, size ``(sqrt_w^2, sqrt_h^2)``."""
    grid = box.shape[-3]
    cols = np.arange(grid).reshape(grid, 1)                   # aligned with (j, b)
    rows = np.arange(grid).reshape(grid, 1, 1)                # aligned with (i, j, b)
    cx, cy = (box[..., 0] + cols) / grid, (box[..., 1] + rows) / grid
    w, h = box[..., 2] ** 2, box[..., 3] ** 2
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def predictor_ious(box: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """IoU (N, S, S, B) of each predicted box (N, S, S, B, 4) ``(x, y, sqrt_w, sqrt_h)`` with
    its cell's target ``corners`` (N, S, S, 4) (0 where either box is empty)."""
    p = decoded_corners(box)
    t = corners[..., None, :]
    iw = np.clip(np.minimum(p[..., 2], t[..., 2]) - np.maximum(p[..., 0], t[..., 0]), 0, None)
    ih = np.clip(np.minimum(p[..., 3], t[..., 3]) - np.maximum(p[..., 1], t[..., 1]), 0, None)
    inter = iw * ih
    union = ((p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
             + (t[..., 2] - t[..., 0]) * (t[..., 3] - t[..., 1]) - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def yolo_loss(pred: Tensor, class_logits: Tensor, encoded: dict[str, np.ndarray], *,
              lambda_coord: float = 5.0, lambda_noobj: float = 0.5,
              conf_target: str = "one") -> dict[str, Tensor]:
    """The four v1 terms (see the module docstring), each a scalar Tensor divided by N.

    Args:
        pred: (N, S, S, B, 5) ``(x, y, sqrt_w, sqrt_h, conf)`` per predictor, in (0, 1).
        class_logits: (N, K, S, S) class scores (unnormalised).
        encoded: ``encode_targets`` of the batch's targets.
    Returns ``{"loss_coord", "loss_obj", "loss_noobj", "loss_class"}``.
    """
    if conf_target not in CONF_TARGETS:
        raise ValueError(f"yolo_loss: conf_target must be one of {CONF_TARGETS}, got "
                         f"{conf_target!r}")
    n, grid, _, boxes, five = pred.shape
    if five != 5 or encoded["obj"].shape != (n, grid, grid):
        raise ValueError(f"yolo_loss: predictions {tuple(pred.shape)} (N, S, S, B, 5) do not "
                         f"fit targets encoded as {encoded['obj'].shape} (N, S, S)")
    dtype = pred.dtype
    box = pred[..., :4]
    conf = pred[..., 4]
    ious = predictor_ious(box.detach().numpy().astype(np.float64), encoded["corners"])
    best = np.argmax(ious, axis=-1)                                   # first at a tie
    resp = (np.eye(boxes, dtype=bool)[best] & encoded["obj"][..., None])
    resp_t = as_tensor(resp.astype(dtype))
    target_box = as_tensor(np.broadcast_to(encoded["box"][..., None, :],
                                           (n, grid, grid, boxes, 4)).astype(dtype))
    coord = ((box - target_box) ** 2).sum(-1)
    t = ious if conf_target == "iou" else np.ones_like(ious)
    conf_t = as_tensor((t * resp).astype(dtype))
    labels = as_tensor(encoded["label"])
    return {
        "loss_coord": (coord * resp_t).sum() * (lambda_coord / n),
        "loss_obj": (((conf - conf_t) ** 2) * resp_t).sum() * (1.0 / n),
        "loss_noobj": ((conf ** 2) * (1.0 - resp_t)).sum() * (lambda_noobj / n),
        "loss_class": cross_entropy(class_logits, labels, ignore_index=IGNORE,
                                    reduction="sum") * (1.0 / n),
    }
