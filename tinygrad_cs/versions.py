"""Version counters: why an in-place change can never give a wrong gradient silently.

Every tensor's storage has a version number, shared by all the tensors that see
that storage (``detach()``, reshape and basic-index views, an op output that is a
view of its input). Every in-place op (``add_``, ``zero_``, ``x[i] = v``,
``copy_``, optimizer steps, ``nn.init``, BatchNorm's running statistics) adds one
to it. If a tensor that an op saved for backward was changed after the op ran,
backward raises instead of computing with the changed values::

    y = x * w          # Mul saves x and w (w at version 0)
    w.mul_(5)          # w is now at version 1
    y.sum().backward() # RuntimeError: ... is at version 1; expected version 0 instead

Writes through ``t.data`` (a tensor sharing the storage with a *fresh* counter) or
through ``t.numpy()`` are not tracked, as in PyTorch.

How, at almost no cost per op: a process-wide clock counts in-place changes; each
recorded op notes the clock when it ran (``_epoch``), and each counter the clock
of its recent changes (``stamps``). Backward looks at an op's saved tensors only
when the clock moved since the op ran (rarely: training changes weights after
backward), and a saved tensor whose last change is newer than the op was changed
after it was saved. A tensor gets its ``VersionCounter`` only when it is first
changed in place or viewed (``_counter is None`` means "version 0, no views").
"""
from __future__ import annotations

import sys
from collections import deque
from typing import Any

import numpy as np

_clock = [0]  # in-place changes made so far in this process (any tensor, any thread)


class VersionCounter:
    """The version of one storage (how many in-place changes it has seen) and the clock
    readings of its last ``HISTORY`` changes."""

    __slots__ = ("stamps", "value")

    HISTORY = 32

    def __init__(self) -> None:
        self.value = 0
        self.stamps: deque[int] = deque(maxlen=self.HISTORY)


def counter(node: Any) -> VersionCounter:
    """``node``'s counter, created on first use."""
    c = node._counter
    if c is None:
        c = node._counter = VersionCounter()
    return c


def version(node: Any) -> int:
    """The current version of ``node``'s storage (0 before any in-place change)."""
    c = node._counter
    return 0 if c is None else c.value


def bump(node: Any) -> None:
    """Record one in-place change of ``node``'s storage (and of all its views)."""
    c = counter(node)
    _clock[0] += 1
    c.value += 1
    c.stamps.append(_clock[0])


def is_shared(node: Any) -> bool:
    """Whether another live node shares ``node``'s counter (sees its storage: a view, an
    alias, a ``detach()``). Counted by references: ``node`` itself, the local name and the
    argument of ``getrefcount`` hold an unshared counter."""
    c = node._counter
    return c is not None and sys.getrefcount(c) > 3


def share(view: Any, base: Any) -> None:
    """Make ``view`` (whose data aliases ``base``'s storage) share ``base``'s counter."""
    view._counter = counter(base)


def share_if_view(out: Any, data: np.ndarray, args: tuple, raw: list) -> None:
    """Share a counter between an op's output and the input whose storage it aliases.

    ``args`` are the op's arguments and ``raw`` their raw values. Numpy tells us
    which output aliases an input: a view (``data.base``) of the input's array, or
    the input's array itself. ``Function.apply`` calls this only after a cheaper
    test (a numpy view, or an input's array itself) says it might.
    """
    root = data.base if data.base is not None else data
    for a, r in zip(args, raw):
        if (hasattr(a, "_counter") and isinstance(r, np.ndarray)
                and (r is data or r is root or r.base is root)):
            share(out, a)
            return


def saved_nodes(node: Any) -> list:
    """The graph nodes whose data ``node``'s op saved (its inputs' or its output's)."""
    from .engine import _SAVED_INPUTS  # the saved-values layout belongs to engine.py

    saved = node._saved
    if saved is _SAVED_INPUTS:
        return [node._in0, node._in1]
    if type(saved) is not tuple:
        return []
    inputs = [a for a in node._inputs() if hasattr(a, "_counter")]
    found = []
    for v in saved:
        match = next((a for a in inputs if a._data is v), None)
        if match is None and v is node._data:
            match = node
        if match is not None:
            found.append(match)
    return found


def check_saved(node: Any) -> None:
    """Raise if a tensor that ``node``'s op saved was changed in place after the op ran,
    and backward will use it (see ``_unused``)."""
    for saved in saved_nodes(node):
        c = saved._counter
        if c is not None and c.stamps and c.stamps[-1] > node._epoch and not _unused(node,
                                                                                     saved):
            since = sum(1 for stamp in c.stamps if stamp > node._epoch)
            exact = since < len(c.stamps) or len(c.stamps) < c.HISTORY
            raise RuntimeError(_modified_message(node, saved, c.value, c.value - since, exact))


def _unused(node: Any, saved: Any) -> bool:
    """Whether backward will not read the saved input ``saved``: an op may declare
    ``input_needed_by``, for each input ``i`` the inputs whose gradients read its data
    (``a * b``: ``((1,), (0,))``, ``a`` only for ``b``'s gradient), as PyTorch saves only
    what is needed; a changed input that no input needing it requires grad is harmless."""
    needed_by = getattr(node._fn, "input_needed_by", None)
    if needed_by is None or saved is node:
        return False
    inputs = node._inputs()
    index = next(i for i, a in enumerate(inputs) if a is saved)
    return not any(getattr(inputs[j], "requires_grad", False) for j in needed_by[index])


def _modified_message(node: Any, saved: Any, now: int, expected: int, exact: bool) -> str:
    which = "its output" if saved is node else f"input {_input_index(node, saved)}"
    where = f" (in module '{node.scope}')" if node.scope else ""
    shape = getattr(saved, "shape", ())
    dtype = getattr(saved, "dtype", "float")
    expected_text = f"{expected}" if exact else f"{expected} or lower"
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {which} of {node.op}{where}, a tensor of shape "
            f"{tuple(shape)} and dtype {dtype}, is at version {now}; expected version "
            f"{expected_text} instead. Hint: the tensor was changed in place (an `*_` method, "
            f"index assignment, copy_, an optimizer step) after {node.op} saved it for "
            f"backward and before backward ran; make that change out of place, or move it "
            f"after backward (or clone the tensor before changing it).")


def _input_index(node: Any, saved: Any) -> int:
    return next(i for i, a in enumerate(node._inputs()) if a is saved)
