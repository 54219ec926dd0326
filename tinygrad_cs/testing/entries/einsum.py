"""Entries for ``einsum`` (``tinygrad_cs/ops/contraction.py``): products, contractions, sums
over a letter only one operand has, ``...``."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import contraction as E
from ..registry import register
from ..strategies import arrays

# (equation, operand shapes from sizes i, j, k)
_CASES = [
    ("ij,jk->ik", lambda i, j, k: [(i, j), (j, k)]),
    ("ij,ij->i", lambda i, j, k: [(i, j), (i, j)]),
    ("ij->j", lambda i, j, k: [(i, j)]),
    ("i,j->ij", lambda i, j, k: [(i,), (j,)]),
    ("bij,bjk->bik", lambda i, j, k: [(k, i, j), (k, j, i)]),
    ("ij,jk,k", lambda i, j, k: [(i, j), (j, k), (k,)]),
    ("...j,jk->...k", lambda i, j, k: [(k, i, j), (j, i)]),
    ("ijk->kji", lambda i, j, k: [(i, j, k)]),
]


@st.composite
def _einsum_args(draw):
    equation, shapes = draw(st.sampled_from(_CASES))
    sizes = [draw(st.integers(1, 3)) for _ in range(3)]
    return (equation, *[draw(arrays(s, contiguous=True)) for s in shapes(*sizes)])


register("einsum", lambda eq, *xs: ops.einsum(eq, *xs),
         reference=lambda eq, *xs: np.einsum(eq, *xs), inputs=_einsum_args(), covers=E.Einsum)
