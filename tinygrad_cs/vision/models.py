"""``tinygrad_cs.vision.models``: torchvision's ``models`` idiom over the model zoo.

``from tinygrad_cs.vision import models; models.resnet18(num_classes=10)`` builds the zoo's
ResNet-18 (torchvision's layout and parameter names); every zoo model and model class of
``tinygrad_cs.nn.models`` is reachable here by the same name. No pretrained weights are
downloaded: load a ``state_dict`` (``tg.load`` reads ``torch.save`` files).
"""
from __future__ import annotations

from tinygrad_cs.nn import models as _zoo


def __getattr__(name: str):
    return getattr(_zoo, name)


def __dir__() -> list:
    return dir(_zoo)
