"""The rest of ``torch.nn``'s activation modules; each applies its functional form
(``nn/activation_functional.py``, where the formulas are), elementwise ``(*) -> (*)``
unless it says otherwise. ``inplace=True`` is accepted; the result is a new tensor.
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import ops

from . import activation_functional as AF
from ._checks import tensor_input
from .module import Module
from .parameter import Parameter

__all__ = [
    "CELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU6",
    "SiLU",
    "Softmax2d",
    "Softmin",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
]


class _Activation(Module):
    """Calls ``function(input, *[getattr(self, a) for a in arguments])``."""

    function = staticmethod(lambda x: x)
    arguments: tuple = ()

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return type(self).function(input, *(getattr(self, a) for a in self.arguments))

    def extra_repr(self) -> str:
        return ", ".join(f"{a}={getattr(self, a)}" for a in self.arguments)


class Hardtanh(_Activation):
    """min(max(x, min_val), max_val)."""
    function, arguments = staticmethod(AF.hardtanh), ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace


class ReLU6(_Activation):
    """min(max(x, 0), 6)."""
    function = staticmethod(AF.relu6)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class SiLU(_Activation):
    """x sigmoid(x) (the swish)."""
    function = staticmethod(AF.silu)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Mish(_Activation):
    """x tanh(softplus(x))."""
    function = staticmethod(AF.mish)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class SELU(_Activation):
    """scale elu(x, alpha), the self-normalising constants."""
    function = staticmethod(AF.selu)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class CELU(_Activation):
    """alpha elu(x / alpha)."""
    function, arguments = staticmethod(AF.celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    function = staticmethod(AF.hardsigmoid)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Hardswish(_Activation):
    """x relu6(x + 3) / 6."""
    function = staticmethod(AF.hardswish)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Softsign(_Activation):
    """x / (1 + |x|)."""
    function = staticmethod(AF.softsign)


class Tanhshrink(_Activation):
    """x - tanh(x)."""
    function = staticmethod(AF.tanhshrink)


class Softshrink(_Activation):
    """x - lambd sign(x) where |x| > lambd, else 0."""
    function, arguments = staticmethod(AF.softshrink), ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd


class Hardshrink(_Activation):
    """x where |x| > lambd, else 0."""
    function, arguments = staticmethod(AF.hardshrink), ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd


class Threshold(_Activation):
    """x where x > threshold, else value."""
    function, arguments = staticmethod(AF.threshold), ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace


class Softmin(_Activation):
    """softmax(-x) along ``dim``."""
    function, arguments = staticmethod(AF.softmin), ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim


class Softmax2d(_Activation):
    """softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {input.shape}")
        return ops.softmax(input, -3)


class GLU(_Activation):
    """a sigmoid(b), with [a, b] the two halves of the input along ``dim``."""
    function, arguments = staticmethod(AF.glu), ("dim",)

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim


class RReLU(Module):
    """x where x >= 0, else a x with a ~ U(lower, upper) in training, (lower + upper) / 2 in
    evaluation."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return AF.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class PReLU(Module):
    """x where x >= 0, else w x, with a learned slope ``weight`` (one, or one per channel)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        from tinygrad_cs import full
        self.num_parameters = num_parameters
        self.weight = Parameter(full((num_parameters,), init, dtype=dtype, device=device))

    def forward(self, input: Any) -> Any:
        tensor_input(self, input)
        return AF.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
