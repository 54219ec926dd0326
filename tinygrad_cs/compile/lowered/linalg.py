"""``Linear`` lowered: forward and backward of 2-D operands as their GEMMs and nothing else.

The same expressions ``ops/linalg.py`` evaluates (``LinearFn``, and ``Matmul`` and ``sum``
inside its backward), with x (M, in), W (out, in), b (out,), g (M, out):

    forward:   out = x @ W^T;  out += b          (one GEMM, W^T a transposed view)
    backward:  dx = g @ W,  dW = g^T @ x,  db = sum over rows of g

The op's shape checks are skipped (the program's shapes are fixed by its guards), and so are
the ``engine.apply`` calls, transposes and ``_unbroadcast`` its backward makes through ops.
Taken only when x is 2-D and every operand has one float dtype (then eager neither casts nor
reshapes); otherwise the instruction keeps its generic call.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...kernels.blas_threads import matmul as gemm
from ..ir import Instr
from .base import Facts, Lowered, same_float, shape_of

__all__ = ["linear_backward", "linear_forward"]


def _gemm(m: int, n: int, k: int, dtype: np.dtype) -> int | None:
    """M * N * K of a product, None unless single precision (see ``__init__``)."""
    return m * n * k if dtype == np.float32 else None


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = gemm(x, w.T)
    out += b          # in place, as LinearFn.forward: no second output-sized buffer
    return out


def _product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return gemm(x, w.T)


def linear_forward(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``Linear(x, W[, b])`` for a 2-D x, all of one float dtype."""
    x, w = ins.inputs[:2]
    dtype = same_float((*ins.inputs, *ins.outputs))
    if dtype is None or len(shape_of(x)) != 2:
        return None
    (m, n_in), n_out = shape_of(x), shape_of(w)[0]
    return Lowered(_affine if len(ins.inputs) == 3 else _product, fresh=True,
                   gemm=_gemm(m, n_out, n_in, dtype))


def _dx(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return gemm(g, w)


def _dw(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return gemm(g.T, x)


def _db(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.sum(g, axis=(0,))


_GRADS = (_dx, _dw, _db)


def _together(parts: list[Callable]) -> Callable:
    """One callable returning the gradients ``parts`` compute, in order."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda g, x, w: (a(g, x, w), b(g, x, w))
    a, b, c = parts
    return lambda g, x, w: (a(g, x, w), b(g, x, w), c(g, x, w))


def linear_backward(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``Linear.backward(g, x, W)`` -> the gradients of the inputs that need one."""
    fn = ins.fn
    if fn.saved != [("value", 0), ("value", 1)] or fn.attrs or fn.attr_values:
        return None
    x, w = ins.inputs[1:]
    dtype = same_float((*ins.inputs, *ins.outputs))
    if dtype is None or len(shape_of(x)) != 2 or not fn.targets:
        return None
    (m, n_in), n_out = shape_of(x), shape_of(w)[0]
    return Lowered(_together([_GRADS[t] for t in fn.targets]), fresh=True,
                   gemm=_gemm(m, n_out, n_in, dtype))
