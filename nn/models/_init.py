"""torchvision's initialisation of its CNNs, shared by the zoo's ResNets, VGG and MobileNet."""
from __future__ import annotations

from .. import init
from ..conv import Conv2d
from ..module import Module
from ..normalization import BatchNorm2d

__all__ = ["he_init_"]


def he_init_(model: Module) -> Module:
    """Every ``Conv2d`` of ``model``: weight ~ ``kaiming_normal_(mode="fan_out",
    nonlinearity="relu")``, i.e. std ``sqrt(2 / (C_out * kh * kw))``, bias 0; every
    ``BatchNorm2d``: scale 1, shift 0. Returns ``model``."""
    for m in model.modules():
        if isinstance(m, Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, BatchNorm2d):
            init.ones_(m.weight)
            init.zeros_(m.bias)
    return model
