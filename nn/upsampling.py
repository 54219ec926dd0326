"""Resolution changes as ``torch.nn``: ``PixelShuffle`` / ``PixelUnshuffle`` (sub-pixel
convolution's rearrangement) and ``UpsamplingNearest2d``.

pixel_shuffle with factor r: (*, C r^2, H, W) -> (*, C, H r, W r),
    out[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w];
pixel_unshuffle is its inverse. Both are a reshape, a permute and a reshape (gradients
follow).
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import ops

from ._checks import tensor_input
from .module import Module
from .pooling import Upsample

__all__ = ["PixelShuffle", "PixelUnshuffle", "UpsamplingNearest2d", "pixel_shuffle",
           "pixel_unshuffle"]


def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected (*, C * {r * r}, H, W) input, got shape "
                           f"{input.shape}")
    n = len(lead)
    x = ops.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = ops.permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return ops.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: expected (*, C, H * {r}, W * {r}) input, got "
                           f"shape {input.shape}")
    n = len(lead)
    x = ops.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = ops.permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return ops.reshape(x, (*lead, c * r * r, h // r, w // r))


class PixelShuffle(Module):
    """``PixelShuffle(upscale_factor)``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``PixelUnshuffle(downscale_factor)``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class UpsamplingNearest2d(Upsample):
    """``UpsamplingNearest2d(size=None, scale_factor=None)``: ``Upsample(mode='nearest')``."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")
