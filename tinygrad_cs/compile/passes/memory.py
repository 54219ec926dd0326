"""The memory planner: drop each value right after its last reader, and say what that saves.

Rule: the last use of a value is the last instruction that reads it; ``release[k]`` lists the
values whose last use is instruction ``k`` (or that instruction ``k`` makes and nobody reads),
so the executor drops them there and numpy hands their memory to later values. Program inputs,
state, outputs and written values are never released: the caller holds them.

Before (``release`` is None: every value lives to the end)::

    %2 = Exp(%0)          live: %0 %2
    %3 = Mul(%2, %0)      live: %0 %2 %3
    %4 = Sum(%3)          live: %0 %2 %3 %4

After: ``release = [(), (%2,), (%3,)]``; at ``Sum`` only ``%0 %3 %4`` are alive.

Peak bytes (``memory_report``) count every value alive at once while an instruction runs: the
program's inputs and state, then each instruction's outputs on top of what is still alive
(its inputs included: they die only after it). Each value counts its full size,
``prod(shape) * itemsize``, including those numpy would make as views (a permute, a
broadcast), so the figures are an upper bound of what numpy really allocates.
Log: ``memory: peak 12.3 MiB -> 4.1 MiB``.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Program, Var
from ._rewrite import rebuild, results

__all__ = ["memory", "memory_report", "plan_release"]


def plan_release(program: Program) -> list[tuple[Var, ...]]:
    """``release[k]``: the values that die after instruction ``k`` (see the module docstring)."""
    keep = results(program) | {id(v) for v in program.inputs} | {id(v) for v in program.state}
    last: dict[int, int] = {}
    values: dict[int, Var] = {}
    for k, ins in enumerate(program.instrs):
        for v in ins.outputs:
            last[id(v)], values[id(v)] = k, v     # an unread value dies where it is made
        for v in ins.inputs:
            if isinstance(v, Var) and id(v) in values:
                last[id(v)] = k
    release: list[list[Var]] = [[] for _ in program.instrs]
    for key, k in last.items():
        if key not in keep:
            release[k].append(values[key])
    return [tuple(vs) for vs in release]


def _nbytes(v: Var) -> int:
    return math.prod(v.shape) * np.dtype(v.dtype).itemsize


def _peak(program: Program, release: list[tuple[Var, ...]] | None) -> int:
    live = sum(map(_nbytes, program.inputs)) + sum(map(_nbytes, program.state))
    peak = live
    for k, ins in enumerate(program.instrs):
        live += sum(map(_nbytes, ins.outputs))
        peak = max(peak, live)
        if release is not None:
            live -= sum(map(_nbytes, release[k]))
    return peak


def memory_report(program: Program) -> dict:
    """Peak live bytes with everything kept to the end (``"before"``) and with the program's
    ``release`` plan, or the one ``plan_release`` makes when it has none (``"after"``)."""
    release = program.release if program.release is not None else plan_release(program)
    return {"before": _peak(program, None), "after": _peak(program, release),
            "released": sum(map(len, release))}


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MiB"


def memory(program: Program) -> tuple[Program, list[str]]:
    """Fill ``program.release`` and log the peak memory before and after."""
    planned = rebuild(program, list(program.instrs), {})
    planned.release = plan_release(planned)
    report = memory_report(planned)
    return planned, [f"memory: peak {_size(report['before'])} -> {_size(report['after'])}"]
