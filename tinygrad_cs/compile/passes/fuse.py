"""Fusion: merge a DAG of elementwise instructions into one generated Numba kernel.

Rule: an instruction can join a group when it is ``elementwise``, its op is in the table of
``compile/pointwise.py`` (anything else, ``"Name.backward"`` included, is left alone), it has
one float32/float64 output, and its parameters (LeakyReLU's slope, Clamp's bounds, ...) are
constants. Walking the program backwards, each such instruction not yet taken is the *root*
of a group, and the group grows up through the producers of its inputs as long as the
producer can join and its output is read only inside the group (not by a later instruction,
not as a program result): then nobody needs that intermediate array, and the kernel keeps it
in a register. A group of two or more becomes one instruction ``op="Fused"`` in the root's
place; its inputs are the group's outside inputs (``Var``s and array ``Const``s; scalar
constants are baked into the source), ``attrs`` is empty, and its ``fn`` is a
``codegen.FusedKernel``: a drawer or printer finds the fused op names in ``ins.fn.ops``.

Before::                                     After::

    %3 = Mul(%0, %1)     float32[32, 64]         %6 = Fused(%0, %1, %2)   float32[32, 64]
    %4 = Add(%3, %2)     (%2: float32[64])            fn.ops = (Mul, Add, ReLU)
    %6 = ReLU(%4)

Log: ``fuse: 3 ops -> Fused#1 [Mul, Add, ReLU] float32[32, 64]``.

Values: exactly numpy's for the arithmetic ops, about an ulp apart where an op calls libm
(``pointwise.py`` says which). An intermediate broadcast to the root's shape is recomputed per
output element (``Exp`` of a bias), which costs little next to writing the array out.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..codegen import Step, fused_kernel
from ..ir import Const, Instr, Program, Var
from ..pointwise import OPS
from ._rewrite import argument, plain, rebuild, results, use_counts

__all__ = ["fuse"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NUMBER = (bool, int, float, np.bool_, np.integer, np.floating)
_ARRAY_KINDS = "biuf"      # bool, ints and floats may be read (converted as numpy does)


def _operands(ins: Instr) -> list | None:
    """The operands of ``ins`` in its table entry's order, or None if it cannot join a group
    (see the module docstring)."""
    entry = OPS.get(ins.op)
    if (entry is None or not ins.elementwise or len(ins.outputs) != 1
            or ins.outputs[0].dtype not in _FLOATS or len(ins.inputs) > len(entry.names)
            or not set(ins.attrs) <= set(entry.names[len(ins.inputs):])):
        return None
    operands = []
    for i, name in enumerate(entry.operands):
        try:
            value = argument(ins, i, name)
        except KeyError:
            return None
        kind = np.dtype(value.dtype if isinstance(value, Var) else np.asarray(plain(value)).dtype)
        if kind.kind not in _ARRAY_KINDS or (i == entry.condition and kind != np.bool_):
            return None
        operands.append(value if isinstance(value, (Var, Const)) else Const(value))
    return operands


def _params(ins: Instr) -> tuple[tuple[str, object], ...] | None:
    entry = OPS[ins.op]
    start = len(entry.operands)
    params = []
    for j, (name, default) in enumerate(entry.params):
        value = plain(argument(ins, start + j, name, default))
        if not (value is None or isinstance(value, _NUMBER)):
            return None                     # a tensor-valued bound or slope: not a constant
        params.append((name, value))
    return tuple(params)


def _fusable(ins: Instr) -> bool:
    return _operands(ins) is not None and _params(ins) is not None


def _grow(root: Instr, defined: dict[int, Instr], taken: set[int], uses, keep) -> list[Instr]:
    """The group of ``root``: absorb producers whose output only the group reads, until none
    is left to absorb (a diamond's shared producer joins once both its readers have)."""
    group = {id(root): root}
    reads: dict[int, int] = {}             # value id -> reads of it inside the group
    for v in root.inputs:
        if isinstance(v, Var):
            reads[id(v)] = reads.get(id(v), 0) + 1
    grew = True
    while grew:
        grew = False
        for key, count in list(reads.items()):
            producer = defined.get(key)
            if (producer is None or id(producer) in group or id(producer) in taken
                    or key in keep or count != uses[key] or not _fusable(producer)):
                continue
            group[id(producer)] = producer
            for v in producer.inputs:
                if isinstance(v, Var):
                    reads[id(v)] = reads.get(id(v), 0) + 1
            grew = True
    return list(group.values())


def _fused(members: list[Instr]) -> Instr:
    """One ``Fused`` instruction computing ``members`` (in program order; the last is the root)."""
    step_of = {id(ins.outputs[0]): j for j, ins in enumerate(members)}
    inputs: list = []
    slot: dict[int, int] = {}
    steps = []
    for ins in members:
        refs = []
        for value in _operands(ins):
            if isinstance(value, Var) and id(value) in step_of:
                refs.append(("step", step_of[id(value)]))
            elif isinstance(value, Const) and np.ndim(value.value) == 0:
                refs.append(("lit", value.value))
            else:
                key = id(value)
                if key not in slot:
                    slot[key] = len(inputs)
                    inputs.append(value)
                refs.append(("in", slot[key]))
        steps.append(Step(ins.op, tuple(refs), _params(ins), np.dtype(ins.outputs[0].dtype)))
    root = members[-1]
    out = root.outputs[0]
    shapes = [v.shape if isinstance(v, Var) else np.shape(v.value) for v in inputs]
    fn = fused_kernel(steps, shapes, tuple(out.shape))
    return replace(root, op="Fused", fn=fn, inputs=tuple(inputs), attrs={}, elementwise=True)


def fuse(program: Program) -> tuple[Program, list[str]]:
    """Replace each maximal group of fusable instructions by one ``Fused`` instruction."""
    defined = {id(v): ins for ins in program.instrs for v in ins.outputs}
    position = {id(ins): k for k, ins in enumerate(program.instrs)}
    uses, keep = use_counts(program), results(program)
    taken: set[int] = set()
    groups: dict[int, list[Instr]] = {}    # root's position -> its members in program order
    for ins in reversed(program.instrs):
        if id(ins) in taken or not _fusable(ins):
            continue
        members = _grow(ins, defined, taken, uses, keep)
        if len(members) < 2:
            continue
        members.sort(key=lambda m: position[id(m)])
        taken.update(id(m) for m in members)
        groups[position[id(ins)]] = members
    instrs, log = [], []
    for k, ins in enumerate(program.instrs):
        if k in groups:
            members = groups[k]
            instrs.append(_fused(members))
            out = ins.outputs[0]
            log.append(f"fuse: {len(members)} ops -> Fused#{len(log) + 1} "
                       f"[{', '.join(m.op for m in members)}] "
                       f"{np.dtype(out.dtype).name}{list(out.shape)}")
        elif id(ins) not in taken:
            instrs.append(ins)
    return rebuild(program, instrs, {}), log
