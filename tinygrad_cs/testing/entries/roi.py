"""Entries for region-of-interest pooling (``tinygrad_cs/ops/roi.py``).

Inputs are tiny (gradcheck runs one backward per output element). Boxes get no gradient,
so they travel as a tuple of rows (not a float64 array, which the fuzz suite would make a
tensor that requires grad) and may lie partly or wholly outside the map, be tiny, or be
malformed (x2 < x1): box kinks do not matter. roi_align is linear in the input; roi_pool
draws ``separated_arrays`` so a finite-difference step never changes a bin's argmax. Their
backward is a raw kernel: no second-order check.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ...kernels import roi_reference as R
from ...ops import roi as P
from ..registry import register
from ..strategies import arrays, separated_arrays

MAX_OUTPUTS = 36  # K * C * PH * PW: gradcheck runs one backward per output element


@st.composite
def boxes(draw, n: int, height: int, width: int, scale: float, max_boxes: int = 3) -> tuple:
    """(K, 5) rows ``[batch_index, x1, y1, x2, y2]`` as a tuple of tuples, in image
    coordinates (the map's size / scale), from 2 pixels before the map to 2 past it."""
    k = draw(st.integers(1, max_boxes))
    rows = []
    for _ in range(k):
        xs = [draw(st.floats(-2.0, width / scale + 2.0)) for _ in range(2)]
        ys = [draw(st.floats(-2.0, height / scale + 2.0)) for _ in range(2)]
        if draw(st.integers(0, 4)):  # mostly well formed: x1 <= x2, y1 <= y2
            xs, ys = sorted(xs), sorted(ys)
        rows.append((float(draw(st.integers(0, n - 1))), xs[0], ys[0], xs[1], ys[1]))
    return tuple(rows)


@st.composite
def _geometry(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    out = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    scale = draw(st.sampled_from([0.5, 1.0, 1.5]))
    rois = draw(boxes(n, h, w, scale))
    assume(len(rois) * c * math.prod(out) <= MAX_OUTPUTS)
    return (n, c, h, w), rois, out, scale


@st.composite
def _align_args(draw):
    shape, rois, out, scale = draw(_geometry())
    x = draw(arrays(shape, contiguous=True))
    return x, rois, out, scale, draw(st.sampled_from([-1, 0, 1, 2])), draw(st.booleans())


@st.composite
def _pool_args(draw):
    shape, rois, out, scale = draw(_geometry())
    return draw(separated_arrays(shape)), rois, out, scale


register("roi_align",
         lambda x, b, o, s, r, a: P.roi_align(x, np.array(b), o, s, r, a),
         reference=lambda x, b, o, s, r, a: R.roi_align(x, np.array(b), o, s, r, a),
         inputs=_align_args(), covers=P.RoIAlignPooling, second_order=False)
register("roi_pool", lambda x, b, o, s: P.roi_pool(x, np.array(b), o, s),
         reference=lambda x, b, o, s: R.roi_pool(x, np.array(b), o, s)[0],
         inputs=_pool_args(), covers=P.RoIMaxPooling, second_order=False)
