"""``VisionDataset``: the base of the vision data sets (root folder, transforms, repr), and the
errors they raise for files that are not there.

Nothing is ever downloaded: a set reads torchvision's folder layout under ``root`` and, when a
file is missing, says which files to put in which folder. ``download=True`` is accepted, as
torchvision code passes it by habit, and is a no-op when the files are there (as torchvision's
is once they were downloaded); without them it raises the same error, saying so.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinygrad_cs.data.dataset import Dataset

__all__ = ["StandardTransform", "VisionDataset", "find_file", "missing_files"]


class StandardTransform:
    """``(img, target) -> (transform(img), target_transform(target))``, either one optional."""

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.transform, self.target_transform = transform, target_transform

    def __call__(self, img: Any, target: Any) -> tuple[Any, Any]:
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        parts = [f"{name}: {t!r}" for name, t in (("Transform", self.transform),
                                                   ("Target transform", self.target_transform))
                 if t is not None]
        return "\n".join(parts)


class VisionDataset(Dataset):
    """A data set of images under ``root``, as ``torchvision.datasets.VisionDataset``.

    ``transforms`` maps ``(image, target)`` jointly; or ``transform`` maps the image and
    ``target_transform`` the target (not both kinds). Subclasses define ``__getitem__`` and
    ``__len__`` and end ``__getitem__`` with ``self.transforms(img, target)`` when it is set.
    """

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike | None = None, transforms: Callable | None = None,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError(f"{type(self).__name__}: only transforms or transform/"
                             f"target_transform can be passed as argument")
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.transform, self.target_transform = transform, target_transform
        if transform is not None or target_transform is not None:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def _transformed(self, img: Any, target: Any) -> tuple[Any, Any]:
        return (img, target) if self.transforms is None else self.transforms(img, target)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body += repr(self.transforms).splitlines()
        return "\n".join([f"Dataset {type(self).__name__}"]
                         + [" " * self._repr_indent + line for line in body])


def find_file(folder: Path, name: str) -> Path | None:
    """``folder / name``, else ``folder / (name + ".gz")``, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_files(dataset: str, folders: Sequence[Path], files: Sequence[str],
                  download: bool, note: str = "") -> FileNotFoundError:
    """The error for a data set whose ``files`` are in none of ``folders`` (the first is
    where they belong)."""
    where = " or ".join(str(f) for f in folders)
    wanted = ", ".join(files)
    lead = (f"{dataset}: download=True, but tinygrad_cs never downloads anything"
            if download else f"{dataset}: data set not found")
    return FileNotFoundError(f"{lead}. Put {wanted} (torchvision's layout) in {folders[0]}"
                             f"{note}; looked in {where}")
