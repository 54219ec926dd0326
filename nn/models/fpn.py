"""Feature Pyramid Network (Lin et al. 2017) with torchvision's semantics, over a ResNet.

Given backbone features ``C_1 ... C_L`` from fine to coarse (``C_i`` (N, c_i, H_i, W_i), each
about half the size of the one before), FPN builds maps ``P_i`` (N, out_channels, H_i, W_i)
that all carry coarse, semantically strong information at every resolution:

    top-down:  M_L = lateral_L(C_L),   M_i = lateral_i(C_i) + nearest(M_{i+1}, size=(H_i, W_i))
    output:    P_i = conv3x3_i(M_i)

``lateral_i`` is a 1x1 convolution ``c_i -> out_channels``; ``nearest`` is nearest-neighbour
upsampling to the lateral's exact size (``interpolate(mode="nearest")``, PyTorch's legacy rule
``src = floor(dst * H_{i+1} / H_i)``, so odd sizes such as 7 -> 13 are handled). The optional
``LastLevelMaxPool`` adds ``"pool"`` = ``max_pool2d(P_L, kernel_size=1, stride=2)``.

The output is an ``OrderedDict`` from fine to coarse, keyed like the input (``"0", "1", ...``
when the input is a list), then ``"pool"``: torchvision's ``FeaturePyramidNetwork`` contract.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from tinygrad_cs import Tensor, randn
from tinygrad_cs.ops.pool import interpolate, max_pool2d

from .. import init
from ..containers import ModuleList, Sequential
from ..conv import Conv2d
from ..module import Module
from .registry import ZooEntry, register
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .resnet_blocks import BasicBlock
from .resnext import resnext50_32x4d, resnext101_32x8d, resnext101_64x4d

__all__ = ["FeaturePyramidNetwork", "LastLevelMaxPool", "ResNetFPN", "resnet_fpn"]

BACKBONES: dict[str, Callable[..., ResNet]] = {
    f.__name__: f for f in (resnet18, resnet34, resnet50, resnet101, resnet152,
                            resnext50_32x4d, resnext101_32x8d, resnext101_64x4d)}


class LastLevelMaxPool(Module):
    """torchvision's extra block: appends ``"pool"`` = max_pool2d(P_L, 1, stride 2), i.e. the
    coarsest map subsampled by 2: (N, C, H, W) -> (N, C, ceil(H/2), ceil(W/2))."""

    def forward(self, results: list[Tensor], x: list[Tensor],
                names: list[str]) -> tuple[list[Tensor], list[str]]:
        return [*results, max_pool2d(results[-1], 1, 2, 0)], [*names, "pool"]


def _conv(in_channels: int, out_channels: int, kernel_size: int,
          norm_layer: Callable[[int], Module] | None) -> Sequential:
    # torchvision's Conv2dNormActivation without activation: the bias only without a norm
    # (a norm's shift would cancel it); a Sequential so the keys read "inner_blocks.0.0.weight"
    conv = Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                  bias=norm_layer is None)
    return Sequential(conv) if norm_layer is None else Sequential(conv, norm_layer(out_channels))


class FeaturePyramidNetwork(Module):
    """``FeaturePyramidNetwork(in_channels_list, out_channels, extra_blocks=None,
    norm_layer=None)``: torchvision's FPN (module docstring).

    x: an ordered mapping (or a list) of L maps (N, in_channels_list[i], H_i, W_i), fine to
    coarse -> OrderedDict of L maps (N, out_channels, H_i, W_i) with the same keys (``"0"``,
    ``"1"``, ... for a list), plus ``"pool"`` with ``extra_blocks=LastLevelMaxPool()``.
    Init as torchvision: conv weights kaiming_uniform(a=1), biases 0.
    """

    def __init__(self, in_channels_list: Sequence[int], out_channels: int,
                 extra_blocks: Module | None = None,
                 norm_layer: Callable[[int], Module] | None = None) -> None:
        super().__init__()
        if not in_channels_list or min(in_channels_list) <= 0:
            raise ValueError("FeaturePyramidNetwork: in_channels_list must list positive "
                             f"channel counts, got {list(in_channels_list)}")
        self.in_channels_list, self.out_channels = list(in_channels_list), out_channels
        self.inner_blocks = ModuleList([_conv(c, out_channels, 1, norm_layer)
                                        for c in in_channels_list])
        self.layer_blocks = ModuleList([_conv(out_channels, out_channels, 3, norm_layer)
                                        for _ in in_channels_list])
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    init.zeros_(m.bias)
        self.extra_blocks = extra_blocks

    def _check(self, names: list[str], features: list[Tensor]) -> None:
        shapes = [tuple(f.shape) for f in features]
        if len(features) != len(self.in_channels_list) or any(
                len(s) != 4 or s[1] != c for s, c in zip(shapes, self.in_channels_list)):
            raise ValueError(f"FeaturePyramidNetwork: expected {len(self.in_channels_list)} "
                             f"maps (N, C, H, W) with C = {self.in_channels_list}, got "
                             f"{dict(zip(names, shapes))}")

    def forward(self, x: Mapping[str, Tensor] | Sequence[Tensor]) -> OrderedDict[str, Tensor]:
        if isinstance(x, Mapping):
            names, features = list(x.keys()), list(x.values())
        else:
            names, features = [str(i) for i in range(len(x))], list(x)
        self._check(names, features)
        last_inner = self.inner_blocks[-1](features[-1])
        results = [self.layer_blocks[-1](last_inner)]
        for idx in range(len(features) - 2, -1, -1):
            lateral = self.inner_blocks[idx](features[idx])
            top_down = interpolate(last_inner, size=tuple(lateral.shape[-2:]), mode="nearest")
            last_inner = lateral + top_down
            results.insert(0, self.layer_blocks[idx](last_inner))
        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, features, names)
        return OrderedDict(zip(names, results))


class _IntermediateLayers(Module):
    """A ResNet's trunk (stem and ``layer1 .. layer{max(returned)}``, no pooling or fc), with
    torchvision's IntermediateLayerGetter names: x -> OrderedDict {"0": layer_a(...), ...}."""

    def __init__(self, resnet: ResNet, returned_layers: Sequence[int]) -> None:
        super().__init__()
        self.returned = [f"layer{k}" for k in returned_layers]
        self.conv1, self.bn1, self.maxpool = resnet.conv1, resnet.bn1, resnet.maxpool
        self.depth = max(returned_layers)
        for k in range(1, self.depth + 1):
            setattr(self, f"layer{k}", getattr(resnet, f"layer{k}"))

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        x = self.maxpool(self.bn1(self.conv1(x)).relu())
        out: OrderedDict[str, Tensor] = OrderedDict()
        for k in range(1, self.depth + 1):
            name = f"layer{k}"
            x = getattr(self, name)(x)
            if name in self.returned:
                out[str(self.returned.index(name))] = x
        return out


def _stage_channels(layer: Sequential) -> int:
    last = layer[-1]
    return (last.bn2 if isinstance(last, BasicBlock) else last.bn3).num_features


class ResNetFPN(Module):
    """``ResNetFPN(backbone="resnet18", out_channels=256, returned_layers=None,
    extra_blocks=None, *, in_channels=3, **backbone_kwargs)``: torchvision's
    ``BackboneWithFPN`` over a ResNet (``resnet_fpn_backbone``), trained from scratch.

    ``backbone``: a name in ``BACKBONES`` (built with ``in_channels`` and ``backbone_kwargs``,
    e.g. ``base_channels``) or a ``ResNet``. ``returned_layers`` (default [1, 2, 3, 4]) picks
    the stages fed to the FPN; ``extra_blocks`` defaults to ``LastLevelMaxPool()``.
    x (N, in_channels, H, W) -> OrderedDict {"0": (N, out_channels, H/4, W/4), "1": H/8,
    "2": H/16, "3": H/32, "pool": H/64} (sizes rounded up, as the convolutions do), fine to
    coarse. ``body`` is the trunk, ``fpn`` the pyramid, ``out_channels`` the maps' width.
    """

    def __init__(self, backbone: str | ResNet = "resnet18", out_channels: int = 256,
                 returned_layers: Sequence[int] | None = None,
                 extra_blocks: Module | None = None, *, in_channels: int = 3,
                 **backbone_kwargs) -> None:
        super().__init__()
        if isinstance(backbone, str):
            if backbone not in BACKBONES:
                raise ValueError(f"ResNetFPN: unknown backbone {backbone!r}; known: "
                                 f"{', '.join(BACKBONES)}")
            backbone = BACKBONES[backbone](in_channels=in_channels, **backbone_kwargs)
        returned_layers = [1, 2, 3, 4] if returned_layers is None else list(returned_layers)
        if not returned_layers or min(returned_layers) < 1 or max(returned_layers) > 4:
            raise ValueError(f"ResNetFPN: returned_layers must be in [1, 4], got "
                             f"{returned_layers}")
        self.body = _IntermediateLayers(backbone, returned_layers)
        channels = [_stage_channels(getattr(backbone, f"layer{k}")) for k in returned_layers]
        self.fpn = FeaturePyramidNetwork(channels, out_channels,
                                         LastLevelMaxPool() if extra_blocks is None
                                         else extra_blocks)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        return self.fpn(self.body(x))


def resnet_fpn(backbone_name: str = "resnet18", *, out_channels: int = 256,
               in_channels: int = 3, returned_layers: Sequence[int] | None = None,
               extra_blocks: Module | None = None, **backbone_kwargs) -> ResNetFPN:
    """``ResNetFPN`` by backbone name (torchvision's ``resnet_fpn_backbone`` without
    pretrained weights or frozen layers)."""
    return ResNetFPN(backbone_name, out_channels, returned_layers, extra_blocks,
                     in_channels=in_channels, **backbone_kwargs)


def _tiny() -> tuple[ResNetFPN, Tensor]:
    backbone = ResNet(BasicBlock, [1, 1, 1, 1], in_channels=1, base_channels=1)
    return ResNetFPN(backbone, out_channels=2), randn(2, 1, 32, 32)


def _builder(name: str) -> Callable[..., ResNetFPN]:
    def build(**kwargs) -> ResNetFPN:
        return resnet_fpn(name, **kwargs)
    build.__name__ = f"{name}_fpn"
    return build


for _name in ("resnet18", "resnet50"):
    register(ZooEntry(f"{_name}_fpn", _builder(_name), task="features", tiny=_tiny,
                      description=f"FPN (torchvision semantics) over {_name}: OrderedDict "
                                  "'0'..'3', 'pool' of 256-channel maps, fine to coarse"))
