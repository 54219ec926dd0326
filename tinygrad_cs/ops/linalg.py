"""Matrix products through BLAS (numpy's ``@``): ``matmul`` and the fused ``linear``.

matmul follows torch.matmul's rules. 1-D @ 1-D is a dot product; a 1-D left operand
acts as a row (k,) -> (1, k), a 1-D right operand as a column (k,) -> (k, 1), the added
dim being removed from the result; leading (batch) dims broadcast.
Backward of out = a @ b:  da = g @ b^T,  db = a^T @ g  (batch dims summed back by the
engine where they were broadcast).

linear(x, W, b) = x W^T + b is one op rather than transpose + matmul + add: one GEMM with
the transpose passed to BLAS as a flag (no copy), the bias added in place, and no graph
nodes for the intermediate steps.

Every product goes through ``kernels.blas_threads.matmul``: ``np.matmul``, on one BLAS
thread when the product is small (the same bits, less time lost waking threads).
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ..kernels.blas_threads import matmul as gemm
from ._util import shape_of
from .movement import reshape, squeeze, transpose, unsqueeze
from .reduce import sum as _sum

__all__ = ["linear", "matmul"]


class Matmul(Function):
    """out = a @ b;  da = g @ b^T, db = a^T @ g (batched, broadcast)."""
    input_needed_by = ((1,), (0,))  # a is read only for db, b only for da

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                               f"{np.shape(a)} and {np.shape(b)}")
        ctx.save_for_backward(a, b)
        try:
            return gemm(a, b)
        except ValueError:
            raise RuntimeError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} cannot be "
                               f"multiplied ({np.shape(a)[-1]} != "
                               f"{np.shape(b)[-2] if np.ndim(b) > 1 else np.shape(b)[0]})") from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if type(grad) is np.ndarray and grad.ndim == 2 and a.ndim == 2 and b.ndim == 2:
            # plain backward of the common case: straight to BLAS (transposes are views)
            return (gemm(grad, b.T) if need_a else None), (gemm(a.T, grad) if need_b else None)
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


class LinearFn(Function):
    """out = x W^T + b:  x (*, in), W (out, in), b (out,) or absent  ->  (*, out).

    With X (M, in) and G (M, out) the input and the output gradient g with the leading
    dims flattened (M = prod(*)):  dx = g W,  dW = G^T X,  db = sum_m G[m].
    """
    name = "Linear"
    @staticmethod
    def forward(ctx, x, weight, bias=None):
        shape, w_shape = np.shape(x), np.shape(weight)
        if len(w_shape) != 2 or len(shape) == 0 or shape[-1] != w_shape[1] or (
                bias is not None and np.shape(bias) not in ((w_shape[0],), ())):
            raise RuntimeError(
                f"linear: input {shape}, weight {w_shape}"
                + ("" if bias is None else f" and bias {np.shape(bias)}")
                + " do not fit: expected input (*, in_features), weight (out_features, "
                  "in_features), bias (out_features,)")
        ctx.save_for_backward(x, weight)
        x2 = x if len(shape) == 2 else np.reshape(x, (-1, shape[-1]))
        out = gemm(x2, weight.T)  # one GEMM; W^T is a view that BLAS reads transposed
        if bias is not None:
            if np.result_type(out, bias) == out.dtype:
                out += bias  # in place: no second output-sized buffer
            else:
                out = out + bias
        return out if len(shape) == 2 else np.reshape(out, shape[:-1] + (w_shape[0],))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        shape, (n_out, n_in) = shape_of(x), shape_of(weight)
        flat = len(shape) == 2
        g2 = grad if flat else reshape(grad, (-1, n_out))
        gx = gw = gb = None
        if needs[0]:
            gx = matmul(g2, weight)
            gx = gx if flat else reshape(gx, shape)
        if needs[1]:
            x2 = x if flat else reshape(x, (-1, n_in))
            gw = matmul(transpose(g2, 0, 1), x2)
        if len(needs) > 2 and needs[2]:
            gb = _sum(g2, dim=0)
        return gx, gw, gb


def matmul(a, b):
    """Matrix product with numpy/torch broadcasting rules (see module docstring)."""
    return Matmul.apply(a, b)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` as ``torch.nn.functional.linear``: (*, in) -> (*, out)."""
    if bias is None:
        return LinearFn.apply(x, weight)
    return LinearFn.apply(x, weight, bias)
