"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) from Debian's ``dataset-fashion-mnist`` files.

Never downloaded: the four IDX files are read from ``/usr/share/datasets/fashion-mnist/`` (or
the folder in ``FASHION_MNIST_DIR``, or ``root``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .idx import read_images_labels

__all__ = ["CLASSES", "DEFAULT_DIR", "fashion_mnist_dir", "load_fashion_mnist"]

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def fashion_mnist_dir(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$FASHION_MNIST_DIR``, else the Debian package's folder."""
    return Path(root or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DIR)


def load_fashion_mnist(root: str | os.PathLike | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (60000, 28, 28) uint8, y_train (60000,) int64, x_test (10000, 28, 28) uint8,
    y_test (10000,) int64)``, the original fixed split; labels index ``CLASSES``."""
    folder = fashion_mnist_dir(root)
    paths = [folder / name for name in FILES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST: {', '.join(missing)} not found in {folder}. Install the data with "
            f"`sudo apt-get install dataset-fashion-mnist` or set FASHION_MNIST_DIR to a folder "
            f"holding {', '.join(FILES)}")
    x_train, y_train = read_images_labels(paths[0], paths[1], "Fashion-MNIST train")
    x_test, y_test = read_images_labels(paths[2], paths[3], "Fashion-MNIST t10k")
    return x_train, y_train, x_test, y_test
