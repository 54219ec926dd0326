"""tinygrad_cs.vision.transforms against torchvision's documented semantics: closed forms
(ToTensor's scaling, Normalize's formula, crop corners, padding modes against ``np.pad``,
dtype conversions), a loop-by-loop numpy bilinear reference, PyTorch's ``interpolate`` (when
installed) and Pillow (when installed: grayscale and resizing of the images it stands in for),
plus finite-difference gradients through the tensor transforms."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.data.augment import RandomAffine as BatchAffine
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.vision import transforms as T
from tinygrad_cs.vision.transforms import functional as TF


def _rgb(h: int = 5, w: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _planes(h: int = 5, w: int = 7, c: int = 3, seed: int = 0, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w)).astype(dtype)


# -- ToTensor, PILToTensor, ToPILImage ----------------------------------------------------
def test_to_tensor_scales_uint8_to_unit_range_and_moves_channels_first():
    img = _rgb()
    out = T.ToTensor()(img)
    assert isinstance(out, tg.Tensor) and out.shape == (3, 5, 7) and out.dtype == tg.float32
    np.testing.assert_array_equal(out.numpy(), img.transpose(2, 0, 1).astype(np.float32) / 255)
    gray = T.ToTensor()(img[:, :, 0])                       # (H, W): one channel
    assert gray.shape == (1, 5, 7) and gray.numpy().max() <= 1.0
    assert T.ToTensor()(np.full((2, 2), 255, np.uint8)).numpy().min() == 1.0


def test_to_tensor_keeps_values_and_dtype_of_other_arrays():
    x = np.random.default_rng(1).normal(size=(4, 3, 2))     # float64 (H, W, C)
    out = T.ToTensor()(x)
    assert out.dtype == tg.float64
    np.testing.assert_array_equal(out.numpy(), x.transpose(2, 0, 1))
    ints = np.arange(6, dtype=np.int32).reshape(2, 3) * 1000
    assert T.ToTensor()(ints).dtype == tg.int32 and T.ToTensor()(ints).numpy().max() == 5000
    pil = T.PILToTensor()(_rgb())
    assert pil.dtype == tg.uint8 and pil.shape == (3, 5, 7)


def test_to_tensor_refuses_what_is_not_an_image():
    with pytest.raises(TypeError, match="to_tensor: pic should be a PIL image or an ndarray"):
        T.ToTensor()(tg.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"to_tensor: an image array must be .* \(1, 2, 3, 4\)"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="got list"):
        T.ToTensor()([[0, 1]])


def test_pil_images_go_in_and_come_out():
    Image = pytest.importorskip("PIL.Image")
    img = _rgb()
    pil = Image.fromarray(img)
    np.testing.assert_array_equal(T.ToTensor()(pil).numpy(), T.ToTensor()(img).numpy())
    bits = Image.fromarray(np.array([[True, False]]))          # mode '1': 0/255, then 0/1
    np.testing.assert_array_equal(T.ToTensor()(bits).numpy(), [[[1.0, 0.0]]])
    assert T.CenterCrop(3)(pil).shape == (3, 3, 3)              # PIL in, array out
    x = tg.tensor(np.array([[[0.0, 0.5, 1.0]], [[1.0, 0.999, 0.1]], [[0.2, 0.3, 0.4]]],
                           np.float32))
    back = T.ToPILImage()(x)
    assert back.mode == "RGB" and back.size == (3, 1)
    expect = (x.numpy() * 255).astype(np.uint8).transpose(1, 2, 0)   # mul(255).byte()
    np.testing.assert_array_equal(np.array(back), expect)
    assert T.ToPILImage()(img[:, :, 0]).mode == "L"
    with pytest.raises(ValueError, match="mode 'RGB' does not fit a 1-channel uint8"):
        T.ToPILImage(mode="RGB")(img[:, :, 0])
    with pytest.raises(ValueError, match="more than 4 channels, got 5"):
        T.ToPILImage()(tg.zeros(5, 2, 2))


# -- Normalize ------------------------------------------------------------------------------
def test_normalize_is_per_channel_formula_on_images_and_batches():
    x = _planes(4, 5)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    expect = (x - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(T.Normalize(mean, std)(tg.tensor(x)).numpy(), expect, rtol=1e-6, atol=1e-6)
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(T.Normalize(mean, std)(tg.tensor(batch)).numpy()[1],
                               (2 * x - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1)),
                               rtol=1e-6, atol=1e-6)
    one = T.Normalize((0.5,), (0.5,))(tg.tensor(x)).numpy()  # one value for every channel
    np.testing.assert_allclose(one, (x - 0.5) / 0.5, rtol=1e-6, atol=1e-6)


def test_normalize_inplace_writes_into_the_tensor_and_otherwise_leaves_it():
    x = tg.tensor(_planes())
    before = x.numpy().copy()
    out = T.Normalize((0.5,) * 3, (0.5,) * 3)(x)
    np.testing.assert_array_equal(x.numpy(), before)
    out2 = T.Normalize((0.5,) * 3, (0.5,) * 3, inplace=True)(x)
    assert out2 is x
    np.testing.assert_allclose(x.numpy(), out.numpy())


def test_normalize_errors_change_nothing():
    x = tg.tensor(_planes())
    before = x.numpy().copy()
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to float32"):
        T.Normalize((0.5, 0.5, 0.5), (1.0, 0.0, 1.0), inplace=True)(x)
    with pytest.raises(ValueError, match=r"mean=\(0.1, 0.2\) needs 1 or 3 values .*\(3, 5, 7\)"):
        T.Normalize((0.1, 0.2), (1.0, 1.0), inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), before)
    with pytest.raises(TypeError, match="input tensor should be a float tensor, got uint8"):
        T.Normalize((0.5,), (0.5,))(tg.tensor(_rgb().transpose(2, 0, 1).copy()))
    with pytest.raises(TypeError, match="img should be a Tensor image, got ndarray"):
        T.Normalize((0.5,), (0.5,))(_planes())
    with pytest.raises(ValueError, match=r"size \(\.\.\., C, H, W\), got shape \(5, 7\)"):
        T.Normalize((0.5,), (0.5,))(tg.rand(5, 7))


def test_normalize_gradient_is_one_over_std():
    x = tg.tensor(_planes(2, 3), requires_grad=True)
    T.Normalize((0.0, 1.0, 2.0), (0.5, 2.0, 4.0))(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:, 0, 0], [2.0, 0.5, 0.25])


# -- Resize -----------------------------------------------------------------------------------
def _bilinear_reference(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """PyTorch's align_corners=False bilinear, pixel by pixel (no antialiasing)."""
    height, width = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (h, w))

    def source(i: int, n_in: int, n_out: int) -> tuple[int, int, float]:
        c = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        lo = int(c)
        return lo, min(lo + 1, n_in - 1), c - lo

    for i in range(h):
        y0, y1, fy = source(i, height, h)
        for j in range(w):
            x0, x1, fx = source(j, width, w)
            top = (1 - fx) * x[..., y0, x0] + fx * x[..., y0, x1]
            bottom = (1 - fx) * x[..., y1, x0] + fx * x[..., y1, x1]
            out[..., i, j] = (1 - fy) * top + fy * bottom
    return out


@pytest.mark.parametrize("size", [(3, 4), (11, 13), (5, 16), (8, 2)])
def test_resize_without_antialias_is_bilinear_with_half_pixel_centres(size):
    x = _planes(7, 9, c=2, dtype=np.float64)
    out = T.Resize(size, antialias=False)(tg.tensor(x))
    assert out.shape == (2, *size)
    np.testing.assert_allclose(out.numpy(), _bilinear_reference(x, *size), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("shape, size", [((7, 9), (3, 4)), ((5, 6), (11, 13)),
                                         ((13, 17), (5, 16)), ((10, 3), (7, 5)), ((8, 8), (4, 4))])
def test_resize_matches_torch_interpolate(shape, size, antialias):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).random((2, 3, *shape)).astype(np.float32)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear",
                                          align_corners=False, antialias=antialias).numpy()
    out = T.Resize(size, antialias=antialias)(tg.tensor(x)).numpy()
    np.testing.assert_allclose(out, ref, atol=2e-6)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_resize_nearest_matches_torch(mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).random((1, 2, 7, 5)).astype(np.float32)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(4, 9), mode=mode).numpy()
    out = T.Resize((4, 9), interpolation=T.InterpolationMode(mode))(x[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(out, ref[0].transpose(1, 2, 0))


def test_resize_of_uint8_arrays_stands_in_for_pil():
    Image = pytest.importorskip("PIL.Image")
    img = _rgb(23, 31)
    for size in [(10, 12), (40, 47)]:
        ours = T.Resize(size)(img)
        theirs = np.array(Image.fromarray(img).resize(size[::-1], Image.BILINEAR))
        assert ours.dtype == np.uint8 and ours.shape == (*size, 3)
        assert np.abs(ours.astype(int) - theirs).max() <= 1      # PIL rounds in fixed point
        floats = img[:, :, 0].astype(np.float32)
        ours_f = T.Resize(size)(floats)
        theirs_f = np.array(Image.fromarray(floats, mode="F").resize(size[::-1], Image.BILINEAR))
        np.testing.assert_allclose(ours_f, theirs_f, rtol=1e-5, atol=1e-3)


def test_resize_int_size_matches_the_shorter_edge():
    x = tg.rand(3, 10, 25)
    assert T.Resize(4)(x).shape == (3, 4, 10)                # int(4 * 25 / 10) = 10
    assert T.Resize([4])(x).shape == (3, 4, 10)
    assert T.Resize(4, max_size=8)(x).shape == (3, 3, 8)     # int(8 * 4 / 10) = 3
    assert T.Resize(6)(_rgb(9, 4)).shape == (13, 6, 3)       # int(6 * 9 / 4) = 13
    same = tg.rand(3, 4, 4)
    assert T.Resize(4)(same) is same
    with pytest.raises(ValueError, match="max_size=8 is only allowed when size is one int"):
        T.Resize((4, 5), max_size=8)
    with pytest.raises(ValueError, match="size must be a positive int"):
        T.Resize(0)
    with pytest.raises(NotImplementedError, match="BICUBIC.*not implemented"):
        T.Resize(4, interpolation=T.InterpolationMode.BICUBIC)


def test_resize_gradient_matches_finite_differences():
    x = tg.tensor(_planes(5, 4, c=2, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda t: TF.resize(t, (3, 7)), (x,))
    assert gradcheck(lambda t: TF.resize(t, (2, 2), antialias=False), (x,))


# -- crops, padding, flips -------------------------------------------------------------------
def test_center_crop_corner_rounds_halves_to_even_and_pads_when_larger():
    img = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7)
    # (5 - 2) / 2 = 1.5 -> 2, (7 - 2) / 2 = 2.5 -> 2
    np.testing.assert_array_equal(T.CenterCrop(2)(img), img[2:4, 2:4])
    np.testing.assert_array_equal(T.CenterCrop((3, 4))(img), img[1:4, 2:6])   # 1.0, 1.5 -> 2
    big = T.CenterCrop((8, 10))(img)                          # pads 1 top, 2 bottom, 1 | 2 sides
    assert big.shape == (8, 10)
    np.testing.assert_array_equal(big[1:6, 1:8], img)
    assert big[0].sum() == big[6:].sum() == big[:, 0].sum() == big[:, 8:].sum() == 0
    t = tg.tensor(img[None].astype(np.float32))
    np.testing.assert_array_equal(T.CenterCrop(2)(t).numpy()[0], img[2:4, 2:4])


@pytest.mark.parametrize("mode, numpy_mode", [("constant", "constant"), ("edge", "edge"),
                                               ("reflect", "reflect"),
                                               ("symmetric", "symmetric")])
@pytest.mark.parametrize("padding, sides", [(2, (2, 2, 2, 2)), ((1, 3), (1, 3, 1, 3)),
                                            ((0, 1, 2, 3), (0, 1, 2, 3))])
def test_pad_modes_are_numpys(mode, numpy_mode, padding, sides):
    left, top, right, bottom = sides
    img = _rgb(4, 5)
    kwargs = {"constant_values": 9} if mode == "constant" else {}
    expect = np.pad(img, ((top, bottom), (left, right), (0, 0)), mode=numpy_mode, **kwargs)
    np.testing.assert_array_equal(T.Pad(padding, fill=9, padding_mode=mode)(img), expect)
    t = tg.tensor(img.transpose(2, 0, 1).astype(np.float32))
    out = T.Pad(padding, fill=9, padding_mode=mode)(t)
    np.testing.assert_array_equal(out.numpy(), expect.transpose(2, 0, 1))


def test_pad_gradient_sums_over_reused_border_pixels():
    x = tg.tensor(_planes(3, 4, c=1, dtype=np.float64), requires_grad=True)
    for mode in ("constant", "edge", "symmetric"):
        assert gradcheck(lambda t, m=mode: TF.pad(t, (1, 2), padding_mode=m) ** 2, (x,))


def test_pad_and_crop_errors():
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match=r"Pad: padding must be an int or 2 or 4 ints, got \(1, 2, 3\)"):
        T.Pad((1, 2, 3))
    with pytest.raises(TypeError, match="fill must be a number"):
        T.Pad(1, fill=(1, 2, 3))
    with pytest.raises(ValueError, match=r"required crop size \(6, 6\) is larger than the input "
                                         r"image size \(5, 7\)"):
        T.RandomCrop(6)(_rgb())


def test_crop_outside_the_image_reads_zeros():
    img = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    out = TF.crop(img, -1, 2, 3, 4)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [3, 4, 0, 0], [7, 8, 0, 0]])


def test_random_crop_windows_follow_the_global_generator():
    img = _rgb(6, 8)
    tg.manual_seed(5)
    outs = [T.RandomCrop((3, 4))(img) for _ in range(60)]
    tg.manual_seed(5)
    rng = tg.random.generator()
    for out in outs:
        top, left = int(rng.integers(0, 4)), int(rng.integers(0, 5))   # row first, then column
        np.testing.assert_array_equal(out, img[top:top + 3, left:left + 4])
    corners = {tuple(np.argwhere(img[:, :, 0] == o[0, 0, 0])[0]) for o in outs}
    assert len(corners) > 10                                  # many positions are visited


def test_random_crop_padding_and_pad_if_needed():
    img = _rgb(5, 7)
    tg.manual_seed(0)
    padded = T.RandomCrop((9, 11), padding=2)(img)            # only one window: the padded image
    np.testing.assert_array_equal(padded, np.pad(img, ((2, 2), (2, 2), (0, 0))))
    tg.manual_seed(4)
    grown = T.RandomCrop((7, 9), pad_if_needed=True, padding_mode="edge")(img)
    tg.manual_seed(4)                                         # short by 2: 2 more on each side
    top, left = (int(tg.random.generator().integers(0, 3)) for _ in range(2))
    edge = np.pad(img, ((2, 2), (2, 2), (0, 0)), mode="edge")
    np.testing.assert_array_equal(grown, edge[top:top + 7, left:left + 9])
    state = tg.get_rng_state()
    assert T.RandomCrop((5, 7))(img).shape == (5, 7, 3)       # whole image: no draw
    assert tg.get_rng_state() == state


def test_flips_and_their_probability():
    img = _rgb()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(img), img[::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(img), img)
    t = tg.tensor(img.transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(),
                                  img[:, ::-1].transpose(2, 0, 1))
    tg.manual_seed(1)
    flips = [T.RandomHorizontalFlip(0.3)(img)[0, 0, 0] != img[0, 0, 0] for _ in range(400)]
    tg.manual_seed(1)
    draws = tg.random.generator().random(400) < 0.3           # one uniform draw per call
    np.testing.assert_array_equal(flips, draws)
    with pytest.raises(ValueError, match=r"RandomVerticalFlip: p must be in \[0, 1\], got 2"):
        T.RandomVerticalFlip(2)


# -- grayscale, dtypes --------------------------------------------------------------------------
def test_grayscale_of_tensors_is_the_luma_formula():
    x = _planes()
    expect = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    out = T.Grayscale()(tg.tensor(x))
    assert out.shape == (1, 5, 7)
    np.testing.assert_allclose(out.numpy()[0], expect, rtol=1e-6, atol=1e-6)
    three = T.Grayscale(3)(tg.tensor(x)).numpy()
    np.testing.assert_allclose(three, np.stack([expect] * 3), rtol=1e-6, atol=1e-6)
    u8 = tg.tensor(_rgb().transpose(2, 0, 1).copy())
    gray = _rgb().astype(np.float64) @ np.array([0.2989, 0.587, 0.114])
    np.testing.assert_array_equal(T.Grayscale()(u8).numpy()[0], gray.astype(np.uint8))
    with pytest.raises(ValueError, match=r"1 or 3 channels, got planes of shape \(2, 5, 7\)"):
        T.Grayscale()(tg.tensor(_planes(c=2)))


def test_grayscale_of_uint8_arrays_is_pils_convert_l():
    Image = pytest.importorskip("PIL.Image")
    img = _rgb(16, 16, seed=4)
    ours = T.Grayscale()(img)
    np.testing.assert_array_equal(ours, np.array(Image.fromarray(img).convert("L")))
    assert T.Grayscale(3)(img).shape == (16, 16, 3)


def test_convert_image_dtype_rescales_by_the_ranges():
    u8 = tg.tensor(np.array([[[0, 1, 128, 255]]], np.uint8))
    np.testing.assert_allclose(T.ConvertImageDtype(tg.float32)(u8).numpy(),
                               [[[0, 1 / 255, 128 / 255, 1]]], rtol=1e-7)
    f = tg.tensor(np.array([[[0.0, 0.5, 0.999, 1.0]]], np.float32))
    np.testing.assert_array_equal(T.ConvertImageDtype(tg.uint8)(f).numpy(), [[[0, 127, 255, 255]]])
    np.testing.assert_array_equal(T.ConvertImageDtype(np.int16)(u8).numpy(),
                                  [[[0, 128, 16384, 32640]]])       # x * 32768 // 256
    i16 = tg.tensor(np.array([[[0, 127, 128, 32767]]], np.int16))
    np.testing.assert_array_equal(T.ConvertImageDtype(tg.uint8)(i16).numpy(), [[[0, 0, 1, 255]]])
    with pytest.raises(RuntimeError, match="float32 to int32 cannot be performed safely"):
        T.ConvertImageDtype(tg.int32)(f)
    assert T.ToDtype(tg.float32)(u8).numpy().max() == 255            # a plain cast
    assert T.ToDtype(tg.float32, scale=True)(u8).numpy().max() == 1.0


# -- rotation and affine maps ------------------------------------------------------------------
def test_random_rotation_by_90_degrees_turns_counter_clockwise():
    img = np.arange(25, dtype=np.uint8).reshape(5, 5)
    out = T.RandomRotation((90, 90))(img)
    np.testing.assert_array_equal(out, np.rot90(img))                # counter-clockwise
    tg.manual_seed(3)
    T.RandomRotation(30)(img)
    tg.manual_seed(3)
    assert -30 <= T.RandomRotation.get_params((-30, 30)) <= 30


def test_random_affine_draws_once_per_call_as_the_batch_transform_does():
    img = _rgb(9, 9)
    args = {"degrees": 20, "translate": (0.2, 0.1), "scale": (0.8, 1.2), "shear": 10}
    tg.manual_seed(7)
    ours = T.RandomAffine(**args)(img)
    tg.manual_seed(7)
    theirs = BatchAffine(**args)(img.transpose(2, 0, 1)[None], tg.random.generator())
    np.testing.assert_array_equal(ours, theirs[0].transpose(1, 2, 0))
    batch = tg.tensor(np.stack([img, img]).transpose(0, 3, 1, 2).astype(np.float32))
    out = T.RandomAffine(**args)(batch).numpy()
    np.testing.assert_array_equal(out[0], out[1])              # one map for the whole batch


# -- composition ---------------------------------------------------------------------------------
def test_compose_applies_in_order_and_shows_each_step():
    pipeline = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 10)])
    assert pipeline(1) == 20
    assert repr(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])) == (
        "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)")
    with pytest.raises(TypeError, match="lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_a_training_pipeline_on_dataset_images_is_seeded_by_tg_manual_seed():
    pipeline = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize((0.1307,), (0.3081,))])
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    tg.manual_seed(11)
    first = [pipeline(img).numpy() for _ in range(5)]
    tg.manual_seed(11)
    second = [pipeline(img).numpy() for _ in range(5)]
    np.testing.assert_array_equal(first, second)
    assert first[0].shape == (1, 28, 28) and first[0].dtype == np.float32
    assert not all(np.array_equal(first[0], f) for f in first[1:])


def test_geometric_transforms_are_modules_that_fit_in_sequential():
    x = tg.tensor(_planes(6, 6)[None], requires_grad=True)
    seq = nn.Sequential(T.CenterCrop(4), T.Normalize((0.5,) * 3, (0.25,) * 3))
    out = seq(x)
    assert out.shape == (1, 3, 4, 4)
    out.sum().backward()
    assert x.grad.numpy()[0, :, 1:5, 1:5].min() == 4.0 and x.grad.numpy()[0, :, 0].max() == 0

