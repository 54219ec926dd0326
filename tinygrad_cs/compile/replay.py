"""Replay: run a program on the current state and apply its writes, as eager would have.

``Replay(program, slots, clears)`` precomputes, once, every instruction's argument positions
in one flat list of values (constants preloaded), so running it is a tight loop: per
instruction, gather the arguments and call ``fn`` (the same call ``execute.run`` makes).
After the run each write goes to its slot (``slots.py``) and the ``.grad`` of the leaves in
``clears`` is set to None (the function called ``zero_grad`` after the last gradient).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..grad_mode import state as _state
from .ir import Const, Program
from .slots import Slot

__all__ = ["Replay"]


class Replay:
    """A program made ready to run; ``__call__(inputs, state) -> outputs`` (arrays)."""

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
        plan = []
        for k, ins in enumerate(program.instrs):
            args = tuple(place(v) for v in ins.inputs)
            outs = tuple(place(v) for v in ins.outputs)
            dead = tuple(position[id(v)] for v in program.release[k]) if program.release else ()
            plan.append((ins.fn, args, ins.attrs, outs[0] if len(outs) == 1 else outs, dead))
        self.plan = plan
        self.template = values
        self.outputs = [position[id(v)] for v in program.outputs]
        state_index = {id(v): i for i, v in enumerate(program.state)}
        self.writes = [(state_index[id(old)], position[id(new)]) for old, new in program.writes]

    def __call__(self, inputs: Sequence[Any], state: Sequence[Any]) -> list:
        values = list(self.template)
        n = self.n_inputs
        values[:n] = inputs
        values[n:n + len(state)] = state
        previous, _state.enabled = _state.enabled, False  # the instructions record nothing
        try:
            for fn, args, attrs, out, dead in self.plan:
                result = fn(*[values[i] for i in args], **attrs)
                if type(out) is int:
                    values[out] = result
                else:
                    for i, r in zip(out, result):
                        values[i] = r
                for i in dead:
                    values[i] = None
        finally:
            _state.enabled = previous
        for index, i in self.writes:
            self.slots[index].write(values[i])
        for leaf in self.clears:
            leaf._grad = None
        return [values[i] for i in self.outputs]
