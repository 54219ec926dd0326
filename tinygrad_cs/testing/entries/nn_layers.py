"""Entries for the layer ops of ``nn``: ``erf`` and ``gelu`` (``nn/gelu.py``) and the
embedding lookup (``nn/embedding.py``).

The embedding entry has no ``padding_idx``: that option deliberately blocks the padding
row's gradient (as PyTorch), which a finite difference would not; ``tests/test_layers_basic.py``
checks it against its closed form instead.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from ...ops import indexing as E
from ...ops import special as G
from ..registry import register
from ..strategies import arrays, floats
from . import unary

_erf = np.vectorize(math.erf, otypes=[np.float64])
_SQRT2 = math.sqrt(2.0)

register("erf", lambda a: G.erf(a), reference=_erf, inputs=unary(floats(-3.0, 3.0)),
         covers=G.Erf, op="erf", forward_rtol=1e-15, forward_atol=1e-16)
register("gelu[none]", lambda a: G.gelu(a), reference=lambda a: 0.5 * a * (1 + _erf(a / _SQRT2)),
         inputs=unary(floats(-4.0, 4.0)), covers=G.GELUFn, forward_rtol=1e-13)
register("gelu[tanh]", lambda a: G.gelu(a, "tanh"),
         reference=lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                    * (a + 0.044715 * a**3))),
         inputs=unary(floats(-4.0, 4.0)), covers=G.GELUFn, forward_rtol=1e-13)


@st.composite
def _lookup_args(draw):
    """``(weight, indices)``: a (rows, dim) table and integer indices of 0-2 dims (repeats
    allowed: their gradients must add up)."""
    rows, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    size = int(np.prod(shape))
    idx = draw(st.lists(st.integers(0, rows - 1), min_size=size, max_size=size))
    return (draw(arrays((rows, dim), contiguous=True)),
            np.array(idx, dtype=np.int64).reshape(shape))


register("embedding", lambda w, idx: E.EmbeddingLookup.apply(w, idx, None), reference=lambda w, idx: w[idx],
         inputs=_lookup_args(), covers=E.EmbeddingLookup, forward_rtol=0.0)
