"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from their python version, in torchvision's layout.

``CIFAR10(root, train=True)`` reads ``root/cifar-10-batches-py/data_batch_1`` ... ``_5`` (or
``test_batch``) and ``batches.meta``; ``CIFAR100`` reads ``root/cifar-100-python/train`` (or
``test``) and ``meta``, with the 100 fine labels. The files are pickles, read by a loader that
only rebuilds numpy arrays (``_safe_pickle.py``). As torchvision's: ``.data`` is a uint8 numpy
array (N, 32, 32, 3), ``.targets`` a list of ints, ``.classes`` the names from the meta file,
and ``ds[i]`` is ``(image, label)`` with the image a uint8 array (32, 32, 3) (torchvision: a
PIL RGB image), which ``transforms.ToTensor`` turns into a (3, 32, 32) float Tensor.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._safe_pickle import load_pickle
from .vision import VisionDataset, missing_files

__all__ = ["CIFAR10", "CIFAR100"]


def _text_keys(entry: Any, path: Path, what: str) -> dict:
    """A batch's dict with bytes keys decoded (pickles re-saved from Python 3 may have them)."""
    if not isinstance(entry, dict):
        raise TypeError(f"{what}: {path} holds a {type(entry).__name__}, expected a dict")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


class CIFAR10(VisionDataset):
    """60,000 colour images 32 x 32 in 10 classes: 50,000 for training (five batches) and
    10,000 for testing.

    Args:
        root: the folder holding ``cifar-10-batches-py/``.
        train: the training batches, or the test batch.
        transform: applied to each image (a uint8 array (32, 32, 3)).
        target_transform: applied to each label (an int).
        download: never downloads; see ``vision.py``.
    """

    base_folder = "cifar-10-batches-py"
    train_list: ClassVar[list[str]] = ["data_batch_1", "data_batch_2", "data_batch_3",
                                       "data_batch_4", "data_batch_5"]
    test_list: ClassVar[list[str]] = ["test_batch"]
    meta: ClassVar[dict[str, str]] = {"filename": "batches.meta", "key": "label_names"}

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        folder = Path(self.root) / self.base_folder
        names = (self.train_list if train else self.test_list) + [self.meta["filename"]]
        if not all((folder / name).is_file() for name in names):
            raise missing_files(type(self).__name__, [folder], names, download)
        batches = [self._read_batch(folder / name) for name in names[:-1]]
        self.data = np.ascontiguousarray(
            np.vstack([b[0] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = [t for b in batches for t in b[1]]
        self.classes = self._read_classes(folder / self.meta["filename"])
        if max(self.targets, default=0) >= len(self.classes) or min(self.targets, default=0) < 0:
            raise ValueError(f"{type(self).__name__}: labels in {folder} range over "
                             f"[{min(self.targets)}, {max(self.targets)}], but the meta file "
                             f"names {len(self.classes)} classes")

    def _read_batch(self, path: Path) -> tuple[np.ndarray, list[int]]:
        """``(data (n, 3072) uint8, labels)`` of one batch file, checked."""
        what = type(self).__name__
        entry = _text_keys(load_pickle(path, what), path, what)
        data = entry.get("data")
        labels = entry["labels"] if "labels" in entry else entry.get("fine_labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                or data.shape[1] != 3 * 32 * 32:
            found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                     else type(data).__name__)
            raise ValueError(f"{what}: {path}: 'data' must be a uint8 array (n, 3072), found "
                             f"{found}")
        if labels is None or len(labels) != len(data):
            raise ValueError(f"{what}: {path}: expected one label per image ('labels' or "
                             f"'fine_labels'), found {'none' if labels is None else len(labels)} "
                             f"for {len(data)} images")
        return data, [int(t) for t in labels]

    def _read_classes(self, path: Path) -> list[str]:
        what = type(self).__name__
        names = _text_keys(load_pickle(path, what), path, what).get(self.meta["key"])
        if not isinstance(names, (list, tuple)):
            raise TypeError(f"{what}: {path} has no list {self.meta['key']!r} of class names")
        return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._transformed(np.array(self.data[index]), self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: the same images' format, 100 fine classes (``targets``) in 20 superclasses;
    one training and one test file."""

    base_folder = "cifar-100-python"
    train_list: ClassVar[list[str]] = ["train"]
    test_list: ClassVar[list[str]] = ["test"]
    meta: ClassVar[dict[str, str]] = {"filename": "meta", "key": "fine_label_names"}
