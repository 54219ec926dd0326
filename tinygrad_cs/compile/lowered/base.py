"""The lowering's vocabulary (``__init__.py`` says what lowering is): what a rule returns
(``Lowered``), what it may ask of the whole program (``Facts``), and the dtypes and shapes
of program values."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import calls
from ..ir import Const, Program, Var
from ..slots import Slot

__all__ = ["Facts", "Lowered", "dtype_of", "same_float", "shape_of"]


class Lowered(NamedTuple):
    """A lowered instruction: ``fn(*input arrays) -> output`` (a tuple when several).

    ``fresh``: every output is a new array that aliases nothing. ``gemm``: M * N * K of its
    largest BLAS product, 0 for none, None when one may be double precision."""
    fn: Callable[..., Any]
    fresh: bool = False
    gemm: int | None = 0


class Facts:
    """What the rules may ask of the program (see ``__init__.py``)."""

    def __init__(self, program: Program, slots: Sequence[Slot]) -> None:
        self.program = program
        self.readers: dict[int, list[int]] = {}
        for k, ins in enumerate(program.instrs):
            for v in ins.inputs:
                if isinstance(v, Var):
                    self.readers.setdefault(id(v), []).append(k)
        self.outputs = {id(v) for v in program.outputs}
        self.results = self.outputs | {id(new) for _, new in program.writes}
        self.slot_of = {id(v): s for v, s in zip(program.state, slots)}
        self.written = {id(old): new for old, new in program.writes}
        self.fresh: set[int] = set()

    def read_after(self, v: Var, k: int) -> bool:
        """Does an instruction after ``k`` read ``v``?"""
        return any(j > k for j in self.readers.get(id(v), ()))

    def only_updates_after(self, k: int) -> bool:
        """Are all instructions after ``k`` optimizer updates? (Nothing else then reads a
        parameter, or a view of one, after ``k``'s update.)"""
        return all(isinstance(ins.fn, calls.Update) for ins in self.program.instrs[k + 1:])

    def live_state(self, v: Var | Const, kind: str, new: Var, k: int) -> bool:
        """Is ``v`` read from a slot of ``kind`` (its live storage at replay), written back
        as ``new``, and neither a program output nor read after instruction ``k``?"""
        slot = self.slot_of.get(id(v))
        return (slot is not None and slot.kind == kind and self.written.get(id(v)) is new
                and id(v) not in self.outputs and not self.read_after(v, k))


def dtype_of(v: Var | Const) -> np.dtype:
    """The dtype of a program value (a constant's as numpy sees it)."""
    return np.dtype(v.dtype) if isinstance(v, Var) else np.result_type(v.value)


def shape_of(v: Var | Const) -> tuple[int, ...]:
    """The shape of a program value."""
    return tuple(v.shape) if isinstance(v, Var) else np.shape(v.value)


def same_float(values: Sequence[Var | Const]) -> np.dtype | None:
    """The one floating dtype all ``values`` share, else None (a rule then declines: eager
    would cast somewhere, and the lowered expression would have to cast the same way)."""
    dtypes = {dtype_of(v) for v in values}
    if len(dtypes) != 1:
        return None
    (dtype,) = dtypes
    return dtype if dtype.kind == "f" else None
