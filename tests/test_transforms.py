"""Transforms against closed forms (rotations, shifts, flips, windows of the padded image,
moments) and, where torch is installed, torchvision's affine sampling rebuilt on
``torch.nn.functional.grid_sample``."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cs.data.transforms import (
    ColorJitter,
    Compose,
    Normalize,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    affine,
)


def _images(n: int = 6, c: int = 2, h: int = 5, w: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, c, h, w)).astype(np.float32)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), c=st.integers(1, 3), scale=st.floats(0.1, 100),
       shift=st.floats(-50, 50))
def test_normalize_fit_gives_zero_mean_unit_std_per_channel(seed, c, scale, shift):
    x = (np.random.default_rng(seed).normal(size=(20, c, 3, 4)) * scale + shift)
    norm = Normalize.fit(x)
    np.testing.assert_allclose(norm.mean, x.mean(axis=(0, 2, 3)), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(norm.std, x.std(axis=(0, 2, 3)), rtol=1e-10)
    out = norm(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-9)
    np.testing.assert_allclose(norm(x[3]), out[3])  # one sample (C, H, W) = its batch row


def test_normalize_vectors_constant_channels_and_errors():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0]], np.float32)  # (N, F): features = channels
    norm = Normalize.fit(x)
    np.testing.assert_allclose(norm(x), [[-1, 0, -1], [1, 0, 1]])  # constant feature: centred
    assert norm(x[0]).shape == (3,)
    assert Normalize([0.5], [0.25])(np.full((1, 1, 2, 2), 255, np.uint8)).dtype == np.float32
    with pytest.raises(ValueError, match=r"\(2, 2\).*2 channels.*have 3"):
        norm(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="std must be > 0"):
        Normalize([0.0], [0.0])


@pytest.mark.parametrize("padding", [2, (1, 3), (0, 1, 2, 3)])
def test_random_crop_is_a_window_of_the_padded_image(padding):
    x = _images(8, 2, 5, 6)
    left, top, right, bottom = {2: (2,) * 4, (1, 3): (1, 3, 1, 3)}.get(padding, padding)
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    out = RandomCrop((5, 6), padding=padding)(x, np.random.default_rng(0))
    assert out.shape == x.shape
    rng = np.random.default_rng(0)  # the corners the transform draws, in its order
    tops = rng.integers(0, padded.shape[2] - 5 + 1, size=8)
    lefts = rng.integers(0, padded.shape[3] - 6 + 1, size=8)
    for n in range(8):
        np.testing.assert_array_equal(out[n], padded[n, :, tops[n]:tops[n] + 5,
                                                    lefts[n]:lefts[n] + 6])
    assert len({(t, l) for t, l in zip(tops, lefts, strict=True)}) > 1  # really random
    single = RandomCrop(3)(x[0], np.random.default_rng(1))
    assert single.shape == (2, 3, 3)
    with pytest.raises(ValueError, match=r"\(9, 9\).*\(5, 6\)"):
        RandomCrop(9)(x)


def test_horizontal_flip():
    x = _images()
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x), x)
    twice = RandomHorizontalFlip(1.0)(RandomHorizontalFlip(1.0)(x))
    np.testing.assert_array_equal(twice, x)
    out = RandomHorizontalFlip(0.5)(x, np.random.default_rng(3))
    flipped = np.random.default_rng(3).random(len(x)) < 0.5
    for n in range(len(x)):
        np.testing.assert_array_equal(out[n], x[n, :, :, ::-1] if flipped[n] else x[n])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_identity_and_quarter_turns(interpolation):
    for size in (4, 5):
        x = _images(3, 2, size, size)
        np.testing.assert_array_equal(affine(x, 0.0, interpolation=interpolation), x)
        # torchvision's angle turns clockwise on screen: np.rot90 with k=-1
        np.testing.assert_allclose(affine(x, 90.0, interpolation=interpolation),
                                   np.rot90(x, k=-1, axes=(2, 3)), atol=1e-5)
        np.testing.assert_allclose(affine(x, -90.0, interpolation=interpolation),
                                   np.rot90(x, k=1, axes=(2, 3)), atol=1e-5)
        np.testing.assert_allclose(affine(x, 180.0, interpolation=interpolation),
                                   x[:, :, ::-1, ::-1], atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_integer_translation_shifts_and_fills(interpolation):
    x = _images(2, 1, 5, 7)
    out = affine(x, 0.0, translate=(2, -1), interpolation=interpolation, fill=0.0)
    expected = np.zeros_like(x)
    expected[:, :, :-1, 2:] = x[:, :, 1:, :-2]  # right by 2, up by 1
    np.testing.assert_array_equal(out, expected)


def _torchvision_inverse(angle, translate, scale, shear):
    """torchvision's ``_get_inverse_affine_matrix`` with centre (0, 0), copied as scalars."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * -translate[0] + m[1] * -translate[1]
    m[5] += m[3] * -translate[0] + m[4] * -translate[1]
    return m


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_matches_torchvision_tensor_path(interpolation):
    torch = pytest.importorskip("torch")
    x = _images(1, 3, 9, 7, seed=4).astype(np.float64)
    for angle, translate, scale, shear in [(23.0, (1, -2), 1.1, (10.0, -5.0)),
                                           (-70.0, (0, 1), 0.8, (0.0, 20.0))]:
        # torchvision.transforms.functional.affine on a tensor: its _gen_affine_grid + grid_sample
        theta = torch.tensor(_torchvision_inverse(angle, translate, scale, shear),
                             dtype=torch.float64).reshape(1, 2, 3)
        h, w = x.shape[2:]
        base = torch.empty(1, h, w, 3, dtype=torch.float64)
        base[..., 0] = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w, dtype=torch.float64)
        base[..., 1] = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h,
                                      dtype=torch.float64)[:, None]
        base[..., 2] = 1
        grid = base.view(1, h * w, 3).bmm(theta.transpose(1, 2) / torch.tensor(
            [0.5 * w, 0.5 * h], dtype=torch.float64)).view(1, h, w, 2)
        want = torch.nn.functional.grid_sample(torch.from_numpy(x), grid, mode=interpolation,
                                               padding_mode="zeros", align_corners=False)
        got = affine(x, angle, translate, scale, shear, interpolation=interpolation)
        np.testing.assert_allclose(got, want.numpy(), atol=1e-10)


def test_random_affine_draws_per_image_and_reproduces():
    x = _images(8, 1, 6, 6)
    fixed = RandomAffine(degrees=(30, 30), scale=(1.2, 1.2), shear=(5, 5))
    np.testing.assert_allclose(fixed(x), affine(x, 30, scale=1.2, shear=(5, 0)), atol=1e-6)
    shifter = RandomAffine(0, translate=(0.5, 0.5))
    out = shifter(x, np.random.default_rng(2))
    np.testing.assert_array_equal(out, shifter(x, np.random.default_rng(2)))
    rng = np.random.default_rng(2)  # its draws: angle, then x and y shifts rounded to pixels
    rng.uniform(0, 0, 8)
    tx, ty = np.rint(rng.uniform(-3, 3, 8)), np.rint(rng.uniform(-3, 3, 8))
    for n in range(8):
        np.testing.assert_array_equal(out[n], affine(x[n], 0, (tx[n], ty[n])))
    assert len(set(zip(tx, ty, strict=True))) > 1
    assert RandomAffine(15)(x[0]).shape == x[0].shape
    with pytest.raises(ValueError, match="translate"):
        RandomAffine(0, translate=(2, 0))


def test_color_jitter_factors():
    x = _images(5, 1, 4, 4) + 3
    out = ColorJitter(brightness=0.5)(x, np.random.default_rng(0))
    b = np.random.default_rng(0).uniform(0.5, 1.5, 5).astype(np.float32)
    np.testing.assert_allclose(out, x * b[:, None, None, None], rtol=1e-6)
    out = ColorJitter(contrast=(0.2, 0.7))(x, np.random.default_rng(1))
    c = np.random.default_rng(1).uniform(0.2, 0.7, 5)
    # contrast keeps each image's mean and scales its deviations from it by c
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)) / x.std(axis=(1, 2, 3)), c, rtol=1e-4)
    rgb = _images(2, 3, 4, 4)
    gray_mean = np.tensordot([0.2989, 0.587, 0.114], rgb, ([0], [1])).mean(axis=(1, 2))
    out = ColorJitter(contrast=(0.0, 0.0))(rgb)  # factor 0: the luminance mean everywhere
    np.testing.assert_allclose(out, np.broadcast_to(gray_mean[:, None, None, None], rgb.shape),
                               rtol=1e-5)
    np.testing.assert_array_equal(ColorJitter()(x), x)
    with pytest.raises(ValueError, match="brightness"):
        ColorJitter(brightness=-1)


def test_compose_applies_in_order_with_one_generator():
    x = _images(4, 1, 6, 6)
    norm = Normalize.fit(x)
    steps = [RandomCrop(6, padding=2), RandomHorizontalFlip(), norm]
    out = Compose(steps)(x, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    want = x
    for t in steps:
        want = t(want, rng)
    np.testing.assert_array_equal(out, want)
