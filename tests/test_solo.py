"""SOLO (nn/models/detection/solo.py): the dice loss, target assignment, Matrix NMS, the loss
of a whole batch, the output format, and a short training run that must lift mask AP.

Oracles: hand-worked cases, the paper's formulas written out with plain loops (one object,
one pair of masks at a time), central differences in float64, and mask AP of the untrained
model against a measured floor."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.data import load_dataset
from tinygrad_cs.data.detection.metrics import average_precision
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.detection.losses import dice_loss
from tinygrad_cs.nn.models.detection.matrix_nms import matrix_nms
from tinygrad_cs.nn.models.detection.solo import SOLO, solo
from tinygrad_cs.nn.models.detection.solo_targets import solo_targets
from tinygrad_cs.testing import gradcheck


# -- dice loss -------------------------------------------------------------------------------
def test_dice_loss_hand_cases():
    p = tg.Tensor(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 0]],
                           np.float64))
    q = tg.Tensor(np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]],
                           np.float64))
    # equal -> 0; disjoint -> 1; 1 - 2 * 0.5 / (0.25 + 0.25 + 1) = 1/3; both empty -> 1
    np.testing.assert_allclose(dice_loss(p[:3], q[:3], eps=0).numpy(), [0, 1, 1 / 3],
                               atol=1e-12)
    assert dice_loss(p, q).numpy()[3] == 1.0


def test_dice_loss_matches_numpy_and_central_differences():
    rng = np.random.default_rng(0)
    p = tg.Tensor(rng.uniform(0.05, 0.95, (3, 4, 5)), requires_grad=True)
    q = rng.uniform(0, 1, (3, 4, 5))
    a, b = p.numpy().reshape(3, -1), q.reshape(3, -1)
    expected = 1 - 2 * (a * b).sum(1) / ((a * a).sum(1) + (b * b).sum(1) + 1e-6)
    np.testing.assert_allclose(dice_loss(p, tg.Tensor(q)).numpy(), expected, rtol=1e-12)
    gradcheck(lambda x: dice_loss(x, tg.Tensor(q)), (p,))


def test_dice_loss_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"dice_loss.*\(2, 3\).*\(2, 4\)"):
        dice_loss(tg.zeros(2, 3), tg.zeros(2, 4))


# -- target assignment -----------------------------------------------------------------------
def _square(top: int, left: int, size: int, image: int = 64) -> np.ndarray:
    m = np.zeros((image, image), np.uint8)
    m[top:top + size, left:left + size] = 1
    return m


def test_targets_hand_case():
    # a 20 x 20 square at rows 10..29, cols 30..49: centre (cy, cx) = (20, 40), half-region
    # 0.2 * 20 / 2 = 2 px, so rows floor(18 / 4) .. floor(22 / 4) = 4..5, cols 9..10
    mask = _square(10, 30, 20)
    category, positive, pooled = solo_targets(mask[None], np.array([2]), grid=16, stride=2)
    np.testing.assert_array_equal(positive, [4 * 16 + 9, 4 * 16 + 10, 5 * 16 + 9, 5 * 16 + 10])
    expected = np.zeros(256, np.int64)
    expected[positive] = 2
    np.testing.assert_array_equal(category, expected)
    want = np.zeros((32, 32), np.float32)
    want[5:15, 15:25] = 1
    for m in pooled:
        np.testing.assert_array_equal(m, want)


def test_targets_clamp_to_three_by_three_and_pool_softly():
    # sigma = 1: the whole 24 x 24 box would touch 7 x 7 cells; the clamp keeps the 3 x 3
    # around the centre's cell (centre (33, 33) -> cell (8, 8)); a 3 x 3 square at an odd
    # offset pools to quarters and halves
    big = _square(21, 21, 24)
    _, positive, _ = solo_targets(big[None], np.array([1]), grid=16, stride=2, sigma=1.0)
    np.testing.assert_array_equal(positive, [r * 16 + c for r in (7, 8, 9) for c in (7, 8, 9)])
    odd = np.zeros((1, 8, 8), np.uint8)
    odd[0, 1:4, 1:4] = 1
    _, positive, pooled = solo_targets(odd, np.array([1]), grid=2, stride=2)
    np.testing.assert_array_equal(positive, [0])
    np.testing.assert_allclose(pooled[0][:2, :2], [[0.25, 0.5], [0.5, 1.0]])


def test_targets_smaller_instance_wins_and_empty_masks_are_ignored():
    # both centred at (24, 24), cell (6, 6): big's region is cells 5..7 x 5..7 (half-size
    # 4 px), small's 5..6 x 5..6 (1.6 px); small keeps its four, big gets the other five
    big, small = _square(4, 4, 40), _square(16, 16, 16)
    masks = np.stack([small, big, np.zeros_like(big)])
    category, positive, pooled = solo_targets(masks, np.array([3, 1, 2]), grid=16, stride=2)
    grid = category.reshape(16, 16)
    assert (grid[5:7, 5:7] == 3).all() and (grid[7, 5:8] == 1).all() and (grid[5:7, 7] == 1).all()
    assert len(positive) == 9 and positive[0] == 5 * 16 + 5
    np.testing.assert_array_equal(pooled[0], small.reshape(32, 2, 32, 2).mean((1, 3)))
    np.testing.assert_array_equal(pooled[-1], big.reshape(32, 2, 32, 2).mean((1, 3)))
    empty = solo_targets(np.zeros((1, 64, 64)), np.array([1]), grid=16, stride=2)
    assert not empty[0].any() and empty[1].shape == (0,) and empty[2].shape == (0, 32, 32)


def _reference_targets(masks, labels, grid, stride, sigma=0.2):
    """The paper's rule, one object at a time (large ones first), in plain loops."""
    n, height, width = masks.shape
    category = np.zeros((grid, grid), np.int64)
    owner = -np.ones((grid, grid), np.int64)
    for k in sorted(range(n), key=lambda k: -int(masks[k].sum())):
        ys, xs = np.nonzero(masks[k])
        if not len(ys):
            continue
        cy, cx = ys.mean() + 0.5, xs.mean() + 0.5
        h, w = ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min()
        row, col = math.floor(cy * grid / height), math.floor(cx * grid / width)
        for r in range(grid):
            for c in range(grid):
                y_ok = (max(math.floor((cy - sigma * h / 2) * grid / height), row - 1) <= r
                        <= min(math.floor((cy + sigma * h / 2) * grid / height), row + 1))
                x_ok = (max(math.floor((cx - sigma * w / 2) * grid / width), col - 1) <= c
                        <= min(math.floor((cx + sigma * w / 2) * grid / width), col + 1))
                if y_ok and x_ok:
                    category[r, c], owner[r, c] = labels[k], k
    return category.ravel(), owner.ravel()


@given(seed=st.integers(0, 2**32 - 1), grid=st.sampled_from([4, 5, 8]))
def test_targets_match_the_loop_reference(seed, grid):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    masks = np.zeros((n, 32, 32), np.uint8)
    for k in range(n):
        y0, x0 = rng.integers(0, 28, 2)
        masks[k, y0:y0 + rng.integers(1, 20), x0:x0 + rng.integers(1, 20)] = 1
    labels = rng.integers(1, 4, n)
    category, positive, pooled = solo_targets(masks, labels, grid, stride=4)
    want_category, owner = _reference_targets(masks, labels, grid, stride=4)
    np.testing.assert_array_equal(category, want_category)
    np.testing.assert_array_equal(positive, np.flatnonzero(owner >= 0))
    want_pooled = masks[owner[positive]].reshape(-1, 8, 4, 8, 4).mean((2, 4))
    np.testing.assert_allclose(pooled, want_pooled)


# -- Matrix NMS ------------------------------------------------------------------------------
def _strip(*spans, width=8):
    """Masks (n, 1, width) with pixels [a, b) set, one per span."""
    m = np.zeros((len(spans), 1, width), np.uint8)
    for k, (a, b) in enumerate(spans):
        m[k, 0, a:b] = 1
    return m


def test_matrix_nms_duplicate_is_decayed_and_disjoint_masks_are_not():
    masks = _strip((0, 4), (0, 4), (4, 8))
    np.testing.assert_allclose(matrix_nms(masks, [0.9, 0.8, 0.7]),
                               [0.9, 0.8 * math.exp(-2.0), 0.7])      # exp(-sigma * 1^2)
    np.testing.assert_allclose(matrix_nms(masks, [0.9, 0.8, 0.7], kernel="linear"),
                               [0.9, 0.0, 0.7])
    # other labels never suppress each other
    np.testing.assert_allclose(matrix_nms(masks, [0.9, 0.8, 0.7], labels=[1, 2, 1]),
                               [0.9, 0.8, 0.7])


def test_matrix_nms_compensates_for_suppressed_suppressors():
    # A = [0, 2), B = [1, 3), C = [2, 5): IoU(A, B) = 1/3, IoU(B, C) = 1/4, IoU(A, C) = 0.
    # B decays by f(1/3); C's only overlap is with B, which is itself covered by 1/3, so
    # C's decay is min(f(0) / f(0), f(1/4) / f(1/3)) = min(1, e^{2 (1/9 - 1/16)}) = 1.
    masks = _strip((0, 2), (1, 3), (2, 5), width=6)
    out = matrix_nms(masks, [0.9, 0.8, 0.7])
    np.testing.assert_allclose(out, [0.9, 0.8 * math.exp(-2 / 9), 0.7])
    linear = matrix_nms(masks, [0.9, 0.8, 0.7], kernel="linear")
    np.testing.assert_allclose(linear, [0.9, 0.8 * (2 / 3), 0.7])   # (3/4) / (2/3) > 1


def _reference_matrix_nms(masks, scores, sigma=2.0):
    """The paper's definition with loops: decay_j = min_{i < j} f(iou_ij) / f(cmax_i)."""
    order = sorted(range(len(scores)), key=lambda k: -scores[k])
    flat = [masks[k].ravel() != 0 for k in order]

    def iou(a, b):
        union = (flat[a] | flat[b]).sum()
        return (flat[a] & flat[b]).sum() / union if union else 0.0

    def f(x):
        return math.exp(-sigma * x * x)

    out = np.zeros(len(scores))
    for j in range(len(order)):
        decay = 1.0
        for i in range(j):
            cmax = max([iou(k, i) for k in range(i)], default=0.0)
            decay = min(decay, f(iou(i, j)) / f(cmax))
        out[order[j]] = scores[order[j]] * decay
    return out


@given(seed=st.integers(0, 2**32 - 1))
def test_matrix_nms_matches_the_loop_reference_in_any_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    masks = (rng.random((n, 4, 4)) < 0.5).astype(np.uint8)
    scores = rng.permutation(n) / n + 0.1                     # distinct scores
    out = matrix_nms(masks, scores)
    np.testing.assert_allclose(out, _reference_matrix_nms(masks, scores), rtol=1e-12)
    assert np.all(out <= scores + 1e-15) and out[np.argmax(scores)] == scores.max()
    perm = rng.permutation(n)
    np.testing.assert_allclose(matrix_nms(masks[perm], scores[perm]), out[perm], rtol=1e-12)


def test_matrix_nms_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"matrix_nms.*\(2, 4, 4\).*\(3,\)"):
        matrix_nms(np.zeros((2, 4, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="kernel"):
        matrix_nms(np.zeros((2, 4, 4)), np.zeros(2), kernel="box")


# -- the model: losses, output format, errors ------------------------------------------------
def _scene(seed: int = 0):
    """Two 32 x 32 images, three square instances (labels 1..3)."""
    rng = np.random.default_rng(seed)
    masks_a = np.stack([_square(2, 3, 12, 32), _square(18, 16, 10, 32)])
    masks_b = _square(8, 8, 14, 32)[None]
    targets = [{"masks": masks_a, "labels": np.array([1, 3])},
               {"masks": masks_b, "labels": np.array([2])}]
    return tg.Tensor(rng.random((2, 3, 32, 32)).astype(np.float32)), targets


def test_training_losses_match_numpy_focal_and_dice():
    tg.manual_seed(0)
    model = SOLO(num_classes=4, grid=8, width=8)
    images, targets = _scene()
    losses = model(images, targets)
    category, masks = (t.numpy().astype(np.float64) for t in model._features(images))
    sig = 1 / (1 + np.exp(-category))
    focal, dice, positives = 0.0, [], 0
    for b, target in enumerate(targets):
        cells, positive, pooled = solo_targets(target["masks"], target["labels"], 8, 2)
        onehot = np.zeros((3, 64))
        onehot[cells[positive] - 1, positive] = 1
        p, t = sig[b].reshape(3, 64), onehot
        p_t = p * t + (1 - p) * (1 - t)
        ce = -np.log(p_t)
        focal += ((0.25 * t + 0.75 * (1 - t)) * (1 - p_t) ** 2 * ce).sum()
        for k, cell in enumerate(positive):
            m = (1 / (1 + np.exp(-masks[b, cell % 8]))) * (1 / (1 + np.exp(-masks[b, 8 + cell // 8])))
            dice.append(1 - 2 * (m * pooled[k]).sum() / ((m * m).sum() + (pooled[k] ** 2).sum()
                                                         + 1e-6))
        positives += len(positive)
    assert positives > 0
    np.testing.assert_allclose(losses["loss_category"].item(), focal / (positives + 1), rtol=1e-4)
    np.testing.assert_allclose(losses["loss_mask"].item(), 3 * np.mean(dice), rtol=1e-4)


def test_detections_have_the_torchvision_format():
    tg.manual_seed(0)
    model = solo(num_classes=4, grid=8, width=8, score_thresh=0.005, update_thresh=0.0)
    # untrained, every mask is 0.5^2 < 0.5 (empty): large random mask weights make masks
    with tg.no_grad():
        model.mask_out.weight.normal_(0, 1.0)
        model.mask_out.bias.fill_(1.0)
    model.eval()
    images, _ = _scene()
    preds = model(images)
    assert len(preds) == 2
    for p in preds:
        k = len(p["scores"])
        assert set(p) == {"boxes", "scores", "labels", "masks"}
        assert p["boxes"].shape == (k, 4) and p["masks"].shape == (k, 32, 32)
        assert p["labels"].numpy().dtype == np.int64 and p["scores"].numpy().dtype == np.float32
        labels, scores, masks = p["labels"].numpy(), p["scores"].numpy(), p["masks"].numpy()
        assert np.all((labels >= 1) & (labels <= 3)) and np.all(np.diff(scores) <= 0)
        assert masks.min() >= 0 and masks.max() <= 1 and k <= 100
        for box, mask in zip(p["boxes"].numpy(), masks):   # boxes: pixel edges around mask > .5
            ys, xs = np.nonzero(mask > 0.5)
            np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert sum(len(p["scores"]) for p in preds) > 0


def test_mask_upsampling_is_torch_bilinear():
    torch = pytest.importorskip("torch")
    from tinygrad_cs.nn.models.detection.solo import _bilinear
    m = np.random.default_rng(0).random((3, 5, 7))
    ours = _bilinear(5, 20) @ m @ _bilinear(7, 14).T
    theirs = torch.nn.functional.interpolate(torch.tensor(m)[None], size=(20, 14),
                                             mode="bilinear", align_corners=False)[0]
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_bad_inputs_name_the_model_and_shapes():
    model = solo(num_classes=4, grid=8, width=8)
    images, targets = _scene()
    with pytest.raises(ValueError, match=r"SOLO.*multiples of 8.*\(2, 3, 30, 30\)"):
        model(tg.zeros(2, 3, 30, 30), targets)
    with pytest.raises(ValueError, match="one target per image"):
        model(images, targets[:1])
    with pytest.raises(ValueError, match=r"target 1 needs 'masks'.*\['boxes', 'labels'\]"):
        model(images, [targets[0], {"boxes": np.zeros((1, 4)), "labels": np.array([1])}])
    with pytest.raises(ValueError, match=r"labels outside 1\.\.3"):
        model(images, [targets[0], {"masks": targets[1]["masks"], "labels": np.array([4])}])


def test_solo_is_registered_as_a_detector():
    entry = registry.get("solo")
    assert entry.task == "detect" and entry.build is solo
    model, images = entry.tiny()
    losses = model(images)
    assert set(losses) == {"loss_category", "loss_mask"}
    assert all(np.isfinite(v.item()) and v.item() > 0 for v in losses.values())
    model.eval()                  # the drawing (tgcs graph solo) runs the tiny pair in eval mode
    assert {k: v.item() for k, v in model(images).items()} == {k: v.item() for k, v in
                                                                losses.items()}


# -- learning --------------------------------------------------------------------------------
def _mask_ap50(model, images, targets) -> float:
    model.eval()
    preds = model(tg.Tensor(images))
    model.train()
    return average_precision(preds, targets, iou_type="segm", iou_thresholds=[0.5])


def test_a_short_training_lifts_mask_ap():
    """200 shapes images of 32 x 32, three epochs: mask AP@0.5 on 60 held-out images goes
    from 0 (untrained masks are 0.5 * 0.5 < 0.5 everywhere: no detection) to 0.26 (measured
    0.21-0.27 over training seeds 0-3); the floor 0.12 leaves a margin. About 17 s of CPU."""
    splits = load_dataset("shapes", n_train=200, n_test=60, image_size=32)
    train_x = splits.train.images.astype(np.float32) / 255
    test_x = splits.test.images.astype(np.float32) / 255
    tg.manual_seed(0)
    model = solo(num_classes=4, grid=8, width=16)
    untrained = _mask_ap50(model, test_x, splits.test.targets)
    optimizer = tg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), 8):
            batch = order[start:start + 8]
            losses = model(tg.Tensor(train_x[batch]), [splits.train.targets[i] for i in batch])
            optimizer.zero_grad()
            (losses["loss_category"] + losses["loss_mask"]).backward()
            optimizer.step()
    trained = _mask_ap50(model, test_x, splits.test.targets)
    assert untrained == 0.0
    assert trained > 0.12, (untrained, trained)
