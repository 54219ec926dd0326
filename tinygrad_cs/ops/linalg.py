"""Matrix products through BLAS (numpy's ``@``), with torch.matmul's rules.

Shapes: 1-D @ 1-D is a dot product; a 1-D left operand acts as a row (k,) ->
(1, k), a 1-D right operand as a column (k,) -> (k, 1), the added dim being
removed from the result; leading (batch) dims broadcast.

Backward of out = a @ b:  da = g @ b^T,  db = a^T @ g  (batch dims summed back
by the engine where they were broadcast).
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import shape_of
from .movement import transpose, unsqueeze, squeeze


class Matmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                               f"{np.shape(a)} and {np.shape(b)}")
        ctx.save_for_backward(a, b)
        try:
            return np.matmul(a, b)
        except ValueError:
            raise RuntimeError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} cannot be "
                               f"multiplied ({np.shape(a)[-1]} != "
                               f"{np.shape(b)[-2] if np.ndim(b) > 1 else np.shape(b)[0]})") from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_vec, b_vec = len(shape_of(a)) == 1, len(shape_of(b)) == 1
        if a_vec and b_vec:
            return (grad * b if need_a else None), (grad * a if need_b else None)
        a2 = unsqueeze(a, 0) if a_vec else a
        b2 = unsqueeze(b, -1) if b_vec else b
        g2 = unsqueeze(grad, -1 if b_vec else -2) if (a_vec or b_vec) else grad
        ga = gb = None
        if need_a:
            ga = matmul(g2, transpose(b2, -1, -2))
            if a_vec:
                ga = squeeze(ga, -2)
        if need_b:
            gb = matmul(transpose(a2, -1, -2), g2)
            if b_vec:
                gb = squeeze(gb, -1)
        return ga, gb


def matmul(a, b):
    """Matrix product with numpy/torch broadcasting rules (see module docstring)."""
    return Matmul.apply(a, b)
