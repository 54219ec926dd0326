"""Entries for ``triu`` / ``tril`` (``tinygrad_cs/ops/elementwise.py``): the kept triangle
of the last two dims, the rest zero; checked against ``np.triu`` / ``np.tril``."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import elementwise as E
from ..registry import register
from ..strategies import arrays, shapes


@st.composite
def _triangle_args(draw):
    shape = draw(shapes(2, 4, 1, 4))
    return draw(arrays(shape, contiguous=True)), draw(st.integers(-4, 4))


for _name, _reference in (("triu", np.triu), ("tril", np.tril)):
    register(_name, getattr(ops, _name), reference=_reference, inputs=_triangle_args(),
             covers=E.Where)
