"""Common-subexpression elimination: compute a value once, reuse it where it recurs.

Rule: two instructions with the same ``op``, the same ``attrs`` and the same inputs (a ``Var``
by identity, a ``Const`` by value, type and sign included: ``1`` and ``1.0`` differ under
numpy's promotion, ``0.0`` and ``-0.0`` in ``x + c``) compute the same values, because
instruction functions are pure (an instruction without inputs is left alone, as in ``fold``:
it may draw random numbers). The later one is dropped and its outputs are renamed to the
earlier one's everywhere after it, results included. Renaming first lets chains collapse:
once ``%5`` is ``%3``, ``Exp(%5)`` matches an earlier ``Exp(%3)``.

Before::                             After::

    %3 = Mul(%0, %1)                     %3 = Mul(%0, %1)
    %4 = Mul(%0, %1)                     %5 = Add(%3, %3)
    %5 = Add(%3, %4)

Log: ``cse: %4 = Mul(%0, %1) is %3``.
"""
from __future__ import annotations

from ..ir import Const, Program
from ._rewrite import Renames, freeze, rebuild, renamed, show

__all__ = ["cse"]


def cse(program: Program) -> tuple[Program, list[str]]:
    """Replace each repeated computation by the first instruction that made it."""
    seen: dict = {}
    renames: Renames = {}
    instrs, log = [], []
    for ins in program.instrs:
        ins = renamed(ins, renames)
        if not ins.inputs:   # a factory without inputs may draw fresh random numbers
            instrs.append(ins)
            continue
        key = (ins.op, len(ins.outputs), freeze(ins.attrs),
               tuple(freeze(v) if isinstance(v, Const) else ("var", id(v)) for v in ins.inputs))
        first = seen.get(key)
        if first is None:
            seen[key] = ins
            instrs.append(ins)
            continue
        for old, new in zip(ins.outputs, first.outputs):
            renames[id(old)] = new
        log.append(f"cse: {show(ins)} is {', '.join(v.name for v in first.outputs)}")
    return rebuild(program, instrs, renames), log
