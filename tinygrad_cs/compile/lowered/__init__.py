"""Lowering: the hot instructions of a program as plain numpy callables, for replay.

An instruction as traced re-runs its op's own code (``calls.py``): the ``Function``'s
``forward``/``backward`` with their checks, ``engine.apply`` for every op a backward calls,
copies that keep each instruction pure. Replay lowers, once per program, the instructions
it knows into callables that do only the arithmetic: **the same numpy expressions, in the
same order, as eager execution**, so the results stay bit for bit eager's. An instruction
no rule takes keeps its generic call.

``RULES`` maps an instruction's kind to its rule; ``rule(ins, k, facts) -> Lowered | None``
(None: keep the generic call). The kinds: ``("forward", Function)``, ``("backward",
Function)``, ``"update"`` (an optimizer's ``_update``) and ``"accumulate"``
(``AccumulateGrad``). One file per family:

* ``linalg.py``: ``Linear`` forward and backward (2-D inputs): the GEMMs, nothing else;
* ``activation.py``: ``ReLU`` forward and backward;
* ``loss.py``: ``cross_entropy``'s backward (softmax minus one-hot, scaled);
* ``state.py``: a leaf's first gradient without its copy, and the optimizer's update in
  place on the parameter's and the optimizer state's own arrays, as ``Optimizer.step``
  does (instead of on copies written back after the run).

``Facts`` (``base.py``) is what the rules may ask of the whole program: who reads a value, which values
the program hands back, which state slot a value lives in, which values are fresh arrays
(made by a lowered instruction, aliasing nothing).

One thread for BLAS (``Lowering.one_thread``): when every BLAS product of the program is a
small single-precision GEMM of a lowered instruction, and no other instruction may call BLAS,
replay runs OpenBLAS on one thread (``kernels/blas_threads.py``). A fork-join of both cores costs more than
it saves on such products (a 64 x 64 x 128 GEMM took ~10 us on one thread against 40-55 us
on two with the machine busy), and the OpenBLAS numpy ships computes sgemm to the same bits
on one thread or two (9,000 random shapes up to 260 on this machine; ``test_compile_lower``
checks a few wherever it runs). Its dgemm does not, so double precision keeps the threads;
the lowered GEMMs call ``blas_threads.matmul`` as eager does, so each product runs on the
thread count eager would give it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ...kernels.blas_threads import SERIAL_MAX_MACS
from ...ops.cross_entropy import CrossEntropy
from ...ops.elementwise import ReLUFn
from ...ops.linalg import LinearFn
from .. import calls
from ..ir import Instr, Program
from ..slots import Slot
from . import activation, linalg, loss, state
from .base import Facts, Lowered

__all__ = ["RULES", "Facts", "Lowered", "Lowering", "lower"]

#: Ops whose generic forward and backward never call BLAS (elementwise numpy only).
_NO_BLAS_MODULES = ("tinygrad_cs.ops.elementwise", "tinygrad_cs.ops.cross_entropy")


Rule = Callable[[Instr, int, Facts], "Lowered | None"]

RULES: dict[Any, Rule] = {
    ("forward", LinearFn): linalg.linear_forward,
    ("backward", LinearFn): linalg.linear_backward,
    ("forward", ReLUFn): activation.relu_forward,
    ("backward", ReLUFn): activation.relu_backward,
    ("backward", CrossEntropy): loss.cross_entropy_backward,
    "update": state.update_in_place,
    "accumulate": state.accumulate_grad,
}


def kind(ins: Instr) -> Any:
    """The key of ``ins`` in ``RULES`` (None for a kind no rule could take)."""
    fn = ins.fn
    if isinstance(fn, calls.Forward):
        return ("forward", fn.function)
    if isinstance(fn, calls.Backward):
        return ("backward", fn.function)
    if isinstance(fn, calls.Update):
        return "update"
    return "accumulate" if fn is calls.accumulate_grad else None


def _blas_free(ins: Instr) -> bool:
    """A generic instruction known never to call BLAS."""
    fn = ins.fn
    if isinstance(fn, (calls.Forward, calls.Backward)):
        return fn.function.__module__ in _NO_BLAS_MODULES
    return (ins.elementwise or ins.op == "Fused"     # fuse's generated Numba kernels
            or isinstance(fn, (np.ufunc, calls.Update, calls.InPlace))
            or fn is calls.accumulate_grad)


class Lowering(NamedTuple):
    """``calls[k]``: the callable instruction ``k`` runs, on its input arrays; ``lowered``:
    the indices of the lowered ones; ``one_thread``: run BLAS on one thread."""
    calls: list[Callable[..., Any]]
    lowered: list[int]
    one_thread: bool


def _generic(ins: Instr) -> Callable[..., Any]:
    if not ins.attrs:
        return ins.fn
    fn, attrs = ins.fn, ins.attrs
    return lambda *args: fn(*args, **attrs)


def lower(program: Program, slots: Sequence[Slot]) -> Lowering:
    """Lower what ``RULES`` can, in program order (a rule sees which earlier results are
    fresh); see the module docstring."""
    facts = Facts(program, slots)
    out, lowered, gemms, blas_ok = [], [], [], True
    for k, ins in enumerate(program.instrs):
        rule = RULES.get(kind(ins))
        done = None if rule is None else rule(ins, k, facts)
        if done is None:
            out.append(_generic(ins))
            blas_ok = blas_ok and _blas_free(ins)
            continue
        out.append(done.fn)
        lowered.append(k)
        if done.fresh:
            facts.fresh.update(id(v) for v in ins.outputs)
        if done.gemm is None:
            blas_ok = False
        elif done.gemm:
            gemms.append(done.gemm)
    one_thread = blas_ok and bool(gemms) and max(gemms) < SERIAL_MAX_MACS
    return Lowering(out, lowered, one_thread)
