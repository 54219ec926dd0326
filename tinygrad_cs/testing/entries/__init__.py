"""Registry entries, one module per op family; ``registry.entries()`` imports them all.

A later issue that adds ops adds a module here (e.g. ``conv.py``) calling
``register(...)`` for each new ``Function``. The helpers below draw the
argument tuples most entries need; arrays are drawn C-contiguous because the
fuzz suite re-lays every float argument out itself (transposed, strided, ...).
"""
from __future__ import annotations

from hypothesis import strategies as st

from ..strategies import arrays, broadcastable_shapes, floats, shapes

SMALL = {"min_dims": 0, "max_dims": 3, "min_side": 1, "max_side": 3}


def unary(elements=None, shape=None) -> st.SearchStrategy[tuple]:
    """``(a,)`` with ``a`` a float64 array of a small shape."""
    shape = shapes(**SMALL) if shape is None else shape
    return st.tuples(arrays(shape, elements=elements, contiguous=True))


@st.composite
def binary(draw, elements_a=None, elements_b=None) -> tuple:
    """``(a, b)`` of mutually broadcastable shapes."""
    sa, sb = draw(broadcastable_shapes(2, max_dims=3, max_side=3)).input_shapes
    return (draw(arrays(sa, elements=elements_a, contiguous=True)),
            draw(arrays(sb, elements=elements_b, contiguous=True)))


@st.composite
def with_scalar(draw, elements=None, scalar=None) -> tuple:
    """``(a, c)``: an array and a Python float."""
    a = draw(arrays(shapes(**SMALL), elements=elements, contiguous=True))
    return a, draw(floats() if scalar is None else scalar)
