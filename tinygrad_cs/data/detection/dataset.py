"""``DetectionDataset`` and ``detection_collate``: detection samples as torchvision's detection
data sets and models exchange them.

A sample is ``(image, target)``: ``image`` a ``(3, H, W)`` float32 Tensor in [0, 1], ``target``
a dict of Tensors ``{"boxes": (n, 4) float32 (x1, y1, x2, y2) pixel edges, "labels": (n,)
int64 in 1..K (0 is the background), "masks": (n, H, W) uint8}`` plus ``"image_id"`` (int64).
Images of one batch may differ in size and in their number of objects, so a batch is a list of
images and a list of targets (torchvision's references: ``collate_fn=lambda b:
tuple(zip(*b))``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset

__all__ = ["DetectionDataset", "detection_collate"]

_FIELDS = {"boxes": np.float32, "labels": np.int64, "masks": np.uint8}


def _check_target(target: dict, index: int, height: int, width: int) -> None:
    n = len(np.asarray(target["labels"]))
    boxes = np.asarray(target["boxes"])
    if boxes.shape != (n, 4):
        raise ValueError(f"DetectionDataset: target {index} has {n} labels but boxes of shape "
                         f"{boxes.shape} (expected ({n}, 4))")
    if "masks" in target and np.asarray(target["masks"]).shape != (n, height, width):
        raise ValueError(f"DetectionDataset: target {index} has masks of shape "
                         f"{np.asarray(target['masks']).shape}, expected ({n}, {height}, "
                         f"{width})")


class DetectionDataset(Dataset):
    """Images with boxes, labels and (optionally) instance masks.

    Args:
        images: ``(N, 3, H, W)`` uint8 (divided by 255) or float (taken as they are) array.
        targets: N dicts of arrays with ``"boxes"`` (n, 4), ``"labels"`` (n,) and optionally
            ``"masks"`` (n, H, W).
        classes: the class names, index = label (``classes[0]`` is the background).
        transforms: ``(image, target) -> (image, target)`` applied to each sample (e.g. a
            ``Compose`` of the detection augmentations), as torchvision's ``transforms=``.
    """

    def __init__(self, images: np.ndarray, targets: Sequence[dict], classes: Sequence[str] = (),
                 transforms: Callable | None = None) -> None:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1] != 3 or len(images) != len(targets):
            raise ValueError(f"DetectionDataset: expected images (N, 3, H, W) and N targets, got "
                             f"shape {images.shape} and {len(targets)} targets")
        for i, target in enumerate(targets):
            missing = {"boxes", "labels"} - set(target)
            if missing:
                raise ValueError(f"DetectionDataset: target {i} lacks {sorted(missing)}")
            _check_target(target, i, *images.shape[2:])
        self.images, self.targets = images, list(targets)
        self.classes, self.transforms = tuple(classes), transforms

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"DetectionDataset: index {index} is out of range for length {n}")
        index %= n
        image = self.images[index]
        image = (image.astype(np.float32) / np.float32(255) if image.dtype == np.uint8
                 else image.astype(np.float32))
        target = {k: Tensor(np.array(v, dtype=_FIELDS[k])) if k in _FIELDS else
                  Tensor(np.array(v)) for k, v in self.targets[index].items()}
        target["image_id"] = Tensor(np.array(index, dtype=np.int64))
        sample = Tensor(image), target
        return sample if self.transforms is None else self.transforms(*sample)


def detection_collate(batch: Sequence[tuple[Any, dict]], stack: bool = False
                      ) -> tuple[Any, list[dict]]:
    """``[(image_i, target_i)] -> (images, targets)``: ``images`` a list (as torchvision's
    detection models take them) or, with ``stack=True``, one ``(B, 3, H, W)`` Tensor (all
    images must then have one size); ``targets`` a list of the target dicts. Use
    ``DataLoader(..., collate_fn=detection_collate)`` (``functools.partial`` for ``stack``)."""
    images = [image for image, _ in batch]
    targets = [target for _, target in batch]
    if not stack:
        return images, targets
    arrays = [image.numpy() if isinstance(image, Tensor) else np.asarray(image)
              for image in images]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"detection_collate: stack=True needs images of one shape, got "
                         f"{sorted(shapes)}")
    return Tensor(np.stack(arrays)), targets
