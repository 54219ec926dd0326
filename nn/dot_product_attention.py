"""Scaled dot-product attention (Vaswani et al. 2017), composed of the engine's ops.

Shapes: query (*, L, E), key (*, S, E), value (*, S, Ev) -> out (*, L, Ev), where the
leading dims (*) broadcast against each other (as ``torch.matmul``'s batch dims)::

    scores  = (query * scale) @ key^T + bias          (*, L, S),  scale = 1 / sqrt(E)
    weights = softmax(scores, dim=-1)                  each row sums to 1 over the S keys
    out     = dropout(weights, p) @ value              (*, L, Ev)

``bias`` holds the masks: 0 where query i may look at key j, -inf where it may not, or any
float a caller adds (a relative-position bias, ...). Every step is a differentiable op
(``matmul``, ``softmax``, ``where``), so gradients with respect to query, key, value and a
float mask, and second derivatives, come from the ops' own backward formulas.

Fully masked rows: a query row whose scores are all -inf has no softmax (0 / 0). PyTorch's
``F.scaled_dot_product_attention`` returns zeros for it (its "safe softmax") and passes no
gradient through it; so does ``attend(..., safe=True)``. ``nn.MultiheadAttention`` with
``need_weights=True`` uses the plain softmax and returns NaN there, as PyTorch's does
(``safe=False``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_cs import ops
from tinygrad_cs.engine import Node
from tinygrad_cs.ops._util import raw, shape_of

from .dropout import dropout

__all__ = ["attend", "mask_to_bias", "scaled_dot_product_attention"]


def mask_to_bias(mask: Any, dtype, masked_value: bool, what: str) -> Any:
    """A mask as an additive float bias in ``dtype``.

    A boolean mask becomes -inf where it equals ``masked_value`` and 0 elsewhere (a raw
    array). A float Tensor is returned as given (it keeps its graph, so a learned bias gets
    gradients), a float array cast to ``dtype``. Any other dtype raises, naming ``what``.
    """
    if mask is None:
        return None
    data = np.asarray(raw(mask))
    if data.dtype == np.bool_:
        return np.where(data == masked_value, np.array(-np.inf, dtype), np.array(0, dtype))
    if data.dtype.kind != "f":
        raise RuntimeError(f"{what}: expected a bool or float mask, got dtype {data.dtype} "
                           f"(shape {data.shape})")
    return mask if isinstance(mask, Node) else data.astype(dtype, copy=False)


def attend(query: Any, key: Any, value: Any, bias: Any = None, dropout_p: float = 0.0,
           scale: float | None = None, causal: bool = False,
           safe: bool = True) -> tuple[Any, Any]:
    """``(out, weights)`` of attention (see the module docstring), unchecked.

    ``bias`` broadcasts to the scores (*, L, S); ``causal`` adds -inf above the main
    diagonal (query i sees keys 0..i, the top-left-aligned mask PyTorch uses for L != S);
    ``safe`` makes fully masked rows zero instead of NaN. ``weights`` are the softmax
    probabilities after dropout, the ones multiplied with ``value``.
    """
    q_shape, k_shape = shape_of(query), shape_of(key)
    scale = 1.0 / math.sqrt(q_shape[-1]) if scale is None else scale
    # scaling q (L x E) costs less than scaling the scores (L x S); the same in exact math
    scores = ops.matmul(ops.mul(query, scale), ops.transpose(key, -2, -1))
    if causal:
        above = ~np.tril(np.ones((q_shape[-2], k_shape[-2]), dtype=bool))
        scores = ops.where(above, np.array(-np.inf, raw(scores).dtype), scores)
    if bias is not None:
        scores = ops.add(scores, bias)
    dead = np.all(np.isneginf(raw(scores)), axis=-1, keepdims=True) if safe else None
    if dead is not None and dead.any():
        zero = np.zeros((), raw(scores).dtype)
        weights = ops.where(dead, zero, ops.softmax(ops.where(dead, zero, scores), -1))
    else:
        weights = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return ops.matmul(weights, value), weights


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Any:
    """softmax(Q K^T * scale + mask) V: (*, L, E), (*, S, E), (*, S, Ev) -> (*, L, Ev).

    Args:
        attn_mask: broadcastable to (*, L, S). Boolean: True where the query may attend
            (False positions get -inf); float: added to the scores.
        dropout_p: dropout on the attention weights, applied whenever it is > 0 (pass 0
            in evaluation, as PyTorch's modules do).
        is_causal: query i attends to keys 0..i only (no ``attn_mask`` allowed with it).
        scale: the factor on Q K^T; default 1 / sqrt(E).
        enable_gqa: grouped-query attention: query (*, Hq, L, E) with key/value
            (*, Hk, S, .) where Hk divides Hq; each key/value head serves Hq / Hk
            consecutive query heads.

    A query whose every key is masked gets a zero row (see the module docstring).
    """
    name = "scaled_dot_product_attention"
    shapes = [shape_of(t) for t in (query, key, value)]
    if min(len(s) for s in shapes) < 2:
        raise RuntimeError(f"{name}: expected query, key and value to be at least 2-D, got "
                           f"shapes {shapes[0]}, {shapes[1]} and {shapes[2]}")
    (q, k, v) = shapes
    if q[-1] != k[-1] or k[-2] != v[-2]:
        raise RuntimeError(f"{name}: expected query (*, L, E), key (*, S, E) and value "
                           f"(*, S, Ev), got shapes {q}, {k} and {v}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa:
        key, value = _share_heads(query, key, value, name)
    try:
        batch = np.broadcast_shapes(q[:-2], shape_of(key)[:-2], shape_of(value)[:-2])
    except ValueError:
        raise RuntimeError(f"{name}: the batch dims of query, key and value do not broadcast:"
                           f" shapes {q}, {shape_of(key)} and {shape_of(value)}") from None
    bias = mask_to_bias(attn_mask, raw(query).dtype, False, f"{name}: attn_mask")
    if bias is not None:
        scores = (*batch, q[-2], k[-2])
        try:
            fits = np.broadcast_shapes(shape_of(bias), scores) == scores
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{name}: attn_mask of shape {shape_of(bias)} does not broadcast "
                               f"to the attention scores (*, L, S) = {scores}")
    return attend(query, key, value, bias, dropout_p, scale, is_causal)[0]


def _share_heads(query: Any, key: Any, value: Any, name: str) -> tuple[Any, Any]:
    """key and value with each of their Hk heads (dim -3) repeated Hq / Hk times in a row."""
    q, k = shape_of(query), shape_of(key)
    if len(q) < 3 or len(k) < 3 or q[-3] % k[-3] or shape_of(value)[-3] != k[-3]:
        raise RuntimeError(f"{name}: enable_gqa needs query (*, Hq, L, E) and key/value "
                           f"(*, Hk, S, .) with Hk dividing Hq, got shapes {q}, {k} and "
                           f"{shape_of(value)}")
    if q[-3] == k[-3]:
        return key, value
    heads = np.repeat(np.arange(k[-3]), q[-3] // k[-3])
    index = (Ellipsis, heads, slice(None), slice(None))
    return ops.getitem(key, index), ops.getitem(value, index)
