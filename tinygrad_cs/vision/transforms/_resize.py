"""Resizing planes (..., H, W): the output-size rule and the interpolation weights.

Bilinear resizing is separable: ``out = Wh @ x @ Ww^T`` with one (n_out, n_in) weight matrix
per axis, whose row i holds the weights of output pixel i (PyTorch's ``align_corners=False``
geometry: output pixel centres ``(i + 0.5) * s``, ``s = n_in / n_out``, in input pixel units):

* plain (``antialias=False``): the two input pixels around ``c = max((i + 0.5) s - 0.5, 0)``,
  weights ``1 - (c - floor c)`` and ``c - floor c`` (the last pixel repeats at the border);
* antialiased: the triangle filter stretched by ``max(s, 1)`` (so a shrinking image averages
  every pixel it covers instead of skipping some), ``w_j = max(0, 1 - |j + 0.5 - (i + 0.5) s|
  / max(s, 1))`` over the pixels ``j`` within its support, normalised to sum to 1 (Pillow's
  and ``interpolate(..., antialias=True)``'s rule). Growing an image, both are the same.

A float Tensor is resized with Tensor matmuls, so the result stays in the graph (gradients
flow back through the weights' transpose); arrays and integer Tensors are resized in float64
and rounded half to even back to their integer dtype.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.tensor import Tensor

from ._image import Planes

__all__ = ["check_size", "linear_weights", "resize_planes", "resized_size"]


def check_size(size: int | Sequence[int], max_size: int | None, op: str) -> list[int]:
    """``size`` as a list of 1 int (the shorter edge) or 2 (height, width), validated."""
    sizes = [size] if isinstance(size, (int, np.integer)) else list(size)
    if len(sizes) not in (1, 2) or not all(isinstance(s, (int, np.integer)) and s > 0
                                           for s in sizes):
        raise ValueError(f"{op}: size must be a positive int or a (height, width) pair of "
                         f"them, got {size!r}")
    if max_size is not None and len(sizes) == 2:
        raise ValueError(f"{op}: max_size={max_size} is only allowed when size is one int "
                         f"(the shorter edge), got size={size!r}")
    if max_size is not None and max_size <= sizes[0]:
        raise ValueError(f"{op}: max_size={max_size} must be larger than the requested "
                         f"shorter edge {sizes[0]}")
    return [int(s) for s in sizes]


def resized_size(height: int, width: int, size: int | Sequence[int],
                 max_size: int | None, op: str) -> tuple[int, int]:
    """torchvision's output size: ``(h, w)`` as given, or for an int (or a 1-sequence) the
    shorter edge becomes ``size`` and the longer ``int(size * long / short)``, both then scaled
    down so the longer is at most ``max_size``."""
    sizes = check_size(size, max_size, op)
    if len(sizes) == 2:
        return sizes[0], sizes[1]
    short, long = sorted((height, width))
    new_short, new_long = sizes[0], int(sizes[0] * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), int(max_size)
    return (new_short, new_long) if height <= width else (new_long, new_short)


def linear_weights(n_in: int, n_out: int, antialias: bool) -> np.ndarray:
    """The (n_out, n_in) float64 matrix of bilinear weights along one axis (module docstring)."""
    scale = n_in / n_out
    i = np.arange(n_out)
    weights = np.zeros((n_out, n_in))
    if not antialias:
        centre = np.maximum((i + 0.5) * scale - 0.5, 0.0)
        lo = centre.astype(np.int64)
        frac = np.clip(centre - lo, 0.0, 1.0)
        hi = np.minimum(lo + 1, n_in - 1)
        np.add.at(weights, (i, lo), 1.0 - frac)
        np.add.at(weights, (i, hi), frac)
        return weights
    stretch = max(scale, 1.0)
    centre = (i + 0.5) * scale
    first = np.maximum(np.trunc(centre - stretch + 0.5), 0).astype(np.int64)
    last = np.minimum(np.trunc(centre + stretch + 0.5), n_in).astype(np.int64)
    j = np.arange(n_in)
    inside = (j[None, :] >= first[:, None]) & (j[None, :] < last[:, None])
    tri = np.maximum(0.0, 1.0 - np.abs(j[None, :] + 0.5 - centre[:, None]) / stretch)
    weights = np.where(inside, tri, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)


def _bilinear(x: Planes, size: tuple[int, int], antialias: bool) -> Planes:
    (height, width), (h, w) = x.shape[-2:], size
    rows, cols = linear_weights(height, h, antialias), linear_weights(width, w, antialias)
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        return (Tensor(rows.astype(x.dtype)) @ x) @ Tensor(np.ascontiguousarray(
            cols.T.astype(x.dtype)))
    a = x.numpy() if isinstance(x, Tensor) else x
    if a.dtype.kind == "f":
        out = rows.astype(a.dtype) @ a @ cols.T.astype(a.dtype)
    else:
        info = np.iinfo(a.dtype) if a.dtype.kind in "iu" else None
        out = np.round(rows @ a.astype(np.float64) @ cols.T)
        if info is not None:  # convex weights stay in range; clip guards the last ulp
            out = np.clip(out, info.min, info.max)
        out = out.astype(a.dtype)
    return Tensor(np.ascontiguousarray(out)) if isinstance(x, Tensor) else out


def _nearest(x: Planes, size: tuple[int, int], mode: str) -> Planes:
    """``interpolate(mode="nearest" | "nearest-exact")`` on the planes (as torchvision's tensor
    path); arrays go through a Tensor view and come back as arrays."""
    t = x if isinstance(x, Tensor) else Tensor(np.ascontiguousarray(x))
    lead = tuple(t.shape[:-2])
    flat = t.reshape(1, math.prod(lead), *t.shape[-2:])
    out = ops.interpolate(flat, size=size, mode=mode).reshape(*lead, *size)
    return out if isinstance(x, Tensor) else out.numpy()


def resize_planes(x: Planes, size: tuple[int, int], mode: str, antialias: bool) -> Planes:
    """``x`` (..., H, W) resized to (..., *size); ``mode`` 'bilinear', 'nearest' or
    'nearest-exact' (antialiasing is for 'bilinear' only, as in torchvision)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "bilinear":
        return _bilinear(x, size, antialias)
    return _nearest(x, size, mode)
