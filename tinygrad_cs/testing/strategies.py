"""Hypothesis strategies for property-based tests of tensor code.

Built on ``hypothesis.extra.numpy``: ``arrays`` draws numpy arrays (native
byte order only -- the engine, like numpy's fast paths, assumes it),
``tensors`` wraps them as ``tg.Tensor``, ``broadcastable_shapes`` draws shapes
that broadcast together (``mutually_broadcastable_shapes``), and
``relayout`` / ``layouts`` give the same values in a non-contiguous memory
layout (transposed, strided or flipped view of a bigger buffer), so ops are
also exercised on views.

Values default to finite floats in [-10, 10] (no NaN, no infinity, no
subnormals): exp(10) ~ 2e4 and a product of a few dozen such numbers stay far
from float64 overflow. Ops with a restricted domain or with kinks use the
helpers below: ``positive_floats`` (log, sqrt, pow bases), ``nonzero_floats``
(relu, abs: away from the kink at 0), ``floats(avoid=...)`` (clamp bounds), and
``separated_arrays`` (max/min: distinct elements at least ``gap`` apart, so a
finite-difference step never changes which element is the largest).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor

BOUND = 10.0
LAYOUTS = ("contiguous", "transpose", "strided", "flipped")


# -- scalars --------------------------------------------------------------------
def floats(min_value: float = -BOUND, max_value: float = BOUND, *, avoid: Sequence[float] = (),
           gap: float = 1e-2) -> st.SearchStrategy[float]:
    """Finite float64 in ``[min_value, max_value]``, at least ``gap`` from each point of ``avoid``."""
    s = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                  allow_subnormal=False, width=64)
    if avoid:
        points = tuple(avoid)
        s = s.filter(lambda x: all(abs(x - p) >= gap for p in points))
    return s


def positive_floats(min_value: float = 0.1, max_value: float = BOUND) -> st.SearchStrategy[float]:
    """Floats in ``[min_value, max_value]`` with ``min_value > 0`` (log, sqrt, pow bases)."""
    return floats(min_value, max_value)


def nonzero_floats(max_abs: float = BOUND, gap: float = 0.05) -> st.SearchStrategy[float]:
    """Floats with ``gap <= |x| <= max_abs``: away from the kink at 0 (relu, abs, ...)."""
    return st.one_of(floats(gap, max_abs), floats(-max_abs, -gap))


# -- shapes ---------------------------------------------------------------------
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Array shapes with ``min_dims..max_dims`` dims of ``min_side..max_side`` each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 3,
                         base_shape: tuple = ()) -> st.SearchStrategy:
    """``num_shapes`` shapes that broadcast together (numpy rules).

    Draws a ``BroadcastableShapes(input_shapes, result_shape)`` named tuple;
    size-1 and missing leading dims appear, so broadcast gradients get summed.
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, base_shape=base_shape,
                                             min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side)


# -- layouts ---------------------------------------------------------------------
def relayout(array: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``array`` in another memory layout (a view of a new buffer).

    ``contiguous``: a C-contiguous copy. ``transpose``: a Fortran-ordered view
    (``.T`` of a contiguous transpose). ``strided``: every other element of a
    buffer twice as long in the last dim, the gaps filled with NaN so an op
    that reads outside the view shows it. ``flipped``: negative strides.
    """
    a = np.asarray(array)
    if layout == "contiguous" or a.ndim == 0:
        return np.array(a)
    if layout == "transpose":
        return np.ascontiguousarray(a.T).T
    if layout == "strided":
        big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        if big.dtype.kind == "f":
            big.fill(np.nan)
        view = big[..., ::2]
        view[...] = a
        return view
    if layout == "flipped":
        return np.flip(np.ascontiguousarray(np.flip(a)))
    raise ValueError(f"relayout: unknown layout {layout!r} (one of {LAYOUTS})")


def layouts(contiguous: bool | None = None) -> st.SearchStrategy[str]:
    """Layout names for ``relayout``: only contiguous, only not, or any (``None``)."""
    if contiguous is True:
        return st.just("contiguous")
    if contiguous is False:
        return st.sampled_from(LAYOUTS[1:])
    return st.sampled_from(LAYOUTS)


# -- arrays and tensors -------------------------------------------------------------
def _native(dtype) -> np.dtype:
    return np.dtype(dtype).newbyteorder("=")


@st.composite
def arrays(draw, shape=None, dtype=np.float64, elements=None, *, min_dims: int = 0,
           max_dims: int = 3, min_side: int = 1, max_side: int = 4,
           contiguous: bool | None = None, unique: bool = False) -> np.ndarray:
    """A numpy array of ``dtype`` (native byte order).

    ``shape``: a tuple, a strategy, or None (drawn with the dims/side bounds).
    ``elements``: a strategy for the values (default ``floats()`` for float
    dtypes). ``contiguous``: True for C-contiguous, False for a non-contiguous
    view, None to draw either.
    """
    if shape is None:
        shape = shapes(min_dims, max_dims, min_side, max_side)
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    dtype = _native(dtype)
    if elements is None and dtype.kind == "f":
        elements = floats()
    a = draw(hnp.arrays(dtype, tuple(shape), elements=elements, unique=unique))
    return relayout(a, draw(layouts(contiguous)))


def tensors(shape=None, dtype=np.float64, elements=None, *, min_dims: int = 0,
            max_dims: int = 3, min_side: int = 1, max_side: int = 4,
            contiguous: bool | None = None, requires_grad: bool = False
            ) -> st.SearchStrategy[Tensor]:
    """``tg.Tensor`` over ``arrays(...)`` (same arguments), float64 by default."""
    return arrays(shape, dtype, elements, min_dims=min_dims, max_dims=max_dims,
                  min_side=min_side, max_side=max_side, contiguous=contiguous).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


@st.composite
def separated_arrays(draw, shape, gap: float = 0.25, distinct_abs: bool = False) -> np.ndarray:
    """float64 array whose elements are pairwise at least ``gap`` apart.

    The values are ``offset + gap * permutation(size)``. With ``distinct_abs``
    the magnitudes are ``gap * (1..size)`` in random order with random signs:
    nonzero, and no two with the same |x| (for max|x|, i.e. the inf-norm).
    Used for max/min/amax/amin/median-like ops whose gradient picks one element.
    """
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    size = math.prod(shape)
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    if distinct_abs:
        signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=size,
                                       max_size=size)))
        values = signs * gap * (order + 1)
    else:
        values = draw(floats(-3.0, 3.0)) + gap * (order - size // 2)
    return values.reshape(shape)


@st.composite
def lattice_pair(draw, shapes_pair, step: float = 0.5, jitter: float = 0.1,
                 max_abs: float = 5.0) -> tuple:
    """Two float64 arrays (the given shapes) whose broadcast elements never tie.

    ``a`` lies within ``jitter`` of ``step/2 + step*Z`` and ``b`` within ``jitter`` of
    ``step*Z``, so ``|a - b| >= step/2 - 2*jitter`` everywhere: maximum/minimum
    stay away from their kink a == b.
    """
    k = int(max_abs / step)
    lattice = st.integers(-k, k)
    noise = floats(-jitter, jitter)
    sa, sb = shapes_pair
    ka = draw(hnp.arrays(np.int64, sa, elements=lattice))
    kb = draw(hnp.arrays(np.int64, sb, elements=lattice))
    ja = draw(hnp.arrays(np.float64, sa, elements=noise))
    jb = draw(hnp.arrays(np.float64, sb, elements=noise))
    return np.asarray(step * ka + step / 2 + ja), np.asarray(step * kb + jb)


@st.composite
def dims(draw, ndim: int, allow_none: bool = True, allow_tuple: bool = True):
    """A ``dim`` argument for a reduction over ``ndim`` dims: None, an int or a tuple.

    Ints may be negative (``-ndim..ndim-1``); tuples hold distinct dims.
    """
    options = ["none"] if allow_none or ndim == 0 else []
    if ndim:
        options.append("int")
        if allow_tuple:
            options.append("tuple")
    kind = draw(st.sampled_from(options))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    negate = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return tuple(a - ndim if n else a for a, n in zip(axes, negate))
