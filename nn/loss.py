"""Loss modules, as ``torch.nn``: each holds its options and calls its functional form.

``loss = nn.CrossEntropyLoss()(scores, labels)``; the formulas, shapes and reductions are in
``nn.functional_losses``. Class weights (``weight``) and ``pos_weight`` are registered as
buffers, as in PyTorch, so they appear in ``state_dict`` and follow ``.to(dtype)``.
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import Tensor

from . import functional_losses as F
from ._checks import tensor_input
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss",
           "L1Loss", "MSELoss", "MultiMarginLoss", "NLLLoss", "SmoothL1Loss"]


def _as_buffer(value: Any) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value.numpy() if isinstance(value, Tensor) else value)


class _Loss(Module):
    """Base: ``reduction`` ('mean' | 'sum' | 'none'), or the legacy size_average / reduce."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = F._reduction(reduction, size_average, reduce,
                                     F._REDUCTIONS + ("batchmean",))
        self.reduction = reduction


def _tensors(loss: _Loss, input: Any, target: Any) -> None:
    """A loss module's input is a Tensor, as PyTorch's. (PyTorch refuses a raw numpy target
    too; targets are still accepted here, as data rather than a graph input.)"""
    tensor_input(loss, input)


class _WeightedLoss(_Loss):
    """Base of the losses with a per-class ``weight`` buffer."""

    def __init__(self, weight: Any = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight))


class CrossEntropyLoss(_WeightedLoss):
    """``CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction='mean', label_smoothing=0.0)``: scores (N, C, ...) vs indices or probabilities."""

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """``NLLLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction='mean')``: log-probabilities (N, C, ...) vs class indices."""

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """``MultiMarginLoss(p=1, margin=1.0, weight=None, size_average=None, reduce=None,
    reduction='mean')``: the multiclass SVM hinge loss (divided by C, as PyTorch)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, size_average=None,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class MSELoss(_Loss):
    """``MSELoss(size_average=None, reduce=None, reduction='mean')``: (x - y)^2."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``L1Loss(size_average=None, reduce=None, reduction='mean')``: |x - y|."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``SmoothL1Loss(size_average=None, reduce=None, reduction='mean', beta=1.0)``."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``HuberLoss(reduction='mean', delta=1.0)``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """``BCELoss(weight=None, size_average=None, reduce=None, reduction='mean')``:
    probabilities in [0, 1] vs targets; ``weight`` broadcasts to the input."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction='mean',
    pos_weight=None)``: scores vs targets, sigmoid folded in (stable)."""

    def __init__(self, weight: Any = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """``KLDivLoss(size_average=None, reduce=None, reduction='mean', log_target=False)``:
    log-probabilities vs probabilities (or log-probabilities); use reduction='batchmean'."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _tensors(self, input, target)
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
