"""``unfold`` (im2col) and its adjoint ``fold`` (col2im), as ``torch.nn.functional`` and
``torch.nn.Unfold`` / ``torch.nn.Fold``.

unfold: (N, C, H, W) -> (N, C * kh * kw, L), column l holding the sliding block at output
position l = (oh, ow) (row-major), with zero ``padding``, ``stride`` and ``dilation``:

    out[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh * sh + i * dh, ow * sw + j * dw]

fold sums such columns back into an (N, C, H, W) image (overlaps add up), so
``fold(unfold(x))`` multiplies each pixel by the number of blocks covering it. Both are an
index gather / scatter-add of the engine (``getitem`` / ``index_add``), so each is the
other's gradient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import ops

from ._checks import tensor_input
from .module import Module

__all__ = ["Fold", "Unfold", "fold", "unfold"]


def _pair(value, name: str, op: str) -> tuple:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def _blocks(op: str, size: tuple, kernel, dilation, padding, stride) -> tuple:
    """Row and column indices (into the padded image) of every block element."""
    k, d, p, s = (_pair(v, n, op) for v, n in ((kernel, "kernel_size"), (dilation, "dilation"),
                                               (padding, "padding"), (stride, "stride")))
    counts = [(n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
              for n, kk, dd, pp, ss in zip(size, k, d, p, s)]
    if min(counts) < 1:
        raise RuntimeError(f"{op}: the kernel {k} (dilation {d}) does not fit the padded input "
                           f"of size {size} with padding {p}")
    rows = np.arange(k[0])[:, None] * d[0] + np.arange(counts[0])[None, :] * s[0]  # (kh, oh)
    cols = np.arange(k[1])[:, None] * d[1] + np.arange(counts[1])[None, :] * s[1]  # (kw, ow)
    index = (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :])
    return index, k, p, counts


def unfold(input: Any, kernel_size, dilation=1, padding=0, stride=1) -> Any:
    """Sliding blocks of (N, C, H, W) as columns: (N, C * kh * kw, L)."""
    if input.ndim != 4:
        raise RuntimeError(f"unfold: expected a 4-D (N, C, H, W) input, got shape "
                           f"{input.shape}")
    index, k, p, counts = _blocks("unfold", input.shape[-2:], kernel_size, dilation, padding,
                                  stride)
    padded = ops.pad(input, (p[1], p[1], p[0], p[0])) if any(p) else input
    blocks = ops.getitem(padded, index)                      # (N, C, kh, kw, oh, ow)
    n, c = input.shape[:2]
    return ops.reshape(blocks, (n, c * k[0] * k[1], counts[0] * counts[1]))


def fold(input: Any, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Any:
    """Columns (N, C * kh * kw, L) summed back into (N, C, H, W), H, W = ``output_size``."""
    size = _pair(output_size, "output_size", "fold")
    index, k, p, counts = _blocks("fold", size, kernel_size, dilation, padding, stride)
    if input.ndim != 3 or input.shape[1] % (k[0] * k[1]) or input.shape[2] != counts[0] * \
            counts[1]:
        raise RuntimeError(f"fold: expected input of shape (N, C * {k[0] * k[1]}, "
                           f"{counts[0] * counts[1]}) for kernel {k} and output size {size}, "
                           f"got {input.shape}")
    n, c = input.shape[0], input.shape[1] // (k[0] * k[1])
    blocks = ops.reshape(input, (n, c, k[0], k[1], counts[0], counts[1]))
    padded = ops.add_at(blocks, index, (n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    return ops.pad(padded, (-p[1], -p[1], -p[0], -p[0])) if any(p) else padded


class Unfold(Module):
    """``Unfold(kernel_size, dilation=1, padding=0, stride=1)``: ``unfold`` as a layer."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """``Fold(output_size, kernel_size, dilation=1, padding=0, stride=1)``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
