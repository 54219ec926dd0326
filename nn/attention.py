"""``MultiheadAttention``: attention with H heads, as ``torch.nn.MultiheadAttention``.

Shapes (E = embed_dim, H = num_heads, d = E / H): query (L, N, E), key (S, N, kdim),
value (S, N, vdim) -> output (L, N, E) and weights (N, L, S) (averaged over heads) or
(N, H, L, S); with ``batch_first=True`` query/key/value/output are (N, L, .) instead
(the weights keep their layout); unbatched inputs (L, E), (S, kdim), (S, vdim) give (L, E)
and (L, S) or (H, L, S)::

    q, k, v = query Wq^T + bq,  key Wk^T + bk,  value Wv^T + bv        each (N, ., E)
    head_h  = softmax(q_h k_h^T / sqrt(d) + mask) v_h                   q_h: (N, L, d)
    output  = concat(head_1 .. head_H) Wo^T + bo                        (N, L, E)

Parameters, named and laid out as PyTorch's (so state_dicts load either way):
``in_proj_weight`` (3E, E) = [Wq; Wk; Wv] when kdim = vdim = E, else ``q_proj_weight``
(E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``in_proj_bias`` (3E,);
``out_proj`` a ``Linear(E, E)``; with ``add_bias_kv`` the learned ``bias_k``, ``bias_v``
(1, 1, E) appended to the keys and values as one more position. ``add_zero_attn`` appends a
zero key and value per head after that. Initialisation as PyTorch's: Xavier-uniform input
projections, zero biases, Xavier-normal ``bias_k``/``bias_v``, ``out_proj.weight`` as a
``Linear``'s.

Masks: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N*H, L, S) (unbatched:
(S,) and (L, S) or (H, L, S)). Boolean masks are True where attention is NOT allowed (the
opposite of ``F.scaled_dot_product_attention``'s); float masks are added to the scores.
A query row with every key masked gives NaN with ``need_weights=True`` (the plain softmax)
and zeros with ``need_weights=False`` (``F.scaled_dot_product_attention``), as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import Tensor, devices, dtypes, ops
from tinygrad_cs.ops._util import raw

from . import init
from ._checks import layer_name, same_dtype
from .dot_product_attention import attend, mask_to_bias
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)`` (see the module
    docstring). ``dropout`` drops attention weights in training mode."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                             f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, "
                             f"got embed_dim={embed_dim} and num_heads={num_heads}")
        devices.check(device, "MultiheadAttention")
        dt = dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype,
                                                                          "MultiheadAttention")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dt))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dt))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dt))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dt))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dt))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases, Xavier-normal bias_k / bias_v."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                       self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(attn_output, attn_weights)``; the weights are None unless ``need_weights``.

        ``is_causal`` is PyTorch's hint that ``attn_mask`` (required with it) is the causal
        mask: without a key padding mask and with ``need_weights=False`` the mask is then
        replaced by the causal rule itself, as PyTorch does.
        """
        reference = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        for arg, t in (("query", query), ("key", key), ("value", value)):
            same_dtype(self, t, reference, "query, key, value and parameters", arg=arg)
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{layer_name(self)}: Need attn_mask if specifying the "
                               "is_causal hint; nn.Transformer.generate_square_subsequent_mask "
                               "makes one")
        causal = is_causal and key_padding_mask is None and not need_weights
        if not batched:  # one sequence: a batch of one, batch first
            query, key, value = (ops.unsqueeze(t, 0) for t in (query, key, value))
        elif not self.batch_first:
            query, key, value = (ops.transpose(t, 0, 1) for t in (query, key, value))
        n, length, _ = query.shape
        q, k, v = self._project(query, key, value)
        bias = None if causal else self._bias(attn_mask, key_padding_mask, batched, n, length,
                                              key.shape[1], raw(q).dtype)
        if self.bias_k is not None:
            k = ops.cat([k, ops.expand(self.bias_k, n, 1, self.embed_dim)], 1)
            v = ops.cat([v, ops.expand(self.bias_v, n, 1, self.embed_dim)], 1)
            bias = _pad_last(bias)
        q, k, v = (self._split_heads(t) for t in (q, k, v))
        if self.add_zero_attn:
            zeros = np.zeros((n, self.num_heads, 1, self.head_dim), raw(k).dtype)
            k, v = ops.cat([k, zeros], 2), ops.cat([v, zeros], 2)
            bias = _pad_last(bias)
        out, weights = attend(q, k, v, bias, self.dropout if self.training else 0.0,
                              causal=causal, safe=not need_weights)
        out = self.out_proj(ops.reshape(ops.permute(out, (0, 2, 1, 3)),
                                        (n, length, self.embed_dim)))
        if not batched:
            out = ops.squeeze(out, 0)
        elif not self.batch_first:
            out = ops.transpose(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = ops.mean(weights, 1)
        return out, ops.squeeze(weights, 0) if not batched else weights

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        """The input projections, (N, ., E) each; self-attention takes one (3E, E) GEMM."""
        e, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            return (ops.linear(query, self.q_proj_weight, bq),
                    ops.linear(key, self.k_proj_weight, bk),
                    ops.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:
            return tuple(ops.split(ops.linear(query, w, b), e, -1))
        return (ops.linear(query, w[:e], bq), ops.linear(key, w[e:2 * e], bk),
                ops.linear(value, w[2 * e:], bv))

    def _split_heads(self, t: Tensor) -> Tensor:
        """(N, S, E) -> (N, H, S, d)."""
        n, s, _ = t.shape
        return ops.permute(ops.reshape(t, (n, s, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def _bias(self, attn_mask: Any, key_padding_mask: Any, batched: bool, n: int,
              length: int, source: int, dtype) -> Any:
        """attn_mask and key_padding_mask as one additive bias broadcasting to (N, H, L, S)."""
        name = layer_name(self)
        bias = mask_to_bias(attn_mask, dtype, True, f"{name}: attn_mask")
        if bias is not None:
            shape = (1, 1, length, source) if len(bias.shape) == 2 else \
                (n, self.num_heads, length, source)
            bias = ops.reshape(bias, shape)
        padding = mask_to_bias(key_padding_mask, dtype, True, f"{name}: key_padding_mask")
        if padding is not None:
            padding = ops.reshape(padding, (n, 1, 1, source))
            bias = padding if bias is None else ops.add(bias, padding)
        return bias

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any,
                      attn_mask: Any) -> bool:
        """Whether the inputs are batched; raises naming the shapes when they do not fit."""
        name = layer_name(self)
        shapes = {"query": query.shape, "key": key.shape, "value": value.shape}
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(f"{name}: expected query, key and value all 3-D (batched) or "
                               f"all 2-D (unbatched), got shapes {_listed(shapes)}")
        batched = query.ndim == 3
        if batched:
            b, s = (0, 1) if self.batch_first else (1, 0)   # the batch and sequence dims
            n = query.shape[b]
        else:
            b, s, n = None, 0, 1
        length, source = query.shape[s], key.shape[s]
        features = ((query, self.embed_dim), (key, self.kdim), (value, self.vdim))
        fits = value.shape[s] == source and all(
            t.shape[-1] == dim and (b is None or t.shape[b] == n) for t, dim in features)
        if not fits:
            layout = ("(N, L, E), (N, S, kdim), (N, S, vdim)" if self.batch_first else
                      "(L, N, E), (S, N, kdim), (S, N, vdim)") if batched else \
                "(L, E), (S, kdim), (S, vdim)"
            raise RuntimeError(f"{name}: expected query, key, value of shapes {layout} with "
                               f"E={self.embed_dim}, kdim={self.kdim}, vdim={self.vdim}, got "
                               f"{_listed(shapes)}")
        if key_padding_mask is not None:
            expected = (n, source) if batched else (source,)
            if tuple(np.shape(raw(key_padding_mask))) != expected:
                raise RuntimeError(f"{name}: expected key_padding_mask of shape {expected} "
                                   f"(N, S), got {tuple(np.shape(raw(key_padding_mask)))} for "
                                   f"{_listed(shapes)}")
        if attn_mask is not None:
            got = tuple(np.shape(raw(attn_mask)))
            heads = n * self.num_heads if batched else self.num_heads
            if got not in ((length, source), (heads, length, source)):
                raise RuntimeError(f"{name}: the shape of the {len(got)}D attn_mask is {got}, "
                                   f"but should be {(length, source)} (L, S) or "
                                   f"{(heads, length, source)} (N*num_heads, L, S)")
        return batched

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


def _pad_last(bias: Any) -> Any:
    """The bias with one more key position that every query may attend to (bias 0)."""
    return None if bias is None else ops.pad(bias, (0, 1))


def _listed(shapes: dict) -> str:
    return ", ".join(f"{arg} {shape}" for arg, shape in shapes.items())
