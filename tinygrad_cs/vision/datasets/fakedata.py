"""``FakeData``: random images with random labels, as torchvision's, for trying a pipeline
without any data on disk."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` samples ``(image, label)``: image ``i`` is uniform uint8 noise of
    ``image_size = (C, H, W)``, as an array (H, W, C) ((H, W) for one channel, as the other
    data sets' images), and its label uniform in ``[0, num_classes)``, both drawn from a
    generator seeded with ``i + random_offset``, so a sample is the same on every call and
    the global generator is untouched (torchvision draws Gaussian noise from torch's
    generator, so the pixel values differ)."""

    def __init__(self, size: int = 1000, image_size: Sequence[int] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        if int(size) < 0 or int(num_classes) < 1 or len(image_size) != 3 \
                or min(image_size) < 1:
            raise ValueError(f"FakeData: need size >= 0, num_classes >= 1 and image_size "
                             f"(C, H, W) of positive sizes, got size={size}, "
                             f"num_classes={num_classes}, image_size={tuple(image_size)}")
        self.size, self.num_classes = int(size), int(num_classes)
        self.image_size, self.random_offset = tuple(int(s) for s in image_size), random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData: index {index} out of range for {self.size} samples")
        index %= self.size
        rng = np.random.default_rng(index + self.random_offset)
        channels, height, width = self.image_size
        img = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
        target = int(rng.integers(self.num_classes))
        return self._transformed(img[:, :, 0] if channels == 1 else img, target)

    def __len__(self) -> int:
        return self.size
