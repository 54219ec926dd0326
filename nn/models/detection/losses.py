"""Losses of the dense detectors: torchvision's ``sigmoid_focal_loss`` and SOLO's dice loss.

* ``sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none")`` (Lin et al.
  2017, RetinaNet; ``torchvision.ops.sigmoid_focal_loss``): for logits x and binary targets
  t (same shape), p = sigmoid(x), ``ce = BCE-with-logits(x, t)``,
  ``p_t = p t + (1 - p)(1 - t)``, ``alpha_t = alpha t + (1 - alpha)(1 - t)`` and

      loss = alpha_t * (1 - p_t)^gamma * ce          (alpha < 0 drops the alpha_t factor)

  elementwise; ``reduction`` "none" | "mean" | "sum" as torchvision.

* ``dice_loss(inputs, targets, eps=1e-6)`` (Milletari et al. 2016, as SOLO uses it): for
  mask probabilities p (P, *) and targets q (P, *) of the same shape, per mask k

      D_k = 2 sum(p_k q_k) / (sum(p_k^2) + sum(q_k^2) + eps),      loss_k = 1 - D_k

  sums over all but the first dim; returns ``(P,)``. D is 1 for p = q binary and 0 for
  disjoint masks; ``eps`` only keeps an empty pair finite (loss 1).

Both are compositions of Tensor ops, so their gradients (and second derivatives) come from
those.
"""
from __future__ import annotations

from tinygrad_cs.tensor import Tensor

from ... import functional as F

__all__ = ["dice_loss", "sigmoid_focal_loss"]


def _check_same(op: str, inputs: Tensor, targets: Tensor) -> None:
    if tuple(inputs.shape) != tuple(targets.shape):
        raise ValueError(f"{op}: inputs and targets must have one shape, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25,
                       gamma: float = 2.0, reduction: str = "none") -> Tensor:
    """Focal loss of logits ``inputs`` against binary ``targets`` (any one shape): see the
    module docstring. ``reduction="none"`` keeps the shape; "mean" / "sum" give a scalar."""
    op = "sigmoid_focal_loss"
    _check_same(op, inputs, targets)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: Invalid Value for arg 'reduction': '{reduction}'; "
                         "Supported reduction modes: 'none', 'mean', 'sum'")
    targets = targets.to(inputs.dtype)
    p = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def dice_loss(inputs: Tensor, targets: Tensor, eps: float = 1e-6) -> Tensor:
    """``1 - 2 sum(p q) / (sum(p^2) + sum(q^2) + eps)`` per mask: inputs (probabilities) and
    targets (P, *) -> (P,). See the module docstring."""
    op = "dice_loss"
    _check_same(op, inputs, targets)
    if inputs.ndim < 1:
        raise ValueError(f"dice_loss: expected masks (P, *), got shape {tuple(inputs.shape)}")
    p = inputs.reshape(inputs.shape[0], -1)
    q = targets.to(inputs.dtype).reshape(targets.shape[0], -1)
    overlap = (p * q).sum(dim=1)
    norms = (p * p).sum(dim=1) + (q * q).sum(dim=1)
    return 1 - 2 * overlap / (norms + eps)
