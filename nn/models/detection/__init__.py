"""Detection and segmentation: the models of the notes' Part 3, and the pieces they share.

The shared pieces, by torchvision's names (``tinygrad_cs.vision.ops`` re-exports them for
``torchvision.ops`` users): ``boxes`` (box formats, IoU, GIoU and its loss), ``nms`` (greedy,
batched and soft NMS on a Numba kernel), ``coder`` (``BoxCoder``), ``matcher`` (``Matcher``,
``BalancedPositiveNegativeSampler``), ``anchor_utils`` (``AnchorGenerator``) and ``poolers``
(``roi_align``/``roi_pool`` on lists of boxes, ``RoIAlign``, ``RoIPool``,
``MultiScaleRoIAlign``). They live here, under ``nn``, because the models use them and ``nn``
never imports ``vision``.

The models follow torchvision's detection interface (a dict of losses from
``model(images, targets)`` in training mode, per-image boxes, scores and labels from
``model(images)`` in eval mode), so ``tgcs train`` trains them all with one loop: ``yolo``
(YOLO v1: ``yolo.py``, its loss and targets in ``yolo_loss.py``).

The two-stage detector: ``transform`` (``ImageList``, ``GeneralizedRCNNTransform``), ``rpn``
(``RPNHead``, ``RegionProposalNetwork``), ``roi_heads`` (``TwoMLPHead``, ``FastRCNNPredictor``,
``RoIHeads``) and ``faster_rcnn`` (``FasterRCNN`` and the zoo's small-image ``faster_rcnn``);
``mask_head`` and ``mask_rcnn`` add Mask R-CNN's mask branch. Instance segmentation by
locations: ``solo`` (SOLO, decoupled mask branch), with ``solo_targets``, ``losses`` (dice,
focal) and ``matrix_nms``.
"""
