"""Dead-code elimination: drop every instruction none of whose outputs reaches a result.

Rule: walking the program backwards from its results (``outputs`` and the new values in
``writes``), an instruction is kept when one of its outputs is still needed, and its inputs
then become needed. Instruction functions are pure (side effects are explicit ``writes``), so
nothing else can observe a dropped one.

Before::                             After::

    %3 = Exp(%0)                         %4 = Mul(%0, 2.0)
    %4 = Mul(%0, 2.0)                    return %4
    return %4

Log: ``dce: dropped %3 = Exp(%0)``.
"""
from __future__ import annotations

from ..ir import Program, Var
from ._rewrite import rebuild, results, show

__all__ = ["dce"]


def dce(program: Program) -> tuple[Program, list[str]]:
    """Remove the instructions whose values no result needs."""
    needed = results(program)
    kept, log = [], []
    for ins in reversed(program.instrs):
        if any(id(v) in needed for v in ins.outputs):
            kept.append(ins)
            needed.update(id(v) for v in ins.inputs if isinstance(v, Var))
        else:
            log.append(f"dce: dropped {show(ins)}")
    kept.reverse()
    log.reverse()
    return rebuild(program, kept, {}), log

