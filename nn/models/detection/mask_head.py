"""Mask R-CNN's mask branch (He et al. 2017), as torchvision's: heads, loss and pasting.

* ``MaskRCNNHeads``: 3x3 conv + ReLU layers over the RoIAligned features (R, C, 14, 14).
* ``MaskRCNNPredictor``: a stride-2 2x2 transposed conv (+ ReLU) to (R, D, 28, 28), then a
  1x1 conv to one mask logit map per class (R, K, 28, 28).
* ``maskrcnn_loss``: each positive proposal's target is its matched ground-truth mask
  RoIAligned onto the proposal at M x M (``project_masks_on_boxes``: roi_align of the
  binary mask, aligned=False, adaptive sampling); the loss is the mean binary
  cross-entropy with logits of the logit map of the proposal's own class against it.
* ``maskrcnn_inference``: the sigmoid of each detection's own-class map (D, 1, M, M).
* ``paste_masks_in_image``: each M x M mask, padded by one zero pixel (``expand_masks``:
  its box scaled by (M + 2) / M about the centre), is sampled bilinearly at the centre of
  every image pixel inside that expanded box (half-pixel convention, as
  ``interpolate(align_corners=False)``), 0 elsewhere: (D, 1, H, W) probabilities. The
  sampling is separable, so it runs as two batched matrix products (no loop per box).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from tinygrad_cs.tensor import Tensor

from ... import init
from ...activation import ReLU
from ...containers import Sequential
from ...conv import Conv2d, ConvTranspose2d
from ...functional_losses import binary_cross_entropy_with_logits
from .poolers import roi_align

__all__ = ["MaskRCNNHeads", "MaskRCNNPredictor", "maskrcnn_inference", "maskrcnn_loss",
           "paste_masks_in_image", "project_masks_on_boxes"]


def _kaiming(module) -> None:
    for m in module.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d)):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)


class MaskRCNNHeads(Sequential):
    """``MaskRCNNHeads(in_channels, layers, dilation=1)``: x (R, in_channels, S, S) ->
    (R, layers[-1], S, S), one 3x3 conv + ReLU per entry of ``layers`` (its width)."""

    def __init__(self, in_channels: int, layers: Sequence[int], dilation: int = 1) -> None:
        blocks, width = [], in_channels
        for out in layers:
            blocks.append(Sequential(Conv2d(width, out, 3, padding=dilation,
                                            dilation=dilation), ReLU()))
            width = out
        super().__init__(*blocks)
        _kaiming(self)


class MaskRCNNPredictor(Sequential):
    """``MaskRCNNPredictor(in_channels, dim_reduced, num_classes)``: x (R, C, S, S) ->
    logits (R, num_classes, 2S, 2S)."""

    def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
        super().__init__(OrderedDict([
            ("conv5_mask", ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", ReLU()),
            ("mask_fcn_logits", Conv2d(dim_reduced, num_classes, 1))]))
        _kaiming(self)


def project_masks_on_boxes(gt_masks: np.ndarray, boxes: np.ndarray, matched_idxs: np.ndarray,
                           size: int) -> np.ndarray:
    """Targets (P, M, M) in [0, 1]: ground-truth masks (G, H, W) RoIAligned on the boxes
    (P, 4) of the proposals matched to them (indices (P,))."""
    rois = np.concatenate([matched_idxs[:, None].astype(np.float32),
                           boxes.astype(np.float32)], axis=1)
    masks = Tensor(np.ascontiguousarray(gt_masks[:, None], dtype=np.float32))
    return roi_align(masks, Tensor(rois), (size, size), 1.0).numpy()[:, 0]


def maskrcnn_loss(mask_logits: Tensor, proposals: Sequence[np.ndarray],
                  gt_masks: Sequence[np.ndarray], gt_labels: Sequence[np.ndarray],
                  mask_matched_idxs: Sequence[np.ndarray]) -> Tensor:
    """Mean BCE with logits of the own-class maps of ``mask_logits`` (P, K, M, M) against
    the projected masks (module docstring); 0 (a graph node) without positives."""
    size = mask_logits.shape[-1]
    labels = np.concatenate([lab[idx] for lab, idx in zip(gt_labels, mask_matched_idxs)])
    targets = [project_masks_on_boxes(m, p, i, size)
               for m, p, i in zip(gt_masks, proposals, mask_matched_idxs) if len(i)]
    if not targets:
        return mask_logits.sum() * 0
    own = mask_logits[np.arange(len(labels)), labels.astype(np.int64)]
    return binary_cross_entropy_with_logits(
        own, Tensor(np.concatenate(targets).astype(own.dtype)))


def maskrcnn_inference(mask_logits: Tensor, labels: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per image: the probabilities (D_i, 1, M, M) of each detection's own class."""
    flat = np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64)
    logits = mask_logits.detach().numpy()[np.arange(len(flat)), flat][:, None]
    probs = (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(logits.dtype)   # sigmoid
    return np.split(probs, np.cumsum([len(lab) for lab in labels])[:-1])


def _bilinear_weights(low: np.ndarray, high: np.ndarray, cells: int, pixels: int) -> np.ndarray:
    """(D, pixels, cells): row p samples the cells spanning [low, high] at pixel centre p."""
    centre = np.arange(pixels) + 0.5
    span = np.maximum(high - low, 1e-6)[:, None]
    u = (centre[None, :] - low[:, None]) / span * cells - 0.5     # in cell units
    inside = (centre[None, :] >= low[:, None]) & (centre[None, :] <= high[:, None])
    u = np.clip(u, 0, cells - 1)
    lo = np.floor(u).astype(np.int64)
    hi = np.minimum(lo + 1, cells - 1)
    frac = u - lo
    grid = np.arange(cells)
    weights = ((1 - frac)[..., None] * (grid == lo[..., None])
               + frac[..., None] * (grid == hi[..., None]))
    return weights * inside[..., None]


def paste_masks_in_image(masks: np.ndarray, boxes: np.ndarray, img_shape: tuple[int, int],
                         padding: int = 1) -> np.ndarray:
    """Masks (D, 1, M, M) in their boxes (D, 4) -> (D, 1, H, W) (module docstring)."""
    d, m = masks.shape[0], masks.shape[-1]
    height, width = img_shape
    if d == 0:
        return np.zeros((0, 1, height, width), masks.dtype)
    padded = np.pad(masks[:, 0], ((0, 0), (padding, padding), (padding, padding)))
    scale = (m + 2 * padding) / m
    half_w = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    half_h = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    cx, cy = (boxes[:, 0] + boxes[:, 2]) * 0.5, (boxes[:, 1] + boxes[:, 3]) * 0.5
    wx = _bilinear_weights(cx - half_w, cx + half_w, m + 2 * padding, width)
    wy = _bilinear_weights(cy - half_h, cy + half_h, m + 2 * padding, height)
    pasted = wy @ padded @ wx.transpose(0, 2, 1)
    return pasted[:, None].astype(masks.dtype)
