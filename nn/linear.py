"""``Linear``: the fully connected layer, y = x W^T + b.

Shapes: x (*, in_features) -> y (*, out_features); W (out_features, in_features),
b (out_features,). The math is one fused op (``tinygrad_cs.ops.linalg.linear``): one GEMM
forward, two GEMMs and a column sum backward.

Default initialisation, as PyTorch's: ``kaiming_uniform_(W, a=sqrt(5))``, i.e.
gain = sqrt(2 / (1 + 5)) and W ~ U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan_in)
= 1 / sqrt(fan_in); and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Both have variance
1 / (3 fan_in) (a third of the He variance for ReLU): keep it for parity with PyTorch, or
call ``nn.init.kaiming_normal_`` yourself for deep ReLU stacks.
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs import Tensor, dtypes
from tinygrad_cs.ops.linalg import linear

from . import init
from ._checks import same_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Linear"]


class Linear(Module):
    """``Linear(in_features, out_features, bias=True, device=None, dtype=None)``: x W^T + b."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"Linear: tinygrad_cs runs on the CPU only, got device {device!r}")
        dt = dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=sqrt(5)), b ~ U(+-1/sqrt(fan_in))."""
        init._default_layer_init(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.weight)
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
