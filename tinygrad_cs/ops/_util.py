"""Small helpers shared by the op families: argument normalisation and raw/node dispatch."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Node
from ..grad_mode import state as _state


def raw(x: Any) -> Any:
    """The numpy data behind ``x`` (a node's raw ``_data``, or ``x`` itself)."""
    return x._data if isinstance(x, Node) else x


def shape_of(x: Any) -> tuple:
    """Shape of a node, an array or a Python scalar (``()``)."""
    return tuple(np.shape(raw(x)))


def constant(fn, *args: Any, **kwargs: Any) -> Any:
    """Apply a non-differentiable numpy function; wrap as a node (no grad) if given nodes.

    Used for comparisons, ``sign``, ``argmax``: results that carry no gradient.
    """
    like = next((a for a in args if isinstance(a, Node)), None)
    if _state.tracer is not None:  # tg.compile records it as an instruction
        out = _state.tracer.raw_op(fn, args, kwargs)
    else:
        out = fn(*(raw(a) for a in args), **kwargs)
    return out if like is None else like._result_type._from_op(out)


def normalize_dim(dim: int, ndim: int, op: str, shape: tuple | None = None) -> int:
    """Map a possibly negative ``dim`` into ``[0, ndim)``, or raise naming the op."""
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, (int, np.integer)) or not lo <= dim <= hi:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{lo}, {hi}], "
            f"but got {dim}) for input of shape {shape if shape is not None else ndim}")
    return int(dim) % max(ndim, 1)


def normalize_dims(dim, ndim: int, op: str, shape: tuple | None = None) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes; ``None`` means all axes."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted({normalize_dim(d, ndim, op, shape) for d in dims}))
    if ndim == 0:
        return ()
    if len(axes) != len(dims):
        raise RuntimeError(f"{op}: dim {dim} appears multiple times in the list of dims")
    return axes
