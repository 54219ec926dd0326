"""The one table of elementwise ops a fused kernel can compute: op name -> how to write it.

Each entry says which arguments of the traced call are *operands* (arrays or numbers, read
per element) and which are *parameters* (constants baked into the kernel's source:
LeakyReLU's ``negative_slope``, ELU's ``alpha``, Softplus' ``beta`` and ``threshold``,
Clamp's ``min`` and ``max``), each with its position and keyword name as the tracer records
them (``Instr.inputs`` for positional arguments, ``Instr.attrs`` for keywords), and a writer:
``write(out, args, params, D) -> lines`` of Python that set the local ``out`` from the operand
names ``args`` and the parameters' source literals ``params`` (already of type ``D``, or
``None``), where ``D`` is the numpy type of the result (``"np.float32"``). Every operand
arrives already converted to ``D`` (a condition stays bool). ``ignored`` arguments (Cast's
``dtype``) are not read: the output's dtype says the same.

The formulas are the eager Functions' own (``tinygrad_cs/ops/elementwise.py``), step by step
in the same dtype, so float32 stays float32: ``Sigmoid`` is ``e = exp(-|a|)``,
``r = 1 / (1 + e)``, ``r if a >= 0 else e r``; ``Maximum``/``Minimum``/``Clamp``/``ReLU``
propagate NaN as numpy does. Add, Sub, Mul, Div, Neg, Abs, Sqrt, Maximum, Minimum, ReLU,
LeakyReLU, Clamp, Where and Cast are exactly numpy's (IEEE-rounded in ``D``; ``Sqrt`` is
computed in float64 and rounded, which equals the float32 square root). Exp, Log, Sin, Cos,
Tanh, Sigmoid, ELU, Softplus and Pow call libm through Numba (float32 ones in float64, then
rounded) where numpy uses its own SIMD routines: results differ by about an ulp.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OPS", "Pointwise"]

Writer = Callable[[str, list[str], dict, str], list[str]]


@dataclass(frozen=True)
class Pointwise:
    """How to compute one op per element: its operands, its parameters, its writer."""
    operands: tuple[str, ...]                       # argument names, in positional order
    write: Writer
    params: tuple[tuple[str, object], ...] = ()     # (name, default) after the operands
    condition: int | None = None                    # the operand that is a bool mask
    ignored: tuple[str, ...] = ()                   # arguments the output's dtype already says

    @property
    def names(self) -> tuple[str, ...]:
        return self.operands + tuple(name for name, _ in self.params) + self.ignored


def _expr(form: str) -> Writer:
    """A writer for a one-line formula over ``a``, ``b`` (and ``D``), rounded to ``D``."""
    def write(out, args, params, D):
        names = dict(zip("ab", args))
        return [f"{out} = {D}({form.format(D=D, **names)})"]
    return write


def _pick(compare: str) -> Writer:
    """numpy's maximum/minimum: the first operand when it wins or is NaN, else the second."""
    def write(out, args, params, D):
        a, b = args
        return [f"{out} = {a} if ({a} {compare} {b} or {a} != {a}) else {b}"]
    return write


def _relu(out, args, params, D):
    (a,) = args
    # not >=: numpy's maximum(-0.0, 0) is +0.0
    return [f"{out} = {a} if ({a} > 0 or {a} != {a}) else {D}(0)"]


def _leaky_relu(out, args, params, D):
    (a,) = args
    return [f"{out} = {a} if {a} > 0 else {D}({a} * {params['negative_slope']})"]


def _elu(out, args, params, D):
    # numpy's expm1(minimum(a, 0)) on the branch taken: minimum(a, 0) is a there (a <= 0 or NaN)
    (a,) = args
    return [f"{out} = {a} if {a} > 0 else {D}({params['alpha']} * {D}(np.expm1({a})))"]


def _softplus(out, args, params, D):
    # logaddexp(0, s) as numpy computes it: max(s, 0) + log1p(exp(-|s|)), log(2) at s = 0
    (a,) = args
    return [f"{out}_s = {D}({a} * {params['beta']})",
            f"{out}_t = {D}(np.log1p({D}(np.exp(-abs({out}_s)))))",
            f"{out}_l = {D}({out}_s + {out}_t) if {out}_s > 0 else {out}_t",
            f"{out} = {a} if {out}_s > {params['threshold']} else {D}({out}_l / {params['beta']})"]


def _sigmoid(out, args, params, D):
    (a,) = args
    return [f"{out}_e = {D}(np.exp(-abs({a})))",
            f"{out}_r = {D}({D}(1.0) / ({D}(1.0) + {out}_e))",
            f"{out} = {out}_r if {a} >= 0 else {D}({out}_e * {out}_r)"]


def _clamp(out, args, params, D):
    # np.clip = minimum(maximum(a, min), max), each propagating NaN from a
    (a,) = args
    lines = [f"{out} = {a}"]
    if params["min"] is not None:
        lo = params["min"]
        lines.append(f"{out} = {out} if ({out} >= {lo} or {out} != {out}) else {lo}")
    if params["max"] is not None:
        hi = params["max"]
        lines.append(f"{out} = {out} if ({out} <= {hi} or {out} != {out}) else {hi}")
    return lines


def _where(out, args, params, D):
    cond, a, b = args
    return [f"{out} = {a} if {cond} else {b}"]


def _cast(out, args, params, D):
    return [f"{out} = {args[0]}"]        # the operand arrives converted to the output's dtype


OPS: dict[str, Pointwise] = {
    "Add": Pointwise(("a", "b"), _expr("{a} + {b}")),
    "Sub": Pointwise(("a", "b"), _expr("{a} - {b}")),
    "Mul": Pointwise(("a", "b"), _expr("{a} * {b}")),
    "Div": Pointwise(("a", "b"), _expr("{a} / {b}")),
    "Pow": Pointwise(("a", "b"), _expr("{a} ** {b}")),
    "Neg": Pointwise(("a",), _expr("-{a}")),
    "Abs": Pointwise(("a",), _expr("abs({a})")),
    "Exp": Pointwise(("a",), _expr("np.exp({a})")),
    "Log": Pointwise(("a",), _expr("np.log({a})")),
    "Sqrt": Pointwise(("a",), _expr("np.sqrt({a})")),
    "Sin": Pointwise(("a",), _expr("np.sin({a})")),
    "Cos": Pointwise(("a",), _expr("np.cos({a})")),
    "Tanh": Pointwise(("a",), _expr("np.tanh({a})")),
    "Sigmoid": Pointwise(("a",), _sigmoid),
    "ReLU": Pointwise(("a",), _relu),
    "LeakyReLU": Pointwise(("a",), _leaky_relu, params=(("negative_slope", 0.01),)),
    "ELU": Pointwise(("a",), _elu, params=(("alpha", 1.0),)),
    "Softplus": Pointwise(("a",), _softplus, params=(("beta", 1.0), ("threshold", 20.0))),
    "Clamp": Pointwise(("a",), _clamp, params=(("min", None), ("max", None))),
    "Maximum": Pointwise(("a", "b"), _pick(">=")),
    "Minimum": Pointwise(("a", "b"), _pick("<=")),
    "Where": Pointwise(("cond", "a", "b"), _where, condition=0),
    "Cast": Pointwise(("a",), _cast, ignored=("dtype",)),
}
