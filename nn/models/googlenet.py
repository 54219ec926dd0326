"""GoogLeNet (Szegedy et al. 2014, "Going deeper with convolutions"), as torchvision builds it.

An ``Inception`` block runs four branches on the same input and concatenates them on channels::

    x (N, in, H, W) -> [ 1x1 conv                         -> ch1x1
                         1x1 conv (ch3x3red) -> 3x3 conv   -> ch3x3
                         1x1 conv (ch5x5red) -> 3x3 conv   -> ch5x5
                         3x3 max-pool (stride 1) -> 1x1    -> pool_proj ]
                    -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)

The 1x1 "reduction" convolutions shrink the channels before the expensive spatial ones. The
paper's third branch is a 5x5 convolution; torchvision's (and so its published parameter count
and weights) uses 3x3 there, a known discrepancy kept for compatibility. ``five_by_five=True``
restores the paper's 5x5 (padding 2). Every conv is ``BasicConv2d``: conv (no bias) - BN
(eps 1e-3) - ReLU.

``GoogLeNet`` (224x224 inputs): stem 7x7/2 conv, max-pool, 1x1, 3x3, max-pool (224 -> 28),
then inceptions 3a 3b, max-pool, 4a-4e, max-pool, 5a 5b, global average pooling, dropout,
Linear(1024, num_classes). 6,624,904 parameters with 1000 classes; ``aux_logits=True`` adds
torchvision's two auxiliary classifiers (after 4a and 4d, used in training mode only: forward
then returns ``GoogLeNetOutputs``; 13,004,888 parameters). torchvision defaults to
``aux_logits=True``; here it is off by default, so forward returns plain logits.

``small_input=True`` replaces the stem by one 3x3 conv (stride 1) to 192 channels and drops the
first two max-pools, so 8x8 to 32x32 images keep their resolution into the inceptions
(32x32 -> 32, 16, 8; 8x8 -> 8, 4, 2). ``width_mult`` scales every channel count (at least 1).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

from tinygrad_cs import Tensor, ops, randn

from .. import init
from ..activation import ReLU
from ..containers import Sequential
from ..conv import Conv2d
from ..dropout import Dropout
from ..linear import Linear
from ..module import Module
from ..normalization import BatchNorm2d
from ..pooling import AdaptiveAvgPool2d, MaxPool2d
from .registry import ZooEntry, register

__all__ = ["BasicConv2d", "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux",
           "googlenet", "googlenet_small", "inception_cfg"]


class GoogLeNetOutputs(NamedTuple):
    """What ``GoogLeNet`` returns in training mode when ``aux_logits`` (as torchvision)."""
    logits: Tensor
    aux_logits2: Tensor | None
    aux_logits1: Tensor | None


class BasicConv2d(Module):
    """``BasicConv2d(in_channels, out_channels, **conv_kwargs)``: Conv2d (no bias) - BN - ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001)
        self.relu = ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(Module):
    """``Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
    five_by_five=False)``: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj,
    H, W); see the module docstring."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, five_by_five: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                  BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        k = 5 if five_by_five else 3
        self.branch3 = Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                  BasicConv2d(ch5x5red, ch5x5, kernel_size=k, padding=k // 2))
        self.branch4 = Sequential(MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                  BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Inception: expected input (N, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape)}")
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return ops.cat(branches, dim=1)


class InceptionAux(Module):
    """torchvision's auxiliary classifier: avg-pool to 4x4, 1x1 conv to 128, Linear(2048, 1024),
    ReLU, Dropout, Linear(1024, num_classes): (N, in_channels, H, W) -> (N, num_classes)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7,
                 width: int = 128, hidden: int = 1024) -> None:
        super().__init__()
        self.pool = AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, width, kernel_size=1)
        self.fc1 = Linear(width * 16, hidden)
        self.fc2 = Linear(hidden, num_classes)
        self.dropout = Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.pool(x)).flatten(1)
        return self.fc2(self.dropout(ops.relu(self.fc1(x))))


# torchvision's table: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) per block; the
# digit is the stage: a 3x3/2 max-pool follows stage 3, a 2x2/2 max-pool stage 4.
inception_cfg: dict[str, tuple[int, ...]] = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128)}


class GoogLeNet(Module):
    """``GoogLeNet(num_classes=1000, in_channels=3, aux_logits=False, small_input=False,
    dropout=0.2, dropout_aux=0.7, init_weights=True, width_mult=1.0, five_by_five=False,
    blocks=None)``: x (N, in_channels, H, W) -> logits (N, num_classes); see the module
    docstring. ``blocks`` replaces the table ``inception_cfg`` (same keys: stage digit and
    letter, e.g. a shallow ``{"3a": ..., "4a": ...}``; the aux heads need "4a" and "4d")."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 small_input: bool = False, dropout: float = 0.2, dropout_aux: float = 0.7,
                 init_weights: bool = True, width_mult: float = 1.0,
                 five_by_five: bool = False,
                 blocks: dict[str, tuple[int, ...]] | None = None) -> None:
        super().__init__()
        blocks = dict(inception_cfg if blocks is None else blocks)
        if width_mult <= 0:
            raise ValueError(f"GoogLeNet: width_mult must be positive, got {width_mult}")
        bad = [k for k, v in blocks.items() if k[:1] not in "345" or len(v) != 6]
        if not blocks or bad:
            raise ValueError(f"GoogLeNet: blocks must map names '3a'..'5b' (stage 3, 4 or 5) to "
                             f"6 channel counts; bad entries: {bad or 'none given'}")
        if aux_logits and not {"4a", "4d"} <= blocks.keys():
            raise ValueError("GoogLeNet: aux_logits needs blocks '4a' and '4d' (the heads' "
                             f"inputs), got {sorted(blocks)}")

        def c(n: int) -> int:
            return max(1, int(n * width_mult))

        self.in_channels, self.aux_logits, self.small_input = in_channels, aux_logits, small_input
        if small_input:
            self.conv1 = BasicConv2d(in_channels, c(192), kernel_size=3, padding=1)
        else:
            self.conv1 = BasicConv2d(in_channels, c(64), kernel_size=7, stride=2, padding=3)
            self.maxpool1 = MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = BasicConv2d(c(64), c(64), kernel_size=1)
            self.conv3 = BasicConv2d(c(64), c(192), kernel_size=3, padding=1)
            self.maxpool2 = MaxPool2d(3, stride=2, ceil_mode=True)
        names = sorted(blocks)
        # the max-pool after a stage comes after its last block, if a later stage follows
        self._pool_after = {n: f"maxpool{n[0]}" for n, m in itertools.pairwise(names)
                            if m[0] != n[0] and n[0] in "34"}
        self.maxpool3 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.maxpool4 = MaxPool2d(2, stride=2, ceil_mode=True)
        channels, out = c(192), {}
        for name in names:
            widths = [c(n) for n in blocks[name]]
            setattr(self, "inception" + name, Inception(channels, *widths,
                                                        five_by_five=five_by_five))
            channels = out[name] = widths[0] + widths[2] + widths[4] + widths[5]
        self._blocks = names
        if aux_logits:
            self.aux1 = InceptionAux(out["4a"], num_classes, dropout_aux, c(128), c(1024))
            self.aux2 = InceptionAux(out["4d"], num_classes, dropout_aux, c(128), c(1024))
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(p=dropout)
        self.fc = Linear(channels, num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision: trunc_normal_(std=0.01, a=-2, b=2); the cut sits at 200 standard
        # deviations, so it never bites and a plain normal has the same distribution.
        for m in self.modules():
            if isinstance(m, (Conv2d, Linear)):
                init.normal_(m.weight, 0.0, 0.01)
            elif isinstance(m, BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"GoogLeNet: expected input (N, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape)}")
        if not self.small_input and min(x.shape[2:]) < 15:
            # the 224x224 stem divides H and W by 8 before the first inception
            raise ValueError(f"GoogLeNet: input {tuple(x.shape)} is too small for the "
                             "ImageNet stem (H, W >= 15); use small_input=True "
                             "(zoo name 'googlenet_small')")
        x = self.conv1(x)
        if not self.small_input:
            x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(x))))
        aux = self.aux_logits and self.training
        aux1 = aux2 = None
        for name in self._blocks:
            x = getattr(self, "inception" + name)(x)
            if aux and name == "4a":
                aux1 = self.aux1(x)
            elif aux and name == "4d":
                aux2 = self.aux2(x)
            if name in self._pool_after:
                x = getattr(self, self._pool_after[name])(x)
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        return GoogLeNetOutputs(logits, aux2, aux1) if aux else logits


def googlenet(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    """torchvision's googlenet (224x224 inputs, no auxiliary classifiers by default)."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)


def googlenet_small(*, num_classes: int = 10, in_channels: int = 1, **kwargs) -> GoogLeNet:
    """GoogLeNet for 8x8-32x32 images: a 3x3 stride-1 stem, full Inception widths."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, small_input=True,
                     **kwargs)


# two stages of one block each (the Inception code path, 1-2 channels per branch)
_TINY_BLOCKS = {"3a": (64, 64, 128, 64, 64, 64), "4a": (64, 64, 64, 64, 64, 64)}


def _tiny(build: Callable[..., GoogLeNet]) -> Callable[[], tuple[GoogLeNet, Tensor]]:
    def tiny() -> tuple[GoogLeNet, Tensor]:
        model = build(num_classes=3, in_channels=1, width_mult=1 / 128, dropout=0.0,
                      blocks=_TINY_BLOCKS)
        size = 8 if model.small_input else 32
        return model, randn(2, 1, size, size)
    return tiny


register(ZooEntry("googlenet", googlenet, task="classify", tiny=_tiny(googlenet),
                  description="torchvision GoogLeNet (Inception v1), 6.6M parameters, "
                              "224x224 inputs"))
register(ZooEntry("googlenet_small", googlenet_small, task="classify",
                  tiny=_tiny(googlenet_small),
                  description="GoogLeNet with a 3x3 stride-1 stem for 8x8-32x32 images"))
