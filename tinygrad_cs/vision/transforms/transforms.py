"""torchvision's transform classes: per-image, called as ``t(img)``, composed with ``Compose``.

Images are of any kind (``_image.py``): what a ``vision.datasets`` set yields (a uint8 array
(H, W) or (H, W, C), where torchvision yields a PIL image), a PIL image, or a Tensor
(..., C, H, W). ``ToTensor`` turns the first two into a float Tensor (C, H, W) in [0, 1];
``Normalize`` and ``ConvertImageDtype`` take Tensors. Random transforms draw from tg's global
generator (``tg.manual_seed`` controls them), as torchvision's draw from torch's; the
geometric ones are ``nn.Module`` s, as torchvision's, so they also fit in ``nn.Sequential``.
The maths is in ``functional.py``; the batch-vectorised numpy transforms of
``tinygrad_cs.data.transforms`` are the other front end to the same ideas.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from tinygrad_cs.data.augment import RandomAffine as _BatchAffine
from tinygrad_cs.dtypes import check as check_dtype
from tinygrad_cs.nn.module import Module
from tinygrad_cs.random import generator
from tinygrad_cs.tensor import Tensor

from . import functional as F
from ._image import dimensions
from .functional import InterpolationMode, crop_size

__all__ = ["CenterCrop", "Compose", "ConvertImageDtype", "Grayscale", "Lambda", "Normalize",
           "PILToTensor", "Pad", "RandomAffine", "RandomCrop", "RandomHorizontalFlip",
           "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype", "ToPILImage",
           "ToTensor"]


class Compose:
    """``Compose([t1, t2, ...])(img) = ... t2(t1(img))``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class Lambda:
    """A user function as a transform: ``Lambda(f)(img) = f(img)``."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """Array (H, W) / (H, W, C) or PIL image -> Tensor (C, H, W); uint8 becomes float32 in
    [0, 1] (``x / 255``), other dtypes keep their values (``functional.to_tensor``)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """Array or PIL image -> Tensor (C, H, W) of the same dtype, unscaled."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToPILImage:
    """Tensor (C, H, W) or array -> PIL image (needs Pillow; ``functional.to_pil_image``)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode})"


class Normalize(Module):
    """``(x[c] - mean[c]) / std[c]`` per channel of a float Tensor (..., C, H, W)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor: Tensor) -> Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Resize(Module):
    """Resize to ``size`` ((h, w), or an int for the shorter edge), bilinear by default with
    ``antialias=True`` as torchvision's default (``functional.resize``)."""

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode | str = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool = True) -> None:
        super().__init__()
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = InterpolationMode(interpolation)
        F.resize_check(size, self.interpolation, max_size)

    def forward(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, interpolation="
                f"{self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop(Module):
    """The central ``size`` window (zero-padded when the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        super().__init__()
        self.size = crop_size(size, "CenterCrop")

    def forward(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class Pad(Module):
    """Pad the borders (``functional.pad``: modes constant, edge, reflect, symmetric)."""

    def __init__(self, padding: int | Sequence[int], fill: float = 0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        F.pad_check(padding, fill, padding_mode, "Pad")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomCrop(Module):
    """Pad by ``padding`` (if given), pad further by the shortfall on both sides when
    ``pad_if_needed`` and the image is smaller than ``size``, then crop a ``size`` window
    whose corner is uniform over all positions (torchvision's order of draws: row, column)."""

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = crop_size(size, "RandomCrop")
        F.pad_check(0 if padding is None else padding, fill, padding_mode, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a uniformly random ``output_size`` window of ``img``."""
        _, height, width = dimensions(img, "RandomCrop")
        h, w = output_size
        if height < h or width < w:
            raise ValueError(f"RandomCrop: required crop size {(h, w)} is larger than the "
                             f"input image size {(height, width)}")
        if (height, width) == (h, w):
            return 0, 0, height, width
        top = int(generator().integers(0, height - h + 1))
        left = int(generator().integers(0, width - w + 1))
        return top, left, h, w

    def forward(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = dimensions(img, "RandomCrop")
        h, w = self.size
        if self.pad_if_needed and width < w:
            img = F.pad(img, (w - width, 0), self.fill, self.padding_mode)
        if self.pad_if_needed and height < h:
            img = F.pad(img, (0, h - height), self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class _RandomFlip(Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, img: Any) -> Any:
        return self.flip(img) if generator().random() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p`` (one uniform draw per call)."""
    flip = staticmethod(F.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p`` (one uniform draw per call)."""
    flip = staticmethod(F.vflip)


class Grayscale(Module):
    """Luminance, as ``num_output_channels`` (1 or 3) equal channels
    (``functional.rgb_to_grayscale``)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be 1 or 3, got "
                             f"{num_output_channels}")
        self.num_output_channels = num_output_channels

    def forward(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"


class ConvertImageDtype(Module):
    """A Tensor image in ``dtype``, values rescaled (``functional.convert_image_dtype``)."""

    def __init__(self, dtype: Any) -> None:
        super().__init__()
        self.dtype = check_dtype(dtype, "ConvertImageDtype")

    def forward(self, image: Tensor) -> Tensor:
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype})"


class ToDtype(Module):
    """torchvision v2's: a Tensor image cast to ``dtype``; with ``scale=True`` values are
    rescaled as ``ConvertImageDtype`` does."""

    def __init__(self, dtype: Any, scale: bool = False) -> None:
        super().__init__()
        self.dtype, self.scale = check_dtype(dtype, "ToDtype"), scale

    def forward(self, image: Tensor) -> Tensor:
        if not isinstance(image, Tensor):
            raise TypeError(f"ToDtype: image should be a Tensor, got {type(image).__name__}")
        return F.convert_image_dtype(image, self.dtype) if self.scale else image.to(self.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype}, scale={self.scale})"


def _degrees(degrees: float | Sequence[float], op: str) -> tuple[float, float]:
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"{op}: if degrees is a single number, it must be positive, got "
                             f"{degrees}")
        return -float(degrees), float(degrees)
    if len(degrees) != 2:
        raise ValueError(f"{op}: degrees must be a number or a (min, max) pair, got "
                         f"{degrees!r}")
    return float(degrees[0]), float(degrees[1])


class RandomRotation(Module):
    """Rotate by an angle uniform in ``(-degrees, degrees)`` (or ``(min, max)``) degrees,
    counter-clockwise, about the centre, keeping the size; pixels from outside are ``fill``."""

    def __init__(self, degrees: float | Sequence[float],
                 interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[int] | None = None,
                 fill: float = 0) -> None:
        super().__init__()
        self.degrees = _degrees(degrees, "RandomRotation")
        self.interpolation = InterpolationMode(interpolation)
        if expand or center is not None:
            raise NotImplementedError("RandomRotation: expand=True and center are not "
                                      "implemented (the image keeps its size and turns about "
                                      "its centre)")
        F.affine_check(self.interpolation, "RandomRotation")
        self.expand, self.center, self.fill = expand, center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """An angle uniform in ``[degrees[0], degrees[1])``."""
        return float(generator().uniform(degrees[0], degrees[1]))

    def forward(self, img: Any) -> Any:
        return F.rotate(img, self.get_params(self.degrees), self.interpolation, fill=self.fill)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand}, fill={self.fill})")


class RandomAffine(Module):
    """A random affine map about the centre with torchvision's parameter ranges (``degrees``,
    ``translate=(a, b)`` fractions of W and H, ``scale=(lo, hi)``, ``shear``): the draws and
    the resampling are ``tinygrad_cs.data.augment.RandomAffine``'s, one set per call."""

    def __init__(self, degrees: float | Sequence[float],
                 translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None,
                 shear: float | Sequence[float] | None = None,
                 interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
                 fill: float = 0, center: Sequence[int] | None = None) -> None:
        super().__init__()
        if center is not None:
            raise NotImplementedError("RandomAffine: center is not implemented (maps are "
                                      "about the image centre)")
        self.interpolation = InterpolationMode(interpolation)
        F.affine_check(self.interpolation, "RandomAffine")
        self.degrees = _degrees(degrees, "RandomAffine")
        self.translate, self.scale, self.shear, self.fill = translate, scale, shear, fill
        self._batch = _BatchAffine(self.degrees, translate, scale, shear,
                                   self.interpolation.value, fill)

    def forward(self, img: Any) -> Any:
        return F.numpy_planes(img, "RandomAffine", lambda a: self._batch(a, generator()))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear}, interpolation="
                f"{self.interpolation.value}, fill={self.fill})")
