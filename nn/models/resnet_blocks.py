"""The residual blocks of the ResNet family (torchvision's v1.5 semantics).

A residual block computes ``y = relu(F(x) + shortcut(x))``: the layers ``F`` only learn the
*residual* on top of the identity, so a deep stack starts close to the identity map and the
gradient reaches early layers through the shortcut unchanged (He et al. 2016).

* ``BasicBlock`` (expansion 1): ``F = bn2(conv3x3(relu(bn1(conv3x3_s(x)))))``; x (N, C_in, H, W)
  -> (N, planes, H/s, W/s).
* ``Bottleneck`` (expansion 4): 1x1 reduce to ``width = planes * base_width / 64 * groups``,
  3x3 (stride ``s`` here, "v1.5"; ``groups`` > 1 gives ResNeXt's grouped convolution with
  cardinality ``groups``), 1x1 expand to ``4 * planes``; x (N, C_in, H, W) -> (N, 4 planes,
  H/s, W/s).
* The shortcut is the identity when shapes agree, otherwise ``downsample``: torchvision's
  projection ``conv1x1(stride s) + BN`` (option B), or ``PadShortcut`` — He et al.'s
  parameter-free option A for the CIFAR networks: subsample by ``s`` and zero-pad channels.
"""
from __future__ import annotations

from collections.abc import Callable

from tinygrad_cs import Tensor
from tinygrad_cs.ops.movement import pad

from .. import init
from ..conv import Conv2d
from ..module import Module
from ..normalization import BatchNorm2d

__all__ = ["BasicBlock", "Bottleneck", "PadShortcut", "conv1x1", "conv3x3"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> Conv2d:
    """3x3 convolution, 'same' padding (= dilation), no bias (a BatchNorm follows)."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                  groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """1x1 convolution without bias: a per-pixel linear map of the channels."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _check_shapes(block: str, out: Tensor, identity: Tensor) -> None:
    if out.shape != identity.shape:
        raise ValueError(f"{block}: residual branch gives {out.shape} but the shortcut gives "
                         f"{identity.shape}; pass a downsample module when stride or channels "
                         "change")


class BasicBlock(Module):
    """``BasicBlock(inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
    dilation=1, norm_layer=None)``: two 3x3 convolutions and a shortcut (expansion 1).

    x (N, inplanes, H, W) -> relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
    shape (N, planes, ceil(H/stride), ceil(W/stride)).
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[[int], Module] | None = None) -> None:
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock only supports groups=1 and base_width=64, got "
                             f"groups={groups}, base_width={base_width}")
        if dilation > 1:
            raise NotImplementedError("BasicBlock: dilation > 1 is not supported (as torchvision)")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        _check_shapes("BasicBlock", out, identity)
        return (out + identity).relu()

    def zero_init_residual_(self) -> None:
        """Start as the identity: the last BN's scale is 0, so F(x) = 0 (Goyal et al. 2017)."""
        init.zeros_(self.bn2.weight)


class Bottleneck(Module):
    """``Bottleneck(inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
    dilation=1, norm_layer=None)``: 1x1 reduce, 3x3 (stride, groups), 1x1 expand (expansion 4).

    ``width = int(planes * base_width / 64) * groups``;
    x (N, inplanes, H, W) -> conv1x1 (N, width, H, W) -> conv3x3 stride s, groups
    (N, width, H/s, W/s) -> conv1x1 (N, 4 planes, H/s, W/s), each followed by BN (and ReLU
    except the last), then ``relu(out + shortcut(x))``.
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[[int], Module] | None = None) -> None:
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out)).relu()
        out = self.bn3(self.conv3(out))
        _check_shapes("Bottleneck", out, identity)
        return (out + identity).relu()

    def zero_init_residual_(self) -> None:
        """Start as the identity: the last BN's scale is 0, so F(x) = 0."""
        init.zeros_(self.bn3.weight)


class PadShortcut(Module):
    """He et al.'s option-A shortcut: no parameters.

    x (N, C, H, W) -> x[:, :, ::stride, ::stride] zero-padded to ``planes`` channels,
    (planes - C) // 2 zero channels before and the rest after: (N, planes, ceil(H/s), ceil(W/s)).
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 2) -> None:
        super().__init__()
        if planes < in_planes:
            raise ValueError(f"PadShortcut: cannot pad {in_planes} channels down to {planes}")
        self.in_planes, self.planes, self.stride = in_planes, planes, stride

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.in_planes:
            raise ValueError(f"PadShortcut: expected {self.in_planes} channels, got input "
                             f"{x.shape}")
        s = self.stride
        if s > 1:
            x = x[:, :, ::s, ::s]
        extra = self.planes - self.in_planes
        return pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.planes}, stride={self.stride}"
