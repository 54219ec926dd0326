"""Detection data that ships offline, and its evaluation.

* ``make_shapes`` / ``make_digits_detection``: generated sets with boxes, labels and instance
  masks (``load_dataset("shapes")`` / ``load_dataset("digits-detection")`` give them as
  ``Splits`` of ``DetectionDataset``);
* ``DetectionDataset`` and ``detection_collate``: samples ``(image, target)`` as torchvision's
  detection models take them;
* ``augment``: flips, scales and crops that move boxes and masks with the image;
* ``average_precision`` / ``evaluate_detections``: COCO and VOC mAP, for boxes and masks;
* ``boxes``: ``box_iou``, ``mask_iou``, ``masks_to_boxes`` in numpy.
"""
from .augment import Compose, RandomCrop, RandomHorizontalFlip, RandomScale
from .boxes import box_area, box_iou, mask_iou, masks_to_boxes
from .dataset import DetectionDataset, detection_collate
from .digits import DIGIT_CLASSES, make_digits_detection
from .metrics import average_precision, evaluate_detections
from .shapes import SHAPE_CLASSES, make_shapes

__all__ = ["DIGIT_CLASSES", "SHAPE_CLASSES", "Compose", "DetectionDataset", "RandomCrop",
           "RandomHorizontalFlip", "RandomScale", "average_precision", "box_area", "box_iou",
           "detection_collate", "evaluate_detections", "make_digits_detection", "make_shapes",
           "mask_iou", "masks_to_boxes"]
