"""Constant folding: an instruction whose inputs are all constants runs once, at compile time.

Rule: when every input of an instruction is a ``Const`` (and it has at least one: an
instruction without inputs may be a factory of fresh random numbers), its function is called
now and each output becomes a ``Const`` holding the result; later readers take the constant.
An instruction whose output is a program result is kept (results are values, not constants).
Folding repeats down a chain, since a folded value makes its readers all-constant in turn.

Before::                             After::

    %3 = Mul(2.0, 3.0)                   %5 = Add(%0, 8.0)
    %4 = Add(%3, 2.0)
    %5 = Add(%0, %4)

Log: ``fold: %3 = Mul(2.0, 3.0) -> 6.0``.
"""
from __future__ import annotations

from ..ir import Const, Program
from ._rewrite import Renames, rebuild, renamed, results, show

__all__ = ["fold"]


def fold(program: Program) -> tuple[Program, list[str]]:
    """Evaluate the all-constant instructions and substitute their values."""
    keep = results(program)
    renames: Renames = {}
    instrs, log = [], []
    for ins in program.instrs:
        ins = renamed(ins, renames)
        foldable = (ins.inputs and all(isinstance(v, Const) for v in ins.inputs)
                    and not any(id(v) in keep for v in ins.outputs))
        if not foldable:
            instrs.append(ins)
            continue
        try:
            value = ins.fn(*(v.value for v in ins.inputs), **ins.attrs)
        except Exception as err:  # the program would raise the same at run time: say where
            raise ValueError(f"fold: {show(ins)} fails on its constant inputs: {err}") from err
        values = (value,) if len(ins.outputs) == 1 else tuple(value)
        consts = [Const(v) for v in values]
        for out, const in zip(ins.outputs, consts, strict=True):
            renames[id(out)] = const
        log.append(f"fold: {show(ins)} -> {', '.join(map(repr, consts))}")
    return rebuild(program, instrs, renames), log
