"""Replay: run a program on the current state and apply its writes, as eager would have.

``Replay(program, slots, clears)`` prepares, once: every instruction's argument positions in
one flat list of values (constants preloaded), and the callable it runs, lowered where a
rule knows the instruction (``lowered/``: the op's numpy arithmetic alone, in place where
eager works in place) or its generic ``fn`` (the call ``execute.run`` makes). Running it is
then a tight loop: per instruction, gather the arguments (one ``itemgetter``) and make one
call. After the run
each write goes to its slot (``slots.py``) and the ``.grad`` of the leaves in ``clears`` is
set to None (the function called ``zero_grad`` after the last gradient).

A replay that raises changes nothing: before the first instruction it refuses, as
``Optimizer.step`` does, a parameter (or a buffer written in place) whose array became
read-only; updates in place run only in the update phase, after everything that could fail
on the data, and the slot writes come last. When the lowering says so, OpenBLAS runs on one
thread during the run (``kernels/blas_threads.py``), restored however the run ends.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from ..grad_mode import state as _state
from ..kernels import blas_threads as blas
from .ir import Const, Program
from .lowered import lower
from .slots import Slot

__all__ = ["Replay"]


class Replay:
    """A program made ready to run; ``__call__(inputs, state) -> outputs`` (arrays).
    ``lowered``: the indices of the lowered instructions; ``one_thread``: BLAS on one thread."""

    def __init__(self, program: Program, slots: Sequence[Slot], clears: Sequence[Any]) -> None:
        self.program, self.slots, self.clears = program, list(slots), list(clears)
        position: dict[int, int] = {}
        values: list[Any] = []

        def place(v: Any) -> int:
            if isinstance(v, Const):
                values.append(v.value)
                return len(values) - 1
            if id(v) not in position:
                position[id(v)] = len(values)
                values.append(None)
            return position[id(v)]
        self.n_inputs = len(program.inputs)
        for v in (*program.inputs, *program.state):
            place(v)
        lowering = lower(program, self.slots)
        self.lowered, self.one_thread = lowering.lowered, lowering.one_thread
        plan = []
        for k, (ins, call) in enumerate(zip(program.instrs, lowering.calls)):
            args = tuple(place(v) for v in ins.inputs)
            outs = tuple(place(v) for v in ins.outputs)
            dead = tuple(position[id(v)] for v in program.release[k]) if program.release else ()
            plan.append((call, _getter(args), len(args) == 1,
                         outs[0] if len(outs) == 1 else outs, dead))
        self.plan = plan
        self.template = values
        self.outputs = [position[id(v)] for v in program.outputs]
        state_index = {id(v): i for i, v in enumerate(program.state)}
        self.writes = [(state_index[id(old)], position[id(new)]) for old, new in program.writes]
        self.in_place = [self.slots[i] for i, _ in self.writes
                         if self.slots[i].kind in ("data", "array")]

    def check(self) -> None:
        """Refuse to start when a value written in place became read-only (eager's
        ``Optimizer.step`` refuses it too, before it updates anything)."""
        for slot in self.in_place:
            array = slot.read()
            if not array.flags.writeable:
                raise RuntimeError(f"compile: the data array of {slot.label or slot.kind} "
                                   f"(shape {array.shape}) is read-only; the step updates "
                                   "it in place; nothing was updated")

    def __call__(self, inputs: Sequence[Any], state: Sequence[Any]) -> list:
        self.check()
        values = list(self.template)
        n = self.n_inputs
        values[:n] = inputs
        values[n:n + len(state)] = state
        previous, _state.enabled = _state.enabled, False  # the instructions record nothing
        if self.one_thread:
            blas.single()
        try:
            for call, get, one, out, dead in self.plan:
                result = call(get(values)) if one else call(*get(values))
                if type(out) is int:
                    values[out] = result
                else:
                    for i, r in zip(out, result):
                        values[i] = r
                for i in dead:
                    values[i] = None
        finally:
            _state.enabled = previous
            if self.one_thread:
                blas.restore()
        for index, i in self.writes:
            self.slots[index].write(values[i])
        for leaf in self.clears:
            leaf._grad = None
        return [values[i] for i in self.outputs]


def _getter(positions: tuple[int, ...]) -> Callable[[list], Any]:
    """``values -> the arguments at positions`` in C (``itemgetter``): the value itself for one
    position, a tuple for several."""
    return itemgetter(*positions) if positions else (lambda values: ())
