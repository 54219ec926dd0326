"""ResNet: torchvision's ImageNet layouts (resnet18 ... resnet152) and He et al.'s CIFAR
networks for small images (resnet8, resnet20, ... resnet110).

ImageNet layout (torchvision's ``ResNet``), x (N, C_in, H, W) -> logits (N, num_classes):
stem ``conv7x7/2 - BN - ReLU - maxpool3x3/2`` (H/4), four stages of ``layers[i]`` blocks with
``64, 128, 256, 512`` planes (stride 2 at the start of stages 2-4, so H/32 at the end), global
average pool, ``Linear(512 * expansion, num_classes)``. ``resnet18`` (BasicBlock [2, 2, 2, 2])
has 11,689,512 parameters with 1000 classes, ``resnet34`` ([3, 4, 6, 3]) 21,797,672 and
``resnet50`` (Bottleneck [3, 4, 6, 3]) 25,557,032, as torchvision's.

CIFAR layout (He et al. 2016, section 4.2), x (N, C_in, H, W) -> (N, num_classes), any H, W >= 1
(32x32 CIFAR, 28x28 Fashion-MNIST, 8x8 digits): ``conv3x3 - BN - ReLU`` with 16 channels, three
stages of n BasicBlocks with 16, 32, 64 channels (stride 2 entering stages 2 and 3), global
average pool, linear: 6n + 2 weighted layers. The shortcut that changes shape is option A
(parameter-free subsample + zero-padded channels, the paper's) or option B (1x1 projection).
ResNet-20 (n = 3, option A) has 269,722 parameters with 10 classes: the paper's "0.27M"
(272,474 with option B).

Not in torchvision, both layouts take ``base_channels`` (64 ImageNet, 16 CIFAR), the width of
the first stage; the others are 2x, 4x (and 8x) it. Small values give the tiny gradient-check
models.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from tinygrad_cs import Tensor, randn

from ..basic import Flatten
from ..containers import Sequential
from ..conv import Conv2d
from ..linear import Linear
from ..module import Module
from ..normalization import BatchNorm2d
from ..pooling import AdaptiveAvgPool2d, MaxPool2d
from ._init import he_init_
from .registry import ZooEntry, register
from .resnet_blocks import BasicBlock, Bottleneck, PadShortcut, conv1x1, conv3x3

__all__ = ["BasicBlock", "Bottleneck", "CifarResNet", "ResNet", "resnet8", "resnet18",
           "resnet20", "resnet32", "resnet34", "resnet44", "resnet50", "resnet56", "resnet101",
           "resnet110", "resnet152"]

Block = type[BasicBlock] | type[Bottleneck]


def _init_weights(model: Module, zero_init_residual: bool) -> None:
    """torchvision's init: conv ~ kaiming_normal(fan_out, relu), BN scale 1 / shift 0; with
    ``zero_init_residual`` each block's last BN scale is 0, so every block starts as identity."""
    he_init_(model)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                m.zero_init_residual_()


class ResNet(Module):
    """``ResNet(block, layers, num_classes=1000, zero_init_residual=False, groups=1,
    width_per_group=64, replace_stride_with_dilation=None, norm_layer=None, *, in_channels=3,
    base_channels=64)``: torchvision's ImageNet ResNet (see the module docstring).

    x (N, in_channels, H, W) -> logits (N, num_classes); ``forward_features(x)`` returns the four
    stage outputs [C2, C3, C4, C5] with strides 4, 8, 16, 32 (for FPN).
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: Sequence[bool] | None = None,
                 norm_layer: Callable[[int], Module] | None = None, *, in_channels: int = 3,
                 base_channels: int = 64) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give 4 stage depths, got {list(layers)}")
        dilate = replace_stride_with_dilation or [False, False, False]
        if len(dilate) != 3:
            raise ValueError("ResNet: replace_stride_with_dilation should be None or a 3-element "
                             f"tuple, got {dilate}")
        self._norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        self.inplanes, self.dilation = base_channels, 1
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = Conv2d(in_channels, base_channels, kernel_size=7, stride=2, padding=3,
                            bias=False)
        self.bn1 = self._norm_layer(base_channels)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        b = base_channels
        self.layer1 = self._make_layer(block, b, layers[0])
        self.layer2 = self._make_layer(block, 2 * b, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(block, 4 * b, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(block, 8 * b, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(8 * b * block.expansion, num_classes)
        _init_weights(self, zero_init_residual)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> Sequential:
        previous_dilation = self.dilation
        if dilate:  # keep the resolution: the stride becomes dilation of later 3x3 convs
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                    self._norm_layer(planes * block.expansion))
        blocks_ = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                         previous_dilation, self._norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            blocks_.append(block(self.inplanes, planes, groups=self.groups,
                                 base_width=self.base_width, dilation=self.dilation,
                                 norm_layer=self._norm_layer))
        return Sequential(*blocks_)

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """x (N, C_in, H, W) -> [layer1, layer2, layer3, layer4] outputs (strides 4 ... 32)."""
        x = self.maxpool(self.bn1(self.conv1(x)).relu())
        features = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            features.append(x)
        return features

    def forward(self, x: Tensor) -> Tensor:
        x = self.forward_features(x)[-1]
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(Module):
    """``CifarResNet(block, layers, num_classes=10, *, in_channels=3, shortcut="A",
    base_channels=16, groups=1, width_per_group=64, zero_init_residual=False)``: He et al.'s
    CIFAR ResNet (module docstring).

    x (N, in_channels, H, W) -> logits (N, num_classes); stem ``conv3x3(in_channels, b)``, then
    three stages of ``layers[i]`` blocks with ``b, 2b, 4b`` planes (b = base_channels, the
    outputs are ``expansion`` times that); ``shortcut`` "A" (zero-pad, no parameters) or "B"
    (1x1 conv + BN) where the shape changes. ``groups`` / ``width_per_group`` go to Bottleneck
    blocks (the CIFAR ResNeXt, see ``resnext.py``).
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 10, *,
                 in_channels: int = 3, shortcut: str = "A", base_channels: int = 16,
                 groups: int = 1, width_per_group: int = 64,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        self.groups, self.base_width = groups, width_per_group
        if len(layers) != 3:
            raise ValueError(f"CifarResNet: layers must give 3 stage depths, got {list(layers)}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        if shortcut == "A" and block is not BasicBlock:
            raise ValueError("CifarResNet: shortcut 'A' (zero padding) is for BasicBlock only")
        self.shortcut = shortcut
        b = base_channels
        self.conv1 = conv3x3(in_channels, b)
        self.bn1 = BatchNorm2d(b)
        self.inplanes = b
        self.layer1 = self._make_layer(block, b, layers[0])
        self.layer2 = self._make_layer(block, 2 * b, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * b, layers[2], stride=2)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.flatten = Flatten()
        self.fc = Linear(4 * b * block.expansion, num_classes)
        _init_weights(self, zero_init_residual)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> Sequential:
        out = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = (PadShortcut(self.inplanes, out, stride) if self.shortcut == "A" else
                          Sequential(conv1x1(self.inplanes, out, stride), BatchNorm2d(out)))
        group = {"groups": self.groups, "base_width": self.base_width}
        blocks_ = [block(self.inplanes, planes, stride, downsample, **group)]
        self.inplanes = out
        blocks_ += [block(out, planes, **group) for _ in range(1, blocks)]
        return Sequential(*blocks_)

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn1(self.conv1(x)).relu()
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


def resnet18(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18 (BasicBlock [2, 2, 2, 2]); 11,689,512 parameters with 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels=in_channels, **kwargs)


def resnet34(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34 (BasicBlock [3, 4, 6, 3]); 21,797,672 parameters with 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels=in_channels, **kwargs)


def resnet50(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50 (Bottleneck [3, 4, 6, 3]); 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels=in_channels, **kwargs)


def resnet101(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-101 (Bottleneck [3, 4, 23, 3]); 44,549,160 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels=in_channels, **kwargs)


def resnet152(*, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-152 (Bottleneck [3, 8, 36, 3]); 60,192,808 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels=in_channels, **kwargs)


def _cifar(n: int, num_classes: int, in_channels: int, kwargs: dict) -> CifarResNet:
    return CifarResNet(BasicBlock, [n, n, n], num_classes, in_channels=in_channels, **kwargs)


def resnet8(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-8 (n = 1); 75,290 parameters with 10 classes (option A)."""
    return _cifar(1, num_classes, in_channels, kwargs)


def resnet20(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-20 (n = 3); 269,722 parameters with 10 classes (option A), the 0.27M."""
    return _cifar(3, num_classes, in_channels, kwargs)


def resnet32(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-32 (n = 5), the paper's 0.46M."""
    return _cifar(5, num_classes, in_channels, kwargs)


def resnet44(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-44 (n = 7), the paper's 0.66M."""
    return _cifar(7, num_classes, in_channels, kwargs)


def resnet56(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-56 (n = 9); 853,018 parameters with 10 classes (option A), the 0.85M."""
    return _cifar(9, num_classes, in_channels, kwargs)


def resnet110(*, num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-110 (n = 18), the paper's 1.7M."""
    return _cifar(18, num_classes, in_channels, kwargs)


def _tiny_imagenet(build: Callable[..., ResNet]) -> Callable[[], tuple[ResNet, Tensor]]:
    # width 1 keeps even the bottleneck layouts at a few thousand parameters; one block per
    # stage; 32x32 leaves a 1x1 map after the last stage
    def tiny() -> tuple[ResNet, Tensor]:
        block = Bottleneck if build in (resnet50, resnet101, resnet152) else BasicBlock
        return (ResNet(block, [1, 1, 1, 1], 3, in_channels=1, base_channels=1),
                randn(2, 1, 32, 32))
    return tiny


def _tiny_cifar() -> tuple[CifarResNet, Tensor]:
    return resnet8(num_classes=3, in_channels=1, base_channels=1), randn(2, 1, 8, 8)


for _build, _text in [(resnet18, "ResNet-18 (torchvision layout), 11.7M parameters"),
                      (resnet34, "ResNet-34 (torchvision layout), 21.8M parameters"),
                      (resnet50, "ResNet-50 (torchvision layout, bottleneck), 25.6M parameters"),
                      (resnet101, "ResNet-101 (torchvision layout), 44.5M parameters"),
                      (resnet152, "ResNet-152 (torchvision layout), 60.2M parameters")]:
    register(ZooEntry(_build.__name__, _build, task="classify", tiny=_tiny_imagenet(_build),
                      description=_text))
for _build, _text in [(resnet8, "CIFAR ResNet-8 (He et al. 2016, n=1), 75K parameters"),
                      (resnet20, "CIFAR ResNet-20 (He et al. 2016, n=3), 0.27M parameters"),
                      (resnet32, "CIFAR ResNet-32 (He et al. 2016, n=5), 0.46M parameters"),
                      (resnet44, "CIFAR ResNet-44 (He et al. 2016, n=7), 0.66M parameters"),
                      (resnet56, "CIFAR ResNet-56 (He et al. 2016, n=9), 0.85M parameters"),
                      (resnet110, "CIFAR ResNet-110 (He et al. 2016, n=18), 1.7M parameters")]:
    register(ZooEntry(_build.__name__, _build, task="classify", tiny=_tiny_cifar,
                      description=_text))
