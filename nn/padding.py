"""Padding modules, as ``torch.nn``: ``ZeroPad1d/2d``, ``ConstantPad1d/2d``,
``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``, ``CircularPad1d/2d``.

Each pads the last one (``1d``) or two (``2d``) dims with ``F.pad``: ``padding`` is an int
(the same on every side) or ``(left, right)`` / ``(left, right, top, bottom)``.
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import ops

from ._checks import tensor_input
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d"]


class _Pad(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        sides = 2 * self.dims
        padding = (padding,) * sides if isinstance(padding, int) else tuple(padding)
        if len(padding) != sides:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"{sides} ints, got {padding}")
        if value and self.mode != "constant":
            raise ValueError(f"{type(self).__name__}: a fill value applies to constant "
                             f"padding only (mode {self.mode!r})")
        self.padding, self.value = padding, value

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return ops.pad(input, self.padding, mode=self.mode, value=self.value)

    def extra_repr(self) -> str:
        value = f", value={self.value}" if self.mode == "constant" and self.value else ""
        return f"{self.padding}{value}"


class ConstantPad1d(_Pad):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_Pad):
    dims = 2

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(_Pad):
    def __init__(self, padding) -> None:
        super().__init__(padding)


class ZeroPad2d(_Pad):
    dims = 2

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReflectionPad1d(_Pad):
    mode = "reflect"


class ReflectionPad2d(_Pad):
    mode, dims = "reflect", 2


class ReplicationPad1d(_Pad):
    mode = "replicate"


class ReplicationPad2d(_Pad):
    mode, dims = "replicate", 2


class CircularPad1d(_Pad):
    mode = "circular"


class CircularPad2d(_Pad):
    mode, dims = "circular", 2
