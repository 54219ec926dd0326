"""Small graphs to draw: micrograd's neuron, an MLP, a small ResNet, deep MLPs for init studies.

Everything is built from the real layers (``nn.Linear``, ``nn.ReLU``, ...) and the model zoo
(``resnet-mini`` is the zoo's CIFAR ResNet-8, narrowed), and registers itself with
``viz.registry`` under the names the command line knows (``python -m tinygrad_cs.viz
--list``; every zoo model is drawable too).
"""
from __future__ import annotations

import math
from collections import OrderedDict

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn import functional as F
from tinygrad_cs.nn.models import resnet8

from .registry import Sample, register_model

__all__ = ["ACTIVATIONS", "deep_mlp", "init_study", "linear", "mlp", "resnet_mini"]

#: The activation layers the studies compare, by the name the command line uses.
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def linear(fan_in: int, fan_out: int, std: float | str = "kaiming") -> nn.Linear:
    """``nn.Linear(fan_in, fan_out)`` with weights ~ N(0, std^2) and bias 0.

    ``std``: a number, "kaiming" (sqrt(2 / fan_in), for ReLU) or "xavier" (sqrt(1 / fan_in),
    for tanh): CS231n's initialisation study draws the weights itself.
    """
    if std == "kaiming":
        std = math.sqrt(2.0 / fan_in)
    elif std == "xavier":
        std = math.sqrt(1.0 / fan_in)
    layer = nn.Linear(fan_in, fan_out)
    nn.init.normal_(layer.weight, 0.0, float(std))
    nn.init.zeros_(layer.bias)
    return layer


def mlp(sizes: list[int], act: str = "relu", std: float | str = "kaiming") -> nn.Sequential:
    """fc1, act1, fc2, ..., fcK: Linear layers of the given sizes, no activation at the end."""
    layers: OrderedDict = OrderedDict()
    for k in range(len(sizes) - 1):
        layers[f"fc{k + 1}"] = linear(sizes[k], sizes[k + 1], std)
        if k < len(sizes) - 2:
            layers[f"act{k + 1}"] = ACTIVATIONS[act]()
    return nn.Sequential(layers)


def deep_mlp(act: str, std: float | str, depth: int = 10, width: int = 100,
             classes: int = 10) -> nn.Sequential:
    """CS231n's initialisation study: ``depth`` Linear(width) + ``act`` layers, then a
    linear classifier ``out``: (N, width) -> (N, classes)."""
    layers: OrderedDict = OrderedDict()
    for k in range(depth):
        layers[f"fc{k + 1}"] = linear(width, width, std)
        layers[f"act{k + 1}"] = ACTIVATIONS[act]()
    layers["out"] = linear(width, classes, "xavier")
    return nn.Sequential(layers)


def init_study(act: str, std: float | str, depth: int = 10, width: int = 100,
               batch: int = 256, seed: int = 0):
    """(model, x, loss): ``deep_mlp`` on x ~ N(0, 1) with cross-entropy on random labels."""
    tg.manual_seed(seed)
    model = deep_mlp(act, std, depth, width)
    x = tg.randn(batch, width)
    x.name = "x"
    loss = F.cross_entropy(model(x), _labels(batch, 10))
    loss.name = "loss"
    return model, x, loss


def resnet_mini(classes: int = 10) -> nn.Module:
    """The zoo's CIFAR ResNet-8 (stem, 3 stages of one basic block, pool, fc) at widths
    8, 16, 32: (N, 3, H, W) -> (N, classes)."""
    return resnet8(num_classes=classes, base_channels=8)


# -- registered samples: the graph each name draws ------------------------------------------
def _labels(n: int, classes: int) -> tg.Tensor:
    return tg.randint(0, classes, (n,))


@register_model("scalar-expr", description="micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b)")
def scalar_neuron() -> Sample:
    x1, x2 = tg.Value(2.0, label="x1"), tg.Value(0.0, label="x2")
    w1, w2 = tg.Value(-3.0, label="w1"), tg.Value(1.0, label="w2")
    b = tg.Value(6.8813735870195432, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1*w1", "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return Sample(o, description="o = tanh(x1 w1 + x2 w2 + b)")


@register_model("scalar-mlp", description="nn.scalar.MLP(2, [4, 4, 1]) on one point")
def scalar_mlp() -> Sample:
    from tinygrad_cs.nn.scalar import MLP
    tg.manual_seed(0)
    model = MLP(2, [4, 4, 1])
    score = model([2.0, -1.0])
    score.label = "score"
    return Sample(score)


@register_model("mlp", description="3-layer ReLU MLP with cross-entropy loss")
def mlp_sample() -> Sample:
    tg.manual_seed(0)
    model = mlp([4, 16, 16, 3])
    x = tg.randn(8, 4)
    x.name = "x"
    loss = F.cross_entropy(model(x), _labels(8, 3))
    loss.name = "loss"
    return Sample(loss, model)


@register_model("resnet-mini", depth=1, description="the zoo's ResNet-8 at widths 8-16-32")
def resnet_sample() -> Sample:
    tg.manual_seed(0)
    model = resnet_mini()
    x = tg.randn(4, 3, 16, 16)
    x.name = "images"
    loss = F.cross_entropy(model(x), _labels(4, 10))
    loss.name = "loss"
    return Sample(loss, model, depth=1)


def _deep(act: str, std: float | str) -> Sample:
    model, _, loss = init_study(act, std, width=64, batch=64)
    return Sample(loss, model, depth=1)


for _act, _std, _what in [("sigmoid", 0.01, "N(0, 0.01^2)"), ("tanh", 0.01, "N(0, 0.01^2)"),
                          ("tanh", "xavier", "Xavier"), ("relu", 0.01, "N(0, 0.01^2)"),
                          ("relu", "kaiming", "Kaiming")]:
    _tag = "small" if _std == 0.01 else _std
    register_model(f"deep-{_act}-{_tag}", (lambda a=_act, s=_std: _deep(a, s)), depth=1,
                   description=f"10 x (Linear 64 + {_act}) + classifier, init {_what}")


def compiled_step_program():
    """The README's "The graph as a program" example: a ``tg.compile``d SGD-momentum step
    of a 3-4-2 MLP with cross-entropy, called three times; returns its ``Program``."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    @tg.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    x, y = tg.randn(4, 3), tg.tensor([0, 1, 1, 0])
    for _ in range(3):
        step(x, y)
    return step.program
