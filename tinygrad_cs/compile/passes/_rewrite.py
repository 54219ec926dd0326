"""Helpers every pass shares: renaming values, counting uses, reading an op's arguments.

A pass never edits the program it is given: it builds new lists, and a changed instruction is
a new ``Instr`` (``dataclasses.replace``). Renaming maps a value's ``id`` to the value that
replaces it; ``rebuild`` applies such a map to instruction inputs, program outputs and writes.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from ..ir import Const, Instr, Program, Var

Renames = dict[int, "Var | Const"]


def rename(value: Var | Const, renames: Renames) -> Var | Const:
    """``value``'s replacement, following chains (a renamed to b, b to c: a is c)."""
    while isinstance(value, Var) and id(value) in renames:
        value = renames[id(value)]
    return value


def renamed(ins: Instr, renames: Renames) -> Instr:
    """``ins`` reading the replacements of its inputs (itself when none changes)."""
    if not renames:
        return ins
    inputs = tuple(rename(v, renames) for v in ins.inputs)
    if all(a is b for a, b in zip(inputs, ins.inputs)):
        return ins
    return replace(ins, inputs=inputs)


def rebuild(program: Program, instrs: list[Instr], renames: Renames) -> Program:
    """A new program with ``instrs`` and its results renamed; ``release`` is dropped (the
    memory planner runs after the passes that change instructions).

    Program results must stay ``Var``s: a pass never renames one to a ``Const``.
    """
    def result(v: Var) -> Var:
        new = rename(v, renames)
        if not isinstance(new, Var):
            raise TypeError(f"compile: a pass replaced the program result {v!r} by a constant")
        return new
    return Program(inputs=list(program.inputs), state=list(program.state), instrs=instrs,
                   outputs=[result(v) for v in program.outputs],
                   writes=[(old, result(new)) for old, new in program.writes], release=None)


def results(program: Program) -> set[int]:
    """The ids of the values the program hands back: its outputs and the new state it writes."""
    return {id(v) for v in program.outputs} | {id(new) for _, new in program.writes}


def use_counts(program: Program) -> Counter:
    """How often each value (by id) is read: by instructions, as an output, as a write."""
    counts: Counter = Counter()
    for ins in program.instrs:
        counts.update(id(v) for v in ins.inputs if isinstance(v, Var))
    counts.update(id(v) for v in program.outputs)
    counts.update(id(new) for _, new in program.writes)
    return counts


def producers(instrs: Iterable[Instr]) -> dict[int, Instr]:
    """Map each defined value's id to the instruction that defines it."""
    return {id(v): ins for ins in instrs for v in ins.outputs}


_MISSING = object()


def argument(ins: Instr, index: int, name: str, default: Any = _MISSING) -> Any:
    """Argument ``index`` (positional) or ``name`` (keyword) of ``ins``, as the tracer records
    them: a positional argument is ``ins.inputs[index]`` (a ``Var`` or a ``Const``), a keyword
    one is ``ins.attrs[name]`` (a plain value). ``default`` when absent; ``KeyError`` if there is
    no default."""
    if index < len(ins.inputs):
        return ins.inputs[index]
    if name in ins.attrs:
        return ins.attrs[name]
    if default is _MISSING:
        raise KeyError(f"compile: {ins.op} has no argument {name!r}")
    return default


def plain(value: Any) -> Any:
    """A ``Const``'s value, any other non-``Var`` as it is; ``Var`` stays a ``Var``."""
    return value.value if isinstance(value, Const) else value


def is_scalar(value: Any, of: float) -> bool:
    """Whether ``value`` is a ``Const`` (or a plain number) equal to ``of`` and 0-d."""
    value = plain(value)
    if isinstance(value, Var) or np.ndim(value) != 0:
        return False
    try:
        return bool(value == of)
    except (TypeError, ValueError):
        return False


def freeze(value: Any) -> Any:
    """A hashable key for a constant or attribute that equals another key exactly when the two
    values would compute the same thing: the type takes part (1, 1.0 and True differ in numpy's
    promotion), floats keep their sign (-0.0 is not 0.0), arrays compare by dtype, shape and
    bytes. A value with no such key gets a unique one (it then matches nothing)."""
    if isinstance(value, Const):
        return ("const", freeze(value.value))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, freeze(v)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        return ("unique", object())
    return (type(value).__name__, value)


def show(ins: Instr) -> str:
    """One instruction as a log shows it: ``%4 = Mul(%0, 2.0)``."""
    outs = ", ".join(v.name for v in ins.outputs)
    args = ", ".join(v.name if isinstance(v, Var) else repr(v) for v in ins.inputs)
    return f"{outs} = {ins.op}({args})"
