"""ResNeXt (Xie et al. 2017): ResNet's bottleneck with a grouped 3x3 convolution.

The 3x3 convolution of each ``Bottleneck`` is split into ``groups`` (the *cardinality* C)
independent convolutions of ``d`` channels each: ``width = C * d`` at the first stage (doubling
per stage), weight (width, width / C, 3, 3), i.e. C times fewer weights and FLOPs than a dense
3x3 of the same width. "32x4d" reads: cardinality 32, 4 channels per group.

* ImageNet layouts (torchvision's): ``ResNet(Bottleneck, layers, groups=C, width_per_group=d)``;
  ``resnext50_32x4d`` has 25,028,904 parameters with 1000 classes, ``resnext101_32x8d``
  88,791,336, ``resnext101_64x4d`` 83,455,272. x (N, C_in, H, W) -> (N, num_classes).
* CIFAR layouts (the paper's section 5.3): ``conv3x3(C_in, 64)`` stem, three stages of
  ``(depth - 2) / 9`` bottlenecks with outputs 256, 512, 1024 (grouped width C d, 2 C d, 4 C d;
  stride 2 entering stages 2 and 3), projection shortcuts, global average pool, linear.
  ``resnext29_8x64d`` has 34,426,698 parameters with 10 classes (the paper's 34.4M),
  ``resnext29_16x64d`` 68,155,210 (68.1M). x (N, C_in, H, W) -> (N, num_classes), any H, W.
* ``resnext_cifar``: a small CIFAR ResNeXt for 8x8 to 32x32 images that trains in seconds:
  ResNeXt-11 (one block per stage), cardinality 4, 16 channels per group, ``base_channels`` 16
  (stage outputs 64, 128, 256; grouped widths 16, 32, 64); 91,354 parameters with 10 classes.
"""
from __future__ import annotations

from tinygrad_cs import Tensor, randn

from .registry import ZooEntry, register
from .resnet import CifarResNet, ResNet
from .resnet_blocks import Bottleneck

__all__ = [
    "cifar_resnext",
    "resnext29_8x64d",
    "resnext29_16x64d",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext_cifar",
]


def resnext50_32x4d(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNeXt-50 32x4d (Bottleneck [3, 4, 6, 3], 32 groups of 4); 25,028,904 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, groups=32, width_per_group=4,
                  in_channels=in_channels, **kwargs)


def resnext101_32x8d(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNeXt-101 32x8d (Bottleneck [3, 4, 23, 3], 32 groups of 8); 88,791,336 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, groups=32, width_per_group=8,
                  in_channels=in_channels, **kwargs)


def resnext101_64x4d(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNeXt-101 64x4d (Bottleneck [3, 4, 23, 3], 64 groups of 4); 83,455,272 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, groups=64, width_per_group=4,
                  in_channels=in_channels, **kwargs)


def cifar_resnext(depth: int = 29, cardinality: int = 8, base_width: int = 64, *,
                  num_classes: int = 10, in_channels: int = 3, base_channels: int = 64,
                  **kwargs) -> CifarResNet:
    """CIFAR ResNeXt-``depth`` (depth = 9n + 2: n bottlenecks per stage, 3 layers each),
    ``cardinality`` groups of ``base_width`` channels in the first stage's 3x3 convolution."""
    if depth < 11 or (depth - 2) % 9:
        raise ValueError(f"cifar_resnext: depth must be 9n + 2 with n >= 1, got {depth}")
    n = (depth - 2) // 9
    return CifarResNet(Bottleneck, [n, n, n], num_classes, in_channels=in_channels,
                       shortcut="B", base_channels=base_channels, groups=cardinality,
                       width_per_group=base_width, **kwargs)


def resnext29_8x64d(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNeXt-29 8x64d (the paper's); 34,426,698 parameters with 10 classes."""
    return cifar_resnext(29, 8, 64, num_classes=num_classes, in_channels=in_channels, **kwargs)


def resnext29_16x64d(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNeXt-29 16x64d (the paper's); 68,155,210 parameters with 10 classes."""
    return cifar_resnext(29, 16, 64, num_classes=num_classes, in_channels=in_channels,
                         **kwargs)


def resnext_cifar(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Small CIFAR ResNeXt-11 4x16d with base_channels 16 (module docstring); 91,354
    parameters with 10 classes."""
    options = {"base_channels": 16, **kwargs}
    return cifar_resnext(11, 4, 16, num_classes=num_classes, in_channels=in_channels, **options)


def _tiny() -> tuple[CifarResNet, Tensor]:
    # cardinality 2: groups of 1, 2 and 4 channels in the three stages' grouped 3x3 convs
    model = cifar_resnext(11, 2, 64, num_classes=3, in_channels=1, base_channels=1)
    return model, randn(2, 1, 8, 8)


for _build, _text in [
        (resnext50_32x4d, "ResNeXt-50 32x4d (torchvision layout), 25.0M parameters"),
        (resnext101_32x8d, "ResNeXt-101 32x8d (torchvision layout), 88.8M parameters"),
        (resnext101_64x4d, "ResNeXt-101 64x4d (torchvision layout), 83.5M parameters"),
        (resnext29_8x64d, "CIFAR ResNeXt-29 8x64d (Xie et al. 2017), 34.4M parameters"),
        (resnext29_16x64d, "CIFAR ResNeXt-29 16x64d (Xie et al. 2017), 68.1M parameters"),
        (resnext_cifar, "small CIFAR ResNeXt-11 4x16d, 16 base channels, 91K parameters")]:
    register(ZooEntry(_build.__name__, _build, task="classify", tiny=_tiny, description=_text))
