"""Rosenblatt's perceptron (1958), twice: one on scalar ``Value``s, one as a tensor ``Module``.

Both compute the score ``s = w . x + b`` and predict ``sign(s)`` as a label in {-1, +1}
(``+1`` when ``s > 0``, else ``-1``, as scikit-learn's ``Perceptron``). The classic learning
rule visits one example ``(x, y)`` at a time and corrects only mistakes::

    if y * (w . x + b) <= 0:      # wrong side of the boundary (or on it)
        w <- w + lr * y * x
        b <- b + lr * y

Convergence theorem (Novikoff 1962): started from ``w = 0, b = 0``, on data separated by a
unit vector ``u = (w*, b*)`` with margin ``gamma = min_i y_i u . (x_i, 1)``, the rule makes at
most ``(R / gamma)^2`` mistakes, ``R = max_i ||(x_i, 1)||``, whatever the order and ``lr``.
Hence both perceptrons start from zero weights, not from a random init.

The same rule is stochastic (sub)gradient descent with batch size 1 on the *perceptron
criterion* ``max(0, -y s)`` (``hinge_loss(..., margin=0)``); with ``margin=1`` it is the
linear SVM's hinge loss, which keeps pushing until every example has ``y s >= 1``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_cs import Tensor, dtypes, no_grad, ops, randn
from tinygrad_cs.ops.linalg import linear
from tinygrad_cs.value import Value

from ..module import Module
from ..parameter import Parameter
from ..scalar import ScalarModule
from .registry import ZooEntry, register

__all__ = ["Perceptron", "ScalarPerceptron", "hinge_loss", "perceptron"]


class ScalarPerceptron(ScalarModule):
    """A perceptron made of scalars: ``nin`` weights and a bias, each one ``tg.Value``.

    ``p(x)`` is the score ``w . x + b`` (a Value in the graph, so it can be backpropagated
    through); ``predict(x)`` its sign in {-1, +1}; ``update(x, y)`` the learning rule.
    """

    def __init__(self, nin: int) -> None:
        self.w = [Value(0.0) for _ in range(nin)]
        self.b = Value(0.0)

    def __call__(self, x: Sequence[float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"ScalarPerceptron: expected {len(self.w)} inputs, got {len(x)}")
        s = self.b
        for wi, xi in zip(self.w, x):
            s = s + wi * float(xi)
        return s

    def predict(self, x: Sequence[float]) -> int:
        """``+1`` if ``w . x + b > 0`` else ``-1``."""
        return 1 if self(x).data > 0 else -1

    def update(self, x: Sequence[float], y: int, lr: float = 1.0) -> bool:
        """One step of the rule on example ``(x, y)``, ``y`` in {-1, +1}; True if it updated."""
        if y not in (-1, 1):
            raise ValueError(f"ScalarPerceptron.update: labels must be -1 or +1, got {y!r}")
        if y * self(x).data > 0:
            return False
        for wi, xi in zip(self.w, x):
            wi.data += lr * y * float(xi)
        self.b.data += lr * y
        return True

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"ScalarPerceptron({len(self.w)})"


class Perceptron(Module):
    """``Perceptron(in_features, bias=True)``: one linear unit, ``s = x W^T + b``.

    Shapes: x (N, in_features) (or (N, *) flattened) -> scores (N,); ``weight`` (1, in_features),
    ``bias`` (1,), both zero at the start (see the module docstring). Train it with
    ``update``/``fit`` (the classic rule) or with an optimizer on ``hinge_loss``.
    """

    def __init__(self, in_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        dt = dtypes.get_default_dtype()
        self.weight = Parameter(np.zeros((1, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.zeros(1, dtype=dt))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim > 2:
            input = input.flatten(1)
        if input.ndim != 2 or input.shape[1] != self.in_features:
            raise ValueError(f"Perceptron: expected input (N, {self.in_features}), got "
                             f"{tuple(input.shape)}")
        return linear(input, self.weight, self.bias).squeeze(-1)

    def predict(self, input: Tensor) -> Tensor:
        """Labels (N,) int64 in {-1, +1}: ``+1`` where the score is > 0."""
        with no_grad():
            s = self(input).numpy()
        return Tensor(np.where(s > 0, 1, -1).astype(np.int64))

    def update(self, x: np.ndarray, y: int, lr: float = 1.0) -> bool:
        """The rule on one example ``x`` (in_features,), ``y`` in {-1, +1}; True if it updated."""
        x = np.asarray(x, dtype=self.weight.dtype).reshape(-1)
        if x.shape[0] != self.in_features or y not in (-1, 1):
            raise ValueError(f"Perceptron.update: expected x ({self.in_features},) and y in "
                             f"{{-1, +1}}, got x {x.shape} and y {y!r}")
        b = 0.0 if self.bias is None else float(self.bias.numpy()[0])
        if y * (float(self.weight.numpy()[0] @ x) + b) > 0:
            return False
        with no_grad():
            self.weight[0] += lr * y * x
            if self.bias is not None:
                self.bias[0] += lr * y
        return True

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 100, lr: float = 1.0) -> int:
        """Sweep the examples in order, ``epochs`` times at most or until an epoch without a
        mistake; returns the total number of updates (mistakes)."""
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"Perceptron.fit: expected X (N, {self.in_features}) and y (N,), "
                             f"got {X.shape} and {y.shape}")
        mistakes = 0
        for _ in range(epochs):
            made = sum(self.update(xi, int(yi), lr) for xi, yi in zip(X, y))
            mistakes += made
            if made == 0:
                break
        return mistakes

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, bias={self.bias is not None}"


def hinge_loss(scores: Tensor, y: Tensor | np.ndarray, margin: float = 1.0) -> Tensor:
    """``mean_i max(0, margin - y_i s_i)`` for scores (N,) and labels (N,) in {-1, +1}.

    ``margin=0`` is the perceptron criterion: its gradient on a misclassified example is
    ``-y x`` for ``w``, so one SGD step of size ``lr`` (batch 1) is exactly the perceptron rule.
    """
    y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
    if y.shape != tuple(scores.shape):
        raise ValueError(f"hinge_loss: scores {tuple(scores.shape)} and labels {y.shape} "
                         "must have the same shape (N,)")
    return ops.mean(ops.relu(margin - scores * y.astype(scores.dtype)))


def perceptron(*, in_features: int = 2, **kwargs) -> Perceptron:
    """The zoo's builder: ``Perceptron(in_features, **kwargs)``."""
    return Perceptron(in_features, **kwargs)


def _tiny() -> tuple[Perceptron, Tensor]:
    model = perceptron(in_features=3)
    return model, randn(4, 3)


register(ZooEntry("perceptron", perceptron, task="binary", tiny=_tiny,
                  description="Rosenblatt's perceptron: one linear unit, scores (N,), labels +-1"))
