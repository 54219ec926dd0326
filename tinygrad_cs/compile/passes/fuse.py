"""Fusion: merge a DAG of elementwise instructions into one generated Numba kernel.

Rule: an instruction can join a group when it is ``elementwise``, its op is in the table of
``compile/pointwise.py`` (anything else, ``"Name.backward"`` included, is left alone), it has
one float32/float64 output, and its parameters (LeakyReLU's slope, Clamp's bounds, ...) are
constants. Walking the program backwards, each such instruction not yet taken is the *root*
of a group, and the group grows up through the producers of its inputs as long as the
producer can join and its output is read only inside the group (not by a later instruction,
not as a program result): then nobody needs that intermediate array, and the kernel keeps it
in a register. A ``Sum`` over all axes or the last axes of a root's result, its only reader,
joins as the group's tail (the kernel sums as it goes; ``codegen.py`` says how it rounds),
unless an input is broadcast along some of the summed axes and not others. A group of two or
more becomes one instruction ``op="Fused"`` in the place of its last one; its inputs are the
group's outside inputs (``Var``s and array ``Const``s; scalar constants are baked into the
source), ``attrs`` is empty, and its ``fn`` is a ``codegen.FusedKernel``: a drawer or printer
finds the fused op names in ``ins.fn.ops``.

Before::                                     After::

    %3 = Mul(%0, %1)     float32[32, 64]         %6 = Fused(%0, %1, %2)   float32[32, 64]
    %4 = Add(%3, %2)     (%2: float32[64])            fn.ops = (Mul, Add, ReLU)
    %6 = ReLU(%4)

Log: ``fuse: 3 ops -> Fused#1 [Mul, Add, ReLU] float32[32, 64]``. Had ``%7 = Sum(%6,
dim=1)`` been the only reader of ``%6``, the group would end with it: ``%7 = Fused(%0, %1,
%2)`` of ``float32[32]``, ``fn.ops = (Mul, Add, ReLU, Sum)``.

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


def _summed(ins: Instr, defined, taken: set[int], uses, keep) -> tuple[Instr, int] | None:
    """For ``Sum(x, dim, keepdim)`` over all axes or the last ``k`` axes of ``x``, where ``x``
    is made by a fusable instruction and read by this ``Sum`` alone: (that producer, k)."""
    if ins.op != "Sum" or len(ins.outputs) != 1 or not ins.inputs or len(ins.inputs) > 3:
        return None
    x = ins.inputs[0]
    if (not isinstance(x, Var) or not x.shape or not set(ins.attrs) <= {"dim", "keepdim"}
            or x.dtype not in _FLOATS or ins.outputs[0].dtype != x.dtype):
        return None
    n, dim = len(x.shape), plain(argument(ins, 1, "dim", None))
    dims = range(n) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
    if not all(isinstance(d, (int, np.integer)) for d in dims):
        return None
    axes = sorted({int(d) % n for d in dims})
    if not axes or axes != list(range(n - len(axes), n)):
        return None
    producer = defined.get(id(x))
    if (producer is None or id(producer) in taken or uses[id(x)] != 1 or id(x) in keep
            or not _fusable(producer)):
        return None
    return producer, len(axes)


def _fused(members: list[Instr], tail: Instr | None = None, reduced: int = 0) -> Instr | None:
    """One ``Fused`` instruction computing ``members`` (in program order; the last is the
    root), summed by ``tail`` over the last ``reduced`` axes if given; None if that sum cannot
    be fused (``codegen.fused_kernel``)."""
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
    last = tail or members[-1]
    shapes = [v.shape if isinstance(v, Var) else np.shape(v.value) for v in inputs]
    fn = fused_kernel(steps, shapes, tuple(members[-1].outputs[0].shape),
                      tuple(last.outputs[0].shape), reduced)
    if fn is None:
        return None
    return replace(last, op="Fused", fn=fn, inputs=tuple(inputs), attrs={},
                   elementwise=tail is None)


def fuse(program: Program) -> tuple[Program, list[str]]:
    """Replace each maximal group of fusable instructions by one ``Fused`` instruction."""
    defined = {id(v): ins for ins in program.instrs for v in ins.outputs}
    position = {id(ins): k for k, ins in enumerate(program.instrs)}
    uses, keep = use_counts(program), results(program)
    taken: set[int] = set()
    fused: dict[int, Instr] = {}           # position of a group's last instruction -> Fused
    for ins in reversed(program.instrs):
        if id(ins) in taken:
            continue
        summed = _summed(ins, defined, taken, uses, keep)
        root = summed[0] if summed else ins
        if not _fusable(root):
            continue
        members = sorted(_grow(root, defined, taken, uses, keep), key=lambda m: position[id(m)])
        new = _fused(members, ins, summed[1]) if summed else None
        if new is not None:
            members.append(ins)
        elif len(members) > 1:
            new = _fused(members)
        else:
            continue
        taken.update(id(m) for m in members)
        fused[position[id(members[-1])]] = new
    instrs, log = [], []
    for k, ins in enumerate(program.instrs):
        if k in fused:
            new = fused[k]
            out = new.outputs[0]
            instrs.append(new)
            log.append(f"fuse: {len(new.fn.ops)} ops -> Fused#{len(log) + 1} "
                       f"[{', '.join(new.fn.ops)}] {np.dtype(out.dtype).name}{list(out.shape)}")
        elif id(ins) not in taken:
            instrs.append(ins)
    return rebuild(program, instrs, {}), log
