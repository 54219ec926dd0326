"""MobileNet v1 (Howard et al. 2017): depthwise separable convolutions and a width multiplier.

A standard 3x3 convolution from ``c_in`` to ``c_out`` channels costs ``9 c_in c_out`` weights
(and multiply-adds per pixel). ``DepthwiseSeparable`` factors it into

    3x3 depthwise conv (groups = c_in: one filter per channel) - BN - ReLU      9 c_in
    1x1 pointwise conv (mixes channels)                        - BN - ReLU      c_in c_out

i.e. ``1/c_out + 1/9`` of the cost: 8-9x fewer for c_out >= 64. Shapes:
(N, c_in, H, W) -> (N, c_out, H/s, W/s) for stride s (applied by the depthwise conv).

``MobileNetV1``: a 3x3/2 conv to 32 channels, 13 separable blocks (``cfg``: an int is the
block's output channels at stride 1, a pair ``(c, 2)`` a stride-2 block), global average
pooling, Linear(1024, num_classes); convs have no bias (BN follows). With ``width_mult``
(the paper's alpha) every channel count becomes ``int(c * alpha)`` (at least 1), and the cost
falls as alpha^2; the paper's resolution multiplier is simply a smaller input. With 1000
classes and alpha = 1: 4,231,976 parameters. ``small_input=True`` makes the first conv
stride 1 (32x32 -> 16 -> 8 -> 4 -> 2 over the four stride-2 blocks; 8x8 reaches 1x1).
"""
from __future__ import annotations

from collections.abc import Sequence

from tinygrad_cs import Tensor, randn

from .. import init
from ..activation import ReLU
from ..containers import Sequential
from ..conv import Conv2d
from ..dropout import Dropout
from ..linear import Linear
from ..module import Module
from ..normalization import BatchNorm2d
from ..pooling import AdaptiveAvgPool2d
from ._init import he_init_
from .registry import ZooEntry, register

__all__ = ["DepthwiseSeparable", "MobileNetV1", "mobilenet_v1", "mobilenet_v1_small"]

# the stem's channels, then one entry per separable block: c (stride 1) or (c, 2)
cfg_v1: tuple = (32, 64, (128, 2), 128, (256, 2), 256, (512, 2), 512, 512, 512, 512, 512,
                 (1024, 2), 1024)


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
             groups: int = 1) -> list[Module]:
    return [Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                   padding=kernel_size // 2, groups=groups, bias=False),
            BatchNorm2d(out_channels), ReLU(inplace=True)]


class DepthwiseSeparable(Sequential):
    """``DepthwiseSeparable(in_channels, out_channels, stride=1)``: 3x3 depthwise conv
    (``groups=in_channels``) - BN - ReLU - 1x1 pointwise conv - BN - ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(*_conv_bn(in_channels, in_channels, 3, stride, groups=in_channels),
                         *_conv_bn(in_channels, out_channels, 1))


class MobileNetV1(Module):
    """``MobileNetV1(num_classes=1000, in_channels=3, width_mult=1.0, small_input=False,
    dropout=0.0, cfg=None)``: x (N, in_channels, H, W) -> logits (N, num_classes); see the
    module docstring (``cfg`` defaults to ``cfg_v1``)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.0,
                 cfg: Sequence | None = None) -> None:
        super().__init__()
        cfg = tuple(cfg_v1 if cfg is None else cfg)
        if width_mult <= 0:
            raise ValueError(f"MobileNetV1: width_mult must be positive, got {width_mult}")
        if len(cfg) < 1 or not isinstance(cfg[0], int):
            raise ValueError(f"MobileNetV1: cfg must start with the stem's channel count, got "
                             f"{cfg!r}")

        def c(n: int) -> int:
            return max(1, int(n * width_mult))

        self.in_channels, self.width_mult = in_channels, width_mult
        channels = c(cfg[0])
        layers: list[Module] = [Sequential(*_conv_bn(in_channels, channels, 3,
                                                     stride=1 if small_input else 2))]
        for entry in cfg[1:]:
            out, stride = (entry, 1) if isinstance(entry, int) else tuple(entry)
            layers.append(DepthwiseSeparable(channels, c(out), stride))
            channels = c(out)
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(p=dropout)
        self.fc = Linear(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # He init for the ReLU convs (torchvision's MobileNets: fan_out); the classifier
        # N(0, 0.01^2) keeps the first logits small (initial loss ~ ln C)
        he_init_(self)
        init.normal_(self.fc.weight, 0.0, 0.01)
        init.zeros_(self.fc.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"MobileNetV1: expected input (N, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape)}")
        return self.fc(self.dropout(self.avgpool(self.features(x)).flatten(1)))


def mobilenet_v1(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> MobileNetV1:
    """MobileNet v1 for 224x224 inputs (alpha = ``width_mult``, 1.0 by default)."""
    return MobileNetV1(num_classes=num_classes, in_channels=in_channels, **kwargs)


def mobilenet_v1_small(*, num_classes: int = 10, in_channels: int = 1,
                       width_mult: float = 0.5, **kwargs) -> MobileNetV1:
    """MobileNet v1 for 8x8-32x32 images: stride-1 stem, alpha = 0.5 (0.82M parameters with
    10 classes)."""
    return MobileNetV1(num_classes=num_classes, in_channels=in_channels,
                       width_mult=width_mult, small_input=True, **kwargs)


_TINY_CFG = (64, 128, (256, 2))  # stem and two blocks; with alpha 1/32: 2, 4, 8 channels


def _tiny(build):
    def tiny() -> tuple[MobileNetV1, Tensor]:
        model = build(num_classes=3, in_channels=1, width_mult=1 / 32, cfg=_TINY_CFG)
        return model, randn(2, 1, 8, 8)
    return tiny


register(ZooEntry("mobilenet_v1", mobilenet_v1, task="classify", tiny=_tiny(mobilenet_v1),
                  description="MobileNet v1 (depthwise separable convs), alpha 1: 4.2M "
                              "parameters, 224x224 inputs"))
register(ZooEntry("mobilenet_v1_small", mobilenet_v1_small, task="classify",
                  tiny=_tiny(mobilenet_v1_small),
                  description="MobileNet v1 with a stride-1 stem and alpha 0.5, for 8x8-32x32 "
                              "images"))
