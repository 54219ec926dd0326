"""viz.detection: masks blended as the formula says, box edges in the class colour at the
pixels where the axes put them, NMS panels showing only what was kept, deterministic files."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cs.viz.detection import (
    class_color,
    draw_detections,
    draw_nms_before_after,
    overlay_masks,
)

imread = pytest.importorskip("matplotlib.image").imread

GRAY = np.full((3, 32, 32), 0.5, np.float32)


def _pixel(png: np.ndarray, fig, panel: int, x: float, y: float) -> np.ndarray:
    """RGB in 0..255 of the saved picture at data point (x, y) of panel ``panel``."""
    px, py = fig.axes[panel].transData.transform((x, y))
    return png[int(png.shape[0] - py), int(px), :3] * 255


def test_overlay_masks_blends_the_class_colour():
    image = np.random.default_rng(0).uniform(size=(3, 6, 5))
    masks = np.zeros((2, 6, 5), np.uint8)
    masks[0, :3] = 1
    masks[1, 2:4] = 1                       # row 2 is in both: blended twice, in order
    out = overlay_masks(image, masks, [1, 3], alpha=0.4)
    expected = image.transpose(1, 2, 0).copy()
    for mask, label in zip(masks.astype(bool), [1, 3]):
        expected[mask] = 0.6 * expected[mask] + 0.4 * class_color(label)
    np.testing.assert_allclose(out, expected)
    uint8 = overlay_masks((image * 255).astype(np.uint8)[:1], masks[:0], [])
    assert uint8.shape == (6, 5, 3) and np.all(uint8[..., 0] == uint8[..., 2])
    with pytest.raises(ValueError, match="overlay_masks"):
        overlay_masks(image, masks[:, :4], [1, 3])


def test_box_edges_have_the_class_colour(tmp_path):
    det = {"boxes": np.array([[6.0, 8.0, 20.0, 26.0]]), "labels": np.array([2]),
           "scores": np.array([0.9])}
    low = {"boxes": np.array([[6.0, 8.0, 20.0, 26.0]]), "labels": np.array([3]),
           "scores": np.array([0.2])}
    path = tmp_path / "dets.png"
    fig = draw_detections([GRAY, GRAY], [det, low], ["bg", "a", "b", "c"], path,
                          score_threshold=0.5)
    png = imread(path)
    assert png.shape[:2] == (240, 480)
    green = class_color(2) * 255
    for x, y in [(6.0, 17.0), (20.0, 17.0), (13.0, 26.0)]:       # left, right, bottom edges
        np.testing.assert_allclose(_pixel(png, fig, 0, x, y), green, atol=1)
    np.testing.assert_allclose(_pixel(png, fig, 0, 13.0, 17.0), 127, atol=1)   # inside: image
    # below the score threshold nothing is drawn
    np.testing.assert_allclose(_pixel(png, fig, 1, 6.0, 17.0), 127, atol=1)


def test_masks_are_blended_into_the_panel(tmp_path):
    masks = np.zeros((1, 32, 32), np.uint8)
    masks[0, 10:20, 10:20] = 1
    det = {"boxes": np.array([[10.0, 10.0, 20.0, 20.0]]), "labels": np.array([1]),
           "masks": masks}
    fig = draw_detections([GRAY], [det], path=tmp_path / "mask.png", alpha=0.5)
    png = imread(tmp_path / "mask.png")
    blended = (0.5 * 0.5 + 0.5 * class_color(1)) * 255
    np.testing.assert_allclose(_pixel(png, fig, 0, 15.0, 15.0), blended, atol=1.5)
    np.testing.assert_allclose(_pixel(png, fig, 0, 25.0, 25.0), 127, atol=1)


def test_nms_panels_show_all_boxes_then_the_kept_ones(tmp_path):
    boxes = np.array([[2.0, 2.0, 14.0, 14.0], [3.0, 3.0, 15.0, 15.0], [18.0, 18.0, 30.0, 28.0]])
    scores = np.array([0.9, 0.6, 0.8])
    path = tmp_path / "nms.png"
    fig = draw_nms_before_after(GRAY, boxes, scores, [0, 2], path, labels=[1, 1, 1])
    png = imread(path)
    red = class_color(1) * 255
    for panel in (0, 1):                                    # kept boxes: in both panels
        np.testing.assert_allclose(_pixel(png, fig, panel, 18.0, 23.0), red, atol=1)
    # the suppressed box's bottom edge (y = 15; box 0 ends at 14): before only
    np.testing.assert_allclose(_pixel(png, fig, 0, 9.0, 15.0), red, atol=1)
    np.testing.assert_allclose(_pixel(png, fig, 1, 9.0, 15.2), 127, atol=1)
    assert [ax.get_title() for ax in fig.axes] == ["before NMS: 3 boxes", "after NMS: 2 kept"]
    with pytest.raises(ValueError, match="kept indices"):
        draw_nms_before_after(GRAY, boxes, scores, [3])


def test_pictures_are_deterministic(tmp_path):
    from tinygrad_cs.data.detection import SHAPE_CLASSES, make_shapes
    images, targets = make_shapes(3, seed=0)
    draw_detections(images, targets, SHAPE_CLASSES, tmp_path / "a.png")
    draw_detections(images, targets, SHAPE_CLASSES, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with pytest.raises(ValueError, match="one detection dict per image"):
        draw_detections(images, targets[:2])
