"""SOLO: Segmenting Objects by Locations (Wang et al. 2020), small enough to train on a CPU.

SOLO turns instance segmentation into two dense predictions over an S x S grid laid on the
image: the cell that holds an object's centre says *what* it is (category branch) and *where*
its pixels are (mask branch). No boxes, anchors or ROI pooling are involved.

Network (one level, as fits 64 x 64 images; ``width`` = w):

    backbone   x (N, 3, H, W) -> C1 (w, H/2) -> C2 (2w, H/4) -> C3 (4w, H/8), two 3x3
               convolutions (GroupNorm, ReLU) per stage, the first with stride 2
    neck       a small FPN: P3 = l3(C3), P2 = l2(C2) + up(P3), P1 = conv3x3(l1(C1) + up(P2))
    category   P2 resized to S x S (nearest; identity when S = H/4, the default), two
               conv-GN-ReLU, a 3x3 conv to K = num_classes - 1 logits: (N, K, S, S)
    mask       [P1, x, y] (CoordConv: x, y in [-1, 1] at the pixel centres), two conv-GN-ReLU,
               a 3x3 conv to 2S logits at H/2: X (N, S, H/2, W/2) and Y (N, S, H/2, W/2)

The mask branch is *decoupled* SOLO (paper sec. 3.3.2) to save compute and data: instead of
S^2 masks, one per cell, it predicts S column masks X_j and S row masks Y_i, and the mask of
cell (i, j) is ``sigmoid(X_j) * sigmoid(Y_i)`` (element-wise). Each X_j is then trained by
every object whose centre lies in column j, which is what lets it learn from few images.

Loss (``model.train(); model(images, targets)``), per batch (``solo_targets`` assigns cells):

    loss_category = sum FocalLoss(category logits, one-hot targets) / (N_pos + 1)
                    (alpha 0.25, gamma 2, background = all classes 0; as the paper)
    loss_mask     = mask_loss_weight (3) * mean over positive cells of
                    dice_loss(sigmoid(X_j) sigmoid(Y_i), pooled instance mask)

Inference (``model.eval(); model(images)``), per image: cells whose class probability is
above ``score_thresh`` become candidates; each candidate's soft mask is binarised at
``mask_thresh``; its score is the class probability times its *maskness* (the mean soft value
inside the binary mask); the ``pre_nms_top_n`` best go through Matrix NMS (class-aware,
Gaussian decay); those still above ``update_thresh`` are kept, ``detections_per_img`` at most.
Their soft masks are upsampled bilinearly (align_corners=False) to the input size. Each image
gives {"boxes" (k, 4) xyxy pixel edges (around mask > 0.5, as the data sets' boxes),
"scores" (k,), "labels" (k,) int64 in 1..K, "masks" (k, H, W) float32 in [0, 1]}.
"""
from __future__ import annotations

from collections.abc import Sequence
from math import gcd, log

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from ... import functional as F
from ... import init
from ...activation import ReLU
from ...containers import Sequential
from ...conv import Conv2d
from ...module import Module
from ...normalization import GroupNorm
from ..registry import ZooEntry, register
from .boxes import masks_to_boxes
from .losses import dice_loss, sigmoid_focal_loss
from .matrix_nms import matrix_nms
from .solo_targets import solo_targets

__all__ = ["SOLO", "solo"]


def _conv_gn_relu(c_in: int, c_out: int, stride: int = 1) -> Sequential:
    return Sequential(Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                      GroupNorm(gcd(8, c_out), c_out), ReLU())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))            # no overflow for large |x|


def _bilinear(size: int, out: int) -> np.ndarray:
    """(out, size) weights of 1-D linear resampling, align_corners=False (PyTorch's rule:
    source = (dst + 0.5) * size / out - 0.5, clamped at 0 and size - 1)."""
    src = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, size - 1)
    weights = np.zeros((out, size))
    np.add.at(weights, (np.arange(out), lo), 1 - (src - lo))
    np.add.at(weights, (np.arange(out), hi), src - lo)
    return weights


class SOLO(Module):
    """``SOLO(num_classes=4, grid=16, width=32, ...)``: decoupled SOLO (module docstring).

    ``num_classes`` counts the background, as torchvision's detection models (labels 1..K,
    K = num_classes - 1). Images (N, 3, H, W) in [0, 1], H and W multiples of 8, normalised
    inside with ``image_mean`` / ``image_std``. ``sigma``: the centre-region scale (0.2).
    """

    def __init__(self, num_classes: int = 4, grid: int = 16, width: int = 32,
                 in_channels: int = 3, *, sigma: float = 0.2, mask_loss_weight: float = 3.0,
                 score_thresh: float = 0.1, mask_thresh: float = 0.5,
                 update_thresh: float = 0.05, pre_nms_top_n: int = 500,
                 detections_per_img: int = 100, nms_kernel: str = "gaussian",
                 nms_sigma: float = 2.0, image_mean: Sequence[float] = (0.485, 0.456, 0.406),
                 image_std: Sequence[float] = (0.229, 0.224, 0.225)) -> None:
        super().__init__()
        if num_classes < 2 or grid < 1 or width < 1 or len(image_mean) != in_channels:
            raise ValueError(f"SOLO: need num_classes >= 2, grid >= 1, width >= 1 and "
                             f"{in_channels} image_mean values, got {num_classes}, {grid}, "
                             f"{width} and {len(image_mean)}")
        self.num_classes, self.grid = num_classes, grid
        self.sigma, self.mask_loss_weight = sigma, mask_loss_weight
        self.score_thresh, self.mask_thresh, self.update_thresh = (score_thresh, mask_thresh,
                                                                   update_thresh)
        self.pre_nms_top_n, self.detections_per_img = pre_nms_top_n, detections_per_img
        self.nms_kernel, self.nms_sigma = nms_kernel, nms_sigma
        self.image_mean = np.asarray(image_mean, np.float64).reshape(1, -1, 1, 1)
        self.image_std = np.asarray(image_std, np.float64).reshape(1, -1, 1, 1)
        w = width
        self.stage1 = Sequential(_conv_gn_relu(in_channels, w, 2), _conv_gn_relu(w, w))
        self.stage2 = Sequential(_conv_gn_relu(w, 2 * w, 2), _conv_gn_relu(2 * w, 2 * w))
        self.stage3 = Sequential(_conv_gn_relu(2 * w, 4 * w, 2), _conv_gn_relu(4 * w, 4 * w))
        self.lateral1, self.lateral2, self.lateral3 = (Conv2d(c, w, 1) for c in (w, 2 * w, 4 * w))
        self.smooth1 = _conv_gn_relu(w, w)
        self.category_tower = Sequential(_conv_gn_relu(w, w), _conv_gn_relu(w, w))
        self.category_out = Conv2d(w, num_classes - 1, 3, padding=1)
        self.mask_tower = Sequential(_conv_gn_relu(w + 2, w), _conv_gn_relu(w, w))
        self.mask_out = Conv2d(w, 2 * grid, 3, padding=1)
        for m in (self.category_out, self.mask_out):
            init.normal_(m.weight, std=0.01)
        # the focal-loss prior (RetinaNet): every class starts at probability 0.01
        init.constant_(self.category_out.bias, -log((1 - 0.01) / 0.01))
        init.zeros_(self.mask_out.bias)

    # -- the network ---------------------------------------------------------------------
    def _features(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Category logits (N, K, S, S) and mask logits (N, 2S, H/2, W/2) (X then Y)."""
        dtype = images.dtype
        x = (images - Tensor(self.image_mean.astype(dtype))) / Tensor(self.image_std.astype(dtype))
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        c3 = self.stage3(c2)
        p3 = self.lateral3(c3)
        p2 = self.lateral2(c2) + F.interpolate(p3, scale_factor=2, mode="nearest")
        p1 = self.smooth1(self.lateral1(c1) + F.interpolate(p2, scale_factor=2, mode="nearest"))
        s = self.grid
        grid_feature = p2 if tuple(p2.shape[-2:]) == (s, s) else F.interpolate(
            p2, size=(s, s), mode="nearest")
        category = self.category_out(self.category_tower(grid_feature))
        n, _, h, w = p1.shape
        xs = np.broadcast_to(np.linspace(-1, 1, w, dtype=dtype), (h, w))
        ys = np.broadcast_to(np.linspace(-1, 1, h, dtype=dtype)[:, None], (h, w))
        coords = Tensor(np.ascontiguousarray(np.broadcast_to(np.stack([xs, ys]), (n, 2, h, w))))
        masks = self.mask_out(self.mask_tower(tg.cat([p1, coords], dim=1)))
        return category, masks

    def _check(self, images) -> Tensor:
        if isinstance(images, (list, tuple)):
            shapes = {tuple(i.shape) for i in images}
            if len(shapes) != 1:
                raise ValueError(f"SOLO: images of one batch must share a size, got {shapes}")
            images = tg.stack(list(images))
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[1] != self.image_mean.size or shape[2] % 8 or \
                shape[3] % 8:
            raise ValueError(f"SOLO: expected images (N, {self.image_mean.size}, H, W) with H "
                             f"and W multiples of 8, got shape {shape}")
        return images

    def forward(self, images, targets: Sequence[dict] | None = None):
        """Training (with ``targets``): {"loss_category", "loss_mask"}; evaluation: a list of
        per-image dicts (module docstring)."""
        images = self._check(images)
        if self.training:
            if targets is None or len(targets) != images.shape[0]:
                raise ValueError(f"SOLO: training needs one target per image, got "
                                 f"{None if targets is None else len(targets)} targets for "
                                 f"images {tuple(images.shape)}")
            category, masks = self._features(images)
            return self._losses(category, masks, targets)
        with tg.no_grad():
            category, masks = self._features(images)
        return [self._detect(c, m, tuple(images.shape[-2:]))
                for c, m in zip(category.numpy(), masks.numpy())]

    # -- training ------------------------------------------------------------------------
    def _losses(self, category: Tensor, masks: Tensor, targets: Sequence[dict]) -> dict:
        n, k, s, _ = category.shape
        stride = 2                                    # the mask branch works at H/2 x W/2
        onehot = np.zeros((n, s * s, k), dtype=category.dtype)
        batch, rows, cols, wanted = [], [], [], []
        for b, target in enumerate(targets):
            if "masks" not in target or "labels" not in target:
                raise ValueError(f"SOLO: target {b} needs 'masks' and 'labels' (SOLO learns "
                                 f"from instance masks), got keys {sorted(target)}")
            t_masks, t_labels = _raw(target["masks"]), _raw(target["labels"])
            if np.shape(t_masks)[-2:] != (masks.shape[-2] * stride, masks.shape[-1] * stride):
                raise ValueError(f"SOLO: target {b} has masks {np.shape(t_masks)} for mask "
                                 f"logits {tuple(masks.shape)} (stride {stride})")
            if np.size(t_labels) and (np.min(t_labels) < 1 or np.max(t_labels) > k):
                raise ValueError(f"SOLO: target {b} has labels outside 1..{k}: "
                                 f"{sorted(set(np.ravel(t_labels).tolist()))}")
            cells, positive, pooled = solo_targets(t_masks, t_labels, s, stride, self.sigma)
            onehot[b, positive, cells[positive] - 1] = 1
            batch.append(np.full(len(positive), b)), wanted.append(pooled)
            rows.append(positive // s), cols.append(positive % s)
        batch, rows, cols = (np.concatenate(a) for a in (batch, rows, cols))
        logits = category.permute(0, 2, 3, 1).reshape(n, s * s, k)
        loss_category = sigmoid_focal_loss(logits, Tensor(onehot), reduction="sum") / (
            len(batch) + 1)
        if not len(batch):
            return {"loss_category": loss_category, "loss_mask": masks.sum() * 0}
        soft = masks[batch, cols].sigmoid() * masks[batch, s + rows].sigmoid()
        target = Tensor(np.concatenate(wanted).astype(masks.dtype))
        loss_mask = self.mask_loss_weight * dice_loss(soft, target).mean()
        return {"loss_category": loss_category, "loss_mask": loss_mask}

    # -- inference -----------------------------------------------------------------------
    def _detect(self, category: np.ndarray, masks: np.ndarray, size: tuple[int, int]) -> dict:
        """One image: category logits (K, S, S), mask logits (2S, h, w) -> detections."""
        k, s, _ = category.shape
        probs = _sigmoid(category.astype(np.float64)).reshape(k, s * s)
        labels, cells = np.nonzero(probs > self.score_thresh)
        scores = probs[labels, cells]
        top = np.argsort(-scores, kind="stable")[:self.pre_nms_top_n]
        labels, cells, scores = labels[top], cells[top], scores[top]
        soft = _sigmoid(masks[cells % s].astype(np.float64)) * _sigmoid(
            masks[s + cells // s].astype(np.float64))
        binary = soft > self.mask_thresh
        area = binary.sum(axis=(1, 2))
        keep = area > 0
        soft, binary, labels = soft[keep], binary[keep], labels[keep]
        scores = scores[keep] * (soft * binary).sum(axis=(1, 2)) / area[keep]   # maskness
        scores = matrix_nms(binary, scores, labels, self.nms_kernel, self.nms_sigma)
        keep = np.flatnonzero(scores >= self.update_thresh)
        keep = keep[np.argsort(-scores[keep], kind="stable")][:self.detections_per_img]
        height, width = size
        up = _bilinear(soft.shape[1], height) @ soft[keep] @ _bilinear(soft.shape[2], width).T
        seen = (up > 0.5).any(axis=(1, 2))                      # masks_to_boxes needs pixels
        up, keep = up[seen], keep[seen]
        boxes = masks_to_boxes(up > 0.5).numpy() + np.float32([0, 0, 1, 1])
        return {"boxes": Tensor(boxes.astype(np.float32)),
                "scores": Tensor(scores[keep].astype(np.float32)),
                "labels": Tensor((labels[keep] + 1).astype(np.int64)),
                "masks": Tensor(up.astype(np.float32))}


def _raw(x) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def solo(num_classes: int = 4, grid: int = 16, width: int = 32, **kwargs) -> SOLO:
    """Decoupled SOLO for small images (``SOLO``'s docstring): ``num_classes`` counts the
    background (4 for the shapes set); ``grid`` S = H/4 avoids resampling the category map."""
    return SOLO(num_classes=num_classes, grid=grid, width=width, **kwargs)


class _SOLOTrainingLoss(Module):
    """The zoo's gradient-check (and drawing) view of SOLO: images -> the training losses on
    fixed targets, in either mode, so every parameter's gradient flows through both losses."""

    def __init__(self, model: SOLO, targets: list[dict]) -> None:
        super().__init__()
        self.model, self.targets = model, targets

    def forward(self, images: Tensor) -> dict:
        category, masks = self.model._features(self.model._check(images))
        return self.model._losses(category, masks, self.targets)


def _tiny() -> tuple[_SOLOTrainingLoss, Tensor]:
    masks = np.zeros((2, 16, 16), np.uint8)
    masks[0, 2:9, 3:8] = 1
    masks[1, 9:15, 8:15] = 1
    targets = [{"masks": masks, "labels": np.array([1, 2])}, {"masks": masks[1:],
                                                               "labels": np.array([2])}]
    model = SOLO(num_classes=3, grid=4, width=4)
    return _SOLOTrainingLoss(model, targets), tg.rand(2, 3, 16, 16)


register(ZooEntry("solo", solo, task="detect", tiny=_tiny,
                  description="decoupled SOLO (Wang et al. 2020): S x S category grid + "
                              "X/Y mask branch with CoordConv, focal + dice losses, Matrix NMS"))
