"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` (PyTorch's API).

Shapes (N batch, C channels, g = groups):

* Conv1d: x (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/g, k), bias (C_out,).
* Conv2d: x (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_out, C_in/g, kH, kW).
* ConvTranspose2d: x (N, C_in, H, W) -> (N, C_out, H_out, W_out);
  weight (C_in, C_out/g, kH, kW), ``H_out = (H-1) sH - 2 pH + dH (kH-1) + output_padding + 1``.

Default initialisation, as PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))`` (bound
1/sqrt(fan_in)) and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), with fan_in computed from the
weight (for the transposed conv that is C_out/g * prod(kernel), as in PyTorch).
Only ``padding_mode='zeros'`` is supported.
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs import Tensor, dtypes
from tinygrad_cs.ops.conv import conv1d, conv2d, conv_transpose2d

from . import init
from ._checks import same_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    """Shared state of the conv layers: geometry, ``weight``/``bias``, init and repr."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"{name}: tinygrad_cs runs on the CPU only, got device {device!r}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported, "
                                      f"got {padding_mode!r}")
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if isinstance(padding, str) and (self._transposed or padding not in ("same", "valid")):
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid' "
                             f"(strings only for Conv1d/Conv2d), got {padding!r}")
        n = self._nd
        dt = dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, name)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _tuple(kernel_size, n), _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.output_padding = _tuple(output_padding, n)
        self.transposed, self.groups, self.padding_mode = self._transposed, groups, padding_mode
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)); bias ~ U(+-1/sqrt(fan_in))."""
        init._default_layer_init(self.weight, self.bias)

    def extra_repr(self) -> str:
        n = self._nd
        s = ("{in_channels}, {out_channels}, kernel_size={kernel_size}"
             ", stride={stride}")
        if self.padding != (0,) * n:
            s += ", padding={padding}"
        if self.dilation != (1,) * n:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * n:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class Conv1d(_ConvNd):
    """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, padding_mode='zeros')``: x (N, C_in, L) -> (N, C_out, L_out)."""

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.weight, "input and weight")
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(input, self.weight, self.bias, self.stride[0], padding,
                      self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, padding_mode='zeros')``: x (N, C_in, H, W) -> (N, C_out, OH, OW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.weight, "input and weight")
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')``:
    x (N, C_in, H, W) -> (N, C_out, OH, OW); weight (C_in, C_out/groups, kH, kW)."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        if output_size is not None:
            raise NotImplementedError("ConvTranspose2d: output_size is not supported")
        same_dtype(self, input, self.weight, "input and weight")
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)
