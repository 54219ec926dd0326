"""Version counters: why an in-place change can never give a wrong gradient silently.

Every tensor's storage has a version number, shared by all the tensors that see
that storage (``detach()``, reshape and basic-index views, an op output that is a
view of its input). Every in-place op (``add_``, ``zero_``, ``x[i] = v``,
``copy_``, optimizer steps, ``nn.init``) adds one to it. When an op saves a tensor
for backward, the tensor's version is noted; if it differs when backward needs the
tensor, backward raises instead of computing with the changed values::

    y = x * w          # Mul saves x and w (w at version 0)
    w.mul_(5)          # w is now at version 1
    y.sum().backward() # RuntimeError: ... is at version 1; expected version 0 instead

Writes through ``t.data`` (a tensor sharing the storage with a *fresh* counter) or
through ``t.numpy()`` are not tracked, as in PyTorch.

Cost, kept off the hot path: a tensor gets its ``VersionCounter`` only when it is
first changed in place or first viewed (``_counter is None`` means "version 0, no
views yet"); an op notes versions only of saved inputs that have a counter; and a
process-wide clock of in-place changes lets backward skip every check for an op
recorded after the last in-place change anywhere (the common case: forward,
backward, then the optimizer step).
"""
from __future__ import annotations

from typing import Any

import numpy as np

_clock = [0]  # in-place changes made so far in this process (any tensor, any thread)


class VersionCounter:
    """The version of one storage: how many in-place changes it has seen."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


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
    counter(node).value += 1
    _clock[0] += 1


def share(view: Any, base: Any) -> None:
    """Make ``view`` (whose data aliases ``base``'s storage) share ``base``'s counter."""
    view._counter = counter(base)


def share_if_view(out: Any, data: np.ndarray, args: tuple, raw: list) -> None:
    """Share a counter between an op's output and the input whose storage it aliases.

    ``args`` are the op's arguments and ``raw`` their raw values. Numpy tells us
    which output aliases an input: a view (``data.base``) of the input's array, or
    the input's array itself. Called for every tensor op, so the common case (a
    fresh array that is none of the inputs) returns after two cheap tests.
    """
    root = data.base
    if root is None:
        if id(data) not in map(id, raw):
            return
        root = data
    for a, r in zip(args, raw):
        if isinstance(r, np.ndarray) and (r is data or r is root or r.base is root):
            share(out, a)
            if out._counter.value and type(getattr(out, "_saved", None)) is tuple:
                note_output(out)
            return


def snapshot(out: Any, values: tuple) -> tuple | None:
    """The versions of the saved ``values`` that are data of ``out``'s input nodes.

    ``None`` when all of them are at version 0 without a counter (nothing to note).
    """
    inputs = [a for a in out._inputs() if getattr(a, "_counter", None) is not None]
    if not inputs:
        return None
    noted = []
    for v in values:
        node = next((a for a in inputs if a._data is v), None)
        noted.append(None if node is None else node._counter.value)
    return tuple(noted)


def note_output(out: Any) -> None:
    """Note the version of a saved output that is a view of an already-changed input."""
    values = out._saved
    noted = list(out._vsnap or (None,) * len(values))
    for position, v in enumerate(values):
        if v is out._data:
            noted[position] = out._counter.value
    out._vsnap = tuple(noted)


def saved_nodes(node: Any) -> list[tuple[int, Any]]:
    """``(position in saved, node)`` for each saved value that is an input's or the output's data."""
    from .function import _PAIR  # the saved-values layout belongs to function.py

    saved = node._saved
    if saved is _PAIR:
        return [(0, node._a), (1, node._b)]
    if type(saved) is not tuple:
        return []
    inputs = [a for a in node._inputs() if hasattr(a, "_counter")]
    found = []
    for position, v in enumerate(saved):
        match = next((a for a in inputs if a._data is v), None)
        if match is None and v is node._data:
            match = node
        if match is not None:
            found.append((position, match))
    return found


def check_saved(node: Any) -> None:
    """Raise if a tensor that ``node``'s op saved was changed in place since it was saved."""
    noted = node._vsnap
    for position, saved in saved_nodes(node):
        expected = 0 if noted is None or noted[position] is None else noted[position]
        now = version(saved)
        if now != expected:
            raise RuntimeError(_modified_message(node, saved, position, now, expected))


def _modified_message(node: Any, saved: Any, position: int, now: int, expected: int) -> str:
    which = "its output" if saved is node else f"input {_input_index(node, saved)}"
    where = f" (in module '{node.scope}')" if node.scope else ""
    shape = getattr(saved, "shape", ())
    dtype = getattr(saved, "dtype", "float")
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {which} of {node.op}{where}, a tensor of shape "
            f"{tuple(shape)} and dtype {dtype}, is at version {now}; expected version "
            f"{expected} instead. Hint: the tensor was changed in place (an `*_` method, "
            f"index assignment, copy_, an optimizer step) after {node.op} saved it for "
            f"backward and before backward ran; make that change out of place, or move it "
            f"after backward (or clone the tensor before changing it).")


def _input_index(node: Any, saved: Any) -> int:
    return next(i for i, a in enumerate(node._inputs()) if a is saved)
