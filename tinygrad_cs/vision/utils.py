"""``make_grid`` and ``save_image``, as ``torchvision.utils``: a batch of images as one picture.

The grid of N images (C, H, W) has ``xmaps = min(nrow, N)`` columns and ``ymaps =
ceil(N / xmaps)`` rows of tiles, ``padding`` pixels of ``pad_value`` around each:
shape ``(C, ymaps (H + padding) + padding, xmaps (W + padding) + padding)``, image k at row
``padding + (k // xmaps)(H + padding)``, column ``padding + (k % xmaps)(W + padding)``.
``save_image`` writes it as PNG (``_png.py``, no Pillow needed; other formats through Pillow).
The grid is built in numpy: it is a picture, not a node of the graph.
"""
from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from tinygrad_cs.tensor import Tensor

from ._pil import pil_image
from ._png import encode_png

__all__ = ["make_grid", "save_image", "tile_images"]


def tile_images(images: np.ndarray, nrow: int = 8, padding: int = 2,
                pad_value: float = 0.0) -> np.ndarray:
    """Images (N, C, H, W) laid out as one grid (C, H', W') (module docstring), same dtype."""
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"tile_images: expected a non-empty batch (N, C, H, W), got shape "
                         f"{images.shape}")
    if int(nrow) < 1 or int(padding) < 0:
        raise ValueError(f"tile_images: need nrow >= 1 and padding >= 0, got nrow={nrow}, "
                         f"padding={padding}")
    n, channels, h, w = images.shape
    xmaps = min(int(nrow), n)
    ymaps = math.ceil(n / xmaps)
    step_h, step_w = h + padding, w + padding
    grid = np.full((channels, ymaps * step_h + padding, xmaps * step_w + padding), pad_value,
                   dtype=images.dtype)
    for k in range(n):
        top, left = padding + (k // xmaps) * step_h, padding + (k % xmaps) * step_w
        grid[:, top:top + h, left:left + w] = images[k]
    return grid


def _batch(tensor: Tensor | Sequence[Tensor]) -> np.ndarray:
    """The images as a (copied) numpy array; a list of Tensors is stacked."""
    if isinstance(tensor, Tensor):
        return np.array(tensor.detach().numpy())
    if isinstance(tensor, (list, tuple)) and tensor and all(isinstance(t, Tensor)
                                                            for t in tensor):
        shapes = {tuple(t.shape) for t in tensor}
        if len(shapes) != 1:
            raise ValueError(f"make_grid: the images of a list must have one shape, got "
                             f"{sorted(shapes)}")
        return np.stack([t.detach().numpy() for t in tensor])
    raise TypeError(f"make_grid: tensor should be a Tensor or a non-empty list of Tensors, got "
                    f"{type(tensor).__name__}")


def _normalized(a: np.ndarray, value_range: tuple[float, float] | None,
                scale_each: bool) -> np.ndarray:
    """``(clamp(x, lo, hi) - lo) / max(hi - lo, 1e-5)`` with ``(lo, hi)`` = ``value_range``,
    else the min and max of the batch (of each image with ``scale_each``)."""
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError(f"make_grid: value_range has to be a tuple (min, max), got "
                        f"{value_range!r}")
    if a.dtype.kind != "f":
        raise TypeError(f"make_grid: normalize=True needs float images, got {a.dtype}")
    for img in (a if scale_each else [a]):
        lo, hi = value_range if value_range is not None else (float(img.min()),
                                                               float(img.max()))
        np.clip(img, lo, hi, out=img)
        img -= a.dtype.type(lo)
        img /= a.dtype.type(max(hi - lo, 1e-5))
    return a


def make_grid(tensor: Tensor | Sequence[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Images (N, C, H, W) (or a list of (C, H, W), or one (C, H, W) / (H, W)) -> one Tensor
    image (C, H', W'), torchvision's rules: single-channel images become 3 equal channels;
    ``normalize`` maps ``value_range`` (default: the min and max) to [0, 1], clamping, per
    image with ``scale_each``; one image comes back without padding; otherwise the grid of
    the module docstring, filled with ``pad_value``. Values are not clamped unless
    normalized (``save_image`` clamps)."""
    a = _batch(tensor)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = (np.concatenate([a] * 3) if a.shape[0] == 1 else a)[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected images (N, C, H, W), (C, H, W) or (H, W), got "
                         f"shape {a.shape}")
    if a.shape[1] == 1:
        a = np.concatenate([a] * 3, axis=1)
    if normalize:
        a = _normalized(a, value_range, scale_each)
    if a.shape[0] == 1:
        return Tensor(np.ascontiguousarray(a[0]))
    return Tensor(tile_images(a, nrow, padding, pad_value))


def _format(fp: str | os.PathLike | IO[bytes], format: str | None) -> str:
    if format is not None:
        return format.lower()
    if isinstance(fp, (str, os.PathLike)):
        suffix = Path(fp).suffix.lower().lstrip(".")
        if not suffix:
            raise ValueError(f"save_image: cannot tell the format of {fp!s} (no extension); "
                             f"pass format='png'")
        return {"jpg": "jpeg", "tif": "tiff"}.get(suffix, suffix)
    return "png"  # a file object without a format


def save_image(tensor: Tensor | Sequence[Tensor], fp: str | os.PathLike | IO[bytes],
               nrow: int = 8, padding: int = 2, normalize: bool = False,
               value_range: tuple[float, float] | None = None, scale_each: bool = False,
               pad_value: float = 0.0, format: str | None = None) -> None:
    """Write ``make_grid(tensor, ...)`` as an image file: pixels ``uint8(clamp(x * 255 + 0.5,
    0, 255))`` (float images in [0, 1]; NaN becomes 0). ``fp`` is a path or a binary file
    object; the format comes from ``format``, else the path's extension, else PNG. PNG is
    written here; other formats (jpeg, bmp, ...) need Pillow."""
    fmt = _format(fp, format)
    save = pil_image(f"save_image (format {fmt!r})") if fmt != "png" else None
    grid = make_grid(tensor, nrow=nrow, padding=padding, normalize=normalize,
                     value_range=value_range, scale_each=scale_each,
                     pad_value=pad_value).numpy()
    if grid.dtype.kind != "f":
        raise TypeError(f"save_image: expected float images in [0, 1], got {grid.dtype} (use "
                        f"transforms.ConvertImageDtype(tg.float32) first)")
    pixels = np.clip(np.nan_to_num(grid, nan=0.0) * 255 + 0.5, 0, 255).astype(np.uint8)
    pixels = pixels.transpose(1, 2, 0)
    if save is None:
        data = encode_png(pixels)
    else:
        buffer = io.BytesIO()
        save.fromarray(np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1
                                            else pixels)).save(buffer, format=fmt)
        data = buffer.getvalue()
    if isinstance(fp, (str, os.PathLike)):
        with open(fp, "wb") as f:
            f.write(data)
    else:
        fp.write(data)
