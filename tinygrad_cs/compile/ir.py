"""The compiler's program: values, instructions, and the program that holds them.

A traced function becomes a ``Program``: a straight-line list of ``Instr`` over ``Var``s,
in execution order (forward, then backward, then the optimizer's update), plus the state it
reads and writes. Every pass (``tinygrad_cs/compile/passes/``) maps a ``Program`` to a new
``Program`` and a list of what it changed; replay runs ``instrs`` in order.

* ``Var``: one array value, (shape, dtype). Compared by identity: two ``Var``s with the same
  shape are different values.
* ``Const``: a value known at trace time (a Python scalar or a small numpy array).
* ``Instr``: ``outputs = fn(*inputs, **attrs)`` on numpy arrays. ``op`` is the readable
  name: a ``Function``'s ``name`` for its forward (``"Add"``, ``"ReLU"``, ``"Conv2d"``), the
  same with ``".backward"`` for a backward computed as one opaque call, or a pass's own name
  (``"Fused"``). ``elementwise`` marks a pure, broadcasting, pointwise op (one output whose
  shape is the broadcast of its inputs' shapes), the kind fusion may merge.
* ``Program``: ``inputs`` (the traced function's tensor arguments, in order), ``state``
  (parameters, buffers, optimizer state and anything else read from outside at replay),
  ``instrs``, ``outputs`` (what the function returns, flattened), and ``writes``: pairs
  (state var, new value var) applied after the run, which make side effects explicit
  (parameter updates, BatchNorm running statistics, optimizer moments, ``.grad``).
  ``release`` (filled by the memory planner, else ``None``): ``release[k]`` are the values
  that die after instruction ``k``, which the executor drops so their memory is reused.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Const", "Instr", "Program", "Var", "check"]


@dataclass(eq=False)
class Var:
    """One array value of a program: ``shape`` and ``dtype``; ``name`` (``"%7"``) for printing."""
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    label: str = ""          # where it came from, for people: "layer1.0.conv1.weight", "loss"

    def __repr__(self) -> str:
        return f"{self.name}: {np.dtype(self.dtype).name}{list(self.shape)}"


@dataclass(frozen=True, eq=False)
class Const:
    """A value fixed at trace time (Python scalar or numpy array)."""
    value: Any

    def __repr__(self) -> str:
        return repr(self.value) if np.ndim(self.value) == 0 else f"const{list(np.shape(self.value))}"


@dataclass(eq=False)
class Instr:
    """``outputs = fn(*inputs, **attrs)``; see the module docstring for the fields."""
    op: str
    fn: Callable[..., Any]
    inputs: tuple[Var | Const, ...]
    outputs: tuple[Var, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    scope: str = ""          # the module path that made it ("layer1.0.conv1"), "" at top level
    phase: str = "forward"   # "forward", "backward" or "update"
    elementwise: bool = False


@dataclass(eq=False)
class Program:
    """A straight-line program; see the module docstring."""
    inputs: list[Var]
    state: list[Var]
    instrs: list[Instr]
    outputs: list[Var]
    writes: list[tuple[Var, Var]] = field(default_factory=list)
    release: list[tuple[Var, ...]] | None = None

    def __str__(self) -> str:
        from .format import format_program  # format.py builds on this module
        return format_program(self)


def check(program: Program) -> None:
    """Raise ``ValueError`` unless every instruction reads only values defined before it.

    Defined: ``inputs``, ``state``, and the outputs of earlier instructions. Each ``Var`` is
    defined once (static single assignment); ``outputs`` and ``writes`` read defined values.
    """
    defined = set(map(id, program.inputs)) | set(map(id, program.state))
    for k, ins in enumerate(program.instrs):
        for v in ins.inputs:
            if isinstance(v, Var) and id(v) not in defined:
                raise ValueError(f"compile: instruction {k} ({ins.op}) reads {v!r} before "
                                 "it is defined")
        for v in ins.outputs:
            if id(v) in defined:
                raise ValueError(f"compile: instruction {k} ({ins.op}) redefines {v!r}")
            defined.add(id(v))
    for v in list(program.outputs) + [new for _, new in program.writes]:
        if id(v) not in defined:
            raise ValueError(f"compile: program result {v!r} is never defined")
    for old, _ in program.writes:
        if id(old) not in set(map(id, program.state)):
            raise ValueError(f"compile: write to {old!r}, which is not program state")
