"""Resizing numpy images and masks by pixel centres (what the detection sets and augmentations
need; ``tinygrad_cs.vision.transforms`` has torchvision's full ``resize``).

Output pixel ``i`` of ``n_out`` samples the input at ``(i + 0.5) * n_in / n_out - 0.5``, so the
image's edges map onto each other (``align_corners=False``): ``bilinear`` weighs the two nearest
input pixels along each axis (clamped at the border), ``nearest`` takes the input pixel whose
square contains that point (torchvision's ``nearest-exact``). Masks use ``nearest``, so they stay
binary.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["bilinear_matrix", "resize_bilinear", "resize_nearest"]


def _check(x: np.ndarray, size: tuple[int, int], name: str) -> tuple[int, int]:
    h, w = int(size[0]), int(size[1])
    if x.ndim < 2 or h < 1 or w < 1:
        raise ValueError(f"{name}: expected an array (..., H, W) and a size (h, w) >= 1, got "
                         f"shape {x.shape} and size {tuple(size)}")
    return h, w


def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)


def resize_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(..., H, W) -> (..., h, w)``, nearest input pixel by centre; keeps the dtype."""
    x = np.asarray(x)
    h, w = _check(x, size, "resize_nearest")
    rows = _nearest_index(x.shape[-2], h)
    cols = _nearest_index(x.shape[-1], w)
    return x[..., rows[:, None], cols[None, :]]


def _linear_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, weight of the upper one) per output position."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo


def resize_bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(..., H, W) -> (..., h, w)`` float32, bilinear between pixel centres (no antialias)."""
    x = np.asarray(x, dtype=np.float32)
    h, w = _check(x, size, "resize_bilinear")
    r0, r1, wr = _linear_weights(x.shape[-2], h)
    c0, c1, wc = _linear_weights(x.shape[-1], w)
    wr = wr.astype(np.float32)[:, None]
    wc = wc.astype(np.float32)
    rows = x[..., r0, :] * (1 - wr) + x[..., r1, :] * wr                # (..., h, W)
    return rows[..., c0] * (1 - wc) + rows[..., c1] * wc


@lru_cache(maxsize=64)
def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` float32 matrix of ``resize_bilinear`` along one axis: for small
    images, ``M_rows @ x @ M_cols.T`` resizes ``x`` (H, W) in two products. Read-only (cached)."""
    m = resize_bilinear(np.eye(n_in, dtype=np.float32), (n_out, n_in))
    m.setflags(write=False)
    return m
