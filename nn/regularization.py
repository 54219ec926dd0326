"""L2 regularisation as an explicit penalty on chosen parameters.

    l2_penalty(params, weight_decay) = weight_decay / 2 * sum_p ||p||^2,   d/dp = weight_decay * p

The factor 1/2 makes the gradient ``weight_decay * p``: exactly what ``weight_decay`` adds
to the gradient inside ``optim.SGD``, ``Adagrad``, ``RMSprop`` and ``Adam`` (coupled L2), so
``loss + l2_penalty(model.parameters(), lam)`` with ``SGD(..., weight_decay=0)`` follows
the same trajectory as ``loss`` with ``SGD(..., weight_decay=lam)``. ``AdamW`` is different:
it decays the weights directly (p -= lr * weight_decay * p), outside the adaptive scaling,
which no penalty term reproduces. CS231n writes the penalty as ``reg * sum(W * W)``
(gradient ``2 reg W``): that is ``l2_penalty(..., weight_decay=2 * reg)``.

Why a penalty rather than the optimizer flag: it is part of the loss you print and plot,
and you choose what it covers. The usual choice decays weights but not biases (nor
normalisation parameters): a bias does not multiply the input, so shrinking it does not
reduce the model's sensitivity and only shifts its outputs::

    decayed = [p for name, p in model.named_parameters() if name.endswith("weight")]
    loss = criterion(model(x), y) + nn.regularization.l2_penalty(decayed, 1e-4)

(The optimizer equivalent is two parameter groups, one with ``weight_decay=0``.)
"""
from __future__ import annotations

from collections.abc import Iterable

from tinygrad_cs import Tensor, ops

__all__ = ["l2_penalty"]


def l2_penalty(parameters: Iterable[Tensor] | Tensor, weight_decay: float) -> Tensor:
    """weight_decay / 2 * sum of squares of every element of ``parameters`` (a 0-d Tensor)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("l2_penalty: got no parameters to penalise")
    if weight_decay < 0:
        raise ValueError(f"l2_penalty: weight_decay must be non-negative, got {weight_decay}")
    total = ops.sum(params[0] * params[0])
    for p in params[1:]:
        total = total + ops.sum(p * p)
    return (0.5 * weight_decay) * total
