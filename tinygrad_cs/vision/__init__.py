"""``tinygrad_cs.vision``: torchvision's counterpart, for the idioms real code uses.

``import tinygrad_cs.vision as torchvision`` or ``from tinygrad_cs.vision import datasets,
transforms, utils``: ``datasets`` (MNIST, FashionMNIST, CIFAR10/100, ImageFolder, FakeData,
read from local files only), ``transforms`` (torchvision's per-image transforms, and
``transforms.functional``), ``utils`` (``make_grid``, ``save_image``), ``ops`` (boxes, IoU,
NMS, ROI pooling and the detection helpers of ``torchvision.ops``). It sits on top of
``nn`` and ``data``; the engine core never imports it (``tg.vision`` loads it on first use).
"""
from . import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
