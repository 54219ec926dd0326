"""1-D layers built on their 2-D kernels (the sequence as a 1 x L image):
``ConvTranspose1d`` / ``conv_transpose1d``, ``InstanceNorm1d``, ``Dropout1d`` / ``dropout1d``.

Shapes: (N, C, L) or (C, L) -> (N, C', L'); the math, gradients and PyTorch's parameter
initialisation are those of the 2-D layers (``ConvTranspose2d``, ``InstanceNorm2d``,
``dropout2d``).
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import ops
from tinygrad_cs.ops.conv import conv_transpose2d

from ._checks import same_dtype, tensor_input
from .conv import _ConvNd
from .dropout import dropout2d
from .module import Module
from .normalization import InstanceNorm2d

__all__ = ["ConvTranspose1d", "Dropout1d", "InstanceNorm1d", "conv_transpose1d", "dropout1d"]


def _one(v) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _as_image(input: Any, op: str) -> Any:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                           f"{input.shape}")
    return ops.unsqueeze(input, -2)


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Any:
    """Transposed 1-D convolution: weight (C_in, C_out / groups, k);
    L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    out = conv_transpose2d(_as_image(input, "conv_transpose1d"), ops.unsqueeze(weight, -2), bias,
                           (1, _one(stride)), (0, _one(padding)), (0, _one(output_padding)),
                           groups, (1, _one(dilation)))
    return ops.squeeze(out, -2)


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of (N, C, L) or (C, L) input (one draw per channel), scaling the
    rest by 1 / (1 - p)."""
    _as_image(input, "dropout1d")  # checks the rank
    batch = input if input.ndim == 3 else ops.unsqueeze(input, 0)
    out = ops.squeeze(dropout2d(ops.unsqueeze(batch, -1), p, training), -1)  # (N, C, L, 1)
    return out if input.ndim == 3 else ops.squeeze(out, 0)


class ConvTranspose1d(_ConvNd):
    """``ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')``."""

    _nd = 1
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype)

    def forward(self, input: Any, output_size=None) -> Any:
        if output_size is not None:
            raise NotImplementedError("ConvTranspose1d: output_size is not supported")
        same_dtype(self, input, self.weight, "input and weight")
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)


class InstanceNorm1d(InstanceNorm2d):
    """``InstanceNorm1d(num_features, eps=1e-5, momentum=0.1, affine=False,
    track_running_stats=False)``: each (sample, channel) of (N, C, L) or (C, L) normalised
    over L."""

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        if input.ndim not in (2, 3):
            raise ValueError(f"InstanceNorm1d: expected 2D or 3D input (got {input.ndim}D "
                             f"input)")
        return ops.squeeze(super().forward(ops.unsqueeze(input, -1)), -1)


class Dropout1d(Module):
    """``Dropout1d(p=0.5, inplace=False)``: channel dropout of (N, C, L) or (C, L) input."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return dropout1d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
