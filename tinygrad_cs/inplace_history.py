"""In-place ops on tensors whose graph is being recorded, as in PyTorch.

``y = x * 2; y.add_(1); y[0] = w; y.relu_()`` works while ``x`` or ``w`` requires grad: the
tensor object ``y`` stays the same (its storage is written in place, its version goes up),
and its place in the graph is rewritten:

* its former self moves to a new node object, ``old``, that keeps the op that made ``y``,
  its inputs and what that op saved, with a copy of the values from before the change;
* the change is computed as ordinary differentiable ops on ``old`` (``old + 1``,
  ``where(mask, w, old)``, ``relu(old)``), and ``y`` takes the resulting node's place: its op,
  its inputs, its creation number;
* ``old`` is remembered as ``y``'s ``_before_inplace``, so an op that used ``y`` *before* the
  change (an older node than ``y`` now is) still sends its gradient to ``old``
  (``function.as_seen_by``).

So gradients are those of the program as written. What stays refused, with a message:
changing a leaf that requires grad (as in PyTorch), and changing a tensor whose storage
another live tensor sees (a view or an alias, e.g. ``v = y[0]`` before ``y.mul_(3)``):
PyTorch rewrites the views' history too; here the change would leave ``v``'s graph
describing values it no longer has, so it is refused rather than risk a wrong gradient. An
op that saved ``y`` itself for its backward (``z = y * y`` before ``y.add_(1)``) raises at
backward time, as in PyTorch, through the version counter.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import versions
from .engine import Node

# the slots that say where a node sits in the graph (set for op results)
_PLACE = ("_fn", "_in0", "_in1", "_in_rest", "_saved", "_attrs", "_seq", "_epoch")


def record_inplace(t: Any, compute: Callable[[Any], Any], op: str) -> Any:
    """Change ``t`` in place to ``compute(old)``, recording the change in the graph (see the
    module docstring). Raises, changing nothing, if the change cannot be recorded."""
    if t._fn is None and t.requires_grad:
        raise RuntimeError(f"{op}: a leaf Tensor that requires grad is being used in an "
                           "in-place operation; wrap it in `with tg.no_grad():` (or use the "
                           "out-of-place form)")
    if versions.is_shared(t):
        raise RuntimeError(
            f"{op}: this tensor (shape {t.shape}) shares its storage with another tensor (a "
            f"view or an alias, e.g. made by indexing, view() or detach()) while its graph is "
            f"being recorded; an in-place change would leave the other tensor's graph stale. "
            f"Use the out-of-place form, or clone() the tensor first")
    old = former_self(t)
    try:
        new = compute(old)
    except ValueError as error:  # e.g. shapes that do not broadcast, as the plain path says
        raise RuntimeError(f"{op}: {error}") from None
    if not isinstance(new, Node) or new is old:
        raise RuntimeError(f"{op}: the change produced no new graph node")  # a bug, not input
    if new.shape != t.shape:
        raise RuntimeError(f"{op}: the result has shape {new.shape}, which does not match the "
                           f"tensor's shape {t.shape}")
    if new.dtype != t.dtype:
        if not np.can_cast(new.dtype, t.dtype, "same_kind"):
            raise RuntimeError(f"{op}: result type {new.dtype} can't be cast to the desired "
                               f"output type {t.dtype}")
        new = new.to(t.dtype)
    # nothing has changed so far; from here on nothing can fail
    data = t._data
    if not data.flags.writeable:  # e.g. an expand()ed array: write to a private copy
        data = t._data = data.copy()
    np.copyto(data, new._data, casting="unsafe")
    for slot in _PLACE:
        setattr(t, slot, getattr(new, slot))
    t._attrs = dict(new._attrs or ())
    t._attrs["_before_inplace"] = old
    t.requires_grad = True
    versions.bump(t)
    t._epoch = versions._clock[0]
    return t


def former_self(t: Any) -> Any:
    """A new node in ``t``'s place in the graph, holding a copy of ``t``'s values (and the
    copy, not ``t``'s storage, wherever ``t``'s op saved its own output)."""
    old = object.__new__(type(t))
    values = t._data.copy()
    old._data = values
    old._grad = t._grad_init
    old._counter = None
    old.requires_grad = t.requires_grad
    old.name = None
    old.scope = t.scope
    old._hooks = None
    old._retains_grad = False
    old._seq = t._seq
    old._fn = t._fn
    old._epoch = getattr(t, "_epoch", versions._clock[0])
    if t._fn is not None:
        old._in0, old._in1, old._in_rest, old._attrs = t._in0, t._in1, t._in_rest, t._attrs
        saved = t._saved  # raw values, or a sentinel (_SAVED_INPUTS: the inputs themselves)
        if type(saved) is tuple:
            saved = tuple(values if v is t._data else v for v in saved)
        old._saved = saved
    return old
