"""Hand-built compiler programs for the pass tests, made the way the tracer records them.

``ProgramBuilder.op("Mul", x, 2.0)`` appends ``Instr(op="Mul", fn=Mul.apply, inputs=(x,
Const(2.0)))``: positional arguments become inputs (``Var``s stay, anything else a
``Const``), keywords become ``attrs``, ``fn`` is the eager Function's ``apply`` (on raw
arrays it returns raw arrays), ``elementwise`` is set for the pointwise ops. The builder runs
each op on sample inputs as it goes, so every ``Var`` gets its true shape and dtype and
``values`` holds the eager result of every value (the oracle for fused runs).
"""
from __future__ import annotations

import numpy as np

from tinygrad_cs.compile.ir import Const, Instr, Program, Var
from tinygrad_cs.ops import elementwise as E
from tinygrad_cs.ops.logexp import LogSoftmaxFn, SoftmaxFn
from tinygrad_cs.ops.movement import Permute
from tinygrad_cs.ops.reduce import Sum

FUNCTIONS = {
    "Add": E.Add, "Sub": E.Sub, "Mul": E.Mul, "Div": E.Div, "Pow": E.Pow, "Neg": E.Neg,
    "Abs": E.Abs, "Exp": E.Exp, "Log": E.Log, "Sqrt": E.Sqrt, "Sin": E.Sin, "Cos": E.Cos,
    "Tanh": E.TanhFn, "Sigmoid": E.SigmoidFn, "ReLU": E.ReLUFn, "LeakyReLU": E.LeakyReLUFn,
    "ELU": E.ELUFn, "Softplus": E.SoftplusFn, "Clamp": E.Clamp, "Maximum": E.Maximum,
    "Minimum": E.Minimum, "Where": E.Where, "Cast": E.Cast,
}
ELEMENTWISE = set(FUNCTIONS)
FUNCTIONS.update({"Sum": Sum, "Softmax": SoftmaxFn, "LogSoftmax": LogSoftmaxFn,
                  "Permute": Permute})


class ProgramBuilder:
    """Append instructions, then ``program(*outputs)``; see the module docstring."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.inputs: list[Var] = []
        self.state: list[Var] = []
        self.instrs: list[Instr] = []
        self.values: dict[int, np.ndarray] = {}

    def _var(self, value) -> Var:
        value = np.asarray(value)
        v = Var(f"%{len(self.values)}", value.shape, value.dtype)
        self.values[id(v)] = value
        return v

    def input(self, shape, dtype=np.float64, value=None) -> Var:
        if value is None:
            value = (self.rng.standard_normal(shape) if dtype != np.bool_
                     else self.rng.random(shape) > 0.5)
        v = self._var(np.asarray(value, dtype=dtype))
        self.inputs.append(v)
        return v

    def state_var(self, shape, dtype=np.float64) -> Var:
        v = self._var(self.rng.standard_normal(shape).astype(dtype))
        self.state.append(v)
        return v

    def op(self, name: str, *args, fn=None, elementwise=None, **attrs) -> Var:
        fn = fn or FUNCTIONS[name].apply
        inputs = tuple(a if isinstance(a, (Var, Const)) else Const(a) for a in args)
        raw = [self.values[id(a)] if isinstance(a, Var) else a.value for a in inputs]
        with np.errstate(all="ignore"):
            out = self._var(fn(*raw, **attrs))
        self.instrs.append(Instr(name, fn, inputs, (out,), dict(attrs),
                                 elementwise=name in ELEMENTWISE if elementwise is None
                                 else elementwise))
        return out

    def program(self, *outputs: Var, writes=()) -> Program:
        return Program(list(self.inputs), list(self.state), list(self.instrs), list(outputs),
                       list(writes))

    def feed(self, program: Program) -> tuple[list, list]:
        """The sample arrays of ``program``'s inputs and state."""
        return ([self.values[id(v)] for v in program.inputs],
                [self.values[id(v)] for v in program.state])
