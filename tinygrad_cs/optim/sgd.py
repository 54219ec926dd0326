"""``SGD``: stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

For a parameter ``p`` with gradient ``g`` (``g = -g`` first when ``maximize``)::

    g   = g + weight_decay * p                      # L2 penalty (weight_decay / 2) |p|^2
    buf = g                                         # first step
    buf = momentum * buf + (1 - dampening) * g      # later steps
    g   = g + momentum * buf   if nesterov   else   buf
    p   = p - lr * g

(the momentum lines only when ``momentum != 0``). As in PyTorch, the velocity
``buf`` accumulates gradients and the learning rate multiplies it at the step,
so changing ``lr`` mid-run does not rescale the velocity already built up.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, check, decayed_gradient


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)``, as ``torch.optim.SGD``."""

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        check("SGD", lr >= 0.0, f"Invalid learning rate: {lr}")
        check("SGD", momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check("SGD", weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check("SGD", not nesterov or (momentum > 0 and dampening == 0),
              "Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        g = decayed_gradient(p, g, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # a copy: g may be the gradient's own array, which must not be aliased
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            else:
                buf *= momentum
                dampening = group["dampening"]
                # (1 - 0) * g is g exactly: skip that product's temporary array
                buf += g if dampening == 0 else (1 - dampening) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g
