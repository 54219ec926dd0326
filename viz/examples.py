"""Small example models to draw: an MLP, a residual network, deep MLPs for init studies.

They are ``nn.Module`` subclasses with ``nn.Parameter`` weights and the engine's
functional ops (``conv2d``, ``batch_norm``, ``relu``...), so they stand in for the
layer modules and the model zoo, and they register themselves with
``viz.registry`` under the names the command line knows (``python -m
tinygrad_cs.viz --list``).

Weights of ``Dense`` are stored (in, out) so that ``x @ W`` needs no transpose
node in the drawn graph; fan_in is therefore ``W.shape[0]``.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.ops.conv import conv2d
from tinygrad_cs.ops.normalization import batch_norm
from tinygrad_cs.ops.pool import adaptive_avg_pool2d

from .registry import Sample, register_model

__all__ = ["BasicBlock", "BatchNorm", "Conv", "Dense", "ReLU", "ResNetMini", "Sigmoid", "Tanh",
           "cross_entropy", "deep_mlp", "init_study", "mlp"]


class Dense(nn.Module):
    """out = x @ W + b: x (N, fan_in), W (fan_in, fan_out), b (fan_out,).

    ``std``: a number, "kaiming" (sqrt(2 / fan_in), for ReLU) or "xavier"
    (sqrt(1 / fan_in), for tanh); weights ~ N(0, std^2), bias 0.
    """

    def __init__(self, fan_in: int, fan_out: int, std: float | str = "kaiming") -> None:
        super().__init__()
        if std == "kaiming":
            std = math.sqrt(2.0 / fan_in)
        elif std == "xavier":
            std = math.sqrt(1.0 / fan_in)
        self.weight = nn.Parameter(tg.zeros(fan_in, fan_out))
        nn.init.normal_(self.weight, 0.0, float(std))
        self.bias = nn.Parameter(tg.zeros(fan_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class ReLU(nn.Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return tg.relu(x)


class Tanh(nn.Module):
    """tanh(x), elementwise."""

    def forward(self, x):
        return tg.tanh(x)


class Sigmoid(nn.Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x):
        return tg.sigmoid(x)


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def mlp(sizes: list[int], act: str = "relu", std: float | str = "kaiming") -> nn.Sequential:
    """fc1, act1, fc2, ..., fcK: Dense layers of the given sizes, no activation at the end."""
    layers: OrderedDict = OrderedDict()
    for k in range(len(sizes) - 1):
        layers[f"fc{k + 1}"] = Dense(sizes[k], sizes[k + 1], std)
        if k < len(sizes) - 2:
            layers[f"act{k + 1}"] = ACTIVATIONS[act]()
    return nn.Sequential(layers)


def deep_mlp(act: str, std: float | str, depth: int = 10, width: int = 100,
             classes: int = 10) -> nn.Sequential:
    """CS231n's initialisation study: ``depth`` Dense(width) + ``act`` layers, then a
    linear classifier ``out``: (N, width) -> (N, classes)."""
    layers: OrderedDict = OrderedDict()
    for k in range(depth):
        layers[f"fc{k + 1}"] = Dense(width, width, std)
        layers[f"act{k + 1}"] = ACTIVATIONS[act]()
    layers["out"] = Dense(width, classes, "xavier")
    return nn.Sequential(layers)


def init_study(act: str, std: float | str, depth: int = 10, width: int = 100,
               batch: int = 256, seed: int = 0):
    """(model, x, loss): ``deep_mlp`` on x ~ N(0, 1) with cross-entropy on random labels."""
    tg.manual_seed(seed)
    model = deep_mlp(act, std, depth, width)
    x = tg.randn(batch, width)
    x.name = "x"
    loss = cross_entropy(model(x), _labels(batch, 10))
    loss.name = "loss"
    return model, x, loss


def cross_entropy(logits, labels: np.ndarray):
    """mean_n -log softmax(logits)[n, labels[n]]: logits (N, C), labels (N,) ints."""
    return -tg.log_softmax(logits, dim=1)[np.arange(len(labels)), labels].mean()


class Conv(nn.Module):
    """2-D convolution, no bias (a BatchNorm follows): (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.stride, self.padding = stride, kernel // 2
        self.weight = nn.Parameter(tg.zeros(c_out, c_in, kernel, kernel))
        nn.init.normal_(self.weight, 0.0, math.sqrt(2.0 / (c_in * kernel * kernel)))

    def forward(self, x):
        return conv2d(x, self.weight, stride=self.stride, padding=self.padding)


class BatchNorm(nn.Module):
    """Per-channel batch normalisation of (N, C, H, W), running statistics as buffers."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(tg.ones(channels))
        self.bias = nn.Parameter(tg.zeros(channels))
        self.register_buffer("running_mean", tg.zeros(channels))
        self.register_buffer("running_var", tg.ones(channels))

    def forward(self, x):
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          training=self.training)


class BasicBlock(nn.Module):
    """ResNet's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = Conv(c_in, c_out, 3, stride), BatchNorm(c_out)
        self.conv2, self.bn2 = Conv(c_out, c_out), BatchNorm(c_out)
        self.shortcut = (nn.Sequential(Conv(c_in, c_out, 1, stride), BatchNorm(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x):
        h = tg.relu(self.bn1(self.conv1(x)))
        return tg.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNetMini(nn.Module):
    """A small ResNet: stem, one stage of ``blocks`` BasicBlocks per width, pool, fc.

    (N, 3, H, W) -> (N, classes); each stage after the first halves H and W.
    """

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), blocks: int = 2,
                 classes: int = 10) -> None:
        super().__init__()
        self.conv1, self.bn1 = Conv(3, widths[0]), BatchNorm(widths[0])
        c_in = widths[0]
        for k, width in enumerate(widths):
            stage = [BasicBlock(c_in if b == 0 else width, width, 2 if b == 0 and k else 1)
                     for b in range(blocks)]
            setattr(self, f"layer{k + 1}", nn.Sequential(*stage))
            c_in = width
        self.stages = len(widths)
        self.fc = Dense(c_in, classes)

    def forward(self, x):
        x = tg.relu(self.bn1(self.conv1(x)))
        for k in range(self.stages):
            x = getattr(self, f"layer{k + 1}")(x)
        return self.fc(adaptive_avg_pool2d(x, 1).flatten(1))


# -- registered samples: the graph each name draws ------------------------------------------
def _labels(n: int, classes: int) -> np.ndarray:
    return tg.randint(0, classes, (n,)).numpy()


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
    loss = cross_entropy(model(x), _labels(8, 3))
    loss.name = "loss"
    return Sample(loss, model)


@register_model("resnet-mini", depth=1, description="small ResNet: 3 stages of 2 blocks")
def resnet_sample() -> Sample:
    tg.manual_seed(0)
    model = ResNetMini()
    x = tg.randn(4, 3, 16, 16)
    x.name = "images"
    loss = cross_entropy(model(x), _labels(4, 10))
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
                   description=f"10 x (Dense 64 + {_act}) + classifier, init {_what}")
