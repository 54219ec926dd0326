"""``MLP``: the fully connected classifier of CS231n's two-layer-net assignment, any depth.

``MLP(in_features, hidden_sizes, num_classes)`` stacks, for each hidden width ``h``::

    Linear(fan_in, h) -> [BatchNorm1d(h)] -> activation -> [Dropout(p)]

and ends with ``Linear(hidden_sizes[-1], num_classes)``. Shapes: x (N, in_features), or
(N, C, H, W) flattened to (N, C*H*W), -> logits (N, num_classes).

Initialisation (He et al. 2015): hidden weights ``W ~ N(0, gain^2 / fan_in)``, gain sqrt(2) for
ReLU (std = sqrt(2 / fan_in)), so the activations' second moment stays constant with depth; the
output layer, followed by no nonlinearity, gets gain 1; biases start at 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs import Tensor, randn

from .. import init
from ..activation import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from ..basic import Flatten
from ..containers import Sequential
from ..dropout import Dropout
from ..linear import Linear
from ..module import Module
from ..normalization import BatchNorm1d
from .registry import ZooEntry, register

__all__ = ["MLP", "mlp"]

# activation name -> (module class, the nonlinearity whose Kaiming gain initialises its layer)
_ACTIVATIONS = {"relu": (ReLU, "relu"), "leaky_relu": (LeakyReLU, "leaky_relu"),
                "elu": (ELU, "relu"), "gelu": (GELU, "relu"), "tanh": (Tanh, "tanh"),
                "sigmoid": (Sigmoid, "sigmoid")}


class MLP(Module):
    """``MLP(in_features, hidden_sizes, num_classes, activation="relu", dropout=0.0,
    batch_norm=False)``: see the module docstring. ``activation`` is one of relu, leaky_relu,
    elu, gelu, tanh, sigmoid."""

    def __init__(self, in_features: int, hidden_sizes: Sequence[int], num_classes: int,
                 activation: str = "relu", dropout: float = 0.0,
                 batch_norm: bool = False) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; "
                             f"choose one of {', '.join(_ACTIVATIONS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        self.in_features, self.num_classes = in_features, num_classes
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        act, nonlinearity = _ACTIVATIONS[activation]
        layers: list[Module] = [Flatten()]
        fan_in = in_features
        for h in self.hidden_sizes:
            linear = Linear(fan_in, h, bias=not batch_norm)  # BN's beta replaces the bias
            init.kaiming_normal_(linear.weight, mode="fan_in", nonlinearity=nonlinearity)
            layers.append(linear)
            if batch_norm:
                layers.append(BatchNorm1d(h))
            layers.append(act())
            if dropout > 0:
                layers.append(Dropout(dropout))
            fan_in = h
        head = Linear(fan_in, num_classes)
        init.kaiming_normal_(head.weight, mode="fan_in", nonlinearity="linear")
        layers.append(head)
        for m in layers:
            if isinstance(m, Linear) and m.bias is not None:
                init.zeros_(m.bias)
        self.layers = Sequential(*layers)

    def forward(self, input: Tensor) -> Tensor:
        features = int(np.prod(input.shape[1:])) if input.ndim > 1 else -1
        if features != self.in_features:
            raise ValueError(f"MLP: expected input (N, {self.in_features}) (or (N, *) with "
                             f"{self.in_features} features), got {tuple(input.shape)}")
        return self.layers(input)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, hidden_sizes={self.hidden_sizes}, "
                f"num_classes={self.num_classes}")


def mlp(*, in_features: int = 64, num_classes: int = 10,
        hidden_sizes: Sequence[int] = (256, 128), **kwargs) -> MLP:
    """The zoo's "mlp": two ReLU hidden layers (256, 128) by default (digits: 64 inputs)."""
    return MLP(in_features, hidden_sizes, num_classes, **kwargs)


def _tiny() -> tuple[MLP, Tensor]:
    model = mlp(in_features=4, num_classes=3, hidden_sizes=(5, 4), batch_norm=True)
    return model, randn(4, 4)


register(ZooEntry("mlp", mlp, task="classify", tiny=_tiny,
                  description="multi-layer perceptron, ReLU, Kaiming init (hidden 256, 128)"))
