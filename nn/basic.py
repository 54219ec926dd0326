"""Shape-only modules: ``Identity``, ``Flatten``, ``Unflatten`` (no parameters).

* ``Identity()(x) = x`` (a placeholder, e.g. to remove a layer from a model);
* ``Flatten(start_dim=1, end_dim=-1)``: ``(N, C, H, W) -> (N, C*H*W)``;
* ``Unflatten(dim, unflattened_size)``: ``(N, 784)`` with ``(1, 28, 28)`` at dim 1
  ``-> (N, 1, 28, 28)``; one size may be -1 (inferred).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tinygrad_cs import Tensor

from ._checks import tensor_input
from .module import Module

__all__ = ["Flatten", "Identity", "Unflatten"]


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: ``(N, C, H, W) -> (N, C*H*W)`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        tensor_input(self, input)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: ``(N, 12) -> (N, 3, 4)`` for ``(1, (3, 4))``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(dim, str) or not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("Unflatten: dim must be an int and unflattened_size a tuple or "
                            f"list of ints, got dim={dim!r}, unflattened_size={unflattened_size!r}")
        if not all(isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must hold ints, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        tensor_input(self, input)
        shape = input.shape
        dim = self.dim + len(shape) if self.dim < 0 else self.dim
        if not 0 <= dim < len(shape):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of "
                             f"shape {shape}")
        sizes = tuple(self.unflattened_size)
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or (-1 not in sizes and known != shape[dim]) or (
                -1 in sizes and (known == 0 or shape[dim] % known)):
            raise RuntimeError(f"Unflatten: sizes {list(sizes)} don't multiply up to the size "
                               f"of dim {dim} ({shape[dim]}) of the input of shape {shape}")
        return input.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
