"""Matrix NMS (Wang et al. 2020, SOLOv2 section 4.2): every mask's score decays in parallel.

Greedy NMS removes a mask that overlaps a better one; soft-NMS decays it, but one mask at a
time. Matrix NMS decays all scores at once from the pairwise IoU matrix. With the masks sorted
by score (s_1 >= s_2 >= ...), IoU_ij the mask IoU of i and j (counted only for i < j and, by
default, the same label), and ``cmax_i = max_{k < i} IoU_ki`` the most that mask i is itself
covered by a better mask,

    decay_j = min_{i < j} f(IoU_ij) / f(cmax_i),        s_j <- s_j * decay_j

so a better mask i suppresses j only as far as i is not already suppressed itself (the
division by f(cmax_i) compensates). The decay functions:

    gaussian:  f(iou) = exp(-sigma * iou^2)     (the official code's form; the paper's
                                                 pseudo-code writes exp(-iou^2 / sigma'), sigma' = 1 / sigma)
    linear:    f(iou) = 1 - iou

The whole computation is a handful of (N, N) array operations: no loop over masks. The best
mask always keeps its score (decay 1); every decay is in [0, 1].
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs.tensor import Tensor

__all__ = ["matrix_nms"]


def _array(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def matrix_nms(masks, scores, labels=None, kernel: str = "gaussian", sigma: float = 2.0
               ) -> np.ndarray:
    """Decayed scores ``(N,)`` float64, in the input's order, of masks ``(N, H, W)`` (binary:
    nonzero = inside) with ``scores (N,)`` and optional ``labels (N,)`` (masks of different
    labels never decay each other). ``kernel``: "gaussian" (with ``sigma``) or "linear".
    Ties in score: the lower index counts as the better mask (a stable sort)."""
    m, s = _array(masks), _array(scores).astype(np.float64)
    if m.ndim != 3 or s.shape != (m.shape[0],):
        raise ValueError(f"matrix_nms: expected masks (N, H, W) and scores (N,), got shapes "
                         f"{m.shape} and {s.shape}")
    if kernel not in ("gaussian", "linear"):
        raise ValueError(f"matrix_nms: kernel must be 'gaussian' or 'linear', got {kernel!r}")
    n = len(s)
    if n == 0:
        return s
    order = np.argsort(-s, kind="stable")
    flat = (m[order].reshape(n, -1) != 0).astype(np.float64)
    inter = flat @ flat.T
    areas = flat.sum(axis=1)
    union = areas[:, None] + areas[None, :] - inter
    iou = np.triu(np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), k=1)
    if labels is not None:
        lab = _array(labels).reshape(-1)
        if lab.shape != (n,):
            raise ValueError(f"matrix_nms: labels must be (N,) = ({n},), got {lab.shape}")
        lab = lab[order]
        iou = iou * (lab[:, None] == lab[None, :])
    cmax = iou.max(axis=0)[:, None]           # row i: how much mask i is covered itself
    if kernel == "gaussian":
        decay = np.exp(-sigma * (iou ** 2 - cmax ** 2))
    else:
        # cmax_i == 1: mask i duplicates a better one; (1 - iou) / (1 - cmax) -> infinity as
        # cmax -> 1, i.e. i suppresses nothing, so its quotients are taken as 1
        decay = np.divide(1 - iou, 1 - cmax, out=np.ones_like(iou), where=cmax < 1)
    out = np.empty(n)
    out[order] = s[order] * decay.min(axis=0)      # row 0 alone already gives <= 1
    return out
