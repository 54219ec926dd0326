"""The second stage of Faster R-CNN: the box head on pooled regions, as torchvision's.

``RoIHeads`` takes the RPN's proposals (one (K_i, 4) Tensor per image) and the feature maps:

* training: each image's ground-truth boxes are appended to its proposals; ``Matcher(0.5,
  0.5)`` gives each proposal the class of the ground truth it overlaps with IoU >= 0.5, or 0
  (background); ``BalancedPositiveNegativeSampler(batch_size_per_image, 0.25)`` keeps at most
  a quarter positives; the kept proposals, in index order, are pooled.
* ``MultiScaleRoIAlign`` pools each region to (C, 7, 7) from its pyramid level; ``TwoMLPHead``
  maps it to a vector (two Linear + ReLU); ``FastRCNNPredictor`` gives class logits (R, K)
  and class-specific deltas (R, 4K) (``BoxCoder((10, 10, 5, 5))``).
* loss, over the R sampled regions of the batch with labels y_r and targets t_r:

      loss_classifier = mean_r cross_entropy(logits_r, y_r)
      loss_box_reg    = sum over positives r of smooth_l1(deltas_r[y_r] - t_r, beta=1/9) / R

  (only the deltas of a region's own class are trained).
* inference: softmax scores, every class's box decoded on the proposal and clipped to the
  image; background dropped; (box, class) pairs with score > ``score_thresh`` and sides >=
  0.01 kept; NMS (IoU > ``nms_thresh``) within each class; the ``detections_per_img`` best.

With a mask branch (``mask_roi_pool``, ``mask_head``, ``mask_predictor``: Mask R-CNN, see
``mask_head.py``) training adds ``loss_mask`` over the sampled positives, and each detection
gets ``masks`` (1, H, W): its own class's mask probabilities pasted into the image.

Matching and sampling run in numpy; the pooled features, logits and deltas are graph nodes.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

from ...functional_losses import cross_entropy, smooth_l1_loss
from ...linear import Linear
from ...module import Module
from .boxes import box_iou, clip_boxes_to_image, remove_small_boxes
from .coder import BoxCoder
from .mask_head import maskrcnn_inference, maskrcnn_loss, paste_masks_in_image
from .matcher import BalancedPositiveNegativeSampler, Matcher
from .nms import batched_nms
from .poolers import MultiScaleRoIAlign

__all__ = ["FastRCNNPredictor", "RoIHeads", "TwoMLPHead", "fastrcnn_loss"]


class TwoMLPHead(Module):
    """``TwoMLPHead(in_channels, representation_size)``: x (R, C, h, w) -> (R, rep),
    relu(fc7(relu(fc6(flatten(x))))) with in_channels = C h w."""

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        self.fc6 = Linear(in_channels, representation_size)
        self.fc7 = Linear(representation_size, representation_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc7(self.fc6(x.flatten(1)).relu()).relu()


class FastRCNNPredictor(Module):
    """``FastRCNNPredictor(in_channels, num_classes)``: x (R, in_channels) -> (logits (R, K),
    deltas (R, 4K)), K = num_classes including the background."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.cls_score = Linear(in_channels, num_classes)
        self.bbox_pred = Linear(in_channels, num_classes * 4)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() == 4:
            if tuple(x.shape[2:]) != (1, 1):
                raise ValueError(f"FastRCNNPredictor: x should be (R, C) or (R, C, 1, 1), got "
                                 f"shape {tuple(x.shape)}")
            x = x.flatten(1)
        return self.cls_score(x), self.bbox_pred(x)


def fastrcnn_loss(class_logits: Tensor, box_regression: Tensor, labels: Sequence[np.ndarray],
                  regression_targets: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """(loss_classifier, loss_box_reg) of logits (R, K) and deltas (R, 4K) against the
    per-image labels (R_i,) and targets (R_i, 4) (module docstring)."""
    y = np.concatenate(labels).astype(np.int64)
    targets = np.concatenate(regression_targets).astype(box_regression.dtype)
    classification_loss = cross_entropy(class_logits, Tensor(y))
    pos = np.flatnonzero(y > 0)
    r = class_logits.shape[0]
    per_class = box_regression.reshape(r, box_regression.shape[-1] // 4, 4)
    box_loss = smooth_l1_loss(per_class[pos, y[pos]], Tensor(targets[pos]), beta=1 / 9,
                              reduction="sum") / max(len(y), 1)
    return classification_loss, box_loss


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


class RoIHeads(Module):
    """``RoIHeads(box_roi_pool, box_head, box_predictor, fg_iou_thresh, bg_iou_thresh,
    batch_size_per_image, positive_fraction, bbox_reg_weights, score_thresh, nms_thresh,
    detections_per_img, mask_roi_pool=None, mask_head=None, mask_predictor=None)``:
    torchvision's box branch, and mask branch when given (module docstring).

    ``forward(features, proposals, image_shapes, targets=None) -> (detections, losses)``:
    in training ``([], {"loss_classifier", "loss_box_reg"})``, else one dict per image of
    ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,) int64, best first.
    """

    def __init__(self, box_roi_pool: MultiScaleRoIAlign, box_head: Module,
                 box_predictor: Module, fg_iou_thresh: float, bg_iou_thresh: float,
                 batch_size_per_image: int, positive_fraction: float,
                 bbox_reg_weights: tuple | None, score_thresh: float, nms_thresh: float,
                 detections_per_img: int, mask_roi_pool: Module | None = None,
                 mask_head: Module | None = None,
                 mask_predictor: Module | None = None) -> None:
        super().__init__()
        self.box_roi_pool, self.box_head, self.box_predictor = box_roi_pool, box_head, box_predictor
        self.proposal_matcher = Matcher(fg_iou_thresh, bg_iou_thresh,
                                        allow_low_quality_matches=False)
        self.fg_bg_sampler = BalancedPositiveNegativeSampler(batch_size_per_image,
                                                             positive_fraction)
        self.box_coder = BoxCoder(bbox_reg_weights or (10.0, 10.0, 5.0, 5.0))
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool, self.mask_head = mask_roi_pool, mask_head
        self.mask_predictor = mask_predictor

    def has_mask(self) -> bool:
        return self.mask_predictor is not None

    # -- training samples --------------------------------------------------------------------
    def assign_targets_to_proposals(self, proposals: Sequence[np.ndarray],
                                    gt_boxes: Sequence[np.ndarray],
                                    gt_labels: Sequence[np.ndarray]) -> tuple[list, list]:
        """Per image: matched ground-truth index (P,) (0 where none) and label (P,) int64:
        the ground truth's class, 0 for background (IoU < low), -1 ignored (in between)."""
        matched_idxs, labels = [], []
        for props, gt, gl in zip(proposals, gt_boxes, gt_labels):
            if len(gt) == 0:
                matched_idxs.append(np.zeros(len(props), np.int64))
                labels.append(np.zeros(len(props), np.int64))
                continue
            with tg.no_grad():
                quality = box_iou(Tensor(gt), Tensor(props))
            matched = _numpy(self.proposal_matcher(quality))
            clamped = np.clip(matched, 0, None)
            label = gl[clamped].astype(np.int64)
            label[matched == Matcher.BELOW_LOW_THRESHOLD] = 0
            label[matched == Matcher.BETWEEN_THRESHOLDS] = -1
            matched_idxs.append(clamped)
            labels.append(label)
        return matched_idxs, labels

    def select_training_samples(self, proposals: Sequence[Tensor], targets: Sequence[dict]
                                ) -> tuple[list[np.ndarray], list, list, list]:
        """(sampled proposals (R_i, 4), matched indices (R_i,), labels (R_i,), regression
        targets (R_i, 4)) per image, the ground truths appended to the proposals first.
        A sampled background region of an image without ground truth gets target 0."""
        gt_boxes = [_numpy(t["boxes"]) for t in targets]
        gt_labels = [_numpy(t["labels"]) for t in targets]
        props = [np.concatenate([_numpy(p), g.astype(_numpy(p).dtype)])
                 for p, g in zip(proposals, gt_boxes)]
        matched_idxs, labels = self.assign_targets_to_proposals(props, gt_boxes, gt_labels)
        pos_masks, neg_masks = self.fg_bg_sampler([Tensor(lab) for lab in labels])
        sampled_props, sampled_idxs, sampled_labels, regression_targets = [], [], [], []
        for i, (pos, neg) in enumerate(zip(pos_masks, neg_masks)):
            keep = np.flatnonzero(_numpy(pos) | _numpy(neg))
            p = props[i][keep]
            matched_gt = gt_boxes[i][matched_idxs[i][keep]] if len(gt_boxes[i]) else p
            with tg.no_grad():
                encoded = self.box_coder.encode_single(Tensor(matched_gt.astype(p.dtype)),
                                                       Tensor(p))
            sampled_props.append(p)
            sampled_idxs.append(matched_idxs[i][keep])
            sampled_labels.append(labels[i][keep])
            regression_targets.append(_numpy(encoded))
        return sampled_props, sampled_idxs, sampled_labels, regression_targets

    # -- inference ---------------------------------------------------------------------------
    def postprocess_detections(self, class_logits: Tensor, box_regression: Tensor,
                               proposals: Sequence[np.ndarray],
                               image_shapes: Sequence[tuple[int, int]]) -> list[dict]:
        """Per image: the detections (module docstring), as Tensors."""
        num_classes = class_logits.shape[-1]
        with tg.no_grad():
            boxes = _numpy(self.box_coder.decode(box_regression.detach(),
                                                 [Tensor(p) for p in proposals]))
            scores = _numpy(tg.softmax(class_logits.detach(), -1))
        results, start = [], 0
        for props, shape in zip(proposals, image_shapes):
            stop = start + len(props)
            b = _numpy(clip_boxes_to_image(Tensor(boxes[start:stop]), shape))
            s = scores[start:stop]
            start = stop
            labels = np.broadcast_to(np.arange(num_classes), s.shape)
            b, s, labels = b[:, 1:].reshape(-1, 4), s[:, 1:].reshape(-1), labels[:, 1:].reshape(-1)
            keep = np.flatnonzero(s > self.score_thresh)
            b, s, labels = b[keep], s[keep], labels[keep]
            keep = _numpy(remove_small_boxes(Tensor(b), 1e-2))
            b, s, labels = b[keep], s[keep], labels[keep]
            keep = _numpy(batched_nms(Tensor(b), Tensor(s), Tensor(labels), self.nms_thresh))
            keep = keep[:self.detections_per_img]
            results.append({"boxes": Tensor(b[keep]), "scores": Tensor(s[keep]),
                            "labels": Tensor(labels[keep].astype(np.int64))})
        return results

    # -- forward -----------------------------------------------------------------------------
    def _predict(self, features: dict, proposals: Sequence, image_shapes: Sequence
                 ) -> tuple[Tensor, Tensor]:
        pooled = self.box_roi_pool(features, [Tensor(_numpy(p)) for p in proposals],
                                   image_shapes)
        return self.box_predictor(self.box_head(pooled))

    def losses(self, features: dict, proposals: Sequence[Tensor],
               image_shapes: Sequence[tuple[int, int]], targets: Sequence[dict]
               ) -> dict[str, Tensor]:
        """``{"loss_classifier", "loss_box_reg"}`` (and ``"loss_mask"`` with a mask branch)
        of sampled proposals for the targets."""
        if self.has_mask() and any("masks" not in t for t in targets):
            raise ValueError("RoIHeads: the mask branch needs 'masks' (n, H, W) in every "
                             "target")
        dtype = next(iter(features.values())).dtype
        proposals = [_numpy(p).astype(dtype) for p in proposals]
        sampled, matched, labels, regression_targets = self.select_training_samples(
            proposals, targets)
        class_logits, box_regression = self._predict(features, sampled, image_shapes)
        loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels,
                                                      regression_targets)
        losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        if self.has_mask():
            positive = [np.flatnonzero(lab > 0) for lab in labels]
            boxes = [s[p] for s, p in zip(sampled, positive)]
            idxs = [m[p] for m, p in zip(matched, positive)]
            logits = self._mask_logits(features, boxes, image_shapes)
            losses["loss_mask"] = maskrcnn_loss(
                logits, boxes, [_numpy(t["masks"]) for t in targets],
                [_numpy(t["labels"]) for t in targets], idxs)
        return losses

    def _mask_logits(self, features: dict, boxes: Sequence[np.ndarray],
                     image_shapes: Sequence) -> Tensor:
        pooled = self.mask_roi_pool(features, [Tensor(b) for b in boxes], image_shapes)
        return self.mask_predictor(self.mask_head(pooled))

    def add_masks(self, features: dict, detections: list[dict],
                  image_shapes: Sequence[tuple[int, int]]) -> list[dict]:
        """Each detection dict gains ``masks`` (k, 1, H, W): probabilities in the image."""
        boxes = [_numpy(d["boxes"]) for d in detections]
        labels = [_numpy(d["labels"]) for d in detections]
        if sum(len(b) for b in boxes):
            probs = maskrcnn_inference(self._mask_logits(features, boxes, image_shapes), labels)
        else:
            probs = [np.zeros((0, 1, 1, 1), np.float32) for _ in boxes]
        for d, p, b, shape in zip(detections, probs, boxes, image_shapes):
            d["masks"] = Tensor(paste_masks_in_image(p.astype(np.float32), b, shape))
        return detections

    def forward(self, features: dict, proposals: Sequence[Tensor],
                image_shapes: Sequence[tuple[int, int]], targets: Sequence[dict] | None = None
                ) -> tuple[list[dict], dict[str, Tensor]]:
        if self.training:
            if targets is None:
                raise ValueError("RoIHeads: targets are required in training")
            return [], self.losses(features, proposals, image_shapes, targets)
        dtype = next(iter(features.values())).dtype
        props = [_numpy(p).astype(dtype) for p in proposals]
        class_logits, box_regression = self._predict(features, props, image_shapes)
        detections = self.postprocess_detections(class_logits, box_regression, props,
                                                 image_shapes)
        if self.has_mask():
            detections = self.add_masks(features, detections, image_shapes)
        return detections, {}
