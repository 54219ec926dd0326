"""``cross_entropy``'s backward lowered, for its common case (no class weights, nothing
ignored, no label smoothing, a 'mean' or 'sum' reduction).

``ops/cross_entropy.py`` computes ``dx = (p - onehot(y)) * s`` with p = softmax(x) (kept by
the forward), s = g / D for 'mean' (``g * inv_total``) and s = g for 'sum'. Lowered, the
one-hot is never built: p is copied and 1 subtracted at (i, y_i) only, which gives the same
bits (p - 0 is p exactly), then it is scaled in place by the same s.

Under the trace the class weights ``w_y`` are a program value (whether a target is ignored
depends on the data), and so is ``inv_total`` when they are present. So the case is decided
at every run: w_y None (nothing ignored, no class weights) takes the path above, anything
else the op's own backward.
"""
from __future__ import annotations

import numpy as np

from ..ir import Instr
from .base import Facts, Lowered, same_float, shape_of

__all__ = ["cross_entropy_backward"]


def cross_entropy_backward(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``cross_entropy.backward(g, x, probs, index, ...)`` in the common case."""
    fn = ins.fn
    attrs, names = fn.attrs, fn.attr_values
    if (fn.saved != [("value", 0)] or fn.targets != [0] or attrs.get("weight") is not None
            or attrs.get("label_smoothing") != 0
            or attrs.get("reduction") not in ("mean", "sum")
            or not {"probs", "index", "w_y"} <= set(names)):
        return None
    first = len(ins.inputs) - len(names)          # where the attribute values begin
    at_probs, at_index = first + names.index("probs"), first + names.index("index")
    at_w_y = first + names.index("w_y")
    at_inv = first + names.index("inv_total") if "inv_total" in names else None
    g, x, probs = ins.inputs[0], ins.inputs[1], ins.inputs[at_probs]
    if same_float((g, x, probs, *ins.outputs)) is None or shape_of(probs) != shape_of(x):
        return None
    rows = np.arange(shape_of(x)[0])
    mean, inv_const = attrs["reduction"] == "mean", attrs.get("inv_total")
    generic = ins.fn

    def run(*args: np.ndarray) -> np.ndarray:
        if args[at_w_y] is not None:                # weights or ignored targets this time
            return generic(*args)
        grad = args[0]
        dx = args[at_probs].copy()
        dx[rows, args[at_index]] -= 1.0
        if mean:
            dx *= grad * float(inv_const if at_inv is None else args[at_inv])
        else:
            dx *= grad
        return dx
    return Lowered(run, fresh=True)
