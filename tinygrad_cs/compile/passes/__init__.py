"""The compiler's passes: each maps a ``Program`` to a new one and says what it changed.

A pass is a callable ``Program -> (Program, list[str])``; it never edits the program it is
given. ``PASSES`` holds them by name in the recommended order, ``DEFAULT`` names the ones
``optimize`` runs unless told otherwise:

* ``fold``: instructions of constants are computed at compile time (``fold.py``);
* ``simplify``: ``x*1``, ``x+0``, ``--x``, cancelling permutes, ``log(softmax)`` (``simplify.py``);
* ``cse``: a repeated computation is made once (``cse.py``);
* ``dce``: instructions no result needs are dropped (``dce.py``);
* ``fuse``: chains of elementwise ops become one generated Numba kernel (``fuse.py``);
* ``memory``: each value is released after its last use (``memory.py``); last, since it
  plans the final instruction list.

Simplification and folding leave dead instructions behind, which is why ``dce`` comes after
them, and ``fuse`` after ``dce``: a dead reader would keep an intermediate out of a group.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir import Program, check
from .cse import cse
from .dce import dce
from .fold import fold
from .fuse import fuse
from .memory import memory, memory_report
from .simplify import simplify

__all__ = ["DEFAULT", "EXACT", "PASSES", "lookup", "memory_report", "optimize"]

Pass = Callable[[Program], tuple[Program, list[str]]]

PASSES: dict[str, Pass] = {"fold": fold, "simplify": simplify, "cse": cse, "dce": dce,
                           "fuse": fuse, "memory": memory}
DEFAULT: tuple[str, ...] = tuple(PASSES)
#: The passes that keep eager's arithmetic bit for bit, ``tg.compile``'s default: all but
#: ``fuse``, whose kernels call the C maths library (exp, tanh, ... within 3 ulps of numpy's)
#: and sum in float64 in index order (numpy sums pairwise).
EXACT: tuple[str, ...] = tuple(name for name in PASSES if name != "fuse")


def lookup(names: Sequence[str]) -> list[Pass]:
    """The passes named ``names``, in that order; ``ValueError`` naming any unknown one."""
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"compile: unknown pass(es) {unknown}; the passes are {list(PASSES)}")
    return [PASSES[n] for n in names]


def optimize(program: Program, names: Sequence[str] = DEFAULT) -> tuple[Program, list[str]]:
    """Run the passes ``names`` (in ``PASSES``' order, whatever order they are given in) and
    return the new program with every pass's log lines, in order. The program is checked
    (``ir.check``) before and after each pass."""
    lookup(names)
    check(program)
    log: list[str] = []
    for name in (n for n in PASSES if n in names):
        program, lines = PASSES[name](program)
        check(program)
        log += lines
    return program, log
