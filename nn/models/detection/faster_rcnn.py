"""Faster R-CNN (Ren et al. 2015) with an FPN (Lin et al. 2017), torchvision's interface,
sized for the small generated sets (64x64 and 128x128 images) so it trains on a CPU.

    images -> transform (normalise, batch) -> backbone (ResNet + FPN): maps P2..P4, pool
           -> RPN: anchors, objectness, deltas -> proposals (NMS)           [rpn.py]
           -> RoIHeads: MultiScaleRoIAlign 7x7 -> TwoMLPHead -> class scores, class deltas
              -> detections (softmax, decode, NMS per class)                [roi_heads.py]

``model.train(); losses = model(images, targets)`` returns ``{"loss_objectness",
"loss_rpn_box_reg", "loss_classifier", "loss_box_reg"}`` (sum them for the step);
``model.eval(); model(images)`` returns one ``{"boxes" (k, 4), "scores" (k,), "labels" (k,)
int64}`` per image. ``images``: (N, 3, H, W) or a list of (3, H, W) in [0, 1]; ``targets``:
one ``{"boxes" (n, 4) xyxy pixels, "labels" (n,) in 1..K-1}`` per image (n may be 0).

Choices for small images (torchvision's are for ~800-pixel images), in ``faster_rcnn``:

* backbone: ResNet with one BasicBlock per stage and width ``base_channels`` (16), stages 1-3
  into a ``fpn_channels`` (64) FPN: maps "0" (stride 4), "1" (8), "2" (16) and "pool" (32);
  a 64x64 image gives 16x16 ... 2x2 maps.
* anchors: sizes 8, 16, 32, 64 pixels (one per level, stride x 2, as torchvision's 32 on
  stride 4 ... is stride x 8 scaled to these objects of 12-28 px at 64x64 and 24-56 px at
  128x128), aspect ratios 0.5, 1, 2: 3 anchors per location, 1,020 for a 64x64 image.
* ``MultiScaleRoIAlign`` over "0", "1", "2" with ``canonical_scale=56`` (instead of 224):
  a 56-pixel box pools from stride 16, 28 from stride 8, smaller ones from stride 4.
* fewer proposals and samples: RPN pre-NMS top 1000 / 500 per level, post-NMS 300 / 100
  (train / test); 128 regions per image for the box head; representation size 256.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

from ...module import Module
from ..fpn import ResNetFPN
from ..registry import ZooEntry, register
from ..resnet import ResNet
from ..resnet_blocks import BasicBlock
from .anchor_utils import AnchorGenerator
from .poolers import MultiScaleRoIAlign
from .roi_heads import FastRCNNPredictor, RoIHeads, TwoMLPHead
from .rpn import RegionProposalNetwork, RPNHead
from .transform import GeneralizedRCNNTransform

__all__ = ["FasterRCNN", "faster_rcnn"]

SMALL_ANCHOR_SIZES = ((8,), (16,), (32,), (64,))
ASPECT_RATIOS = (0.5, 1.0, 2.0)


class FasterRCNN(Module):
    """``FasterRCNN(backbone, num_classes=None, *, image_mean=None, image_std=None,
    rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train=2000,
    rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000,
    rpn_nms_thresh=0.7, rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3,
    rpn_batch_size_per_image=256, rpn_positive_fraction=0.5, rpn_score_thresh=0.0,
    box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
    box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5,
    box_bg_iou_thresh=0.5, box_batch_size_per_image=512, box_positive_fraction=0.25,
    bbox_reg_weights=None)``: torchvision's FasterRCNN without resizing (module docstring).

    ``backbone`` returns a dict of maps with ``out_channels`` channels, fine to coarse.
    Defaults not given: the small-image anchors (sizes 8-64, one per map, 4 maps), a
    ``MultiScaleRoIAlign(["0", "1", "2"], 7, 2, canonical_scale=56)``, a ``TwoMLPHead``
    with 1024 units and a ``FastRCNNPredictor(1024, num_classes)``.
    """

    def __init__(self, backbone: Module, num_classes: int | None = None, *,
                 image_mean: Sequence[float] | None = None,
                 image_std: Sequence[float] | None = None,
                 rpn_anchor_generator: AnchorGenerator | None = None,
                 rpn_head: Module | None = None,
                 rpn_pre_nms_top_n_train: int = 2000, rpn_pre_nms_top_n_test: int = 1000,
                 rpn_post_nms_top_n_train: int = 2000, rpn_post_nms_top_n_test: int = 1000,
                 rpn_nms_thresh: float = 0.7, rpn_fg_iou_thresh: float = 0.7,
                 rpn_bg_iou_thresh: float = 0.3, rpn_batch_size_per_image: int = 256,
                 rpn_positive_fraction: float = 0.5, rpn_score_thresh: float = 0.0,
                 box_roi_pool: Module | None = None, box_head: Module | None = None,
                 box_predictor: Module | None = None, box_score_thresh: float = 0.05,
                 box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 box_fg_iou_thresh: float = 0.5, box_bg_iou_thresh: float = 0.5,
                 box_batch_size_per_image: int = 512, box_positive_fraction: float = 0.25,
                 bbox_reg_weights: tuple | None = None) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("FasterRCNN: backbone should have an out_channels attribute "
                             "(the channels of its feature maps)")
        if (num_classes is None) == (box_predictor is None):
            raise ValueError("FasterRCNN: give num_classes or box_predictor, exactly one "
                             f"(got num_classes={num_classes}, box_predictor="
                             f"{type(box_predictor).__name__ if box_predictor else None})")
        channels = backbone.out_channels
        anchors = rpn_anchor_generator or AnchorGenerator(
            SMALL_ANCHOR_SIZES, (ASPECT_RATIOS,) * len(SMALL_ANCHOR_SIZES))
        head = rpn_head or RPNHead(channels, anchors.num_anchors_per_location()[0])
        pool = box_roi_pool or MultiScaleRoIAlign(["0", "1", "2"], 7, 2, canonical_scale=56)
        size = pool.output_size
        box_head = box_head or TwoMLPHead(channels * size[0] * size[1], 1024)
        box_predictor = box_predictor or FastRCNNPredictor(1024, num_classes)
        self.transform = GeneralizedRCNNTransform(
            image_mean or (0.485, 0.456, 0.406), image_std or (0.229, 0.224, 0.225))
        self.backbone = backbone
        self.rpn = RegionProposalNetwork(
            anchors, head, rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
            rpn_positive_fraction,
            {"training": rpn_pre_nms_top_n_train, "testing": rpn_pre_nms_top_n_test},
            {"training": rpn_post_nms_top_n_train, "testing": rpn_post_nms_top_n_test},
            rpn_nms_thresh, rpn_score_thresh)
        self.roi_heads = RoIHeads(pool, box_head, box_predictor, box_fg_iou_thresh,
                                  box_bg_iou_thresh, box_batch_size_per_image,
                                  box_positive_fraction, bbox_reg_weights, box_score_thresh,
                                  box_nms_thresh, box_detections_per_img)

    def forward(self, images, targets: Sequence[dict] | None = None):
        """Training: the dict of losses; evaluation: one detections dict per image."""
        if self.training:
            if targets is None:
                raise ValueError("FasterRCNN: targets should be passed in training mode "
                                 "(model.eval() to detect)")
            image_list, targets = self.transform(images, targets)
            features = self.backbone(image_list.tensors)
            proposals, proposal_losses = self.rpn(image_list, features, targets)
            _, detector_losses = self.roi_heads(features, proposals, image_list.image_sizes,
                                                targets)
            return {**proposal_losses, **detector_losses}
        with tg.no_grad():  # detections are plain values: no graph to build
            image_list, _ = self.transform(images)
            features = self.backbone(image_list.tensors)
            proposals, _ = self.rpn(image_list, features)
            detections, _ = self.roi_heads(features, proposals, image_list.image_sizes)
        return detections


def _small_rcnn(cls: type, num_classes: int, *, base_channels: int = 16,
                fpn_channels: int = 64, representation_size: int = 256,
                anchor_sizes: Sequence[Sequence[int]] = SMALL_ANCHOR_SIZES,
                aspect_ratios: Sequence[float] = ASPECT_RATIOS, **kwargs) -> FasterRCNN:
    """``cls`` (FasterRCNN or a subclass) with the small-image choices of the module
    docstring; ``kwargs`` go to ``cls``."""
    trunk = ResNet(BasicBlock, [1, 1, 1, 1], in_channels=3, base_channels=base_channels)
    backbone = ResNetFPN(trunk, fpn_channels, returned_layers=[1, 2, 3])
    anchors = AnchorGenerator(tuple(tuple(s) for s in anchor_sizes),
                              (tuple(aspect_ratios),) * len(anchor_sizes))
    settings = {"rpn_pre_nms_top_n_train": 1000, "rpn_pre_nms_top_n_test": 500,
                "rpn_post_nms_top_n_train": 300, "rpn_post_nms_top_n_test": 100,
                "box_batch_size_per_image": 128, **kwargs}
    pool = MultiScaleRoIAlign(["0", "1", "2"], 7, 2, canonical_scale=56)
    return cls(backbone, rpn_anchor_generator=anchors, box_roi_pool=pool,
               box_head=TwoMLPHead(fpn_channels * 7 * 7, representation_size),
               box_predictor=FastRCNNPredictor(representation_size, num_classes), **settings)


def faster_rcnn(num_classes: int = 4, *, base_channels: int = 16, fpn_channels: int = 64,
                representation_size: int = 256,
                anchor_sizes: Sequence[Sequence[int]] = SMALL_ANCHOR_SIZES,
                aspect_ratios: Sequence[float] = ASPECT_RATIOS, **kwargs) -> FasterRCNN:
    """A small Faster R-CNN for 64x64 / 128x128 images (module docstring's choices).

    ``num_classes`` counts the background (4 for the shapes set); ``base_channels`` is the
    ResNet's first width (stages: b, 2b, 4b), ``fpn_channels`` the pyramid's. Other keyword
    arguments go to ``FasterRCNN`` (e.g. ``box_score_thresh``, ``rpn_post_nms_top_n_test``).
    """
    return _small_rcnn(FasterRCNN, num_classes, base_channels=base_channels,
                       fpn_channels=fpn_channels, representation_size=representation_size,
                       anchor_sizes=anchor_sizes, aspect_ratios=aspect_ratios, **kwargs)


class _LossWithFixedProposals(Module):
    """The zoo's gradient-check pair: x (N, 3, H, W) -> the four training losses of fixed
    targets, with the box head on fixed proposals (the RPN's own proposals move with the
    weights through NMS and top-k, which have no gradient) and samplers large enough to take
    every candidate (no random draw). Computed in either mode."""

    def __init__(self, detector: FasterRCNN, targets: list[dict], proposals: list) -> None:
        super().__init__()
        self.detector = detector
        self.targets, self.proposals = targets, proposals

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        det = self.detector
        images, targets = det.transform(x, self.targets)
        features = det.backbone(images.tensors)
        anchors, objectness, deltas, _ = det.rpn.predict(images, features)
        losses = det.rpn.losses(anchors, objectness, deltas, targets)
        proposals = [Tensor(p.astype(x.dtype)) for p in self.proposals]
        return {**losses, **det.roi_heads.losses(features, proposals, images.image_sizes,
                                                 targets)}


def _tiny() -> tuple[_LossWithFixedProposals, Tensor]:
    detector = faster_rcnn(3, base_channels=2, fpn_channels=4, representation_size=8,
                           anchor_sizes=((8,), (16,), (32,), (64,)), aspect_ratios=(1.0,),
                           rpn_batch_size_per_image=10**6, box_batch_size_per_image=10**6)
    targets = [{"boxes": np.array([[2, 3, 14, 12], [10, 12, 30, 28]], np.float32),
                "labels": np.array([1, 2])},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}]
    proposals = [np.array([[0, 2, 12, 14], [12, 10, 28, 30], [4, 4, 20, 20]], np.float32),
                 np.array([[1, 1, 9, 9], [8, 16, 30, 31]], np.float32)]
    return _LossWithFixedProposals(detector, targets, proposals), tg.rand(2, 3, 32, 32)


register(ZooEntry("faster_rcnn", faster_rcnn, task="detect", tiny=_tiny,
                  description="Faster R-CNN (ResNet + FPN, RPN, RoIAlign box head) for small "
                              "images: anchors 8-64 px, 4 classes with the background"))
