"""``tinygrad_cs.vision.ops``: torchvision.ops' detection operators, by the same names.

Boxes (``boxes.py``): ``box_convert``, ``box_area``, ``box_iou``, ``generalized_box_iou``,
``generalized_box_iou_loss``, ``clip_boxes_to_image``, ``remove_small_boxes``,
``masks_to_boxes``, differentiable where torchvision's are. Suppression (``nms.py``, a
Numba kernel): ``nms``, ``batched_nms``, ``soft_nms``. The detection helpers of
torchvision's ``models.detection``: ``BoxCoder`` (``coder.py``), ``Matcher`` and
``BalancedPositiveNegativeSampler`` (``matcher.py``), ``AnchorGenerator`` (``anchors.py``).
"""
from .anchors import AnchorGenerator
from .boxes import (box_area, box_convert, box_iou, clip_boxes_to_image,
                    generalized_box_iou, generalized_box_iou_loss, masks_to_boxes,
                    remove_small_boxes)
from .coder import BoxCoder
from .matcher import BalancedPositiveNegativeSampler, Matcher
from .nms import batched_nms, nms, soft_nms

__all__ = ["AnchorGenerator", "BalancedPositiveNegativeSampler", "BoxCoder", "Matcher",
           "batched_nms", "box_area", "box_convert", "box_iou", "clip_boxes_to_image",
           "generalized_box_iou", "generalized_box_iou_loss", "masks_to_boxes", "nms",
           "remove_small_boxes", "soft_nms"]
