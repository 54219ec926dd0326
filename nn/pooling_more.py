"""1-D pooling and adaptive max pooling, as ``torch.nn`` / ``torch.nn.functional``:
``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d``, ``AdaptiveMaxPool2d``.

The 1-D forms run the 2-D kernels on (N, C, 1, L) (a window of 1 x k), so they share their
speed, padding rules and gradients: (N, C, L) or (C, L) -> (N, C, OL). ``adaptive_max_pool2d``
takes the max (``amax``) of each of PyTorch's adaptive windows ``[floor(o n / O),
ceil((o + 1) n / O))`` and stacks them: (N, C, H, W) -> (N, C, OH, OW).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.ops._util import constant
from tinygrad_cs.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d

from ._checks import tensor_input
from .module import Module

__all__ = ["AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "AvgPool1d", "MaxPool1d",
           "adaptive_avg_pool1d", "adaptive_max_pool2d", "avg_pool1d", "max_pool1d"]


def _one(value, name: str, op: str) -> int:
    value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
    return int(value)


def _lines(input: Any, op: str) -> Any:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                           f"{input.shape}")
    return ops.unsqueeze(input, -2)


def max_pool1d(input: Any, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of ``kernel_size`` along the last dim (stride defaults to it)."""
    op = "max_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == [] else _one(stride, "stride", op)
    out = max_pool2d(_lines(input, op), (1, k), (1, s), (0, _one(padding, "padding", op)),
                     (1, _one(dilation, "dilation", op)), ceil_mode, return_indices)
    if return_indices:
        values, indices = out
        return ops.squeeze(values, -2), constant(lambda i: np.squeeze(i, -2), indices)
    return ops.squeeze(out, -2)


def avg_pool1d(input: Any, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Any:
    """Mean over windows of ``kernel_size`` along the last dim."""
    op = "avg_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == [] else _one(stride, "stride", op)
    out = avg_pool2d(_lines(input, op), (1, k), (1, s), (0, _one(padding, "padding", op)),
                     ceil_mode, count_include_pad)
    return ops.squeeze(out, -2)


def adaptive_avg_pool1d(input: Any, output_size) -> Any:
    """Mean pooling of the last dim to ``output_size``."""
    size = _one(output_size, "output_size", "adaptive_avg_pool1d")
    return ops.squeeze(adaptive_avg_pool2d(_lines(input, "adaptive_avg_pool1d"), (1, size)), -2)


def _adaptive_bounds(n: int, o: int) -> list[tuple[int, int]]:
    return [((i * n) // o, ((i + 1) * n + o - 1) // o) for i in range(o)]


def adaptive_max_pool2d(input: Any, output_size, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, H, W) or (C, H, W) to (OH, OW) (an int means square; None keeps
    that side). With ``return_indices`` also the flat ``h * W + w`` argmax of each window."""
    op = "adaptive_max_pool2d"
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D or 4-D input, got shape {input.shape}")
    h, w = input.shape[-2:]
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    oh, ow = (n if o is None else int(o) for o, n in zip(sizes, (h, w)))
    rows, cols = _adaptive_bounds(h, oh), _adaptive_bounds(w, ow)
    cells = [[ops.amax(input[..., r0:r1, c0:c1], (-2, -1)) for c0, c1 in cols] for r0, r1 in rows]
    values = ops.stack([ops.stack(row, -1) for row in cells], -2)
    if not return_indices:
        return values
    data = input.numpy()
    index = np.empty(values.shape, dtype=np.int64)
    for i, (r0, r1) in enumerate(rows):
        for j, (c0, c1) in enumerate(cols):
            window = data[..., r0:r1, c0:c1].reshape(data.shape[:-2] + (-1,))
            flat = np.argmax(window, axis=-1)
            index[..., i, j] = (r0 + flat // (c1 - c0)) * w + c0 + flat % (c1 - c0)
    return values, constant(lambda _: index, input)


class MaxPool1d(Module):
    """``MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """``AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, \
            count_include_pad

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """``AdaptiveAvgPool1d(output_size)``."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """``AdaptiveMaxPool2d(output_size, return_indices=False)``."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
