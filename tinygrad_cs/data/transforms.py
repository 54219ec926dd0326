"""Transforms on numpy arrays, named as ``torchvision.transforms``.

Every transform is called as ``t(x, rng=None)`` on one sample or a batch and returns an array of
the same shape (``RandomCrop``: the crop size). Random ones draw each sample's parameters from
``rng`` (default: tg's global generator), vectorised over the batch. Images are (C, H, W) or
(N, C, H, W); ``Normalize`` also takes feature vectors (F,) or (N, F), whose features are its
channels. Geometric transforms (``RandomCrop``, ``RandomAffine``) are in ``augment.py``.
torchvision's per-image front end (``t(img)`` on what a data set yields, ``ToTensor``, ...) is
``tinygrad_cs.vision.transforms``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..random import generator
from .augment import RandomAffine, RandomCrop, affine, as_batch

__all__ = [
    "ColorJitter",
    "Compose",
    "Normalize",
    "RandomAffine",
    "RandomCrop",
    "RandomHorizontalFlip",
    "affine",
]


LUMA = (0.2989, 0.587, 0.114)
"""Luminance weights of R, G, B (ITU-R 601, as torchvision's ``rgb_to_grayscale``)."""


class Compose:
    """Apply ``transforms`` in order, all with the same ``rng``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = generator() if rng is None else rng
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def _channel_axis(ndim: int) -> int:
    """Batches (N, C, ...) have channels on axis 1, single samples (C, ...) on axis 0."""
    if ndim not in (1, 2, 3, 4):
        raise ValueError(f"Normalize: expected (F,), (N, F), (C, H, W) or (N, C, H, W), "
                         f"got {ndim} dimensions")
    return 1 if ndim in (2, 4) else 0


class Normalize:
    """``x'[c] = (x[c] - mean[c]) / std[c]`` per channel (per feature for vector data).

    Float input keeps its dtype, integer input becomes float32. ``Normalize.fit(x_train)``
    takes the mean and (population) standard deviation of each channel over N, H, W.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError(f"Normalize: mean and std need one value per channel, got shapes "
                             f"{self.mean.shape} and {self.std.shape}")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be > 0, got {self.std.tolist()}")

    @classmethod
    def fit(cls, x_train: np.ndarray) -> Normalize:
        """Per-channel statistics of a training batch (N, C, H, W) or (N, F). A constant
        channel (std 0) gets std 1, so it is only centred."""
        x = np.asarray(x_train)
        if x.ndim not in (2, 4):
            raise ValueError(f"Normalize.fit: expected a batch (N, F) or (N, C, H, W), "
                             f"got shape {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes, dtype=np.float64)
        # Deviations from the mean in the data's own precision, squares summed in float64,
        # in chunks: no float64 copy of a large training set (Fashion-MNIST: 376 MB).
        work = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        centre = mean.astype(work).reshape((1, -1) + (1,) * (x.ndim - 2))
        squares = np.zeros_like(mean)
        for start in range(0, len(x), 4096):
            d = x[start:start + 4096].astype(work, copy=False) - centre
            squares += np.square(d).sum(axis=axes, dtype=np.float64)
        std = np.sqrt(squares * mean.size / x.size)
        return cls(mean, np.where(std > 0, std, 1.0))

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = np.asarray(x)
        axis = _channel_axis(x.ndim)
        if x.shape[axis] != len(self.mean):
            raise ValueError(f"Normalize: input of shape {x.shape} has {x.shape[axis]} channels "
                             f"on axis {axis}, but mean/std have {len(self.mean)}")
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        shape = (-1,) + (1,) * (x.ndim - axis - 1)
        mean, std = self.mean.astype(dtype).reshape(shape), self.std.astype(dtype).reshape(shape)
        out = np.subtract(x, mean, dtype=dtype)
        out /= std  # in place: one output array, even for a whole training set
        return out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomHorizontalFlip:
    """Mirror each image left-right (last axis) with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = generator() if rng is None else rng
        x4, single = as_batch(x, "RandomHorizontalFlip")
        flip = rng.random(x4.shape[0]) < self.p
        out = np.where(flip[:, None, None, None], x4[..., ::-1], x4)
        return out[0] if single else out


def _factor_range(value: float | Sequence[float], name: str) -> tuple[float, float] | None:
    """torchvision's: a number v gives [max(0, 1 - v), 1 + v]; a pair is used as is."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be >= 0, got {value}")
        lo, hi = max(0.0, 1.0 - value), 1.0 + value
    else:
        lo, hi = map(float, value)
        if not 0 <= lo <= hi:
            raise ValueError(f"ColorJitter: {name} range must satisfy 0 <= lo <= hi, "
                             f"got {value}")
    return None if lo == hi == 1.0 else (lo, hi)


class ColorJitter:
    """Random brightness and contrast per image, with torchvision's factor semantics.

    Brightness: ``x' = b x`` with ``b ~ U[max(0, 1 - brightness), 1 + brightness]``.
    Contrast: ``x' = c x + (1 - c) mean(x)`` with ``c`` drawn alike, ``mean`` over the whole
    image (for 3 channels, of its luminance ``0.2989 R + 0.587 G + 0.114 B``, as torchvision).
    Both are linear and scale the mean alike, so their order does not matter. Unlike
    torchvision nothing is clamped to [0, 1]: inputs are often already normalised.
    """

    def __init__(self, brightness: float | Sequence[float] = 0,
                 contrast: float | Sequence[float] = 0) -> None:
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = generator() if rng is None else rng
        x4, single = as_batch(x, "ColorJitter")
        n, channels = x4.shape[:2]
        out = x4
        if self.brightness is not None:
            out = out * rng.uniform(*self.brightness, size=n).astype(x4.dtype)[:, None, None,
                                                                              None]
        if self.contrast is not None:
            c = rng.uniform(*self.contrast, size=n).astype(x4.dtype)[:, None, None, None]
            gray = (np.tensordot(np.array(LUMA, x4.dtype), out, ([0], [1]))
                    if channels == 3 else out)
            mean = gray.reshape(n, -1).mean(axis=1)[:, None, None, None]
            out = c * out + (1 - c) * mean
        out = out.astype(x4.dtype, copy=False)
        return out[0] if single else out
