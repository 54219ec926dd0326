"""``tinygrad_cs.vision.datasets``: torchvision.datasets' image sets, read from local files.

``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100`` take ``(root, train=True,
transform=None, target_transform=None, download=False)`` and read torchvision's folder layout
under ``root``; nothing is ever downloaded (``vision.py``). Their images are uint8 numpy arrays
(H, W) or (H, W, C) where torchvision's are PIL images; ``transforms.ToTensor`` takes both.
``ImageFolder`` reads one folder per class (with Pillow); ``FakeData`` makes noise.
"""
from .vision import StandardTransform, VisionDataset
from .mnist import MNIST, FashionMNIST
from .cifar import CIFAR10, CIFAR100
from .folder import DatasetFolder, ImageFolder
from .fakedata import FakeData

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "DatasetFolder", "FakeData", "FashionMNIST",
           "ImageFolder", "StandardTransform", "VisionDataset"]
