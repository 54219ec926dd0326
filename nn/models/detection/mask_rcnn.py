"""Mask R-CNN (He et al. 2017): Faster R-CNN with a mask branch, torchvision's interface.

The box path is ``FasterRCNN``'s; the RoI heads gain a ``MultiScaleRoIAlign`` at 14x14, a
``MaskRCNNHeads`` and a ``MaskRCNNPredictor`` (``mask_head.py``). Training adds
``"loss_mask"`` to the four losses (targets need ``"masks"`` (n, H, W)); evaluation adds
``"masks"`` (k, 1, H, W), probabilities in [0, 1] (threshold at 0.5 for a binary mask).

The zoo's ``mask_rcnn`` is ``faster_rcnn``'s small-image detector with a light mask branch
(two 3x3 layers of ``mask_channels`` = 32 instead of four of 256; 28x28 mask logits).
"""
from __future__ import annotations

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

from ... import init
from ...module import Module
from ..registry import ZooEntry, register
from .faster_rcnn import FasterRCNN, _LossWithFixedProposals, _small_rcnn
from .mask_head import MaskRCNNHeads, MaskRCNNPredictor
from .poolers import MultiScaleRoIAlign

__all__ = ["MaskRCNN", "mask_rcnn"]


class MaskRCNN(FasterRCNN):
    """``MaskRCNN(backbone, num_classes=None, *, mask_roi_pool=None, mask_head=None,
    mask_predictor=None, **faster_rcnn_kwargs)``: defaults as torchvision's (a 14x14
    ``MultiScaleRoIAlign`` over "0", "1", "2" with the box pooler's canonical scale, four
    256-wide layers, a 256-wide predictor)."""

    def __init__(self, backbone: Module, num_classes: int | None = None, *,
                 mask_roi_pool: Module | None = None, mask_head: Module | None = None,
                 mask_predictor: Module | None = None, **kwargs) -> None:
        super().__init__(backbone, num_classes, **kwargs)
        heads = self.roi_heads
        canonical = getattr(heads.box_roi_pool, "canonical_scale", 56)
        heads.mask_roi_pool = mask_roi_pool or MultiScaleRoIAlign(
            ["0", "1", "2"], 14, 2, canonical_scale=canonical)
        heads.mask_head = mask_head or MaskRCNNHeads(backbone.out_channels, (256,) * 4)
        if mask_predictor is None:
            if num_classes is None:
                raise ValueError("MaskRCNN: give num_classes or mask_predictor")
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        heads.mask_predictor = mask_predictor


def mask_rcnn(num_classes: int = 4, *, fpn_channels: int = 64, mask_channels: int = 32,
              mask_layers: int = 2, **kwargs) -> MaskRCNN:
    """The zoo's small-image Faster R-CNN (``faster_rcnn``'s arguments) with a mask branch of
    ``mask_layers`` 3x3 layers of ``mask_channels``."""
    return _small_rcnn(
        MaskRCNN, num_classes, fpn_channels=fpn_channels,
        mask_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], 14, 2, canonical_scale=56),
        mask_head=MaskRCNNHeads(fpn_channels, (mask_channels,) * mask_layers),
        mask_predictor=MaskRCNNPredictor(mask_channels, mask_channels, num_classes), **kwargs)


def _tiny() -> tuple[_LossWithFixedProposals, Tensor]:
    detector = mask_rcnn(3, base_channels=2, fpn_channels=4, representation_size=8,
                         mask_channels=2, mask_layers=1, aspect_ratios=(1.0,),
                         rpn_batch_size_per_image=10**6, box_batch_size_per_image=10**6)
    for m in (detector.roi_heads.mask_head, detector.roi_heads.mask_predictor):
        for name, p in m.named_parameters():   # zero biases put ReLU's kink exactly on the
            if name.endswith("bias"):          # zero inputs (regions outside the maps)
                init.normal_(p, std=0.1)
    masks = np.zeros((2, 32, 32), np.uint8)
    masks[0, 3:12, 2:14] = 1
    masks[1, 12:28, 10:30] = 1
    targets = [{"boxes": np.array([[2, 3, 14, 12], [10, 12, 30, 28]], np.float32),
                "labels": np.array([1, 2]), "masks": masks},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64),
                "masks": np.zeros((0, 32, 32), np.uint8)}]
    proposals = [np.array([[0, 2, 12, 14], [12, 10, 28, 30], [4, 4, 20, 20]], np.float32),
                 np.array([[1, 1, 9, 9], [8, 16, 30, 31]], np.float32)]
    return _LossWithFixedProposals(detector, targets, proposals), tg.rand(2, 3, 32, 32)


register(ZooEntry("mask_rcnn", mask_rcnn, task="detect", tiny=_tiny,
                  description="Mask R-CNN: the small-image Faster R-CNN with a 28x28 mask "
                              "branch (instance masks)"))
