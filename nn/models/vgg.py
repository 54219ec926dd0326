"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions, as torchvision builds them.

``VGG(cfg)`` reads a configuration list: an int ``c`` is ``Conv2d(prev, c, 3, padding=1)``
(+ ``BatchNorm2d(c)`` when ``batch_norm``) + ReLU, ``"M"`` is ``MaxPool2d(2, 2)`` (halves H, W).
The paper's configurations A, B, D, E are vgg11, vgg13, vgg16, vgg19 (weight-layer counts).
After the features come ``AdaptiveAvgPool2d(avgpool_size)`` and the classifier::

    Linear(512 s^2, w) - ReLU - Dropout - Linear(w, w) - ReLU - Dropout - Linear(w, num_classes)

with ``s = avgpool_size`` (7) and ``w = classifier_width`` (4096): x (N, in_channels, H, W)
-> logits (N, num_classes). ``classifier_width=None`` makes the classifier a single Linear.

Small inputs (8x8 digits, 28x28 Fashion-MNIST, 32x32 CIFAR): every "M" halves the image, so
the full configurations need H, W >= 32; ``vgg_small`` has three stages (8x8 -> 1x1) and an
``AdaptiveAvgPool2d(1)`` with one Linear, 0.28M parameters instead of 133M.

Initialisation as torchvision: conv ``kaiming_normal_(mode="fan_out", relu)``, conv bias 0,
BN ``gamma = 1, beta = 0``, Linear ``N(0, 0.01^2)`` with bias 0. Parameter counts with 1000
classes: vgg11 132,863,336; vgg13 133,047,848; vgg16 138,357,544; vgg19 143,667,240;
vgg16_bn 138,365,992.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs import Tensor, randn

from .. import init
from ..activation import ReLU
from ..basic import Flatten
from ..containers import Sequential
from ..conv import Conv2d
from ..dropout import Dropout
from ..linear import Linear
from ..module import Module
from ..normalization import BatchNorm2d
from ..pooling import AdaptiveAvgPool2d, MaxPool2d
from ._init import he_init_
from .registry import ZooEntry, register

__all__ = ["VGG", "cfgs", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn", "vgg_small"]

cfgs: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512,
          512, 512, "M"],
    "small": [32, "M", 64, 64, "M", 128, 128, "M"],
}


def make_layers(cfg: Sequence, batch_norm: bool = False, in_channels: int = 3) -> Sequential:
    """The feature extractor of a configuration list (see the module docstring)."""
    layers: list[Module] = []
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(kernel_size=2, stride=2))
            continue
        if not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"VGG: a configuration holds channel counts and 'M', got {v!r}")
        layers.append(Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(BatchNorm2d(int(v)))
        layers.append(ReLU(inplace=True))
        in_channels = int(v)
    return Sequential(*layers)


class VGG(Module):
    """``VGG(cfg, in_channels=3, num_classes=1000, batch_norm=False, init_weights=True,
    dropout=0.5, avgpool_size=7, classifier_width=4096)``; ``cfg`` is a key of ``cfgs``
    ("A", "B", "D", "E", "small") or a list."""

    def __init__(self, cfg: str | Sequence, in_channels: int = 3, num_classes: int = 1000,
                 batch_norm: bool = False, init_weights: bool = True, dropout: float = 0.5,
                 avgpool_size: int = 7, classifier_width: int | None = 4096) -> None:
        super().__init__()
        if isinstance(cfg, str):
            if cfg not in cfgs:
                raise KeyError(f"VGG: unknown configuration {cfg!r}; known: {', '.join(cfgs)}")
            cfg = cfgs[cfg]
        self.cfg = list(cfg)
        channels = [v for v in self.cfg if v != "M"]
        if not channels:
            raise ValueError("VGG: the configuration has no convolution")
        self.features = make_layers(self.cfg, batch_norm, in_channels)
        self.avgpool = AdaptiveAvgPool2d((avgpool_size, avgpool_size))
        flat = int(channels[-1]) * avgpool_size * avgpool_size
        if classifier_width is None:
            head: list[Module] = [Linear(flat, num_classes)]
        else:
            w = classifier_width
            head = [Linear(flat, w), ReLU(True), Dropout(p=dropout),
                    Linear(w, w), ReLU(True), Dropout(p=dropout), Linear(w, num_classes)]
        self.flatten = Flatten()
        self.classifier = Sequential(*head)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        he_init_(self)
        for m in self.modules():
            if isinstance(m, Linear):
                init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        pools = self.cfg.count("M")
        if x.ndim != 4 or min(x.shape[2:]) < 2 ** pools:
            raise ValueError(f"VGG: expected input (N, C, H, W) with H, W >= {2 ** pools} "
                             f"({pools} max-pools halve them), got {tuple(x.shape)}; for "
                             "small images use vgg_small or a configuration with fewer 'M'")
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def _builder(name: str, cfg: str, batch_norm: bool):
    def build(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
        return VGG(cfg, in_channels=in_channels, num_classes=num_classes,
                   batch_norm=batch_norm, **kwargs)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"torchvision's {name}: configuration {cfg}"
                     f"{' with batch norm' if batch_norm else ''}.")
    return build


vgg11, vgg11_bn = _builder("vgg11", "A", False), _builder("vgg11_bn", "A", True)
vgg13, vgg13_bn = _builder("vgg13", "B", False), _builder("vgg13_bn", "B", True)
vgg16, vgg16_bn = _builder("vgg16", "D", False), _builder("vgg16_bn", "D", True)
vgg19, vgg19_bn = _builder("vgg19", "E", False), _builder("vgg19_bn", "E", True)


def vgg_small(*, num_classes: int = 10, in_channels: int = 1, batch_norm: bool = True,
              **kwargs) -> VGG:
    """VGG for 8x8-32x32 images: configuration "small" (32, M, 64, 64, M, 128, 128, M),
    batch norm, global average pooling and one Linear (128 -> num_classes)."""
    kwargs = {"avgpool_size": 1, "classifier_width": None, **kwargs}
    return VGG("small", in_channels=in_channels, num_classes=num_classes,
               batch_norm=batch_norm, **kwargs)


def _shrink(cfg: str) -> list:
    """The first two stages of a configuration with channels / 32 (2 or 4 per conv)."""
    stages, out = 0, []
    for v in cfgs[cfg]:
        out.append(v if v == "M" else max(1, v // 32))
        stages += v == "M"
        if stages == 2:
            return out
    return out


def _tiny(cfg: str, batch_norm: bool):
    def tiny() -> tuple[VGG, Tensor]:
        model = VGG(_shrink(cfg), in_channels=1, num_classes=3, batch_norm=batch_norm,
                    avgpool_size=1, classifier_width=None)
        return model, randn(2, 1, 8, 8)
    return tiny


for _name, _cfg in (("vgg11", "A"), ("vgg13", "B"), ("vgg16", "D"), ("vgg19", "E")):
    for _bn in (False, True):
        _full = _name + ("_bn" if _bn else "")
        register(ZooEntry(_full, globals()[_full], task="classify", tiny=_tiny(_cfg, _bn),
                          description=f"torchvision {_full} (configuration {_cfg}); inputs "
                                      ">= 32x32"))
register(ZooEntry("vgg_small", vgg_small, task="classify", tiny=_tiny("small", True),
                  description="VGG for small images (3 stages, BN, global pooling), 0.28M "
                              "parameters"))
