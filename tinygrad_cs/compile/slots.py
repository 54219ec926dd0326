"""Where a program's state lives outside it: a ``Slot`` reads one value before a replay and
writes its new value after (``ir.Program.state`` / ``writes`` say *which* values; a slot says
*where* they are in the user's objects).

Kinds, and what they read / write:

* ``"data"``: a tensor's array (a parameter, a buffer). Written in place (``np.copyto``), as
  the optimizer updates parameters: modules and views keep referring to the same array. A
  new value that *is* that array (an update lowered in place) is not copied onto itself.
* ``"array"``: a raw array handed to an op to update in place (BatchNorm's running statistics
  are passed as arrays); written in place too.
* ``"grad"``: a leaf's ``.grad`` array; written as a new gradient Tensor, as backward does.
* ``"optim"``: one entry of an optimizer's per-parameter state (``momentum_buffer``,
  ``exp_avg``, ``step``); written by assignment.
* ``"hyper"``: a hyper-parameter of a parameter group (``lr``, ``momentum``, ...): read at
  every replay, so a scheduler's new learning rate takes effect; never written.
* ``"rng"``: the engine's generator; draws advance it, so the write is the same object.

``signature(value)`` is what the guard compares between the trace and a later call.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import random as _random
from .. import versions as _versions
from ..tensor import Tensor

__all__ = ["Slot", "signature"]


def signature(value: Any) -> tuple:
    """(shape, dtype) of an array; the type of anything else (a float lr, an int step)."""
    if isinstance(value, np.ndarray):
        return (value.shape, value.dtype)
    return (type(value),)


class Slot:
    """One place a program reads state from and writes it back to (see the module docstring)."""

    __slots__ = ("key", "kind", "label", "owner")

    def __init__(self, kind: str, owner: Any, key: Any = None, label: str = "") -> None:
        self.kind, self.owner, self.key, self.label = kind, owner, key, label

    def read(self) -> Any:
        kind, owner = self.kind, self.owner
        if kind == "data":
            return owner._data
        if kind == "array":
            return owner
        if kind == "grad":
            grad = owner._grad
            return None if grad is None else grad._data
        if kind in ("optim", "hyper"):
            return owner.get(self.key)
        return _random.current()

    def write(self, value: Any) -> None:
        kind, owner = self.kind, self.owner
        if kind == "data":
            if value is not owner._data:   # else updated in place already (lowered/state.py)
                np.copyto(owner._data, value)
            _versions.bump(owner)  # a graph recorded before the update must not backward
        elif kind == "array":
            if value is not owner:
                np.copyto(owner, value)
        elif kind == "grad":
            owner._grad = Tensor._from_op(value)
        elif kind == "optim":
            owner[self.key] = value
        elif kind == "rng" and value is not _random.current():
            raise RuntimeError("compile: the generator changed during a replay")
