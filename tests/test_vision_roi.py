"""``tg.vision.ops``' region-of-interest pooling, against torchvision's documented semantics
worked by hand (torchvision itself is not installed): closed forms on a ramp image, the
list-of-boxes form, the modules, and MultiScaleRoIAlign's FPN level assignment."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn.models.detection.poolers import LevelMapper
from tinygrad_cs.vision import ops as V

# x[h, w] = 4 h + w: bilinear interpolation of an affine image is exact, so a bin's mean
# over a symmetric sample grid is the ramp at the bin's centre
RAMP = np.arange(16.0).reshape(1, 1, 4, 4)


def _ramp(y: float, x: float) -> float:
    return 4 * y + x


@pytest.mark.parametrize("aligned, centres", [(False, (1.0, 2.0)), (True, (0.5, 1.5))])
def test_roi_align_on_a_ramp_is_the_ramp_at_the_bin_centres(aligned, centres):
    """Box (0.5, 0.5)-(2.5, 2.5), 2 x 2 bins of one pixel; aligned shifts it by -0.5."""
    out = V.roi_align(tg.tensor(RAMP), tg.tensor([[0.0, 0.5, 0.5, 2.5, 2.5]]).double(), 2,
                      sampling_ratio=2, aligned=aligned)
    expected = [[_ramp(y, x) for x in centres] for y in centres]
    np.testing.assert_allclose(out.numpy()[0, 0], expected)


def test_roi_align_clamps_at_the_edges_and_zeroes_samples_beyond_them():
    """Box x in [2, 6] (W = 4), y in [0, 2], one bin, 4 x 4 samples: x = 2.5 reads 2.5,
    x = 3.5 reads the last column (3), x = 4.5 and 5.5 lie beyond W and read 0; the mean
    still divides by all 16 samples. y samples 0.25 .. 1.75 (mean 1)."""
    out = V.roi_align(tg.tensor(RAMP), [tg.tensor([[2.0, 0.0, 6.0, 2.0]]).double()], 1,
                      sampling_ratio=4)
    ys = [0.25, 0.75, 1.25, 1.75]
    expected = sum(_ramp(y, 2.5) + _ramp(y, 3.0) for y in ys) / 16
    assert out.item() == pytest.approx(expected) == pytest.approx(3.375)
    # before the image: x = -1.5 is outside [-1, W] (0), x = -0.5 reads column 0
    left = V.roi_align(tg.tensor(RAMP), [tg.tensor([[-2.0, 1.0, 0.0, 3.0]]).double()], 1,
                       sampling_ratio=2)
    assert left.item() == pytest.approx((_ramp(1.5, 0.0) + _ramp(2.5, 0.0)) / 4)


def test_adaptive_sampling_uses_ceil_of_the_bin_size():
    """sampling_ratio <= 0: a 5 x 5 box in 2 x 2 bins samples ceil(2.5) = 3 per axis."""
    x = tg.tensor(np.random.default_rng(0).standard_normal((1, 2, 8, 8)))
    box = tg.tensor([[0.0, 1.0, 1.0, 6.0, 6.0]]).double()
    adaptive = V.roi_align(x, box, 2, sampling_ratio=-1).numpy()
    np.testing.assert_array_equal(adaptive, V.roi_align(x, box, 2, sampling_ratio=3).numpy())
    assert not np.allclose(adaptive, V.roi_align(x, box, 2, sampling_ratio=2).numpy())


def test_roi_pool_on_a_ramp_takes_each_bins_bottom_right_pixel():
    """Box (0, 0)-(6, 6) at scale 0.5 is pixels 0..3: 2 x 2 bins of 2 x 2 pixels."""
    x = tg.tensor(RAMP, requires_grad=True)
    out = V.roi_pool(x, tg.tensor([[0.0, 0.0, 0.0, 6.0, 6.0]]).double(), 2, spatial_scale=0.5)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[5.0, 7.0], [13.0, 15.0]])
    out.sum().backward()
    expected = np.zeros(16)
    expected[[5, 7, 13, 15]] = 1.0
    np.testing.assert_array_equal(x.grad.numpy().reshape(-1), expected)


def _two_images():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 9))
    per_image = [np.array([[0.5, 1.0, 6.0, 7.5], [2.0, 2.0, 3.0, 3.0]]),
                 np.array([[0.0, 0.0, 8.0, 8.0], [-1.0, 3.0, 4.0, 12.0], [5.0, 5.0, 6.5, 6.0]])]
    rois = np.concatenate([np.concatenate([np.full((len(b), 1), float(i)), b], axis=1)
                           for i, b in enumerate(per_image)])
    return x, per_image, rois


@pytest.mark.parametrize("call", [
    lambda x, b: V.roi_align(x, b, (2, 3), 0.7, 2, True),
    lambda x, b: V.roi_pool(x, b, (3, 2), 0.7),
    lambda x, b: V.RoIAlign(2, 0.7, -1)(x, b),
    lambda x, b: V.RoIPool(3, 1.0)(x, b),
])
def test_a_list_of_per_image_boxes_equals_the_k5_form(call):
    x, per_image, rois = _two_images()
    results = []
    for boxes in ([tg.tensor(b) for b in per_image], tg.tensor(rois)):
        leaf = tg.tensor(x, requires_grad=True)
        out = call(leaf, boxes)
        (out * out).sum().backward()
        results.append((out.numpy(), leaf.grad.numpy()))
    (a, ga), (b, gb) = results
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ga, gb)


def test_modules_match_the_functions_and_print_as_torchvision():
    x, _, rois = _two_images()
    x, rois = tg.tensor(x), tg.tensor(rois)
    align, pool = V.RoIAlign((2, 2), 0.5, 2, aligned=True), V.RoIPool(2, 0.5)
    np.testing.assert_array_equal(align(x, rois).numpy(),
                                  V.roi_align(x, rois, 2, 0.5, 2, True).numpy())
    np.testing.assert_array_equal(pool(x, rois).numpy(), V.roi_pool(x, rois, 2, 0.5).numpy())
    assert repr(align) == ("RoIAlign(output_size=(2, 2), spatial_scale=0.5, sampling_ratio=2, "
                           "aligned=True)")
    assert repr(pool) == "RoIPool(output_size=2, spatial_scale=0.5)"
    assert list(align.parameters()) == [] and tg.vision.ops.roi_align is V.roi_align


def test_bad_box_lists_raise_naming_the_op_and_shape():
    x = tg.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match=r"roi_align: boxes\[1\] has shape \(2, 5\)"):
        V.roi_align(x, [tg.zeros(1, 4), tg.zeros(2, 5)], 2)
    with pytest.raises(ValueError, match="roi_pool: boxes is an empty list"):
        V.roi_pool(x, [], 2)
    with pytest.raises(TypeError, match="roi_align: boxes must be"):
        V.roi_align(x, "boxes", 2)


# -- MultiScaleRoIAlign -----------------------------------------------------------------------
def _pyramid(sizes=(128, 64, 32, 16), names=("p2", "p3", "p4", "p5"), requires_grad=False):
    rng = np.random.default_rng(2)
    x = {name: tg.tensor(rng.standard_normal((2, 2, s, s)).astype(np.float32),
                         requires_grad=requires_grad) for name, s in zip(names, sizes)}
    x["pool"] = tg.tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32))  # unused
    return x


def _square(cx: float, cy: float, side: float) -> list:
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


# boxes of image 0 and the FPN level eq. 1 gives them: k = floor(4 + log2(side / 224) + eps)
# clamped to [2, 5] (the pyramid's 1/4 .. 1/32), minus k_min = 2
SIDES_AND_LEVELS = [(10, 0),     # 4 + log2(10/224) = -0.49 -> -1 -> clamped to 2
                    (112, 1),    # exactly 3
                    (224, 2), (316, 2),  # 4, and 4.50 -> 4
                    (448, 3), (1000, 3),  # 5, and 6.16 -> clamped to 5
                    (100, 0)]    # 2.84 -> 2


def test_level_mapper_follows_the_fpn_equation():
    boxes = [tg.tensor(np.array([_square(256, 256, s) for s, _ in SIDES_AND_LEVELS],
                                dtype=np.float32))]
    mapper = LevelMapper(2, 5)
    np.testing.assert_array_equal(mapper(boxes), [lvl for _, lvl in SIDES_AND_LEVELS])
    wide = [tg.tensor(np.array([[0.0, 0.0, 200.0, 50.0]], dtype=np.float32))]  # sqrt(A) = 100
    assert mapper(wide).tolist() == [0]
    # canonical_scale 112: a 112-pixel box is at the canonical level 4, i.e. index 2
    assert LevelMapper(2, 5, canonical_scale=112)(
        [tg.tensor(np.array([_square(100, 100, 112)], dtype=np.float32))]).tolist() == [2]


def test_multiscale_roi_align_pools_each_box_from_its_level():
    x = _pyramid(requires_grad=True)
    pooler = V.MultiScaleRoIAlign(["p2", "p3", "p4", "p5"], 2, 2)
    boxes = [tg.tensor(np.array([_square(256, 256, s) for s, _ in SIDES_AND_LEVELS],
                                dtype=np.float32)),
             tg.tensor(np.array([_square(100, 200, 112), _square(300, 300, 30)],
                                dtype=np.float32))]
    levels = [lvl for _, lvl in SIDES_AND_LEVELS] + [1, 0]
    out = pooler(x, boxes, [(512, 512), (480, 500)])
    assert pooler.scales == [1 / 4, 1 / 8, 1 / 16, 1 / 32]
    assert (pooler.map_levels.k_min, pooler.map_levels.k_max) == (2, 5)
    assert out.shape == (9, 2, 2, 2)
    names = ["p2", "p3", "p4", "p5"]
    rows = np.concatenate([b.numpy() for b in boxes])
    images = [0] * len(SIDES_AND_LEVELS) + [1, 1]
    weights = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    (out * tg.tensor(weights)).sum().backward()
    expected_grads = {n: np.zeros(x[n].shape, np.float32) for n in names}
    for k, (level, image) in enumerate(zip(levels, images)):
        feature = tg.tensor(x[names[level]].numpy(), requires_grad=True)
        roi = tg.tensor(np.concatenate([[image], rows[k]]).astype(np.float32)[None])
        single = V.roi_align(feature, roi, 2, 2.0 ** -(level + 2), 2)
        np.testing.assert_array_equal(out.numpy()[k], single.numpy()[0])
        (single * tg.tensor(weights[k:k + 1])).sum().backward()
        expected_grads[names[level]] += feature.grad.numpy()
    for n in names:
        np.testing.assert_allclose(x[n].grad.numpy(), expected_grads[n], rtol=1e-5, atol=1e-6)


def test_multiscale_levels_past_the_last_map_give_zeros_and_scales_are_kept():
    """Maps at 1/4 and 1/16 span levels 2..4: level index 1 (k = 3) is the second map, and
    index 2 (k = 4) has none, so its rows stay zero (as torchvision's result tensor)."""
    x = _pyramid(sizes=(128, 32), names=("a", "b"))
    pooler = V.MultiScaleRoIAlign(["a", "b"], (2, 3), -1)
    boxes = [tg.tensor(np.array([_square(256, 256, 112), _square(256, 256, 448),
                                 _square(100, 100, 20)], dtype=np.float32))]
    out = pooler(x, boxes, [(512, 512)]).numpy()
    rois = tg.tensor(np.array([[0.0, *_square(256, 256, 112)]], dtype=np.float32))
    np.testing.assert_array_equal(out[0], V.roi_align(x["b"], rois, (2, 3), 1 / 16).numpy()[0])
    np.testing.assert_array_equal(out[1], 0.0)
    assert np.abs(out[2]).sum() > 0
    again = pooler(x, boxes, [(64, 64)])  # scales were set on the first call
    assert pooler.scales == [1 / 4, 1 / 16]
    np.testing.assert_array_equal(again.numpy(), out)


def test_multiscale_with_one_level_is_roi_align_at_its_scale():
    x = _pyramid()
    pooler = V.MultiScaleRoIAlign(["p3"], 3, 2)
    boxes = [tg.tensor(np.array([[10.0, 20.0, 200.0, 150.0]], dtype=np.float32)),
             tg.tensor(np.array([[0.0, 0.0, 500.0, 500.0]], dtype=np.float32))]
    out = pooler(x, boxes, [(512, 512)])
    expected = V.roi_align(x["p3"], boxes, 3, 1 / 8, 2)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert repr(pooler) == ("MultiScaleRoIAlign(featmap_names=['p3'], output_size=(3, 3), "
                            "sampling_ratio=2)")


def test_multiscale_arguments():
    with pytest.raises(TypeError):
        V.MultiScaleRoIAlign(["a"], 2, 2, 224)  # canonical_scale is keyword-only
    pooler = V.MultiScaleRoIAlign(["a"], 2, 2, canonical_scale=112, canonical_level=5)
    assert (pooler.canonical_scale, pooler.canonical_level) == (112, 5)
    with pytest.raises(KeyError, match="MultiScaleRoIAlign: none of featmap_names"):
        pooler({"b": tg.zeros(1, 1, 4, 4)}, [tg.zeros(1, 4)], [(8, 8)])
    with pytest.raises(ValueError, match="image_shapes is empty"):
        pooler({"a": tg.zeros(1, 1, 4, 4)}, [tg.zeros(1, 4)], [])
    assert math.isclose(V.MultiScaleRoIAlign(["a"], 2, 2)(
        {"a": tg.ones(1, 1, 4, 4)}, [tg.tensor([[0.0, 0.0, 8.0, 8.0]])], [(8, 8)]).sum().item(),
        4.0)
