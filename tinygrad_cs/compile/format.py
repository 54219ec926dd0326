"""A program as text, one line per instruction, in the spirit of a jaxpr or an fx graph::

    inputs:
      %1: float32[4, 3]
    state:
      %2: float32[5, 3] = fc1.weight
    forward:
      %6: float32[4, 5] = Linear(%1, %2, %3)   # fc1
    backward:
      %9: float32[4, 5], %10: float32[5, 3] = Linear.backward(%8, %1, %2)   # fc1
    update:
      ...
    outputs: %7
    writes:
      fc1.weight <- %12

Sections follow the program order; a new header starts wherever the phase changes.
"""
from __future__ import annotations

import numpy as np

from .ir import Const, Instr, Program, Var

__all__ = ["format_program"]


def _type(v: Var) -> str:
    dtype = np.dtype(v.dtype)
    return "object" if dtype.kind == "O" else f"{dtype.name}{list(v.shape)}"


def _arg(v: Var | Const) -> str:
    if isinstance(v, Var):
        return v.name
    value = v.value
    if isinstance(value, np.ndarray) and value.ndim:
        return f"const{list(value.shape)}"
    text = repr(value)   # a scalar, or an op's small argument object (a layout, a slice)
    return text if len(text) <= 40 else f"{type(value).__name__}(...)"


def _attr(value) -> str:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, np.ndarray):
        return f"array{list(value.shape)}"
    return repr(value)


def format_instr(ins: Instr) -> str:
    outs = ", ".join(f"{v.name}: {_type(v)}" for v in ins.outputs)
    args = [_arg(v) for v in ins.inputs] + [f"{k}={_attr(v)}" for k, v in ins.attrs.items()]
    line = f"{outs} = {ins.op}({', '.join(args)})"
    return f"{line}   # {ins.scope}" if ins.scope else line


def format_program(program: Program) -> str:
    """The text of ``program``: inputs and state first (state by name), then the
    instructions by phase, then the outputs and the writes."""
    lines = ["inputs:"] + [f"  {v.name}: {_type(v)}" + (f"   # {v.label}" if v.label else "")
                           for v in program.inputs]
    lines.append("state:")
    lines += [f"  {v.name}: {_type(v)}" + (f" = {v.label}" if v.label else "")
              for v in program.state]
    phase = None
    for ins in program.instrs:
        if ins.phase != phase:
            phase = ins.phase
            lines.append(f"{phase}:")
        lines.append("  " + format_instr(ins))
    lines.append("outputs: " + ", ".join(v.name for v in program.outputs))
    if program.writes:
        lines.append("writes:")
        lines += [f"  {old.label or old.name} <- {new.name}" for old, new in program.writes]
    return "\n".join(lines)
