"""Dropout (Srivastava et al. 2014), channel dropout, and DropConnect (Wan et al. 2013).

All three use *inverted* scaling: during training each kept value is divided by the keep
probability 1 - p, so that E[output] = input (per element, over the random mask) and the
evaluation-mode layer is the plain one, with no rescaling at test time.

* ``dropout(x, p)``:   out = x * m / (1 - p),   m ~ Bernoulli(1 - p) per element;
* ``dropout2d(x, p)``: the same with one m per (sample, channel), shared by all positions of
  the feature map: x (N, C, H, W), m (N, C, 1, 1). Neighbouring pixels are strongly
  correlated, so dropping single pixels barely regularises a conv net (Tompson et al. 2015);
* ``DropConnect(layer, p)``: drops individual *weights* of a wrapped ``Linear`` or ``Conv2d``
  instead of activations: W' = W * M / (1 - p), M ~ Bernoulli(1 - p) per weight, a fresh M
  per forward call, shared by the whole mini-batch. The bias is kept. Wan et al. evaluate
  with a Gaussian moment-matching approximation; with the inverted scaling used here the
  evaluation-mode layer is simply the wrapped layer (E[W'] = W), as for dropout.

Masks come from the engine's seeded generator (``tg.manual_seed``), so runs reproduce.
The backward pass multiplies by the same mask: d out / d x = m / (1 - p).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_cs import Tensor, ops
from tinygrad_cs.ops._util import raw
from tinygrad_cs.ops.conv import conv2d
from tinygrad_cs.ops.linalg import linear
from tinygrad_cs.random import draw

from ._checks import same_dtype, tensor_input
from .linear import Linear
from .module import Module

__all__ = ["DropConnect", "Dropout", "Dropout2d", "dropout", "dropout2d"]


def _check_p(p: float, what: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{what}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _mask(shape: tuple, p: float, dtype) -> np.ndarray:
    """Bernoulli(1 - p) draws scaled by 1 / (1 - p), as ``dtype`` (all zeros when p = 1);
    drawn through ``random.draw``, so a ``tg.compile``d function draws the same masks."""
    return draw(_bernoulli_mask, tuple(shape), p, np.dtype(dtype))


def _bernoulli_mask(rng: np.random.Generator, shape: tuple, p: float, dtype) -> np.ndarray:
    dtype = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
    keep = rng.random(shape, dtype=dtype) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return np.multiply(keep, scale, dtype=dtype)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training);
    the identity when ``training`` is False. ``(*) -> (*)``."""
    p = _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    x = raw(input)
    return ops.mul(input, _mask(x.shape, p, x.dtype))


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels: x (N, C, H, W) or (C, H, W) with one draw per (n, c) or (c).

    As PyTorch today, a 3-D input is read as (N, C, L) (with a warning), and other ranks
    drop along dim 1 (with a warning).
    """
    p = _check_p(p, "dropout2d")
    x = raw(input)
    shape = x.shape
    if len(shape) == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. Use a 4-D input (N, C, H, W) for 2D dropout.",
                      stacklevel=2)
    elif len(shape) != 4:
        if len(shape) < 2:
            raise RuntimeError(f"dropout2d: expected an input with a channel dim (N, C, ...), "
                               f"got shape {shape}")
        warnings.warn(f"dropout2d: Received a {len(shape)}-D input to dropout2d; channel-wise "
                      "dropout along dim 1 is applied. Expected a 4-D input (N, C, H, W).",
                      stacklevel=2)
    if not training or p == 0.0:
        return input
    mask_shape = shape[:2] + (1,) * (len(shape) - 2)
    return ops.mul(input, _mask(mask_shape, p, x.dtype))


class Dropout(Module):
    """``Dropout(p=0.5, inplace=False)``: ``dropout`` in training mode, identity in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = _check_p(p, type(self).__name__), inplace

    def forward(self, input: Tensor) -> Tensor:
        tensor_input(self, input)
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """``Dropout2d(p=0.5, inplace=False)``: whole channels of (N, C, H, W) maps, in training."""

    def forward(self, input: Tensor) -> Tensor:
        tensor_input(self, input)
        return dropout2d(input, self.p, self.training)


class DropConnect(Module):
    """``DropConnect(module, p=0.5)``: ``module`` (a ``Linear`` or a ``Conv2d``) with each of
    its weights dropped with probability ``p`` in training (inverted scaling; bias kept).

    The wrapped layer is the child ``module`` (state-dict keys ``module.weight``, ...). In
    evaluation mode, or with p = 0, ``DropConnect(layer)(x) == layer(x)``. In training the
    wrapped layer's own ``forward`` (and its hooks) are bypassed: the functional op runs
    with the masked weight.
    """

    def __init__(self, module: Module, p: float = 0.5) -> None:
        super().__init__()
        weight = getattr(module, "weight", None)
        is_conv = weight is not None and weight.ndim == 4 and hasattr(module, "stride")
        if not (isinstance(module, Linear) or is_conv):
            raise TypeError(f"DropConnect: expected an nn.Linear or an nn.Conv2d, got "
                            f"{type(module).__name__}")
        if is_conv and getattr(module, "padding_mode", "zeros") != "zeros":
            raise NotImplementedError(f"DropConnect: a Conv2d with padding_mode="
                                      f"{module.padding_mode!r} is not supported (only 'zeros')")
        self.module, self.p = module, _check_p(p, "DropConnect")

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.module.weight)
        layer = self.module
        if not self.training or self.p == 0.0:
            return layer(input)
        weight = ops.mul(layer.weight, _mask(layer.weight.shape, self.p, layer.weight.dtype))
        if isinstance(layer, Linear):
            return linear(input, weight, layer.bias)
        return conv2d(input, weight, layer.bias, layer.stride, layer.padding, layer.dilation,
                      layer.groups)

    def extra_repr(self) -> str:
        return f"p={self.p}"
