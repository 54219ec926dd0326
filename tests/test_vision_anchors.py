"""AnchorGenerator against anchors worked out by hand from torchvision's formula:
base = round((-w, -h, w, h) / 2) with h = sqrt(r) s, w = s / sqrt(r), shifted by
(j * stride_w, i * stride_h) over the grid, row-major, base anchors innermost."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.vision.ops import AnchorGenerator


def _images(batch: int, height: int, width: int, dtype=np.float32):
    return SimpleNamespace(tensors=tg.zeros(batch, 3, height, width, dtype=dtype),
                           image_sizes=[(height, width)] * batch)


def test_base_anchors_by_hand():
    # s = 32: r = 0.5 -> w = 32 sqrt 2 = 45.25, h = 22.63 -> halves 22.63, 11.31 -> 23, 11
    gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((0.5, 1.0, 2.0),))
    assert gen.cell_anchors[0].tolist() == [[-23, -11, 23, 11], [-16, -16, 16, 16],
                                            [-11, -23, 11, 23]]
    # s = 3, r = 1: halves are 1.5, which round half to even gives 2; s = 1: 0.5 -> 0
    assert AnchorGenerator.generate_anchors([3, 1], [1.0]).tolist() == [[-2, -2, 2, 2],
                                                                        [0, 0, 0, 0]]
    # ratio-major order: (r0, s0), (r0, s1), (r1, s0), ...
    two = AnchorGenerator.generate_anchors([16, 32], [1.0, 4.0]).numpy()
    assert two.tolist() == [[-8, -8, 8, 8], [-16, -16, 16, 16], [-4, -16, 4, 16],
                            [-8, -32, 8, 32]]


def test_grid_of_one_level_by_hand():
    gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((0.5, 1.0, 2.0),))
    anchors = gen(_images(2, 64, 96), [tg.zeros(2, 8, 2, 3)])
    assert len(anchors) == 2 and anchors[0].dtype == np.float32
    base = np.array([[-23, -11, 23, 11], [-16, -16, 16, 16], [-11, -23, 11, 23]])
    want = [base + [x, y, x, y] for y in (0, 32) for x in (0, 32, 64)]   # strides 64//2, 96//3
    np.testing.assert_array_equal(anchors[0].numpy(), np.concatenate(want))
    np.testing.assert_array_equal(anchors[1].numpy(), anchors[0].numpy())


def test_levels_are_concatenated_with_their_own_strides():
    gen = AnchorGenerator(sizes=((8,), (16,)), aspect_ratios=((1.0,), (1.0,)))
    assert gen.num_anchors_per_location() == [1, 1]
    (anchors,) = gen(_images(1, 8, 12), [tg.zeros(1, 4, 2, 3), tg.zeros(1, 4, 1, 1)])
    want = [[-4 + x, -4 + y, 4 + x, 4 + y] for y in (0, 4) for x in (0, 4, 8)]
    want.append([-8, -8, 8, 8])          # level 2: one cell, stride (8, 12)
    assert anchors.tolist() == want


def test_single_sizes_are_one_level_each_and_dtype_follows_the_features():
    gen = AnchorGenerator(sizes=(16, 32), aspect_ratios=(1.0, 2.0))
    assert gen.sizes == ((16,), (32,)) and gen.aspect_ratios == ((1.0, 2.0),) * 2
    assert gen.num_anchors_per_location() == [2, 2]
    (anchors,) = gen(_images(1, 16, 16, np.float64),
                     [tg.zeros(1, 1, 2, 2, dtype=tg.float64), tg.zeros(1, 1, 1, 1,
                                                                       dtype=tg.float64)])
    assert anchors.dtype == np.float64 and anchors.shape == (2 * 2 * 2 + 2, 4)


def test_a_feature_map_per_level_is_required():
    gen = AnchorGenerator(sizes=((8,), (16,)), aspect_ratios=((1.0,), (1.0,)))
    with pytest.raises(ValueError, match="1 feature maps for 2 levels"):
        gen(_images(1, 8, 8), [tg.zeros(1, 1, 2, 2)])
    with pytest.raises(ValueError, match="one entry per feature map, got 2 and 1"):
        AnchorGenerator(sizes=((8,), (16,)), aspect_ratios=((1.0,),))
