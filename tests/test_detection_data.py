"""The generated detection sets (shapes, digits-detection), DetectionDataset, its collate and the
box- and mask-moving augmentations, against oracles written here: a per-pixel box of each mask,
a pairwise IoU in plain Python, the painted pixels themselves, and window searches."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.data import DETECTION_DATASETS, DataLoader, load_dataset
from tinygrad_cs.data.detection import (
    SHAPE_CLASSES,
    Compose,
    DetectionDataset,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScale,
    detection_collate,
    make_digits_detection,
    make_shapes,
    masks_to_boxes,
)
from tinygrad_cs.data.detection.canvas import resolve_occlusion


def bbox(mask: np.ndarray) -> list[float]:
    """The oracle: pixel-edge box of a mask's nonzero pixels, from np.nonzero."""
    rows, cols = np.nonzero(mask)
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def check_target(image: np.ndarray, target: dict) -> None:
    """Fields in step, every mask nonempty and its box exactly the mask's box, inside the image."""
    n = len(target["labels"])
    height, width = image.shape[-2:]
    assert target["boxes"].shape == (n, 4) and target["masks"].shape == (n, height, width)
    for box, mask in zip(target["boxes"], target["masks"]):
        assert mask.any()
        assert box.tolist() == bbox(mask)
    if n:
        assert (target["boxes"][:, :2] >= 0).all()
        assert (target["boxes"][:, 2] <= width).all() and (target["boxes"][:, 3] <= height).all()


def test_masks_to_boxes_matches_the_pixel_oracle():
    rng = np.random.default_rng(0)
    masks = rng.uniform(size=(6, 9, 7)) > 0.93
    masks[0] = False
    boxes = masks_to_boxes(masks)
    assert boxes[0].tolist() == [0, 0, 0, 0]
    for box, mask in zip(boxes[1:], masks[1:]):
        assert box.tolist() == (bbox(mask) if mask.any() else [0, 0, 0, 0])


@pytest.mark.parametrize("make", [make_shapes, make_digits_detection])
def test_same_seed_same_bytes_and_image_i_depends_only_on_seed_and_i(make):
    if make is make_digits_detection:
        pytest.importorskip("sklearn")   # digits-detection needs scikit-learn (the data extra)
    a_images, a_targets = make(12, seed=5)
    b_images, b_targets = make(12, seed=5)
    assert a_images.tobytes() == b_images.tobytes()
    for a, b in zip(a_targets, b_targets):
        assert all(a[k].tobytes() == b[k].tobytes() for k in ("boxes", "labels", "masks"))
    prefix, _ = make(4, seed=5)
    assert prefix.tobytes() == a_images[:4].tobytes()
    other, _ = make(12, seed=6)
    assert not np.array_equal(other, a_images)


@pytest.mark.parametrize("size", [64, 128])
def test_shapes_targets_are_consistent(size):
    images, targets = make_shapes(40, seed=1, image_size=size, max_objects=5)
    assert images.shape == (40, 3, size, size) and images.dtype == np.uint8
    for image, target in zip(images, targets):
        assert target["boxes"].dtype == np.float32 and target["labels"].dtype == np.int64
        assert target["masks"].dtype == np.uint8
        assert 1 <= len(target["labels"]) <= 5
        assert set(target["labels"].tolist()) <= {1, 2, 3}
        check_target(image, target)


def test_masks_are_what_is_painted():
    """Without clutter and noise every pixel outside all masks is the one background colour,
    each mask's pixels are one colour (later shapes paint over earlier ones, dropped shapes are
    not painted at all), and masks do not overlap."""
    images, targets = make_shapes(60, seed=2, clutter=0.0, noise=0.0, max_objects=6,
                                  max_iou=0.6, min_visible=0.4)
    for image, target in zip(images, targets):
        masks = target["masks"].astype(bool)
        assert masks.sum(axis=0).max() <= 1
        pixels = image.reshape(3, -1).T
        outside = pixels[~masks.any(axis=0).ravel()]
        assert len(np.unique(outside, axis=0)) == 1
        for mask in masks:
            assert len(np.unique(pixels[mask.ravel()], axis=0)) == 1


def test_occlusion_drops_hidden_objects_and_shrinks_boxes():
    full = np.zeros((3, 10, 10), dtype=bool)
    full[0, 0:6, 0:6] = True          # 36 pixels
    full[1, 0:6, 2:6] = True          # on top: hides 24 of object 0, leaving columns 0..1
    full[2, 8:10, 8:10] = True
    keep, visible, boxes = resolve_occlusion(full, min_visible=0.5, max_iou=1.0)
    assert keep.tolist() == [1, 2]                      # 12/36 visible < 0.5: dropped
    assert boxes.tolist() == [[2, 0, 6, 6], [8, 8, 10, 10]]
    keep, visible, boxes = resolve_occlusion(full, min_visible=0.3, max_iou=1.0)
    assert keep.tolist() == [0, 1, 2]
    assert boxes[0].tolist() == [0, 0, 2, 6]            # the visible part's box
    assert visible[0].sum() == 12 and not (visible[0] & visible[1]).any()
    assert resolve_occlusion(full, 0.3, max_iou=0.0)[0].tolist() == [0, 1, 2]  # boxes touch
    hole = np.zeros((2, 10, 10), dtype=bool)
    hole[0, 0:6, 0:6] = True
    hole[1, 2:4, 2:4] = True          # inside object 0: its visible box stays (0, 0, 6, 6)
    assert resolve_occlusion(hole, 0.5, max_iou=0.12)[0].tolist() == [0, 1]   # IoU 4/36
    assert resolve_occlusion(hole, 0.5, max_iou=0.1)[0].tolist() == [1]       # lower one goes


@pytest.mark.parametrize("max_iou", [0.0, 0.15])
def test_overlap_limit_is_respected(max_iou):
    _, targets = make_shapes(60, seed=3, max_objects=6, max_iou=max_iou)
    for target in targets:
        boxes = target["boxes"].tolist()
        for i in range(len(boxes)):
            for j in range(i):
                assert iou(boxes[i], boxes[j]) <= max_iou + 1e-12


def test_digits_detection_labels_come_from_the_pool():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    digits = load_digits()
    index = int(np.flatnonzero(digits.target == 7)[0])
    images, targets = make_digits_detection(10, seed=0, pool=[index], max_objects=3)
    for image, target in zip(images, targets):
        assert (target["labels"] == 8).all()             # digit 7 -> label 8
        check_target(image, target)
    _, targets = make_digits_detection(30, seed=1, size_range=(12, 32))
    for target in targets:
        assert set(target["labels"].tolist()) <= set(range(1, 11))
        widths = target["boxes"][:, 2] - target["boxes"][:, 0]
        assert (widths <= 32).all()


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="make_shapes.*size_range"):
        make_shapes(2, size_range=(30, 20))
    with pytest.raises(ValueError, match="make_shapes.*max_iou"):
        make_shapes(2, max_iou=1.5)


# -- the data set and its collate ----------------------------------------------------------------

def test_detection_dataset_samples_and_collate():
    images, targets = make_shapes(6, seed=4)
    ds = DetectionDataset(images, targets, classes=SHAPE_CLASSES)
    image, target = ds[2]
    assert isinstance(image, tg.Tensor) and image.shape == (3, 64, 64)
    assert image.dtype == tg.float32
    np.testing.assert_array_equal(image.numpy(), images[2] / np.float32(255))
    assert target["boxes"].dtype == tg.float32 and target["labels"].dtype == tg.int64
    np.testing.assert_array_equal(target["masks"].numpy(), targets[2]["masks"])
    assert int(target["image_id"].item()) == 2
    batches = list(DataLoader(ds, batch_size=4, collate_fn=detection_collate))
    assert [len(b[0]) for b in batches] == [4, 2]
    assert isinstance(batches[0][1], list) and len(batches[1][1]) == 2
    np.testing.assert_array_equal(batches[1][1][0]["labels"].numpy(), targets[4]["labels"])
    stacked, _ = detection_collate([ds[0], ds[1]], stack=True)
    assert stacked.shape == (2, 3, 64, 64)
    small = RandomScale((0.5, 0.5))(*ds[0], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="detection_collate.*one shape"):
        detection_collate([ds[0], small], stack=True)


def test_detection_dataset_checks_its_targets():
    images, targets = make_shapes(2, seed=0)
    bad = dict(targets[1], boxes=targets[1]["boxes"][:0])
    with pytest.raises(ValueError, match="target 1 has"):
        DetectionDataset(images, [targets[0], bad])
    with pytest.raises(ValueError, match="DetectionDataset: expected images"):
        DetectionDataset(images[:, :1], targets)


def test_load_dataset_gives_detection_splits():
    splits = load_dataset("shapes", n_train=8, n_test=4, seed=2)
    assert splits.name == "shapes" and splits.classes == SHAPE_CLASSES
    assert splits.num_classes == 4 and splits.input_shape == (3, 64, 64)
    assert len(splits.train) == 8 and len(splits.test) == 4
    train_images, _ = make_shapes(8, seed=(2, 0))
    test_images, _ = make_shapes(4, seed=(2, 1))
    np.testing.assert_array_equal(splits.train.images, train_images)
    np.testing.assert_array_equal(splits.test.images, test_images)
    assert DETECTION_DATASETS == ("shapes", "digits-detection")
    with pytest.raises(TypeError, match="load_dataset\\('shapes'\\).*colour"):
        load_dataset("shapes", colour=1)


def test_load_digits_detection_draws_train_and_test_from_disjoint_digits():
    pytest.importorskip("sklearn")
    from tinygrad_cs.data import stratified_split
    from tinygrad_cs.data.sklearn_sets import load_sklearn
    splits = load_dataset("digits-detection", n_train=5, n_test=3, seed=1)
    assert splits.num_classes == 11 and splits.classes[1] == "0"
    train_pool, test_pool = stratified_split(load_sklearn("digits")[1], 0.2, 1)
    assert not set(train_pool) & set(test_pool)
    expected, _ = make_digits_detection(3, seed=(1, 1), pool=test_pool)
    np.testing.assert_array_equal(splits.test.images, expected)


# -- augmentations -------------------------------------------------------------------------------

def _sample(seed: int, size: int = 64):
    images, targets = make_shapes(1, seed=seed, image_size=size, max_objects=5)
    return images[0].astype(np.float32) / 255, targets[0]


def test_flip_mirrors_image_boxes_and_masks():
    image, target = _sample(7)
    flipped, out = RandomHorizontalFlip(p=1.0)(image, target)
    np.testing.assert_array_equal(flipped, image[..., ::-1])
    np.testing.assert_array_equal(out["masks"], target["masks"][..., ::-1])
    np.testing.assert_array_equal(out["boxes"][:, [0, 2]], 64 - target["boxes"][:, [2, 0]])
    check_target(flipped, out)
    same, kept = RandomHorizontalFlip(p=0.0)(image, target)
    assert same is image and kept is target


def test_crop_is_a_window_and_drops_hidden_objects():
    image, target = _sample(8)
    crop = RandomCrop(40, min_visible=0.6)
    out_image, out = crop(image, target, rng=np.random.default_rng(3))
    assert out_image.shape == (3, 40, 40)
    windows = [(t, left) for t in range(25) for left in range(25)
               if np.array_equal(image[:, t:t + 40, left:left + 40], out_image)]
    assert len(windows) == 1
    top, left = windows[0]
    cut = target["masks"][:, top:top + 40, left:left + 40]
    fraction = cut.sum(axis=(1, 2)) / target["masks"].sum(axis=(1, 2))
    kept = fraction >= 0.6
    np.testing.assert_array_equal(out["masks"], cut[kept])
    np.testing.assert_array_equal(out["labels"], target["labels"][kept])
    check_target(out_image, out)


def test_crop_pads_small_images_and_clips_boxes_without_masks():
    image = np.ones((3, 10, 12), np.float32)
    target = {"boxes": np.array([[0, 0, 4, 4], [8, 2, 12, 10]], np.float32),
              "labels": np.array([1, 2])}
    out_image, out = RandomCrop((14, 12), min_visible=0.5)(image, target,
                                                             rng=np.random.default_rng(0))
    assert out_image.shape == (3, 14, 12)
    # padded to (3, 18, 12) with 4 rows of fill above and below, then rows top..top+14 cut:
    # the image's row 0 lands on output row 4 - top, the first row of ones
    first = int(np.argwhere(out_image[0] == 1)[0, 0])
    assert out_image[0, :first].sum() == 0 and out_image[0, first:first + 10].all()
    expected = np.clip(target["boxes"] + np.array([0, first] * 2), 0, [12, 14, 12, 14])
    areas = (expected[:, 2] - expected[:, 0]) * (expected[:, 3] - expected[:, 1])
    keep = areas / np.array([16, 32]) >= 0.5
    np.testing.assert_array_equal(out["boxes"], expected[keep])
    np.testing.assert_array_equal(out["labels"], target["labels"][keep])
    with pytest.raises(ValueError, match="RandomCrop.*pad_if_needed"):
        RandomCrop(20, pad_if_needed=False)(image, target)


def test_scale_resizes_masks_by_nearest_centre():
    image, target = _sample(9)
    out_image, out = RandomScale((0.75, 0.75))(image, target)
    assert out_image.shape == (3, 48, 48)
    source = np.floor((np.arange(48) + 0.5) * 64 / 48).astype(int)   # nearest pixel centre
    resized = target["masks"][:, source][:, :, source]
    present = resized.any(axis=(1, 2))
    np.testing.assert_array_equal(out["masks"], resized[present])
    np.testing.assert_array_equal(out["labels"], target["labels"][present])
    check_target(out_image, out)
    images, _ = make_shapes(1, seed=9)
    as_bytes, _ = RandomScale((0.75, 0.75))(images[0], target)    # uint8 stays uint8, rounded
    assert as_bytes.dtype == np.uint8
    assert np.abs(as_bytes - out_image * 255).max() <= 0.5 + 1e-3
    boxes_only = {"boxes": target["boxes"], "labels": target["labels"]}
    _, scaled = RandomScale((0.75, 0.75))(image, boxes_only)
    np.testing.assert_allclose(scaled["boxes"], target["boxes"] * 0.75, rtol=1e-6)


@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([48, 64]))
def test_boxes_stay_the_masks_boxes_through_every_augmentation(seed, size):
    image, target = _sample(seed % 1000, size)
    rng = np.random.default_rng(seed)
    steps = [RandomHorizontalFlip(), RandomScale((0.6, 1.4)), RandomCrop(size, min_visible=0.3),
             RandomHorizontalFlip(p=1.0)]
    for step in steps:
        before = set(target["labels"].tolist())
        image, target = step(image, target, rng=rng)
        check_target(image, target)
        assert set(target["labels"].tolist()) <= before
    assert image.shape == (3, size, size)


def test_augmentations_keep_tensors_tensors_and_compose_is_seeded():
    images, targets = make_shapes(1, seed=11)
    ds = DetectionDataset(images, targets)
    pipeline = Compose([RandomHorizontalFlip(), RandomScale(), RandomCrop(64)])
    image, target = ds[0]
    a_image, a_target = pipeline(image, target, rng=np.random.default_rng(1))
    b_image, b_target = pipeline(image, target, rng=np.random.default_rng(1))
    assert isinstance(a_image, tg.Tensor) and isinstance(a_target["boxes"], tg.Tensor)
    np.testing.assert_array_equal(a_image.numpy(), b_image.numpy())
    np.testing.assert_array_equal(a_target["masks"].numpy(), b_target["masks"].numpy())
    assert int(a_target["image_id"].item()) == 0
    check_target(a_image.numpy(), {k: v.numpy() for k, v in a_target.items()})
    ds.transforms = pipeline
    tg.manual_seed(3)
    first = ds[0][0].numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(ds[0][0].numpy(), first)
