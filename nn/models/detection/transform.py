"""``ImageList`` and ``GeneralizedRCNNTransform``: how a two-stage detector takes its images.

torchvision's transform normalises each image, resizes it (shorter side to ``min_size``) and
pads the batch to one size. The images here are small (64x64 or 128x128 shapes) and the
anchors are chosen for their pixel sizes, so this transform does not resize:

    image'   = (image - mean[c]) / std[c]                      per channel c
    batch    = zero-padded (bottom and right) to (N, 3, H_max, W_max), both rounded up to a
               multiple of ``size_divisible``

``images`` may be a stacked Tensor (N, 3, H, W) or a list of (3, H, W) Tensors (sizes may
differ); ``image_sizes`` keeps each image's own (H, W), which the detector clips its boxes to.
Boxes stay in input pixels, so no post-processing is needed. Targets are checked (boxes
(n, 4) with x2 > x1 and y2 > y1, labels (n,)) and their boxes cast to the images' dtype.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.tensor import Tensor

from ...module import Module

__all__ = ["GeneralizedRCNNTransform", "ImageList"]


class ImageList:
    """A padded batch ``tensors`` (N, C, H, W) and the true ``image_sizes`` [(H_i, W_i)]."""

    def __init__(self, tensors: Tensor, image_sizes: list[tuple[int, int]]) -> None:
        self.tensors = tensors
        self.image_sizes = image_sizes


def _array(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _check_targets(op: str, targets: Sequence[dict], n: int, dtype) -> list[dict]:
    if len(targets) != n:
        raise ValueError(f"{op}: {n} images but {len(targets)} targets")
    checked = []
    for i, t in enumerate(targets):
        if not isinstance(t, dict) or "boxes" not in t or "labels" not in t:
            raise ValueError(f"{op}: target {i} must be a dict with 'boxes' and 'labels'")
        boxes, labels = _array(t["boxes"]), _array(t["labels"])
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4 or labels.shape != (len(boxes),):
            raise ValueError(f"{op}: target {i} needs boxes (n, 4) and labels (n,), got "
                             f"{boxes.shape} and {labels.shape}")
        bad = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
        if len(bad):
            raise ValueError(f"{op}: all bounding boxes should have positive height and "
                             f"width; target {i} has box {boxes[bad[0]].tolist()}")
        out = dict(t)
        out["boxes"] = Tensor(boxes.astype(dtype))
        out["labels"] = Tensor(labels.astype(np.int64))
        checked.append(out)
    return checked


class GeneralizedRCNNTransform(Module):
    """``GeneralizedRCNNTransform(image_mean, image_std, size_divisible=32)``: normalise and
    batch (module docstring). ``forward(images, targets=None) -> (ImageList, targets)``."""

    def __init__(self, image_mean: Sequence[float], image_std: Sequence[float],
                 size_divisible: int = 32) -> None:
        super().__init__()
        self.image_mean = tuple(float(m) for m in image_mean)
        self.image_std = tuple(float(s) for s in image_std)
        self.size_divisible = size_divisible

    def forward(self, images, targets: Sequence[dict] | None = None
                ) -> tuple[ImageList, list[dict] | None]:
        op = type(self).__name__
        if isinstance(images, Tensor):
            if images.dim() != 4:
                raise ValueError(f"{op}: images must be (N, C, H, W) or a list of (C, H, W), "
                                 f"got shape {tuple(images.shape)}")
            images = list(images.unbind(0)) if not self._same_grid(images) else images
        else:
            images = list(images)
            if not images or any(i.dim() != 3 for i in images):
                raise ValueError(f"{op}: a list of images must hold (C, H, W) Tensors, got "
                                 f"{[tuple(i.shape) for i in images]}")
        sizes = ([tuple(images.shape[-2:])] * len(images) if isinstance(images, Tensor)
                 else [tuple(i.shape[-2:]) for i in images])
        channels = images.shape[1] if isinstance(images, Tensor) else images[0].shape[0]
        if channels != len(self.image_mean):
            raise ValueError(f"{op}: images have {channels} channels, image_mean has "
                             f"{len(self.image_mean)}")
        dtype = images.dtype if isinstance(images, Tensor) else images[0].dtype
        mean = Tensor(np.asarray(self.image_mean, dtype=dtype).reshape(-1, 1, 1))
        std = Tensor(np.asarray(self.image_std, dtype=dtype).reshape(-1, 1, 1))
        if isinstance(images, Tensor):
            batch = (images - mean) / std
        else:
            batch = self._pad([(i - mean) / std for i in images], sizes)
        if targets is not None:
            targets = _check_targets(op, targets, len(sizes), dtype)
        return ImageList(batch, [(int(h), int(w)) for h, w in sizes]), targets

    def _same_grid(self, images: Tensor) -> bool:
        """A stacked batch needs no padding when its size is a multiple already."""
        d = self.size_divisible
        return all(s % d == 0 for s in images.shape[-2:])

    def _pad(self, images: list[Tensor], sizes: list[tuple[int, int]]) -> Tensor:
        d = self.size_divisible
        height = -(-max(h for h, _ in sizes) // d) * d
        width = -(-max(w for _, w in sizes) // d) * d
        rows = [ops.pad(i, (0, width - w, 0, height - h)) for i, (h, w) in zip(images, sizes)]
        return ops.stack(rows, 0)

    def extra_repr(self) -> str:
        return (f"image_mean={self.image_mean}, image_std={self.image_std}, "
                f"size_divisible={self.size_divisible}")
