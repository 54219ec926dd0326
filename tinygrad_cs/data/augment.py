"""Geometric augmentations on numpy images: ``RandomCrop``, ``RandomAffine`` (and ``affine``).

Each transform is called as ``t(x, rng=None)`` on one image (C, H, W) or a batch (N, C, H, W);
every image of a batch gets its own random parameters, drawn from ``rng`` (default: tg's global
generator) in one vectorised call, so the same generator state gives the same output.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..random import generator

__all__ = ["RandomAffine", "RandomCrop", "affine", "as_batch", "padding_sides"]


def as_batch(x: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """``(x as (N, C, H, W), whether x was a single (C, H, W) image)``."""
    x = np.asarray(x)
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), "
                     f"got shape {x.shape}")


def padding_sides(padding: int | Sequence[int], name: str) -> tuple[int, int, int, int]:
    """torchvision's padding argument as ``(left, top, right, bottom)``: an int pads all four
    sides, ``(a, b)`` pads left/right by a and top/bottom by b, 4 ints are taken as they are."""
    p = [padding] if isinstance(padding, (int, np.integer)) else list(padding)
    if len(p) not in (1, 2, 4) or not all(isinstance(v, (int, np.integer)) for v in p):
        raise ValueError(f"{name}: padding must be an int or 2 or 4 ints, got {padding!r}")
    p = [int(v) for v in p]
    return tuple(p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p)


def _pair(value: float | Sequence[float], name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name}: a single number must be >= 0, got {value}")
        return -float(value), float(value)
    if len(value) != 2:
        raise ValueError(f"{name}: expected a number or a (min, max) pair, got {value}")
    return float(value[0]), float(value[1])


class RandomCrop:
    """Pad with ``fill``, then crop a random ``size`` window from each image (torchvision's).

    ``padding``: an int (all sides), ``(left/right, top/bottom)`` or ``(left, top, right,
    bottom)``. Output (N, C, h, w); each window's corner is uniform over the valid positions.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 fill: float = 0.0) -> None:
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(map(int, size))
        self.padding = padding_sides(0 if padding is None else padding, "RandomCrop")
        self.fill = fill

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = generator() if rng is None else rng
        x, single = as_batch(x, "RandomCrop")
        left, top, right, bottom = self.padding
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=self.fill)
        n, _, height, width = x.shape
        h, w = self.size
        if h > height or w > width:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the padded image "
                             f"{(height, width)}")
        tops = rng.integers(0, height - h + 1, size=n)
        lefts = rng.integers(0, width - w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))
        out = windows[np.arange(n), :, tops, lefts]  # (N, C, h, w): one window per image
        return out[0] if single else np.ascontiguousarray(out)


def _inverse_matrices(angle: np.ndarray, tx: np.ndarray, ty: np.ndarray, scale: np.ndarray,
                      shear_x: np.ndarray, shear_y: np.ndarray) -> np.ndarray:
    """(N, 2, 3) maps output -> input pixel coordinates, centred on the image centre.

    The forward map is ``T(tx, ty) * R(angle) * S(scale) * SHy(shear_y) * SHx(shear_x)``
    (torchvision's ``_get_inverse_affine_matrix``; with y pointing down, a positive angle turns
    the image clockwise on screen); its inverse is returned.
    """
    rot, sx, sy = np.radians(angle), np.radians(shear_x), np.radians(shear_y)
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / scale[:, None, None]
    shift = -np.einsum("nij,nj->ni", m, np.stack([tx, ty], -1))  # (det [[a, b], [c, d]] = 1)
    return np.concatenate([m, shift[:, :, None]], axis=2)


def _sample(x: np.ndarray, matrices: np.ndarray, interpolation: str, fill: float) -> np.ndarray:
    """out[n, :, i, j] = x[n, :, y', x'] where (x', y') = matrices[n] @ (j, i, 1) in centred
    coordinates; ``nearest`` rounds (x', y') half to even, ``bilinear`` weights the 4
    neighbours; any neighbour outside the image counts as ``fill``."""
    n, channels, height, width = x.shape
    cx, cy = (width - 1) / 2, (height - 1) / 2
    xs = (np.arange(width) - cx)[None, None, :]
    ys = (np.arange(height) - cy)[None, :, None]
    m = matrices[:, :, :, None, None]
    src_x = (m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2] + cx).reshape(n, -1)  # (N, H*W)
    src_y = (m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2] + cy).reshape(n, -1)
    # A one-pixel border of ``fill`` and coordinates clipped onto it: every neighbour outside
    # the image reads ``fill``, with no masks; one flat gather per neighbour.
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill)
    padded = padded.reshape(n, channels, -1)

    def gather(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:  # (N, C, H*W)
        flat = (np.clip(iy, -1, height) + 1) * (width + 2) + np.clip(ix, -1, width) + 1
        return np.take_along_axis(padded, flat[:, None, :], axis=2)

    if interpolation == "nearest":
        out = gather(np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64))
    elif interpolation == "bilinear":
        x0, y0 = np.floor(src_x), np.floor(src_y)
        wx = (src_x - x0).astype(x.dtype)[:, None]
        wy = (src_y - y0).astype(x.dtype)[:, None]
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        top_left, top_right = gather(y0, x0), gather(y0, x0 + 1)
        bottom_left, bottom_right = gather(y0 + 1, x0), gather(y0 + 1, x0 + 1)
        top = top_left + wx * (top_right - top_left)
        bottom = bottom_left + wx * (bottom_right - bottom_left)
        out = top + wy * (bottom - top)
    else:
        raise ValueError(f"affine: interpolation must be 'nearest' or 'bilinear', "
                         f"got {interpolation!r}")
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def affine(x: np.ndarray, angle: float, translate: Sequence[float] = (0, 0), scale: float = 1.0,
           shear: Sequence[float] = (0.0, 0.0), interpolation: str = "nearest",
           fill: float = 0.0) -> np.ndarray:
    """One affine map applied to an image (C, H, W) or every image of a batch (N, C, H, W),
    about the image centre, as ``torchvision.transforms.functional.affine`` on tensors: rotate
    by ``angle`` degrees (clockwise on screen), scale, shear by ``shear = (x, y)`` degrees and
    move by ``translate = (tx, ty)`` pixels (right, down). Output shape = input shape."""
    x4, single = as_batch(x, "affine")
    n = x4.shape[0]
    full = [np.full(n, float(v)) for v in (angle, translate[0], translate[1], scale, shear[0],
                                           shear[1])]
    out = _sample(x4, _inverse_matrices(*full), interpolation, fill)
    return out[0] if single else out


class RandomAffine:
    """A random affine map per image, with torchvision's parameter ranges:

    * ``degrees``: angle uniform in ``(-d, d)`` or ``(min, max)``;
    * ``translate=(a, b)``: shifts ``round(U(-a*W, a*W))``, ``round(U(-b*H, b*H))`` pixels;
    * ``scale=(lo, hi)``: factor uniform in ``[lo, hi]``;
    * ``shear``: x-shear uniform in ``(-s, s)`` or ``(min, max)``; 4 numbers also give a y range.

    Sampling is ``interpolation="nearest"`` (torchvision's default) or ``"bilinear"``; pixels
    that come from outside the image are ``fill`` (0).
    """

    def __init__(self, degrees: float | Sequence[float],
                 translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None,
                 shear: float | Sequence[float] | None = None,
                 interpolation: str = "nearest", fill: float = 0.0) -> None:
        self.degrees = _pair(degrees, "RandomAffine degrees")
        if translate is not None and not all(0 <= t <= 1 for t in translate):
            raise ValueError(f"RandomAffine: translate values must be in [0, 1], got {translate}")
        if scale is not None and not (len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"RandomAffine: scale must be (lo, hi) with 0 < lo <= hi, "
                             f"got {scale}")
        if shear is not None and not isinstance(shear, (int, float)) and len(shear) == 4:
            self.shear = (_pair(shear[:2], "RandomAffine shear"),
                          _pair(shear[2:], "RandomAffine shear"))
        elif shear is not None:
            self.shear = (_pair(shear, "RandomAffine shear"), None)
        else:
            self.shear = None
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"RandomAffine: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.translate, self.scale = translate, scale
        self.interpolation, self.fill = interpolation, fill

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = generator() if rng is None else rng
        x4, single = as_batch(x, "RandomAffine")
        n, _, height, width = x4.shape
        zeros = np.zeros(n)
        angle = rng.uniform(*self.degrees, size=n)
        tx = ty = zeros
        if self.translate is not None:
            dx, dy = self.translate[0] * width, self.translate[1] * height
            tx, ty = np.rint(rng.uniform(-dx, dx, n)), np.rint(rng.uniform(-dy, dy, n))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shear_x = shear_y = zeros
        if self.shear is not None:
            shear_x = rng.uniform(*self.shear[0], size=n)
            if self.shear[1] is not None:
                shear_y = rng.uniform(*self.shear[1], size=n)
        matrices = _inverse_matrices(angle, tx, ty, scale, shear_x, shear_y)
        out = _sample(x4, matrices, self.interpolation, self.fill)
        return out[0] if single else out
