"""``AnchorGenerator``: the anchor boxes of a Faster R-CNN-style detector, as torchvision's.

For feature-map level l with sizes ``s`` and aspect ratios ``r`` (ratio = height / width),
the cell (base) anchors are zero-centred boxes, one per (ratio, size) pair, ratio-major:

    h_ratio = sqrt(r), w_ratio = 1 / h_ratio, w = w_ratio * s, h = h_ratio * s
    base    = round((-w, -h, w, h) / 2)          (round half to even, in float32)

A level of grid (H_l, W_l) in an image batch of size (H, W) has strides
``(H // H_l, W // W_l)``; its anchors are every base anchor shifted to every grid point
``(x, y) = (j * stride_w, i * stride_h)``, ordered by row i, then column j, then base anchor:
shape (H_l * W_l * A_l, 4) in xyxy, in the feature maps' dtype. ``forward`` concatenates the levels and returns the
same anchors once per image.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs.tensor import Tensor

from ...module import Module

__all__ = ["AnchorGenerator"]


class AnchorGenerator(Module):
    """Anchors over feature maps: ``sizes[l]`` x ``aspect_ratios[l]`` per location of level l.

    Args:
        sizes: one tuple of sizes (pixels) per feature map, e.g. ``((32,), (64,), (128,))``.
        aspect_ratios: one tuple of height / width ratios per feature map.
    """

    def __init__(self, sizes: Sequence = ((128, 256, 512),),
                 aspect_ratios: Sequence = ((0.5, 1.0, 2.0),)) -> None:
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        if not isinstance(aspect_ratios[0], (list, tuple)):
            aspect_ratios = (aspect_ratios,) * len(sizes)
        if len(sizes) != len(aspect_ratios):
            raise ValueError(f"AnchorGenerator: sizes and aspect_ratios need one entry per "
                             f"feature map, got {len(sizes)} and {len(aspect_ratios)}")
        self.sizes = sizes
        self.aspect_ratios = aspect_ratios
        self.cell_anchors = [self.generate_anchors(s, r) for s, r in zip(sizes, aspect_ratios)]

    @staticmethod
    def generate_anchors(scales: Sequence[float], aspect_ratios: Sequence[float],
                         dtype=np.float32) -> Tensor:
        """The zero-centred base anchors (len(ratios) * len(scales), 4) of one level."""
        scales = np.asarray(scales, dtype=dtype)
        ratios = np.asarray(aspect_ratios, dtype=dtype)
        h_ratios = np.sqrt(ratios)
        w_ratios = 1 / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
        return Tensor(np.round(np.stack([-ws, -hs, ws, hs], axis=1) / 2).astype(dtype))

    def num_anchors_per_location(self) -> list[int]:
        """A_l = len(sizes[l]) * len(aspect_ratios[l]) for each level."""
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_sizes: Sequence[Sequence[int]],
                     strides: Sequence[Sequence[int]], dtype=np.float32) -> list[Tensor]:
        """Per level: the anchors (H_l * W_l * A_l, 4) of a grid with the given strides."""
        if not len(grid_sizes) == len(strides) == len(self.cell_anchors):
            raise ValueError(f"AnchorGenerator: {len(grid_sizes)} feature maps for "
                             f"{len(self.cell_anchors)} levels of sizes / aspect ratios; "
                             f"they must match")
        anchors = []
        for (gh, gw), (sh, sw), cell in zip(grid_sizes, strides, self.cell_anchors):
            base = cell.numpy().astype(dtype)  # made in float32, then cast, as torchvision
            shift_y, shift_x = np.meshgrid(np.arange(gh) * sh, np.arange(gw) * sw,
                                           indexing="ij")
            sx, sy = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = np.stack([sx, sy, sx, sy], axis=1).astype(dtype)
            anchors.append(Tensor((shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)))
        return anchors

    def forward(self, image_list, feature_maps: Sequence[Tensor]) -> list[Tensor]:
        """Anchors (sum_l H_l W_l A_l, 4) for each image of ``image_list``.

        ``image_list``: torchvision's ``ImageList`` (``.tensors`` (B, C, H, W) padded batch,
        ``.image_sizes``) or any object with those two attributes; ``feature_maps``: one
        (B, C_l, H_l, W_l) Tensor per level. Anchors take the feature maps' dtype.
        """
        images = image_list.tensors
        height, width = images.shape[-2:]
        dtype = feature_maps[0].dtype if feature_maps else np.float32
        grids = [tuple(f.shape[-2:]) for f in feature_maps]
        strides = [(height // gh, width // gw) for gh, gw in grids]
        levels = self.grid_anchors(grids, strides, dtype)
        joined = np.concatenate([a.numpy() for a in levels]) if levels else np.zeros((0, 4))
        return [Tensor(joined.copy()) for _ in range(len(image_list.image_sizes))]
