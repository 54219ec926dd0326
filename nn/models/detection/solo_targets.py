"""SOLO's target assignment: which grid cells own which instance (Wang et al. 2020, sec. 3.2).

The image is divided into an S x S grid. An instance with mask M (H, W), centre of mass
``(cx, cy)`` (pixel centres at ``x + 0.5``) and mask box of width w and height h is assigned to
the cells that its *centre region* touches: the box of half-size ``(sigma w / 2, sigma h / 2)``
around the centre of mass (sigma = 0.2 in the paper), in grid coordinates

    top   = max(floor((cy - sigma h / 2) S / H), row - 1)      row = floor(cy S / H)
    down  = min(floor((cy + sigma h / 2) S / H), row + 1)      (left / right alike with x, W)

so at most 3 x 3 cells around the centre's own cell (the official code's clamp). Each owned cell
gets the instance's label (its category target) and the instance's mask, average-pooled to the
mask branch's resolution ``(H / r, W / r)`` (a soft target in [0, 1]), as its mask target.
Where regions of two instances overlap, the smaller instance (fewer mask pixels) wins: its
centre region is all it has. Everything is vectorised over instances (no loop per object).
"""
from __future__ import annotations

import numpy as np

__all__ = ["solo_targets"]


def _centre_regions(masks: np.ndarray, grid: int, sigma: float) -> np.ndarray:
    """(n, S, S) bool: the cells each instance's centre region touches (module docstring)."""
    _, height, width = masks.shape
    area = masks.sum(axis=(1, 2))
    rows, cols = masks.any(axis=2), masks.any(axis=1)                 # (n, H), (n, W)
    idx_y, idx_x = np.arange(height), np.arange(width)
    cy = (masks.sum(axis=2) * (idx_y + 0.5)).sum(axis=1) / area
    cx = (masks.sum(axis=1) * (idx_x + 0.5)).sum(axis=1) / area
    h = np.where(rows, idx_y, -1).max(axis=1) + 1 - np.where(rows, idx_y, height).min(axis=1)
    w = np.where(cols, idx_x, -1).max(axis=1) + 1 - np.where(cols, idx_x, width).min(axis=1)
    row, col = np.floor(cy * grid / height), np.floor(cx * grid / width)
    top = np.maximum(np.floor((cy - sigma * h / 2) * grid / height), np.maximum(row - 1, 0))
    down = np.minimum(np.floor((cy + sigma * h / 2) * grid / height), np.minimum(row + 1, grid - 1))
    left = np.maximum(np.floor((cx - sigma * w / 2) * grid / width), np.maximum(col - 1, 0))
    right = np.minimum(np.floor((cx + sigma * w / 2) * grid / width), np.minimum(col + 1, grid - 1))
    cells = np.arange(grid)
    in_rows = (cells >= top[:, None]) & (cells <= down[:, None])        # (n, S)
    in_cols = (cells >= left[:, None]) & (cells <= right[:, None])
    return in_rows[:, :, None] & in_cols[:, None, :]


def solo_targets(masks: np.ndarray, labels: np.ndarray, grid: int, stride: int = 1,
                 sigma: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's targets.

    Args:
        masks: (n, H, W) instance masks (nonzero = inside); empty masks are ignored.
        labels: (n,) int labels in 1..K.
        grid: S; stride: r, the mask branch's downsampling (H and W divisible by r).
    Returns:
        ``category`` (S * S,) int64 label per cell (row-major, 0 = background),
        ``positive`` (P,) int64 the owned cells' flat indices ``row * S + col``, increasing,
        ``mask`` (P, H / r, W / r) float32 the owning instance's pooled mask per positive cell.
    """
    masks, labels = np.asarray(masks) != 0, np.asarray(labels).reshape(-1)
    if masks.ndim != 3 or len(masks) != len(labels):
        raise ValueError(f"solo_targets: expected masks (n, H, W) and labels (n,), got shapes "
                         f"{masks.shape} and {labels.shape}")
    height, width = masks.shape[1:]
    if height % stride or width % stride:
        raise ValueError(f"solo_targets: mask size {(height, width)} is not divisible by the "
                         f"stride {stride}")
    category = np.zeros(grid * grid, dtype=np.int64)
    area = masks.sum(axis=(1, 2))
    present = np.flatnonzero(area > 0)
    if not len(present):
        return category, np.zeros(0, np.int64), np.zeros((0, height // stride, width // stride),
                                                          np.float32)
    order = present[np.argsort(-area[present], kind="stable")]       # large first, small last
    regions = _centre_regions(masks[order], grid, sigma).reshape(len(order), -1)
    positive = np.flatnonzero(regions.any(axis=0))
    last = len(order) - 1 - np.argmax(regions[::-1, positive], axis=0)   # the last one wins
    owner = order[last]
    category[positive] = labels[owner]
    pooled = masks[owner].reshape(len(owner), height // stride, stride, width // stride, stride)
    return category, positive.astype(np.int64), pooled.mean(axis=(2, 4), dtype=np.float32)
