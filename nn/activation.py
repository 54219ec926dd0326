"""Activation modules, as ``torch.nn``: each wraps its ``nn.functional`` form.

Elementwise, ``(*) -> (*)``:

* ``ReLU``:      max(x, 0)
* ``LeakyReLU``: x if x > 0 else negative_slope * x          (negative_slope=0.01)
* ``ELU``:       x if x > 0 else alpha * (exp(x) - 1)         (alpha=1.0)
* ``Sigmoid``:   1 / (1 + exp(-x))
* ``LogSigmoid``: log(1 / (1 + exp(-x))) = -softplus(-x)
* ``Tanh``:      tanh(x)
* ``GELU``:      x * Phi(x), Phi the standard normal CDF      (approximate='none' | 'tanh')
* ``Softplus``:  log(1 + exp(beta x)) / beta, x where beta x > threshold (beta=1, threshold=20)

Along a dim (``dim=None`` picks PyTorch's legacy implicit dim: 0 for 0-, 1- and 3-D
input, else 1):

* ``Softmax``:    exp(x_i) / sum_j exp(x_j)
* ``LogSoftmax``: x_i - log sum_j exp(x_j)

``inplace=True`` is accepted for compatibility; the result is always a new tensor (the
graph keeps the input for backward).
"""
from __future__ import annotations

from typing import Any

from . import functional as F
from ._checks import tensor_input
from .module import Module

__all__ = ["ELU", "GELU", "LeakyReLU", "LogSigmoid", "LogSoftmax", "ReLU", "Sigmoid", "Softmax", "Softplus",
           "Tanh"]


class ReLU(Module):
    """max(x, 0), elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, elementwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1), elementwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.sigmoid(input)


class LogSigmoid(Module):
    """log(1 / (1 + exp(-x))), elementwise (finite for any x)."""

    def forward(self, input: Any) -> Any:
        return F.logsigmoid(input)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.tanh(input)


class GELU(Module):
    """x * Phi(x) (``approximate='none'``) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - log sum_j exp(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
