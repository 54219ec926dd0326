"""Algebraic simplification: rewrite an instruction into a cheaper equal one.

Each rule is a small function ``rule(ins, defined) -> Var | Instr | None``: a ``Var`` means
"this instruction's output is that existing value" (the instruction goes, its readers are
renamed), an ``Instr`` replaces it, ``None`` leaves it. ``defined`` maps a value's id to the
instruction that made it, so a rule can look one step up. A rule fires only where the result
keeps the output's shape and dtype: ``x + 0`` with ``x`` of shape (3,) and a 0 of shape
(2, 3) broadcasts, so it is not ``x``; a float32 ``x * 1`` with a float64 array 1 is a cast.

==================  =======================================  ==========================
rule                before                                   after
==================  =======================================  ==========================
``times_one``       ``%2 = Mul(%0, 1)`` or ``Mul(1, %0)``    ``%0``
``plus_zero``       ``%2 = Add(%0, 0)`` or ``Add(0, %0)``    ``%0``
``minus_zero``      ``%2 = Sub(%0, 0)``                      ``%0``
``over_one``        ``%2 = Div(%0, 1)``                      ``%0``
``double_neg``      ``%1 = Neg(%0); %2 = Neg(%1)``           ``%0``
``permutes_cancel`` ``%1 = Permute(%0, (1, 0));``            ``%0``
                    ``%2 = Permute(%1, (1, 0))``
``log_softmax``     ``%1 = Softmax(%0, 1); %2 = Log(%1)``    ``%2 = LogSoftmax(%0, 1)``
==================  =======================================  ==========================

Arithmetic stays exact but for one sign: ``-0.0 + 0`` is ``+0.0`` in IEEE arithmetic, so
``plus_zero`` may turn a ``+0.0`` into the ``-0.0`` it came from (equal under ``==``).
``log_softmax`` is the one rule that changes the arithmetic, on purpose: ``log`` of a softmax
underflows to ``-inf`` where LogSoftmax stays finite. The instructions a rule bypasses (the
inner ``Neg``, the ``Softmax``) stay for ``dce`` to remove if nothing else reads them.
Backward instructions computed as one call (``"Name.backward"``) never match a rule.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ...ops.logexp import LogSoftmaxFn
from ..ir import Instr, Program, Var
from ._rewrite import Renames, argument, is_scalar, plain, rebuild, renamed, show

__all__ = ["RULES", "simplify"]

Defined = dict[int, Instr]


def _same_as_output(ins: Instr, x) -> Var | None:
    """``x`` if it is a value with the output's shape and dtype (so it can stand for it)."""
    out = ins.outputs[0]
    if isinstance(x, Var) and x.shape == out.shape and x.dtype == out.dtype:
        return x
    return None


def _identity(ins: Instr, op: str, unit: float, sides: tuple[int, ...]) -> Var | None:
    """``op(x, unit)`` (or ``op(unit, x)`` when side 0 may hold the unit) is ``x``."""
    if ins.op != op or len(ins.inputs) != 2 or ins.attrs:
        return None
    for side in sides:
        if is_scalar(ins.inputs[side], unit):
            return _same_as_output(ins, ins.inputs[1 - side])
    return None


def times_one(ins: Instr, defined: Defined) -> Var | None:
    """x * 1 = 1 * x = x."""
    return _identity(ins, "Mul", 1, (0, 1))


def plus_zero(ins: Instr, defined: Defined) -> Var | None:
    """x + 0 = 0 + x = x (up to the sign of a zero)."""
    return _identity(ins, "Add", 0, (0, 1))


def minus_zero(ins: Instr, defined: Defined) -> Var | None:
    """x - 0 = x."""
    return _identity(ins, "Sub", 0, (1,))


def over_one(ins: Instr, defined: Defined) -> Var | None:
    """x / 1 = x."""
    return _identity(ins, "Div", 1, (1,))


def double_neg(ins: Instr, defined: Defined) -> Var | None:
    """-(-x) = x."""
    if ins.op != "Neg" or len(ins.inputs) != 1:
        return None
    inner = defined.get(id(ins.inputs[0]))
    if inner is None or inner.op != "Neg" or len(inner.inputs) != 1:
        return None
    return _same_as_output(ins, inner.inputs[0])


def _axes(ins: Instr) -> tuple[int, ...] | None:
    """The axis order of a ``Permute(x, dims)`` or ``Transpose(x, dim0, dim1)``, as
    non-negative ints; None when it is not one of those or its axes are not constants."""
    ndim = len(ins.outputs[0].shape)
    try:
        if ins.op == "Permute":
            dims = plain(argument(ins, 1, "dims"))
        elif ins.op == "Transpose":
            d0, d1 = plain(argument(ins, 1, "dim0")), plain(argument(ins, 2, "dim1"))
            dims = list(range(ndim))
            dims[d0], dims[d1] = dims[d1], dims[d0]
        else:
            return None
        return tuple(int(d) % max(ndim, 1) for d in dims)
    except (KeyError, TypeError, IndexError):   # a Var for an axis, or a malformed one
        return None


def permutes_cancel(ins: Instr, defined: Defined) -> Var | None:
    """permute(permute(x, p), q) = x when q undoes p (q[j] indexes p: p[q[j]] = j)."""
    outer = _axes(ins)
    inner = defined.get(id(ins.inputs[0])) if outer is not None else None
    first = _axes(inner) if inner is not None else None
    if first is None or len(first) != len(outer):
        return None
    if any(first[outer[j]] != j for j in range(len(outer))):
        return None
    return _same_as_output(ins, inner.inputs[0])


def log_softmax(ins: Instr, defined: Defined) -> Instr | None:
    """log(softmax(x, dim)) = log_softmax(x, dim), one stable instruction."""
    if ins.op != "Log" or len(ins.inputs) != 1 or ins.attrs:
        return None
    inner = defined.get(id(ins.inputs[0]))
    if inner is None or inner.op != "Softmax" or not isinstance(inner.inputs[0], Var):
        return None
    if _same_as_output(ins, inner.inputs[0]) is None:
        return None
    return replace(ins, op="LogSoftmax", fn=LogSoftmaxFn.apply, inputs=inner.inputs,
                   attrs=dict(inner.attrs), elementwise=False)


RULES: dict[str, Callable[[Instr, Defined], Var | Instr | None]] = {
    rule.__name__: rule for rule in (times_one, plus_zero, minus_zero, over_one, double_neg,
                                     permutes_cancel, log_softmax)}


def simplify(program: Program) -> tuple[Program, list[str]]:
    """Apply the first matching rule of ``RULES`` to each instruction, in program order."""
    renames: Renames = {}
    defined: Defined = {}
    instrs, log = [], []
    for ins in program.instrs:
        ins = renamed(ins, renames)
        new = None
        if len(ins.outputs) == 1:
            for name, rule in RULES.items():
                new = rule(ins, defined)
                if new is not None:
                    break
        if isinstance(new, Var):
            renames[id(ins.outputs[0])] = new
            log.append(f"simplify: {show(ins)} is {new.name} ({name})")
            continue
        if isinstance(new, Instr):
            log.append(f"simplify: {show(ins)} -> {show(new)} ({name})")
            ins = new
        instrs.append(ins)
        defined.update((id(v), ins) for v in ins.outputs)
    return rebuild(program, instrs, renames), log

