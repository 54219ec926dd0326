"""The functional forms of the rest of ``torch.nn``'s activations, each a composition of the
engine's ops (so gradients and second derivatives come from them):

    relu6(x)       = min(max(x, 0), 6)             hardtanh(x) = min(max(x, lo), hi)
    silu(x)        = x sigmoid(x)                  mish(x)     = x tanh(softplus(x))
    selu(x)        = scale elu(x, alpha)           (alpha = 1.6733, scale = 1.0507)
    celu(x)        = alpha elu(x / alpha)          softsign(x) = x / (1 + |x|)
    hardsigmoid(x) = relu6(x + 3) / 6              hardswish(x) = x hardsigmoid(x)
    softmin(x)     = softmax(-x)                   glu(x)      = a sigmoid(b), [a, b] = x
    threshold(x)   = x if x > threshold else value tanhshrink(x) = x - tanh(x)
    softshrink(x)  = x - lambd sign(x) if |x| > lambd else 0
    hardshrink(x)  = x if |x| > lambd else 0
    prelu(x, w)    = x if x >= 0 else w x          (w per channel: dim 1)
    rrelu(x)       = x if x >= 0 else a x, a ~ U(lower, upper) in training, else the midpoint

(``hardtanh``/``relu6`` pass the gradient at the bounds themselves, where PyTorch's
passes 0: a measure-zero difference.) The ``*_`` forms change the input in place (through
``Tensor._inplace``: the version bumps, and while the graph is recorded the tensor takes
the result's place in it, as in PyTorch).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs import random as _random

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _zero(input: Any) -> np.ndarray:
    return np.zeros((), input.dtype)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Any:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return ops.clamp(input, min_val, max_val)


def relu6(input: Any, inplace: bool = False) -> Any:
    return ops.clamp(input, 0.0, 6.0)


def silu(input: Any, inplace: bool = False) -> Any:
    return ops.mul(input, ops.sigmoid(input))


def mish(input: Any, inplace: bool = False) -> Any:
    return ops.mul(input, ops.tanh(ops.softplus(input)))


def selu(input: Any, inplace: bool = False) -> Any:
    return ops.mul(ops.elu(input, SELU_ALPHA), SELU_SCALE)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    return ops.mul(ops.elu(ops.div(input, alpha)), alpha)


def softsign(input: Any) -> Any:
    return ops.div(input, ops.add(ops.abs(input), 1.0))


def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    return ops.div(relu6(ops.add(input, 3.0)), 6.0)


def hardswish(input: Any, inplace: bool = False) -> Any:
    return ops.mul(input, hardsigmoid(input))


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Any:
    x = input if dtype is None else input.to(dtype)
    return ops.softmax(ops.neg(x), dim)


def glu(input: Any, dim: int = -1) -> Any:
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{size} (input of shape {input.shape})")
    a, b = ops.chunk(input, 2, dim)
    return ops.mul(a, ops.sigmoid(b))


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Any:
    return ops.where(input.numpy() > threshold, input, np.asarray(value, input.dtype))


def tanhshrink(input: Any) -> Any:
    return ops.sub(input, ops.tanh(input))


def softshrink(input: Any, lambd: float = 0.5) -> Any:
    x = input.numpy()
    shrunk = ops.sub(input, np.where(x > 0, lambd, -lambd).astype(input.dtype))
    return ops.where(np.abs(x) > lambd, shrunk, _zero(input))


def hardshrink(input: Any, lambd: float = 0.5) -> Any:
    return ops.where(np.abs(input.numpy()) > lambd, input, _zero(input))


def prelu(input: Any, weight: Any) -> Any:
    """``weight`` has 1 element or one per channel (dim 1 of ``input``)."""
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n not in (1, channels):
        raise RuntimeError(f"prelu: mismatch of parameter numbers ({n}) and input channel size "
                           f"({channels}) for input of shape {input.shape}")
    w = ops.reshape(weight, (n,) + (1,) * (input.ndim - 2)) if input.ndim >= 2 and n > 1 \
        else ops.reshape(weight, ())
    return ops.where(input.numpy() >= 0, input, ops.mul(w, input))


def rrelu(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Any:
    if training:
        slope = _random.generator().uniform(lower, upper, input.shape).astype(input.dtype)
    else:
        slope = np.asarray((lower + upper) / 2, input.dtype)
    return ops.where(input.numpy() >= 0, input, ops.mul(input, slope))


def _in_place(name: str, fn, input: Any, *args: Any) -> Any:
    if input._records_inplace(args):  # the graph is recorded: rewrite the history
        return input._inplace(None, name, lambda old: fn(old, *args), args)
    result = fn(input.detach(), *args).numpy()
    return input._inplace(lambda d: np.copyto(d, result, casting="same_kind"), name)


def relu_(input: Any) -> Any:
    return _in_place("relu_", ops.relu, input)


def elu_(input: Any, alpha: float = 1.0) -> Any:
    return _in_place("elu_", ops.elu, input, alpha)


def leaky_relu_(input: Any, negative_slope: float = 0.01) -> Any:
    return _in_place("leaky_relu_", ops.leaky_relu, input, negative_slope)


def hardtanh_(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    return _in_place("hardtanh_", hardtanh, input, min_val, max_val)


def selu_(input: Any) -> Any:
    return _in_place("selu_", selu, input)


def celu_(input: Any, alpha: float = 1.0) -> Any:
    return _in_place("celu_", celu, input, alpha)


def threshold_(input: Any, threshold_value: float, value: float) -> Any:
    return _in_place("threshold_", threshold, input, threshold_value, value)


def rrelu_(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Any:
    return _in_place("rrelu_", rrelu, input, lower, upper, training)


__all__ = ["celu", "celu_", "elu_", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
           "hardtanh_", "leaky_relu_", "mish", "prelu", "relu6", "relu_", "rrelu", "rrelu_",
           "selu", "selu_", "silu", "softmin", "softshrink", "softsign", "tanhshrink",
           "threshold", "threshold_"]
