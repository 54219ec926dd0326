"""MNIST and Fashion-MNIST in torchvision's layout, read from local IDX files.

``MNIST(root, train=True)`` reads ``root/MNIST/raw/{train,t10k}-images-idx3-ubyte`` and
``...-labels-idx1-ubyte`` (each plain or ``.gz``); ``FashionMNIST`` reads
``root/FashionMNIST/raw/...`` and, if they are not there, Debian's ``dataset-fashion-mnist``
folder (or ``$FASHION_MNIST_DIR``; ``tinygrad_cs.data.fashion_mnist``). As torchvision's:
``.data`` is a uint8 Tensor (N, 28, 28), ``.targets`` an int64 Tensor (N,), and ``ds[i]`` is
``(image, int label)`` where the image is a uint8 numpy array (28, 28) (torchvision: a PIL
image of mode 'L'), which ``transforms.ToTensor`` turns into a (1, 28, 28) float Tensor.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tinygrad_cs.data.fashion_mnist import CLASSES as FASHION_CLASSES
from tinygrad_cs.data.fashion_mnist import fashion_mnist_dir
from tinygrad_cs.data.idx import read_images_labels
from tinygrad_cs.tensor import Tensor

from .vision import VisionDataset, find_file, missing_files

__all__ = ["MNIST", "FashionMNIST"]


def as_array(x: Any) -> np.ndarray:
    """The numpy array of a Tensor (shared), or ``x`` as an array."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


class MNIST(VisionDataset):
    """LeCun's handwritten digits: 60,000 training and 10,000 test images, 28 x 28, uint8.

    Args:
        root: the folder holding ``MNIST/raw/`` (torchvision's ``root``).
        train: the training split (``train-*``) or the test split (``t10k-*``).
        transform: applied to each image (a uint8 array (28, 28)).
        target_transform: applied to each label (an int).
        download: never downloads; see ``vision.py``.
    """

    classes: ClassVar[list[str]] = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                                    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        images, labels = self._read(download)
        self.data, self.targets = Tensor(images), Tensor(labels)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _folders(self) -> list[Path]:
        """Where the files may be, in order of preference."""
        return [Path(self.raw_folder)]

    def _read(self, download: bool) -> tuple[np.ndarray, np.ndarray]:
        prefix = "train" if self.train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        folders = self._folders()
        for folder in folders:
            paths = [find_file(folder, name) for name in names]
            if None not in paths:
                return read_images_labels(*paths, f"{type(self).__name__} {prefix}")
        raise missing_files(type(self).__name__, folders, [f"{n}[.gz]" for n in names],
                            download, self._note())

    def _note(self) -> str:
        return ""

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = as_array(self.data)[index].copy()
        return self._transformed(img, int(as_array(self.targets)[index]))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): MNIST's format and sizes, ten
    kinds of clothing. Read from ``root/FashionMNIST/raw/``, else from Debian's package
    folder (``$FASHION_MNIST_DIR`` or ``/usr/share/datasets/fashion-mnist``)."""

    classes: ClassVar[list[str]] = list(FASHION_CLASSES)

    def _folders(self) -> list[Path]:
        return [Path(self.raw_folder), fashion_mnist_dir()]

    def _note(self) -> str:
        return " (or install Debian's dataset-fashion-mnist package)"
