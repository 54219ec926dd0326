"""Run a ``Program`` (``ir.py``) on numpy arrays: the one executor every pass is checked with.

``run(program, inputs, state) -> (outputs, new_state)``: ``inputs`` and ``state`` are arrays
matching ``program.inputs`` and ``program.state``; each instruction's ``fn`` is called on the
arrays of its inputs (``Const`` values as they are) with its ``attrs`` as keywords; a
multi-output instruction returns a tuple. ``new_state`` maps each written state position to
its new array (``program.writes``). Values listed in ``program.release[k]`` are dropped after
instruction ``k``, so numpy can reuse their memory.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .ir import Const, Program

__all__ = ["run"]


def run(program: Program, inputs: Sequence[Any], state: Sequence[Any]) -> tuple[list, dict]:
    """Execute ``program``; return (outputs in order, {state index: new array})."""
    if len(inputs) != len(program.inputs) or len(state) != len(program.state):
        raise ValueError(f"compile: the program takes {len(program.inputs)} inputs and "
                         f"{len(program.state)} state values, got {len(inputs)} and {len(state)}")
    env: dict[int, Any] = {id(v): a for v, a in zip(program.inputs, inputs)}
    env.update((id(v), a) for v, a in zip(program.state, state))
    release = program.release
    for k, ins in enumerate(program.instrs):
        args = [v.value if isinstance(v, Const) else env[id(v)] for v in ins.inputs]
        result = ins.fn(*args, **ins.attrs)
        if len(ins.outputs) == 1:
            env[id(ins.outputs[0])] = result
        else:
            for v, a in zip(ins.outputs, result, strict=True):
                env[id(v)] = a
        if release is not None:
            for v in release[k]:
                del env[id(v)]
    position = {id(v): i for i, v in enumerate(program.state)}
    new_state = {position[id(old)]: env[id(new)] for old, new in program.writes}
    return [env[id(v)] for v in program.outputs], new_state
