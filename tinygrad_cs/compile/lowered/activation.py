"""``ReLU`` lowered: ``out = max(a, 0)`` and ``da = g [a > 0]``, the expressions of
``ops/elementwise.py``'s ``ReLUFn``, without the Function call, the context and (backward)
``_unbroadcast``, which changes nothing when g and a have one shape and one float dtype."""
from __future__ import annotations

import numpy as np

from ..ir import Instr
from .base import Facts, Lowered, same_float, shape_of

__all__ = ["relu_backward", "relu_forward"]


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0)


def _relu_grad(g: np.ndarray, a: np.ndarray) -> np.ndarray:
    return g * (a > 0)


def relu_forward(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``ReLU(a)`` of any dtype (eager's expression, whatever it gives)."""
    return Lowered(_relu, fresh=True)


def relu_backward(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``ReLU.backward(g, a)`` when g and a share their shape and float dtype."""
    fn = ins.fn
    if fn.saved != [("value", 0)] or fn.attrs or fn.attr_values or fn.targets != [0]:
        return None
    g, a = ins.inputs
    if same_float((g, a, *ins.outputs)) is None or shape_of(g) != shape_of(a):
        return None
    return Lowered(_relu_grad, fresh=True)
