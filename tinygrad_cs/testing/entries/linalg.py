"""Entries for matmul and linear (``tinygrad_cs/ops/linalg.py``) and the float cast (``Tensor.to``)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import dtypes
from ...ops import linalg as L
from ..registry import register
from ..strategies import arrays, broadcastable_shapes, floats
from . import unary


def _einsum_matmul(a, b):
    """torch.matmul's rules, written with einsum (independent of np.matmul)."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.einsum("...ik,...kj->...ij", a2, b2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


@st.composite
def _matmul_args(draw, kind):
    """``(a, b)`` for one of: vector (1-D on either side), matrix, batched, broadcast batch."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    if kind == "vector":
        a_shape = (k,) if draw(st.booleans()) else (n, k)
        b_shape = (k,) if len(a_shape) == 2 or draw(st.booleans()) else (k, m)
        if draw(st.booleans()):  # a 1-D operand against a batch
            a_shape, b_shape = ((2,) + a_shape, b_shape) if len(a_shape) == 2 else (
                a_shape, (2,) + b_shape if len(b_shape) == 2 else b_shape)
    elif kind == "matrix":
        a_shape, b_shape = (n, k), (k, m)
    elif kind == "batched":
        batch = (draw(st.integers(1, 3)),)
        a_shape, b_shape = batch + (n, k), batch + (k, m)
    else:
        ba, bb = draw(broadcastable_shapes(2, min_dims=0, max_dims=2, max_side=3)).input_shapes
        if not ba and not bb:
            ba = (2,)
        a_shape, b_shape = ba + (n, k), bb + (k, m)
    return draw(arrays(a_shape, contiguous=True)), draw(arrays(b_shape, contiguous=True))


for _kind in ("vector", "matrix", "batched", "broadcast batch"):
    register(f"matmul[{_kind}]", lambda a, b: a @ b, reference=_einsum_matmul,
             inputs=_matmul_args(_kind), covers=L.Matmul)


def _linear_reference(x, w, b=None):
    """x W^T + b with einsum (independent of np.matmul and of the op's reshapes)."""
    out = np.einsum("...i,oi->...o", x, w)
    return out if b is None else out + b


@st.composite
def _linear_args(draw, lead, bias):
    """``(x, w[, b])``: x of shape lead + (in,), w (out, in), b (out,)."""
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sides = tuple(draw(st.integers(1, 3)) for _ in range(lead))
    args = [draw(arrays(sides + (n_in,), contiguous=True)),
            draw(arrays((n_out, n_in), contiguous=True))]
    if bias:
        args.append(draw(arrays((n_out,), contiguous=True)))
    return tuple(args)


for _lead, _kind in ((1, "matrix"), (0, "vector"), (2, "batched")):
    register(f"linear[{_kind}]", lambda x, w, b: L.linear(x, w, b), reference=_linear_reference,
             inputs=_linear_args(_lead, True), covers=L.LinearFn, forward_rtol=1e-12)
register("linear[no bias]", lambda x, w: L.linear(x, w), reference=_linear_reference,
         inputs=_linear_args(1, False), covers=L.LinearFn, forward_rtol=1e-12)

# float64 -> float32 -> float64: linear, so a coarse step is exact up to float32 rounding.
register("cast", lambda a: a.to(dtypes.float32).to(dtypes.float64),
         reference=lambda a: a.astype(np.float32).astype(np.float64),
         inputs=unary(floats(-4.0, 4.0)), covers="tinygrad_cs.ops.elementwise.Cast", op="to",
         eps=1e-2, forward_rtol=0.0, forward_atol=0.0)
