"""CS231n's linear classifiers: scores ``s = W x + b`` with a softmax or a multiclass SVM loss.

Shapes: x (N, D) (or (N, *) flattened to D = in_features) -> scores (N, C); W (C, D), b (C,).
The two models differ only in the loss that trains them, averaged over the batch (y (N,) class
indices; ``s_j`` the scores of one example, ``s_y`` its correct class's):

* softmax (cross-entropy):  ``L = -log(exp(s_y) / sum_j exp(s_j)) = log sum_j exp(s_j) - s_y``;
* multiclass SVM (Weston-Watkins hinge, CS231n):  ``L = sum_{j != y} max(0, s_j - s_y + delta)``.

``nn.MultiMarginLoss`` / ``F.multi_margin_loss`` (PyTorch's) is the same hinge *divided by C*:
``svm_loss(s, y, delta) == C * F.multi_margin_loss(s, y, margin=delta)``.

Weights start tiny (``W ~ N(0, weight_scale^2)``, ``weight_scale = 1e-3`` as in the assignment,
b = 0), so all scores are ~0 and the first loss is known in closed form, the CS231n sanity
check: ``ln C`` for softmax (uniform probabilities), ``(C - 1) delta`` for the SVM (every wrong
class sits at the margin).
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs import Tensor, ops, randn

from .. import functional as F
from .. import init
from ..linear import Linear
from ..module import Module
from .registry import ZooEntry, register

__all__ = [
    "LinearSVM",
    "SoftmaxClassifier",
    "linear_svm",
    "softmax_classifier",
    "softmax_loss",
    "svm_loss",
]


def _labels(scores: Tensor, y, op: str) -> np.ndarray:
    y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
    if scores.ndim != 2 or y.shape != (scores.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"{op}: expected scores (N, C) and integer labels (N,), got scores "
                         f"{tuple(scores.shape)} and labels {y.shape} ({y.dtype})")
    if y.size and (y.min() < 0 or y.max() >= scores.shape[1]):
        raise IndexError(f"{op}: labels must lie in [0, {scores.shape[1]}), got "
                         f"{y.min()}..{y.max()}")
    return y.astype(np.int64)


def softmax_loss(scores: Tensor, y) -> Tensor:
    """Mean softmax cross-entropy ``log sum_j exp(s_j) - s_y`` of scores (N, C), labels (N,)."""
    y = _labels(scores, y, "softmax_loss")
    return F.cross_entropy(scores, y)


def svm_loss(scores: Tensor, y, delta: float = 1.0) -> Tensor:
    """Mean multiclass hinge ``sum_{j != y} max(0, s_j - s_y + delta)`` of scores (N, C)."""
    y = _labels(scores, y, "svm_loss")
    correct = ops.take_along_dim(scores, y[:, None], 1)                  # s_y, (N, 1)
    margins = ops.relu(scores - correct + delta)                         # (N, C)
    wrong = (np.arange(scores.shape[1]) != y[:, None]).astype(scores.dtype)  # drop j = y
    return ops.sum(margins * wrong) / scores.shape[0]


class _LinearClassifier(Module):
    def __init__(self, in_features: int, num_classes: int, weight_scale: float = 1e-3) -> None:
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        self.fc = Linear(in_features, num_classes)
        init.normal_(self.fc.weight, 0.0, weight_scale)
        init.zeros_(self.fc.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim > 2:
            input = input.flatten(1)
        if input.ndim != 2 or input.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected input (N, {self.in_features}) "
                             f"(or (N, *) with {self.in_features} features), got "
                             f"{tuple(input.shape)}")
        return self.fc(input)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}"


class SoftmaxClassifier(_LinearClassifier):
    """``SoftmaxClassifier(in_features, num_classes, weight_scale=1e-3)``: scores W x + b,
    trained with ``loss`` = ``softmax_loss`` (multinomial logistic regression)."""

    def loss(self, scores: Tensor, y) -> Tensor:
        return softmax_loss(scores, y)


class LinearSVM(_LinearClassifier):
    """``LinearSVM(in_features, num_classes, weight_scale=1e-3, delta=1.0)``: scores W x + b,
    trained with ``loss`` = ``svm_loss`` (margin ``delta``)."""

    def __init__(self, in_features: int, num_classes: int, weight_scale: float = 1e-3,
                 delta: float = 1.0) -> None:
        super().__init__(in_features, num_classes, weight_scale)
        self.delta = delta

    def loss(self, scores: Tensor, y) -> Tensor:
        return svm_loss(scores, y, self.delta)


def softmax_classifier(*, in_features: int = 64, num_classes: int = 10,
                       **kwargs) -> SoftmaxClassifier:
    """The zoo's "softmax" (defaults: digits, 64 features, 10 classes)."""
    return SoftmaxClassifier(in_features, num_classes, **kwargs)


def linear_svm(*, in_features: int = 64, num_classes: int = 10, **kwargs) -> LinearSVM:
    """The zoo's "svm" (defaults: digits, 64 features, 10 classes)."""
    return LinearSVM(in_features, num_classes, **kwargs)


def _tiny(build):
    def tiny():
        model = build(in_features=4, num_classes=3)
        return model, randn(4, 4)
    return tiny


register(ZooEntry("softmax", softmax_classifier, task="classify",
                  tiny=_tiny(softmax_classifier),
                  description="linear softmax classifier (CS231n), loss: cross-entropy"))
register(ZooEntry("svm", linear_svm, task="classify", tiny=_tiny(linear_svm),
                  description="linear multiclass SVM (CS231n), loss: sum of hinges, delta 1"))
