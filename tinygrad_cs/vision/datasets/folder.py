"""``DatasetFolder`` and ``ImageFolder``: one sub-folder per class, as torchvision's.

``root/dog/xxx.png``, ``root/cat/123.jpg``, ...: classes are the sub-folders' names in sorted
order, samples the files below each (recursively, sorted) that pass ``is_valid_file`` or end
in one of ``extensions``. ``ImageFolder``'s default loader opens images with Pillow (needed
for it alone) and gives them, converted to RGB, as uint8 arrays (H, W, 3), where torchvision
gives PIL images.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._pil import pil_image
from .vision import VisionDataset

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader", "find_classes",
           "make_dataset", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """``(sorted sub-folder names, {name: index})``."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"DatasetFolder: root folder {directory} does not exist")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"DatasetFolder: no class folder in {directory} (expected "
                                f"one sub-folder per class, e.g. {directory}/cat/001.png)")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                 extensions: Sequence[str] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``[(path, class index)]`` of the valid files under each class folder, in sorted order;
    a class without any raises unless ``allow_empty``."""
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: give exactly one of extensions and is_valid_file")
    if is_valid_file is None:
        suffixes = tuple(e.lower() for e in extensions)

        def is_valid_file(path: str) -> bool:
            return path.lower().endswith(suffixes)

    samples, found = [], set()
    for name in sorted(class_to_idx):
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        for parent, _, files in sorted(os.walk(folder, followlinks=True)):
            for file in sorted(files):
                path = os.path.join(parent, file)
                if is_valid_file(path):
                    samples.append((path, class_to_idx[name]))
                    found.add(name)
    empty = sorted(set(class_to_idx) - found)
    if empty and not allow_empty:
        kinds = f" (extensions: {', '.join(extensions)})" if extensions is not None else ""
        raise FileNotFoundError(f"DatasetFolder: found no valid file for the classes "
                                f"{', '.join(empty)} in {directory}{kinds}")
    return samples


def pil_loader(path: str) -> np.ndarray:
    """The image file at ``path``, converted to RGB, as a uint8 array (H, W, 3) (Pillow)."""
    image = pil_image("ImageFolder's image loader")
    with open(path, "rb") as f:
        return np.array(image.open(f).convert("RGB"))


default_loader = pil_loader


class DatasetFolder(VisionDataset):
    """Samples ``(loader(path), class index)`` from ``root/<class>/.../<file>``.

    ``.classes``, ``.class_to_idx``, ``.samples`` ([(path, index)]) and ``.targets`` are
    torchvision's attributes.
    """

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: Sequence[str] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions,
                                         is_valid_file, allow_empty)
        self.loader, self.extensions = loader, extensions
        self.targets = [target for _, target in self.samples]

    @staticmethod
    def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        return find_classes(directory)

    @staticmethod
    def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                     extensions: Sequence[str] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        return self._transformed(self.loader(path), target)

    def __len__(self) -> int:
        return len(self.samples)


class ImageFolder(DatasetFolder):
    """``DatasetFolder`` of image files (``IMG_EXTENSIONS``), read by ``loader`` (default:
    Pillow, RGB, as a uint8 array (H, W, 3)); ``.imgs`` is ``.samples``."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        if loader is default_loader:
            pil_image("ImageFolder")  # fail now, not at the first sample
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
