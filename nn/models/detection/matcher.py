"""``Matcher`` and ``BalancedPositiveNegativeSampler``, as torchvision's detection utils.

``Matcher(high, low, allow_low_quality_matches)`` assigns each prediction (a column of the
(M ground truths, N predictions) quality matrix, e.g. IoUs) the ground truth of highest
quality (the first one on a tie), or a negative code:

    quality >= high           -> the ground truth's index m in [0, M)
    low <= quality < high     -> BETWEEN_THRESHOLDS = -2
    quality < low             -> BELOW_LOW_THRESHOLD = -1

With ``allow_low_quality_matches``, every prediction that reaches some ground truth's
highest quality (ties included) gets back its best match even below ``high``: every
ground truth then keeps at least one prediction (Faster R-CNN's RPN rule).

``BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction)`` picks, per
image, at most ``int(batch_size_per_image * positive_fraction)`` positives (matched index
>= 1; torchvision's convention after labels are shifted) and fills the rest of the batch
with negatives (== 0), uniformly at random from the engine's generator (``tg.manual_seed``
fixes the draw), and returns them as two uint8 masks per image. Both work on numpy inside
and return Tensors: they are bookkeeping, not nodes of the graph.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs.random import generator
from tinygrad_cs.tensor import Tensor

__all__ = ["BalancedPositiveNegativeSampler", "Matcher"]


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


class Matcher:
    """Matches predictions to ground truths by a quality matrix (module docstring)."""

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float,
                 allow_low_quality_matches: bool = False) -> None:
        if low_threshold > high_threshold:
            raise ValueError(f"Matcher: low_threshold ({low_threshold}) must be <= "
                             f"high_threshold ({high_threshold})")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix: Tensor) -> Tensor:
        """Matches (N,) int64 for a quality matrix (M ground truths, N predictions)."""
        quality = _numpy(match_quality_matrix)
        if quality.ndim != 2:
            raise ValueError(f"Matcher: match_quality_matrix must be (M, N), got shape "
                             f"{quality.shape}")
        if quality.size == 0:  # torchvision's messages: nothing to train on
            if quality.shape[0] == 0:
                raise ValueError("Matcher: no ground-truth boxes available for one of the "
                                 f"images during training (quality matrix {quality.shape})")
            raise ValueError("Matcher: no proposal boxes available for one of the images "
                             f"during training (quality matrix {quality.shape})")
        best = quality.argmax(axis=0)                       # first maximum, as torch.max
        best_quality = quality[best, np.arange(quality.shape[1])]
        matches = best.astype(np.int64)
        matches[best_quality < self.low_threshold] = self.BELOW_LOW_THRESHOLD
        between = (best_quality >= self.low_threshold) & (best_quality < self.high_threshold)
        matches[between] = self.BETWEEN_THRESHOLDS
        if self.allow_low_quality_matches:
            highest_per_gt = quality.max(axis=1)
            _, preds = np.nonzero(quality == highest_per_gt[:, None])
            matches[preds] = best[preds]
        return Tensor(matches)


class BalancedPositiveNegativeSampler:
    """Samples a fixed fraction of positives per image (module docstring)."""

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction

    def __call__(self, matched_idxs: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """(positive masks, negative masks): one uint8 mask per image, the shape of
        ``matched_idxs[i]`` (-1 / -2 ignored, 0 negative, >= 1 positive)."""
        rng = generator()
        pos_masks, neg_masks = [], []
        for matched in matched_idxs:
            m = _numpy(matched)
            positive, negative = np.flatnonzero(m >= 1), np.flatnonzero(m == 0)
            num_pos = min(len(positive), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(len(negative), self.batch_size_per_image - num_pos)
            chosen_pos = positive[rng.permutation(len(positive))[:num_pos]]
            chosen_neg = negative[rng.permutation(len(negative))[:num_neg]]
            pos, neg = np.zeros(m.shape, np.uint8), np.zeros(m.shape, np.uint8)
            pos.reshape(-1)[chosen_pos] = 1
            neg.reshape(-1)[chosen_neg] = 1
            pos_masks.append(Tensor(pos))
            neg_masks.append(Tensor(neg))
        return pos_masks, neg_masks
