"""Mask R-CNN's mask branch (nn/models/detection/mask_head.py, mask_rcnn.py).

Oracles: RoIAlign of a binary mask worked by hand (bilinear samples at the bins' points),
the mask loss recomputed in numpy (BCE with logits on each proposal's own class), pasting
a mask whose edges fall exactly on pixel edges (the pasted mask is then the box's indicator),
and the output format of torchvision's Mask R-CNN.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn.models.detection.mask_head import (
    maskrcnn_inference,
    maskrcnn_loss,
    paste_masks_in_image,
    project_masks_on_boxes,
)
from tinygrad_cs.nn.models.detection.mask_rcnn import MaskRCNN, mask_rcnn


def bce_with_logits(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def test_projected_targets_are_the_masks_roialigned_on_the_proposals():
    masks = np.zeros((2, 32, 32), np.uint8)
    masks[0, :, :16] = 1                     # mask 0: the left half of the image
    boxes = np.array([[8, 0, 24, 16], [8, 0, 24, 16]], np.float32)
    targets = project_masks_on_boxes(masks, boxes, np.array([0, 1]), 2)
    # left bins sample x = 8.5 ... 15.5: seven ones and 0.5 at 15.5 (between 15 and 16)
    np.testing.assert_allclose(targets[0], [[0.9375, 0], [0.9375, 0]], atol=1e-6)
    np.testing.assert_allclose(targets[1], 0)  # matched to the empty mask 1


def test_mask_loss_is_bce_on_each_proposals_own_class_map():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 4, 6, 6)).astype(np.float32)
    masks = [(rng.uniform(size=(2, 24, 24)) > 0.5).astype(np.uint8),
             (rng.uniform(size=(1, 24, 24)) > 0.5).astype(np.uint8)]
    labels = [np.array([3, 1]), np.array([2])]
    boxes = [np.array([[2, 2, 14, 14], [5, 3, 20, 22]], np.float32),
             np.array([[0, 0, 12, 18]], np.float32)]
    idxs = [np.array([1, 0]), np.array([0])]
    loss = maskrcnn_loss(tg.tensor(logits), boxes, masks, labels, idxs)
    targets = np.concatenate([project_masks_on_boxes(m, b, i, 6)
                              for m, b, i in zip(masks, boxes, idxs)])
    own = logits[np.arange(3), [1, 3, 2]]    # the labels of the matched ground truths
    np.testing.assert_allclose(loss.item(), bce_with_logits(own, targets).mean(), rtol=1e-5)
    empty = maskrcnn_loss(tg.tensor(logits[:0]), [boxes[0][:0]], [masks[0]], [labels[0]],
                          [idxs[0][:0]])
    assert empty.item() == 0


def test_inference_picks_the_label_channel_through_a_sigmoid():
    logits = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) / 10 - 1
    probs = maskrcnn_inference(tg.tensor(logits), [np.array([2]), np.array([0])])
    assert [p.shape for p in probs] == [(1, 1, 2, 2), (1, 1, 2, 2)]
    np.testing.assert_allclose(probs[0][0, 0], 1 / (1 + np.exp(-logits[0, 2])), rtol=1e-6)
    np.testing.assert_allclose(probs[1][0, 0], 1 / (1 + np.exp(-logits[1, 0])), rtol=1e-6)


def test_pasting_a_mask_on_pixel_edges_gives_its_indicator():
    m = 28
    mask = np.zeros((1, 1, m, m), np.float32)
    mask[..., :, : m // 2] = 1               # the left half of the box
    box = np.array([[10, 20, 30, 40]], np.float32)
    pasted = paste_masks_in_image(mask, box, (64, 48))
    expect = np.zeros((64, 48), np.float32)
    expect[20:40, 10:20] = 1
    assert pasted.shape == (1, 1, 64, 48)
    np.testing.assert_allclose(pasted[0, 0], expect, atol=1e-5)
    assert paste_masks_in_image(mask[:0], box[:0], (64, 48)).shape == (0, 1, 64, 48)


def test_mask_rcnn_outputs_masks_and_trains_with_empty_targets():
    tg.manual_seed(0)
    model = mask_rcnn(4, base_channels=4, fpn_channels=8, representation_size=16,
                      mask_channels=4, box_score_thresh=0.0, box_detections_per_img=5)
    assert isinstance(model, MaskRCNN)
    images = tg.rand(2, 3, 64, 64)
    masks = np.zeros((1, 64, 64), np.uint8)
    masks[0, 10:30, 8:40] = 1
    targets = [{"boxes": np.array([[8, 10, 40, 30]], np.float32), "labels": np.array([2]),
                "masks": masks},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64),
                "masks": np.zeros((0, 64, 64), np.uint8)}]
    losses = model(images, targets)
    assert "loss_mask" in losses and np.isfinite(losses["loss_mask"].item())
    assert losses["loss_mask"].item() > 0
    sum(losses.values()).backward()
    assert np.abs(model.roi_heads.mask_predictor.mask_fcn_logits.weight.grad.numpy()).sum() > 0
    with pytest.raises(ValueError, match="needs 'masks'"):
        model(images, [{k: v for k, v in t.items() if k != "masks"} for t in targets])
    model.eval()
    for p in model(images):
        k = len(p["scores"])
        assert 0 < k <= 5 and p["masks"].shape == (k, 1, 64, 64)
        values = p["masks"].numpy()
        assert values.dtype == np.float32 and values.min() >= 0 and values.max() <= 1
