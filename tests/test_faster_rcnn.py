"""Faster R-CNN (nn/models/detection: rpn.py, roi_heads.py, faster_rcnn.py, transform.py).

Oracles: hand-worked target assignment (IoUs by hand), the losses recomputed in numpy from
their formulas (BCE with logits, smooth L1 with beta = 1/9, cross-entropy), proposal and
detection filtering on hand cases (clip, small boxes, per-level top-k, NMS, limits), the
output format of torchvision's detection models, images without objects, and a short
training on the shapes set whose held-out mAP@0.5 must rise well above the untrained one's.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn.models.detection.anchor_utils import AnchorGenerator
from tinygrad_cs.nn.models.detection.faster_rcnn import FasterRCNN, faster_rcnn
from tinygrad_cs.nn.models.detection.poolers import MultiScaleRoIAlign
from tinygrad_cs.nn.models.detection.roi_heads import (
    FastRCNNPredictor,
    RoIHeads,
    TwoMLPHead,
    fastrcnn_loss,
)
from tinygrad_cs.nn.models.detection.rpn import (
    RegionProposalNetwork,
    RPNHead,
    concat_box_prediction_layers,
)
from tinygrad_cs.nn.models.detection.transform import GeneralizedRCNNTransform, ImageList

BETA = 1 / 9


def smooth_l1(d: np.ndarray) -> np.ndarray:
    a = np.abs(d)
    return np.where(a < BETA, 0.5 * d * d / BETA, a - 0.5 * BETA)


def bce_with_logits(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def encode(gt: np.ndarray, ref: np.ndarray, w=(1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """Faster R-CNN's deltas, written out for the oracle."""
    rw, rh = ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1]
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    return np.stack([w[0] * ((gt[:, 0] + gw / 2) - (ref[:, 0] + rw / 2)) / rw,
                     w[1] * ((gt[:, 1] + gh / 2) - (ref[:, 1] + rh / 2)) / rh,
                     w[2] * np.log(gw / rw), w[3] * np.log(gh / rh)], axis=1)


def make_rpn(batch=10**6, pre=1000, post=1000, nms=0.7) -> RegionProposalNetwork:
    anchors = AnchorGenerator(((8,), (16,)), ((1.0,), (1.0,)))
    return RegionProposalNetwork(anchors, RPNHead(4, 1), 0.7, 0.3, batch, 0.5,
                                 {"training": pre, "testing": pre},
                                 {"training": post, "testing": post}, nms)


def make_roi_heads(num_classes=3, batch=10**6, fraction=0.25, score=0.05, nms=0.5, dets=100
                   ) -> RoIHeads:
    pool = MultiScaleRoIAlign(["0"], 2, 2)
    return RoIHeads(pool, TwoMLPHead(4 * 2 * 2, 8), FastRCNNPredictor(8, num_classes),
                    0.5, 0.5, batch, fraction, None, score, nms, dets)


def target(boxes, labels) -> dict:
    return {"boxes": tg.tensor(np.asarray(boxes, np.float32).reshape(-1, 4)),
            "labels": tg.tensor(np.asarray(labels, np.int64))}


# -- RPN ------------------------------------------------------------------------------------------
def test_rpn_labels_anchors_by_iou_with_low_quality_matches():
    rpn = make_rpn()
    anchors = np.array([[0, 0, 10, 12],     # IoU 100/120 = 0.83 with gt 0: positive
                        [0, 0, 10, 20],     # 100/200 = 0.5: between 0.3 and 0.7, ignored
                        [0, 0, 20, 20],     # 100/400 = 0.25: negative
                        [40, 40, 50, 50],   # no overlap: negative
                        [30, 30, 42, 42]],  # IoU 64/224 = 0.29 with gt 1, its best: positive
                       np.float32)
    gt = [[0, 0, 10, 10], [34, 34, 46, 46]]
    labels, matched = rpn.assign_targets_to_anchors([tg.tensor(anchors)],
                                                    [target(gt, [1, 2])])
    np.testing.assert_array_equal(labels[0], [1, -1, 0, 0, 1])
    np.testing.assert_array_equal(matched[0][[0, 4]], np.array(gt, np.float32))
    # without ground truth every anchor is a negative
    labels, _ = rpn.assign_targets_to_anchors([tg.tensor(anchors)], [target([], [])])
    np.testing.assert_array_equal(labels[0], np.zeros(5))


def test_rpn_loss_is_bce_over_sampled_anchors_and_smooth_l1_over_positives():
    rpn = make_rpn()  # a batch larger than the anchors: every labelled anchor is sampled
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((7, 1)).astype(np.float32)
    deltas = rng.standard_normal((7, 4)).astype(np.float32) * 0.2
    targets = rng.standard_normal((7, 4)).astype(np.float32) * 0.2
    labels = [np.array([1, 0, -1, 0], np.float32), np.array([1, 1, 0], np.float32)]
    obj, box = rpn.compute_loss(tg.tensor(logits), tg.tensor(deltas), labels,
                                [targets[:4], targets[4:]])
    y = np.concatenate(labels)
    sampled = y >= 0
    expect_obj = bce_with_logits(logits[sampled, 0], y[sampled]).mean()
    expect_box = smooth_l1(deltas[y == 1] - targets[y == 1]).sum() / sampled.sum()
    np.testing.assert_allclose(obj.item(), expect_obj, rtol=1e-5)
    np.testing.assert_allclose(box.item(), expect_box, rtol=1e-5)


def test_rpn_sampler_caps_the_positives_and_the_batch():
    rpn = make_rpn(batch=4)  # at most 2 positives, 4 anchors in all
    labels = [np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, -1], np.float32)]
    logits = np.zeros((10, 1), np.float32)     # each sampled anchor costs log 2
    deltas = np.ones((10, 4), np.float32)      # each positive costs 4 (1 - beta / 2)
    obj, box = rpn.compute_loss(tg.tensor(logits), tg.tensor(deltas), labels,
                                [np.zeros((10, 4), np.float32)])
    np.testing.assert_allclose(obj.item(), np.log(2), rtol=1e-6)
    np.testing.assert_allclose(box.item(), 2 * 4 * (1 - BETA / 2) / 4, rtol=1e-6)


def test_rpn_flattening_follows_the_anchor_order():
    """Row k of the flattened predictions is anchor k: level, row, column, anchor."""
    generator = AnchorGenerator(((8, 16), (32, 64)), ((1.0,), (1.0,)))
    images = ImageList(tg.zeros(2, 3, 32, 32), [(32, 32)] * 2)
    maps = [tg.zeros(2, 1, 8, 8), tg.zeros(2, 1, 4, 4)]
    anchors = generator(images, maps)[0].numpy()
    cls, reg = [], []
    for level, (h, w) in enumerate([(8, 8), (4, 4)]):
        a, y, x = np.meshgrid(np.arange(2), np.arange(h), np.arange(w), indexing="ij")
        code = (level * 1000 + y * 100 + x * 10 + a).astype(np.float32)    # (A, H, W)
        cls.append(tg.tensor(np.stack([code, code + 0.5])))                  # 2 images
        reg.append(tg.tensor(np.repeat(np.stack([code, code + 0.5])[:, :, None], 4, 2)
                             .reshape(2, 8, h, w)))
    logits, deltas = concat_box_prediction_layers(cls, reg)
    assert logits.shape == (2 * len(anchors), 1) and deltas.shape == (2 * len(anchors), 4)
    code = logits.numpy()[:len(anchors), 0]
    level, y, x, a = code // 1000, code % 1000 // 100, code % 100 // 10, code % 10
    stride = np.where(level == 0, 4, 8)
    size = np.array([[8, 16], [32, 64]])[level.astype(int), a.astype(int)]
    centre = np.stack([x * stride, y * stride], 1)
    np.testing.assert_allclose((anchors[:, :2] + anchors[:, 2:]) / 2, centre)
    np.testing.assert_allclose(anchors[:, 2] - anchors[:, 0], size)
    np.testing.assert_allclose(logits.numpy()[len(anchors):, 0], code + 0.5)
    np.testing.assert_allclose(deltas.numpy()[:, 1], logits.numpy()[:, 0])


def test_filter_proposals_clips_drops_small_ranks_per_level_and_suppresses():
    rpn = make_rpn(pre=3, post=3, nms=0.5)
    rpn.eval()
    boxes = np.array([[[-5, -5, 10, 10],     # level 0, clipped to (0, 0, 10, 10)
                       [1, 1, 11, 11],       # level 0, IoU 81/119 with the first: suppressed
                       [20, 20, 20.0005, 30],  # level 0, narrower than 1e-3: dropped
                       [40, 40, 50, 60],     # level 0, lowest score: beyond the top 3
                       [30, 30, 70, 70],     # level 1, clipped to (30, 30, 64, 64)
                       [0, 30, 20, 50]]],    # level 1
                     np.float32)
    logits = np.array([[3.0, 2.0, 4.0, 1.0, 0.5, 1.5]], np.float32)
    kept, scores = rpn.filter_proposals(boxes, logits, [(64, 64)], [4, 2])
    # level 0's top 3 less the tiny box and the suppressed one; level 1's two
    np.testing.assert_allclose(kept[0].numpy(), [[0, 0, 10, 10], [0, 30, 20, 50],
                                                 [30, 30, 64, 64]])
    np.testing.assert_allclose(scores[0].numpy(), 1 / (1 + np.exp(-np.array([3, 1.5, 0.5]))),
                               rtol=1e-6)
    rpn._post_nms_top_n["testing"] = 2
    kept, _ = rpn.filter_proposals(boxes, logits, [(64, 64)], [4, 2])
    assert len(kept[0]) == 2
    # suppression is within a level: the same box on two levels survives twice
    twins = np.array([[[0, 0, 10, 10], [0, 0, 10, 10]]], np.float32)
    kept, _ = rpn.filter_proposals(twins, np.zeros((1, 2), np.float32), [(64, 64)], [1, 1])
    assert len(kept[0]) == 2


# -- RoI heads ------------------------------------------------------------------------------------
def test_roi_heads_append_ground_truth_match_at_half_iou_and_encode_with_10_10_5_5():
    heads = make_roi_heads()
    proposals = [tg.tensor(np.array([[0, 0, 10, 12],     # IoU 0.83 with gt 0 -> class 2
                                     [0, 0, 20, 10],     # IoU 0.5 -> class 2 (>= 0.5)
                                     [0, 0, 20, 12],     # IoU 100/240 < 0.5 -> background
                                     [50, 50, 60, 60]], np.float32))]
    gt = target([[0, 0, 10, 10], [40, 40, 60, 60]], [2, 1])
    props, matched, labels, regression = heads.select_training_samples(proposals, [gt])
    assert props[0].shape == (6, 4)                      # 4 proposals + 2 ground truths
    np.testing.assert_array_equal(labels[0], [2, 2, 0, 0, 2, 1])   # [50..60]^2: IoU 0.25
    np.testing.assert_array_equal(matched[0][[0, 1, 4, 5]], [0, 0, 0, 1])
    gt_boxes = gt["boxes"].numpy()[matched[0]]
    np.testing.assert_allclose(regression[0], encode(gt_boxes, props[0], (10, 10, 5, 5)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(regression[0][4:], 0, atol=1e-6)  # a ground truth on itself


def test_roi_sampler_keeps_a_quarter_positives():
    tg.manual_seed(0)
    heads = make_roi_heads(batch=8, fraction=0.25)
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 40, (30, 2))
    proposals = [tg.tensor(np.concatenate([xy, xy + 20], 1).astype(np.float32))]
    gt = target([[10, 10, 30, 30], [20, 20, 40, 40], [5, 30, 25, 50]], [1, 2, 1])
    _, _, labels, _ = heads.select_training_samples(proposals, [gt])
    assert len(labels[0]) == 8 and (labels[0] > 0).sum() == 2   # int(8 * 0.25) positives


def test_fastrcnn_loss_is_cross_entropy_and_smooth_l1_on_the_true_class_deltas():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((5, 3)).astype(np.float32)
    deltas = rng.standard_normal((5, 12)).astype(np.float32) * 0.3
    targets = rng.standard_normal((5, 4)).astype(np.float32) * 0.3
    labels = [np.array([2, 0, 1]), np.array([0, 1])]
    cls, box = fastrcnn_loss(tg.tensor(logits), tg.tensor(deltas), labels,
                             [targets[:3], targets[3:]])
    y = np.concatenate(labels)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(cls.item(), -log_p[np.arange(5), y].mean(), rtol=1e-5)
    own = deltas.reshape(5, 3, 4)[np.arange(5), y]
    expect = smooth_l1(own[y > 0] - targets[y > 0]).sum() / 5
    np.testing.assert_allclose(box.item(), expect, rtol=1e-5)


def test_postprocess_decodes_per_class_thresholds_and_suppresses_within_a_class():
    heads = make_roi_heads(score=0.2, nms=0.5, dets=100)
    proposals = [np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 70, 70]], np.float32)]
    logits = np.log(np.array([[0.1, 0.6, 0.3],     # class 1 (0.6) and class 2 (0.3)
                              [0.1, 0.5, 0.4],     # class 1: suppressed by row 0
                              [0.9, 0.05, 0.05]],  # background: nothing above 0.2
                             np.float32))
    deltas = np.zeros((3, 12), np.float32)
    deltas[2, 4:8] = [0, 0, 5 * np.log(2), 5 * np.log(2)]   # grows the box past the image
    out = heads.postprocess_detections(tg.tensor(logits), tg.tensor(deltas), proposals,
                                       [(64, 64)])[0]
    np.testing.assert_allclose(out["scores"].numpy(), [0.6, 0.4], rtol=1e-5)
    np.testing.assert_array_equal(out["labels"].numpy(), [1, 2])
    np.testing.assert_allclose(out["boxes"].numpy(), [[0, 0, 10, 10], [1, 1, 11, 11]],
                               atol=1e-5)
    # the decoded box of the last row, class 1: doubled about its centre, clipped to 64
    heads.score_thresh = 0.0
    out = heads.postprocess_detections(tg.tensor(logits), tg.tensor(deltas), proposals,
                                       [(64, 64)])[0]
    row = out["boxes"].numpy()[(out["labels"].numpy() == 1) & (out["scores"].numpy() < 0.1)]
    np.testing.assert_allclose(row, [[40, 40, 64, 64]], atol=1e-4)
    heads.detections_per_img = 2
    out = heads.postprocess_detections(tg.tensor(logits), tg.tensor(deltas), proposals,
                                       [(64, 64)])[0]
    assert len(out["boxes"]) == 2


# -- the whole model ------------------------------------------------------------------------------
def small_model(**kwargs) -> FasterRCNN:
    return faster_rcnn(4, base_channels=4, fpn_channels=8, representation_size=16, **kwargs)


def test_eval_output_is_torchvision_detection_format():
    tg.manual_seed(0)
    model = small_model(box_score_thresh=0.0, box_detections_per_img=7)
    model.eval()
    preds = model(tg.rand(3, 3, 64, 64))
    assert isinstance(preds, list) and len(preds) == 3
    for p in preds:
        assert set(p) == {"boxes", "scores", "labels"}
        k = len(p["scores"])
        assert 0 < k <= 7 and p["boxes"].shape == (k, 4) and p["labels"].shape == (k,)
        assert p["labels"].dtype == np.int64 and p["boxes"].dtype == np.float32
        b, s, lab = p["boxes"].numpy(), p["scores"].numpy(), p["labels"].numpy()
        assert np.all(b >= 0) and np.all(b <= 64) and np.all(b[:, 2:] >= b[:, :2])
        assert np.all(np.diff(s) <= 0) and np.all((lab >= 1) & (lab <= 3))
        assert p["boxes"].grad_fn is None


def test_a_list_of_image_sizes_is_padded_and_each_clipped_to_its_own_size():
    tg.manual_seed(0)
    model = small_model(box_score_thresh=0.0)
    model.eval()
    preds = model([tg.rand(3, 64, 64), tg.rand(3, 40, 56)])   # (H, W) = (40, 56)
    boxes = preds[1]["boxes"].numpy()
    assert len(boxes) > 0 and boxes[:, [0, 2]].max() <= 56 and boxes[:, [1, 3]].max() <= 40
    assert preds[0]["boxes"].numpy().max() > 56    # the first image is not clipped to it


def test_images_without_objects_train():
    tg.manual_seed(1)
    model = small_model()
    model.train()
    images = tg.rand(2, 3, 64, 64)
    empty = [target([], []), target([], [])]
    losses = model(images, empty)
    assert set(losses) == {"loss_objectness", "loss_rpn_box_reg", "loss_classifier",
                           "loss_box_reg"}
    assert losses["loss_rpn_box_reg"].item() == 0 and losses["loss_box_reg"].item() == 0
    assert losses["loss_objectness"].item() > 0 and losses["loss_classifier"].item() > 0
    mixed = [target([[8, 8, 30, 28]], [2]), target([], [])]
    losses = model(images, mixed)
    total = sum(losses.values())
    total.backward()
    assert all(np.isfinite(v.item()) for v in losses.values())
    assert np.isfinite(model.rpn.head.cls_logits.weight.grad.numpy()).all()


def test_training_needs_valid_targets_and_changes_nothing_when_it_fails():
    model = small_model()
    model.train()
    with pytest.raises(ValueError, match="targets should be passed"):
        model(tg.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="positive height and width.*target 0"):
        model(tg.rand(1, 3, 64, 64), [target([[10, 10, 10, 20]], [1])])
    with pytest.raises(ValueError, match="2 images but 1 targets"):
        model(tg.rand(2, 3, 64, 64), [target([[1, 1, 9, 9]], [1])])


def test_transform_normalises_and_pads_a_list_of_sizes():
    transform = GeneralizedRCNNTransform((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 32)
    a, b = tg.ones(3, 40, 30), tg.zeros(3, 20, 64)
    images, _ = transform([a, b])
    assert images.tensors.shape == (2, 3, 64, 64) and images.image_sizes == [(40, 30), (20, 64)]
    x = images.tensors.numpy()
    np.testing.assert_allclose(x[0, :, :40, :30], 2.0)    # (1 - 0.5) / 0.25
    np.testing.assert_allclose(x[1, :, :20, :], -2.0)
    assert np.all(x[0, :, 40:, :] == 0) and np.all(x[0, :, :, 30:] == 0)


def test_builder_is_in_the_zoo_as_a_detector():
    from tinygrad_cs.nn import models
    entry = models.get("faster_rcnn")
    assert entry.task == "detect" and entry.build is faster_rcnn
    model = entry.build(num_classes=11)
    assert model.roi_heads.box_predictor.cls_score.out_features == 11


# -- learning -------------------------------------------------------------------------------------
def _map50(model, images, targets) -> float:
    from tinygrad_cs.data.detection import evaluate_detections
    model.eval()
    preds = [{k: v.numpy() for k, v in p.items()} for p in model(tg.tensor(images))]
    model.train()
    return evaluate_detections(preds, targets)["map_50"]


@pytest.fixture
def one_kernel_thread():
    """Serial Numba kernels for the training test: its many small kernels spend most of their
    time waking the thread pool when the machine is busy (89 s vs 15 s measured at load 10),
    and the result then does not depend on the machine's thread count."""
    threads = tg.get_num_threads()
    tg.set_num_threads(1)
    yield
    tg.set_num_threads(threads)


def test_short_training_lifts_map_well_above_the_untrained_model(one_kernel_thread,
                                                                 one_blas_thread):
    """200 images of at most 2 shapes (one hue per class), 2 epochs in batches of 4.
    Measured: mAP@0.5 0.001 untrained -> 0.30 trained (the floor below leaves a margin)."""
    from tinygrad_cs.data.detection import make_shapes
    images, targets = make_shapes(240, seed=3, max_objects=2, class_colors=True)
    images = images.astype(np.float32) / 255
    train_x, train_t, test_x, test_t = images[:200], targets[:200], images[200:], targets[200:]
    tg.manual_seed(0)
    model = faster_rcnn(4, base_channels=8, fpn_channels=16, representation_size=32,
                        box_batch_size_per_image=32, rpn_post_nms_top_n_train=100)
    before = _map50(model, test_x, test_t)
    opt = tg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    with one_blas_thread():
        for _ in range(2):
            for s in range(0, 200, 4):
                ids = range(s, s + 4)
                losses = model(tg.tensor(train_x[s:s + 4]), [train_t[i] for i in ids])
                opt.zero_grad()
                sum(losses.values()).backward()
                opt.step()
    after = _map50(model, test_x, test_t)
    print(f"mAP@0.5 {before:.3f} -> {after:.3f}")
    assert before < 0.02 and after > 0.15
