"""``tinygrad_cs.vision.ops``: torchvision.ops' detection operators, by the same names.

Boxes: ``box_convert``, ``box_area``, ``box_iou``, ``generalized_box_iou``,
``generalized_box_iou_loss``, ``clip_boxes_to_image``, ``remove_small_boxes``,
``masks_to_boxes``, differentiable where torchvision's are. Suppression (a Numba kernel):
``nms``, ``batched_nms``, ``soft_nms``. Region-of-interest pooling: ``roi_align``,
``roi_pool``, ``RoIAlign``, ``RoIPool``, ``MultiScaleRoIAlign``. Losses:
``sigmoid_focal_loss``. And the detection helpers
of torchvision's ``models.detection``: ``BoxCoder``, ``Matcher``,
``BalancedPositiveNegativeSampler``, ``AnchorGenerator``.

They are implemented in ``tinygrad_cs.nn.models.detection`` (the detection models use them,
and ``nn`` sits below ``vision``); this module only gives them torchvision's address.
"""
from tinygrad_cs.nn.models.detection.anchor_utils import AnchorGenerator
from tinygrad_cs.nn.models.detection.boxes import (box_area, box_convert, box_iou,
                                                   clip_boxes_to_image, generalized_box_iou,
                                                   generalized_box_iou_loss, masks_to_boxes,
                                                   remove_small_boxes)
from tinygrad_cs.nn.models.detection.coder import BoxCoder
from tinygrad_cs.nn.models.detection.losses import sigmoid_focal_loss
from tinygrad_cs.nn.models.detection.matcher import BalancedPositiveNegativeSampler, Matcher
from tinygrad_cs.nn.models.detection.nms import batched_nms, nms, soft_nms
from tinygrad_cs.nn.models.detection.poolers import (MultiScaleRoIAlign, RoIAlign, RoIPool,
                                                     roi_align, roi_pool)

__all__ = ["AnchorGenerator", "BalancedPositiveNegativeSampler", "BoxCoder", "Matcher",
           "MultiScaleRoIAlign", "RoIAlign", "RoIPool", "batched_nms", "box_area",
           "box_convert", "box_iou", "clip_boxes_to_image", "generalized_box_iou",
           "generalized_box_iou_loss", "masks_to_boxes", "nms", "remove_small_boxes",
           "roi_align", "roi_pool", "sigmoid_focal_loss", "soft_nms"]
