"""Per-image transforms as functions, named and called as ``torchvision.transforms.functional``.

Each takes an image of any kind (``_image.py``: an array (H, W) or (H, W, C), a PIL image, or a
Tensor (..., C, H, W)) and returns the same kind (a PIL image comes back as an array), except
``to_tensor`` / ``pil_to_tensor`` (to a Tensor), ``to_pil_image`` (to a PIL image), and
``normalize`` / ``convert_image_dtype``, which take Tensors only, as torchvision's. On float
Tensors, ``crop``, the flips, ``pad``, bilinear ``resize``, ``rgb_to_grayscale`` and
``normalize`` are tg ops, so gradients flow through them; ``affine`` / ``rotate`` resample in
numpy (``data.augment``) and return a Tensor outside the graph.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.data.augment import affine as _affine_planes
from tinygrad_cs.data.augment import padding_sides
from tinygrad_cs.data.transforms import LUMA
from tinygrad_cs.dtypes import check as check_dtype
from tinygrad_cs.dtypes import get_default_dtype
from tinygrad_cs.tensor import Tensor

from .._pil import pil_image
from ._image import Planes, dimensions, image_array, to_planes
from ._resize import check_size, resize_planes, resized_size

__all__ = ["InterpolationMode", "affine", "center_crop", "convert_image_dtype", "crop",
           "get_dimensions", "hflip", "normalize", "pad", "pil_to_tensor", "resize",
           "rgb_to_grayscale", "rotate", "to_pil_image", "to_tensor", "vflip"]


class InterpolationMode(Enum):
    """torchvision's interpolation names; NEAREST, NEAREST_EXACT and BILINEAR are implemented
    (BILINEAR for ``resize`` only), the others raise naming themselves."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _mode(interpolation: InterpolationMode | str, allowed: tuple[str, ...], op: str) -> str:
    value = interpolation.value if isinstance(interpolation, InterpolationMode) else interpolation
    if value not in allowed:
        raise NotImplementedError(f"{op}: interpolation {interpolation!r} is not implemented "
                                  f"(implemented: {', '.join(allowed)})")
    return value


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]`` of an image of any kind."""
    return list(dimensions(img, "get_dimensions"))


def to_tensor(pic: Any) -> Tensor:
    """An array (H, W) / (H, W, C) or PIL image -> Tensor (C, H, W).

    uint8 values become ``x / 255`` in the default float dtype (float32), so in [0, 1]; any
    other dtype (float arrays, PIL's 32-bit modes) keeps its values and dtype, as torchvision's.
    """
    if isinstance(pic, Tensor):
        raise TypeError(f"to_tensor: pic should be a PIL image or an ndarray, got a Tensor of "
                        f"shape {tuple(pic.shape)} (it is already a tensor image)")
    a = image_array(pic, "to_tensor")
    planes = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if a.dtype == np.uint8:
        return Tensor(np.divide(planes, 255, dtype=get_default_dtype()))
    return Tensor(np.ascontiguousarray(planes))


def pil_to_tensor(pic: Any) -> Tensor:
    """An array (H, W) / (H, W, C) or PIL image -> Tensor (C, H, W) of the same dtype and
    values (no scaling)."""
    if isinstance(pic, Tensor):
        raise TypeError(f"pil_to_tensor: pic should be a PIL image or an ndarray, got a Tensor "
                        f"of shape {tuple(pic.shape)}")
    a = image_array(pic, "pil_to_tensor")
    return Tensor(np.ascontiguousarray(a[None] if a.ndim == 2 else a.transpose(2, 0, 1)))


_PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_SINGLE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                         np.dtype(np.int32): "I", np.dtype(np.float32): "F"}


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """A Tensor (C, H, W) / (H, W) or an array (H, W) / (H, W, C) -> PIL image (needs Pillow).

    A float Tensor is scaled to ``uint8(x * 255)`` (truncated, as torchvision's ``mul(255).
    byte()``; values outside [0, 1] are clipped first). Modes: 1 channel 'L' (int16 'I;16',
    int32 'I', float32 'F'), 2 'LA', 3 'RGB', 4 'RGBA'; ``mode`` must be the one implied.
    """
    image = pil_image("to_pil_image")
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2/3 dimensional, got shape "
                             f"{tuple(pic.shape)}")
        a = pic.detach().numpy()
        a = a[None] if a.ndim == 2 else a
        if a.dtype.kind == "f" and mode != "F":
            a = (np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
        a = a.transpose(1, 2, 0)
    else:
        a = image_array(pic, "to_pil_image")
        a = a[:, :, None] if a.ndim == 2 else a
    channels = a.shape[2]
    if channels not in _PIL_MODES:
        raise ValueError(f"to_pil_image: pic should not have more than 4 channels, got "
                         f"{channels} (shape {a.shape} as (H, W, C))")
    if channels == 1:
        implied = _SINGLE_CHANNEL_MODES.get(a.dtype)
        a = a[:, :, 0]
    else:
        implied = _PIL_MODES[channels] if a.dtype == np.uint8 else None
    if implied is None:
        raise TypeError(f"to_pil_image: {channels}-channel images of dtype {a.dtype} have no "
                        f"PIL mode (uint8 is needed for 2-4 channels)")
    if mode is not None and mode != implied:
        raise ValueError(f"to_pil_image: mode {mode!r} does not fit a {channels}-channel "
                         f"{a.dtype} image, whose mode is {implied!r}")
    return image.fromarray(np.ascontiguousarray(a))


def normalize(tensor: Tensor, mean: Sequence[float] | float, std: Sequence[float] | float,
              inplace: bool = False) -> Tensor:
    """``out[..., c, :, :] = (x[..., c, :, :] - mean[c]) / std[c]`` for a float Tensor
    (..., C, H, W); one mean/std value serves every channel. ``inplace`` writes into ``tensor``
    (``sub_``, ``div_``); otherwise the result is a new node of the graph."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: img should be a Tensor image, got {type(tensor).__name__} "
                        f"(apply ToTensor first)")
    if tensor.dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, got "
                        f"{tensor.dtype} (use ToTensor or ConvertImageDtype first)")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected a tensor image of size (..., C, H, W), got "
                         f"shape {tuple(tensor.shape)}")
    channels = tensor.shape[-3]
    m, s = np.asarray(mean, dtype=tensor.dtype), np.asarray(std, dtype=tensor.dtype)
    for values, given, name in ((m, mean, "mean"), (s, std, "std")):
        if values.ndim > 1 or values.size not in (1, channels):
            raise ValueError(f"normalize: {name}={given!r} needs 1 or {channels} values for an "
                             f"image of shape {tuple(tensor.shape)}")
    if np.any(s == 0):
        raise ValueError(f"normalize: std evaluated to zero after conversion to "
                         f"{tensor.dtype}, leading to division by zero (std={s.tolist()})")
    m, s = (Tensor(np.ascontiguousarray(v.reshape(-1, 1, 1))) for v in (m, s))
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s


def resize(img: Any, size: int | Sequence[int],
           interpolation: InterpolationMode | str = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool = True) -> Any:
    """Resize to ``size``: ``(h, w)``, or an int for the shorter edge (the longer keeps the
    aspect ratio, ``int(size * long / short)``, at most ``max_size``). Bilinear with
    PyTorch's ``align_corners=False`` geometry; ``antialias=True`` (torchvision's default, and
    what PIL always does) averages over the pixels a shrinking output pixel covers;
    ``False`` is ``interpolate(..., antialias=False)``. NEAREST / NEAREST_EXACT follow
    ``interpolate``. Integer images are rounded back to their dtype (``_resize.py``)."""
    x, back = to_planes(img, "resize")
    mode = resize_check(size, interpolation, max_size, "resize")
    out = resized_size(*x.shape[-2:], size, max_size, "resize")
    return back(resize_planes(x, out, mode, antialias))


def resize_check(size: int | Sequence[int], interpolation: InterpolationMode | str,
                 max_size: int | None, op: str = "Resize") -> str:
    """Validate ``resize``'s arguments before any image is seen; returns the mode's name."""
    check_size(size, max_size, op)
    return _mode(interpolation, ("bilinear", "nearest", "nearest-exact"), op)


def _pad_planes(x: Planes, sides: tuple[int, int, int, int], fill: float,
                mode: str) -> Planes:
    left, top, right, bottom = sides
    if mode == "constant":
        if isinstance(x, Tensor):
            return ops.pad(x, (left, right, top, bottom), value=fill)
        return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)],
                      constant_values=fill)
    # edge / reflect / symmetric: one gather of rows and columns, numpy's rule for each index
    rows = np.pad(np.arange(x.shape[-2]), (top, bottom), mode=mode)
    cols = np.pad(np.arange(x.shape[-1]), (left, right), mode=mode)
    return x[..., rows[:, None], cols[None, :]]


_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def pad(img: Any, padding: int | Sequence[int], fill: float = 0,
        padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` an int (all sides), ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``. Modes: 'constant' (``fill``), 'edge' (repeat the border
    pixel), 'reflect' (mirror without repeating it: 2 1 | 1 2 3 | 3 2 -> ``[3 2] 1 2 3
    [2 1]``), 'symmetric' (mirror repeating it: ``[2 1] 1 2 3 [3 2]``)."""
    sides = pad_check(padding, fill, padding_mode, "pad")
    x, back = to_planes(img, "pad")
    return back(_pad_planes(x, sides, fill, padding_mode))


def pad_check(padding: int | Sequence[int], fill: float, padding_mode: str,
              op: str) -> tuple[int, int, int, int]:
    """Validate ``pad``'s arguments; returns ``(left, top, right, bottom)``."""
    sides = padding_sides(padding, op)
    if min(sides) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {', '.join(_PADDING_MODES)}, "
                         f"got {padding_mode!r}")
    if isinstance(fill, bool) or not isinstance(fill, (int, float, np.number)):
        raise TypeError(f"{op}: fill must be a number (one value for every channel), got "
                        f"{fill!r}")
    return sides


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The window ``[top, top + height) x [left, left + width)``; parts outside the image are
    0, as torchvision's crop of a tensor."""
    if height <= 0 or width <= 0:
        raise ValueError(f"crop: height and width must be positive, got {height} x {width}")
    x, back = to_planes(img, "crop")
    h_in, w_in = x.shape[-2:]
    sides = (max(-left, 0), max(-top, 0), max(left + width - w_in, 0),
             max(top + height - h_in, 0))
    if any(sides):
        x = _pad_planes(x, sides, 0, "constant")
        top, left = top + sides[1], left + sides[0]
    return back(x[..., top:top + height, left:left + width])


def crop_size(size: int | Sequence[int], op: str) -> tuple[int, int]:
    """``(h, w)`` from an int or a 1- or 2-sequence, as torchvision's crops take it."""
    sizes = [size] if isinstance(size, (int, np.integer)) else list(size)
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"{op}: size must be a positive int or a (height, width) pair, got "
                         f"{size!r}")
    return int(sizes[0]), int(sizes[1])


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The central ``output_size`` window, top-left corner ``round((H - h) / 2)``,
    ``round((W - w) / 2)`` (Python's round: halves to even). A crop larger than the image
    pads it with 0 first, ``(w - W) // 2`` on the left and the rest on the right (alike for
    rows)."""
    h, w = crop_size(output_size, "center_crop")
    _, height, width = dimensions(img, "center_crop")
    if h > height or w > width:
        dw, dh = max(w - width, 0), max(h - height, 0)
        img = pad(img, (dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2))
        height, width = max(height, h), max(width, w)
    return crop(img, round((height - h) / 2), round((width - w) / 2), h, w)


def hflip(img: Any) -> Any:
    """Mirror left-right: ``out[..., i, j] = x[..., i, W - 1 - j]``."""
    x, back = to_planes(img, "hflip")
    return back(x[..., ::-1])


def vflip(img: Any) -> Any:
    """Mirror top-bottom: ``out[..., i, j] = x[..., H - 1 - i, j]``."""
    x, back = to_planes(img, "vflip")
    return back(x[..., ::-1, :])


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luminance ``L = 0.2989 R + 0.587 G + 0.114 B`` (a 1-channel image is its own), repeated
    to ``num_output_channels`` (1 or 3). Tensors: computed in float and cast back to their
    dtype (integers truncated, as torchvision's tensor path). uint8 arrays stand in for PIL
    images and get PIL's ``convert("L")`` exactly: ``(19595 R + 38470 G + 7471 B + 2^15) >>
    16``. An array result with one channel is (H, W)."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3, got "
                         f"{num_output_channels}")
    x, back = to_planes(img, "rgb_to_grayscale")
    if x.ndim < 3 or x.shape[-3] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected an image with 1 or 3 channels, got "
                         f"planes of shape {tuple(x.shape)} (..., C, H, W)")
    if x.shape[-3] == 1:
        gray = x
    elif isinstance(x, np.ndarray) and x.dtype == np.uint8:
        r, g, b = (x[..., k:k + 1, :, :].astype(np.uint32) for k in range(3))
        gray = ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)
    elif isinstance(x, Tensor) and x.dtype.kind == "f":
        gray = LUMA[0] * x[..., 0:1, :, :] + LUMA[1] * x[..., 1:2, :, :] \
            + LUMA[2] * x[..., 2:3, :, :]
    else:
        a = x.numpy() if isinstance(x, Tensor) else x
        gray = np.tensordot(np.asarray(LUMA), a, axes=([0], [-3]))[..., None, :, :]
        gray = gray.astype(a.dtype)
        gray = Tensor(np.ascontiguousarray(gray)) if isinstance(x, Tensor) else gray
    if num_output_channels == 3 and gray.shape[-3] == 1:
        gray = (ops.cat([gray] * 3, dim=-3) if isinstance(gray, Tensor)
                else np.concatenate([gray] * 3, axis=-3))
    return back(gray)


def convert_image_dtype(image: Tensor, dtype: Any = np.float32) -> Tensor:
    """A Tensor image in another dtype, values rescaled by the dtypes' ranges (float: [0, 1];
    integers: [0, max]), torchvision's rule:

    * float -> float: a cast; int -> float: ``x / max_in``;
    * float -> int: ``int(x * (max_out + 1 - 0.001))`` (float32 -> int32/int64 and float64 ->
      int64 are refused: not exact);
    * int -> int: ``x // ((max_in + 1) // (max_out + 1))`` narrowing, ``x * ((max_out + 1) //
      (max_in + 1))`` widening.
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype: image should be a Tensor, got "
                        f"{type(image).__name__}")
    dtype = check_dtype(dtype, "convert_image_dtype")
    src = image.dtype
    if src == dtype:
        return image
    if src.kind == "f" and dtype.kind == "f":
        return image.to(dtype)
    a = image.numpy()
    if src.kind == "f":
        if dtype == np.bool_:
            return Tensor(a != 0)
        if (src == np.float32 and dtype in (np.int32, np.int64)) or (
                src == np.float64 and dtype == np.int64):
            raise RuntimeError(f"convert_image_dtype: the cast from {src} to {dtype} cannot "
                               f"be performed safely")
        top = float(np.iinfo(dtype).max)
        return Tensor((a * (top + 1.0 - 1e-3)).astype(dtype))
    top_in = 1 if src == np.bool_ else int(np.iinfo(src).max)
    if dtype.kind == "f":
        return Tensor(np.divide(a, top_in, dtype=dtype))
    if dtype == np.bool_:
        return Tensor(a != 0)
    top_out = int(np.iinfo(dtype).max)
    if top_in > top_out:
        return Tensor((a // ((top_in + 1) // (top_out + 1))).astype(dtype))
    return Tensor(a.astype(dtype) * ((top_out + 1) // (top_in + 1)))


def affine(img: Any, angle: float, translate: Sequence[float], scale: float,
           shear: float | Sequence[float],
           interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
           fill: float = 0) -> Any:
    """One affine map about the image centre, as torchvision's: rotate ``angle`` degrees
    clockwise, scale, shear (degrees; a number is an x-shear), move by ``translate`` pixels
    (``data.augment.affine``). Pixels from outside the image are ``fill``."""
    mode = affine_check(interpolation, "affine")
    shear = (float(shear), 0.0) if isinstance(shear, (int, float)) else tuple(shear)
    if len(translate) != 2 or len(shear) != 2:
        raise ValueError(f"affine: translate and shear need 2 values, got {translate!r} and "
                         f"{shear!r}")
    return numpy_planes(img, "affine", lambda a: _affine_planes(
        a, angle, translate, scale, shear, interpolation=mode, fill=fill))


def affine_check(interpolation: InterpolationMode | str, op: str) -> str:
    """The name of an interpolation ``affine`` implements (nearest, bilinear), or an error."""
    return _mode(interpolation, ("nearest", "bilinear"), op)


def rotate(img: Any, angle: float,
           interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
           expand: bool = False, center: Sequence[int] | None = None,
           fill: float = 0) -> Any:
    """Rotate ``angle`` degrees counter-clockwise about the centre, keeping the size (i.e.
    ``affine`` by ``-angle``); ``expand`` and ``center`` are not implemented."""
    if expand or center is not None:
        raise NotImplementedError("rotate: expand=True and center are not implemented (the "
                                  "image keeps its size and turns about its centre)")
    return affine(img, -angle, (0, 0), 1.0, (0.0, 0.0), interpolation, fill)


def numpy_planes(img: Any, op: str, fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``fn`` on the planes as a numpy batch (N, C, H, W), one image of all the channels, so
    every plane of a Tensor batch gets the same parameters (as torchvision's)."""
    x, back = to_planes(img, op)
    a = x.detach().numpy() if isinstance(x, Tensor) else x
    out = fn(a.reshape(1, math.prod(a.shape[:-2]), *a.shape[-2:])).reshape(a.shape)
    return back(Tensor(np.ascontiguousarray(out)) if isinstance(x, Tensor) else out)
