"""The Region Proposal Network of Faster R-CNN (Ren et al. 2015), with torchvision's semantics.

``RPNHead`` slides a 3x3 conv (+ ReLU) over each pyramid level (N, C, H_l, W_l) and predicts,
for each of the A anchors of each location, an objectness logit (N, A, H_l, W_l) and box
deltas (N, 4A, H_l, W_l). ``RegionProposalNetwork`` flattens them in the anchors' order
(level, row, column, anchor) and:

* proposals: decode the deltas on the anchors (``BoxCoder((1, 1, 1, 1))``); per image, keep
  the ``pre_nms_top_n`` highest logits of each level, clip the boxes to the image, drop boxes
  narrower or lower than ``min_size`` (1e-3) and those whose sigmoid score is below
  ``score_thresh``, run NMS (IoU > ``nms_thresh``) within each level, and keep the
  ``post_nms_top_n`` best. Proposals carry no gradient.
* training targets: ``Matcher(fg_iou_thresh, bg_iou_thresh, allow_low_quality_matches=True)``
  on the IoU (ground truths x anchors): label 1 (IoU >= 0.7, or an anchor that is some
  ground truth's best), 0 (IoU < 0.3), -1 (ignored, in between); regression target = the
  matched ground truth encoded on the anchor.
* loss: ``BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction)`` picks
  S = P + Q anchors per image (P positives); over the whole batch

      loss_objectness = mean over the S sampled of BCE-with-logits(logit, label)
      loss_rpn_box_reg = sum over the P positives of smooth_l1(delta - target, beta=1/9) / S

  with smooth_l1(d) = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (per coordinate).

An image without ground truth has only negatives (all labels 0). Bookkeeping (matching,
sampling, top-k, NMS) runs in numpy; only the logits and deltas are graph nodes.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

from ... import init
from ...activation import ReLU
from ...containers import Sequential
from ...conv import Conv2d
from ...functional_losses import binary_cross_entropy_with_logits, smooth_l1_loss
from ...module import Module
from .anchor_utils import AnchorGenerator
from .boxes import box_iou, clip_boxes_to_image, remove_small_boxes
from .coder import BoxCoder
from .matcher import BalancedPositiveNegativeSampler, Matcher
from .nms import batched_nms

__all__ = ["RPNHead", "RegionProposalNetwork", "concat_box_prediction_layers"]


class RPNHead(Module):
    """``RPNHead(in_channels, num_anchors, conv_depth=1)``: per level, x (N, C, H, W) ->
    logits (N, A, H, W) and deltas (N, 4A, H, W); weights ~ N(0, 0.01^2), biases 0."""

    def __init__(self, in_channels: int, num_anchors: int, conv_depth: int = 1) -> None:
        super().__init__()
        self.conv = Sequential(*[Sequential(Conv2d(in_channels, in_channels, 3, padding=1),
                                            ReLU()) for _ in range(conv_depth)])
        self.cls_logits = Conv2d(in_channels, num_anchors, 1)
        self.bbox_pred = Conv2d(in_channels, 4 * num_anchors, 1)
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.normal_(m.weight, std=0.01)
                init.zeros_(m.bias)

    def forward(self, x: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        logits, deltas = [], []
        for feature in x:
            t = self.conv(feature)
            logits.append(self.cls_logits(t))
            deltas.append(self.bbox_pred(t))
        return logits, deltas


def _flatten_level(layer: Tensor, n: int, a: int, c: int, h: int, w: int) -> Tensor:
    # (N, A*C, H, W) -> (N, H*W*A, C): the anchors' order is row, column, anchor
    return layer.reshape(n, a, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c)


def concat_box_prediction_layers(box_cls: Sequence[Tensor], box_regression: Sequence[Tensor]
                                 ) -> tuple[Tensor, Tensor]:
    """Per-level (N, A*C, H_l, W_l) and (N, A*4, H_l, W_l) -> (N * sum_l H_l W_l A, C) and
    (N * sum_l H_l W_l A, 4), rows ordered by image, level, row, column, anchor."""
    flat_cls, flat_reg = [], []
    for cls, reg in zip(box_cls, box_regression):
        n, axc, h, w = cls.shape
        a = reg.shape[1] // 4
        flat_cls.append(_flatten_level(cls, n, a, axc // a, h, w))
        flat_reg.append(_flatten_level(reg, n, a, 4, h, w))
    c = flat_cls[0].shape[-1]
    return tg.cat(flat_cls, dim=1).reshape(-1, c), tg.cat(flat_reg, dim=1).reshape(-1, 4)


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


class RegionProposalNetwork(Module):
    """``RegionProposalNetwork(anchor_generator, head, fg_iou_thresh, bg_iou_thresh,
    batch_size_per_image, positive_fraction, pre_nms_top_n, post_nms_top_n, nms_thresh,
    score_thresh=0.0)``: torchvision's RPN (module docstring).

    ``pre_nms_top_n`` / ``post_nms_top_n``: dicts ``{"training": k, "testing": k}``.
    ``forward(images, features, targets=None) -> (proposals, losses)``: ``images`` an
    ``ImageList``, ``features`` a dict of (N, C, H_l, W_l) maps (fine to coarse),
    ``proposals`` one (K_i, 4) Tensor per image, ``losses`` ``{"loss_objectness",
    "loss_rpn_box_reg"}`` in training, else ``{}``.
    """

    def __init__(self, anchor_generator: AnchorGenerator, head: RPNHead,
                 fg_iou_thresh: float, bg_iou_thresh: float, batch_size_per_image: int,
                 positive_fraction: float, pre_nms_top_n: dict, post_nms_top_n: dict,
                 nms_thresh: float, score_thresh: float = 0.0) -> None:
        super().__init__()
        self.anchor_generator = anchor_generator
        self.head = head
        self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self.proposal_matcher = Matcher(fg_iou_thresh, bg_iou_thresh,
                                        allow_low_quality_matches=True)
        self.fg_bg_sampler = BalancedPositiveNegativeSampler(batch_size_per_image,
                                                             positive_fraction)
        self._pre_nms_top_n, self._post_nms_top_n = dict(pre_nms_top_n), dict(post_nms_top_n)
        self.nms_thresh, self.score_thresh, self.min_size = nms_thresh, score_thresh, 1e-3

    def pre_nms_top_n(self) -> int:
        return self._pre_nms_top_n["training" if self.training else "testing"]

    def post_nms_top_n(self) -> int:
        return self._post_nms_top_n["training" if self.training else "testing"]

    # -- training targets and loss ---------------------------------------------------------
    def assign_targets_to_anchors(self, anchors: Sequence[Tensor], targets: Sequence[dict]
                                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per image: labels (A,) float32 in {1, 0, -1} and matched ground-truth boxes (A, 4).

        Without ground truth every anchor is a negative, matched to itself (its regression
        target, never used, is then 0)."""
        labels, matched_boxes = [], []
        for anchors_i, target in zip(anchors, targets):
            a = _numpy(anchors_i)
            gt = _numpy(target["boxes"])
            if len(gt) == 0:
                labels.append(np.zeros(len(a), np.float32))
                matched_boxes.append(a.copy())
                continue
            with tg.no_grad():
                quality = box_iou(Tensor(gt.astype(a.dtype)), Tensor(a))
            matched = _numpy(self.proposal_matcher(quality))
            matched_boxes.append(gt[np.clip(matched, 0, None)].astype(a.dtype))
            label = (matched >= 0).astype(np.float32)
            label[matched == Matcher.BETWEEN_THRESHOLDS] = -1.0
            labels.append(label)
        return labels, matched_boxes

    def compute_loss(self, objectness: Tensor, pred_bbox_deltas: Tensor,
                     labels: Sequence[np.ndarray], regression_targets: Sequence[np.ndarray]
                     ) -> tuple[Tensor, Tensor]:
        """(loss_objectness, loss_rpn_box_reg) of the flattened logits (sum A, 1) and deltas
        (sum A, 4) against per-image labels and targets (module docstring)."""
        pos_masks, neg_masks = self.fg_bg_sampler([Tensor(lab) for lab in labels])
        pos = np.flatnonzero(np.concatenate([_numpy(m) for m in pos_masks]))
        neg = np.flatnonzero(np.concatenate([_numpy(m) for m in neg_masks]))
        sampled = np.concatenate([pos, neg])
        all_labels = np.concatenate(labels)
        targets = np.concatenate(regression_targets).astype(pred_bbox_deltas.dtype)
        box_loss = smooth_l1_loss(pred_bbox_deltas[pos], Tensor(targets[pos]), beta=1 / 9,
                                  reduction="sum") / max(len(sampled), 1)
        logits = objectness.flatten()[sampled]
        objectness_loss = binary_cross_entropy_with_logits(
            logits, Tensor(all_labels[sampled].astype(logits.dtype)))
        return objectness_loss, box_loss

    # -- proposals ---------------------------------------------------------------------------
    def filter_proposals(self, proposals: np.ndarray, objectness: np.ndarray,
                         image_shapes: Sequence[tuple[int, int]],
                         num_anchors_per_level: Sequence[int]) -> tuple[list, list]:
        """Proposals (N, sum A, 4) and logits (N, sum A) -> per image the kept boxes (K, 4)
        and their sigmoid scores (K,), best first (module docstring)."""
        n = proposals.shape[0]
        pre_n, post_n = self.pre_nms_top_n(), self.post_nms_top_n()
        levels = np.repeat(np.arange(len(num_anchors_per_level)), num_anchors_per_level)
        chosen, offset = [], 0
        for count in num_anchors_per_level:  # the top pre_n of each level, best first
            part = objectness[:, offset:offset + count]
            chosen.append(np.argsort(-part, axis=1, kind="stable")[:, :min(pre_n, count)]
                          + offset)
            offset += count
        index = np.concatenate(chosen, axis=1)
        rows = np.arange(n)[:, None]
        boxes, logits, lvl = proposals[rows, index], objectness[rows, index], levels[index]
        scores = (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(logits.dtype)   # sigmoid
        final_boxes, final_scores = [], []
        for b, s, lv, shape in zip(boxes, scores, lvl, image_shapes):
            b = _numpy(clip_boxes_to_image(Tensor(b), shape))
            keep = _numpy(remove_small_boxes(Tensor(b), self.min_size))
            keep = keep[s[keep] >= self.score_thresh]
            b, s, lv = b[keep], s[keep], lv[keep]
            keep = _numpy(batched_nms(Tensor(b), Tensor(s), Tensor(lv), self.nms_thresh))
            keep = keep[:post_n]
            final_boxes.append(Tensor(b[keep]))
            final_scores.append(Tensor(s[keep]))
        return final_boxes, final_scores

    # -- forward -----------------------------------------------------------------------------
    def predict(self, images, features: dict) -> tuple[list, Tensor, Tensor, list[int]]:
        """(anchors per image, logits (N sum A, 1), deltas (N sum A, 4), A per level)."""
        maps = list(features.values())
        logits, deltas = self.head(maps)
        anchors = self.anchor_generator(images, maps)
        num_anchors_per_level = [int(np.prod(o.shape[1:])) for o in logits]
        objectness, pred_bbox_deltas = concat_box_prediction_layers(logits, deltas)
        return anchors, objectness, pred_bbox_deltas, num_anchors_per_level

    def losses(self, anchors: Sequence[Tensor], objectness: Tensor, pred_bbox_deltas: Tensor,
               targets: Sequence[dict]) -> dict[str, Tensor]:
        """``{"loss_objectness", "loss_rpn_box_reg"}`` for the targets of each image."""
        labels, matched = self.assign_targets_to_anchors(anchors, targets)
        with tg.no_grad():
            encoded = self.box_coder.encode([Tensor(m) for m in matched], list(anchors))
        regression_targets = [_numpy(t) for t in encoded]
        loss_objectness, loss_rpn_box_reg = self.compute_loss(
            objectness, pred_bbox_deltas, labels, regression_targets)
        return {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}

    def forward(self, images, features: dict, targets: Sequence[dict] | None = None
                ) -> tuple[list[Tensor], dict[str, Tensor]]:
        anchors, objectness, pred_bbox_deltas, num_anchors_per_level = self.predict(
            images, features)
        n = len(anchors)
        with tg.no_grad():
            decoded = self.box_coder.decode(pred_bbox_deltas.detach(), list(anchors))
        proposals = _numpy(decoded).reshape(n, -1, 4)
        boxes, _ = self.filter_proposals(proposals, _numpy(objectness).reshape(n, -1),
                                         images.image_sizes, num_anchors_per_level)
        losses: dict[str, Tensor] = {}
        if self.training:
            if targets is None:
                raise ValueError("RegionProposalNetwork: targets are required in training")
            losses = self.losses(anchors, objectness, pred_bbox_deltas, targets)
        return boxes, losses
