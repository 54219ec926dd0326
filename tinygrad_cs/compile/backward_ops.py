"""Backward formulas recorded as the ordinary ops they run, instead of one opaque call.

An elementwise op's ``backward`` is written in differentiable ops (``grad * b``,
``grad * (1 - out * out)``), so it runs on Tensors as well as on arrays (that is how
``create_graph=True`` records it). ``inline_backward`` runs it on Tensors holding the
program's values while the tracer records, so the program's backward reads
``Mul(%8, %3)``, ``Neg(%9)`` ... like its forward, and the passes (fusion, simplification)
can rewrite it like any other op.

It is all or nothing, per op: while it runs the tracer is *strict*, and any value it cannot
follow (a mask computed in numpy from ``raw(a)``, as ReLU's backward does; a gradient that
is not a Tensor; a dtype the engine would have cast) raises ``Untraced``; the instructions
it emitted are dropped and the caller records the opaque ``Name.backward`` instead. Ops
whose backward is a raw kernel (``once_differentiable``) are never tried.

A replay computes the same bits either way: the same numpy operations run on the same
arrays, and ``sum_to`` sums a broadcast gradient back as the engine does.
"""
from __future__ import annotations

from typing import Any

from ..engine import Node
from ..grad_mode import state as _state
from ..tensor import Tensor
from .calls import _Ctx
from .ir import Const, Var

__all__ = ["Untraced", "inline_backward"]

#: The op families whose backward formulas are ordinary differentiable ops.
INLINE_MODULES = ("tinygrad_cs.ops.elementwise",)


class Untraced(Exception):
    """A strict trace met a value it cannot follow (see the module docstring)."""


def inline_backward(tracer: Any, rec: Any, total: tuple, parents: list, targets: list,
                    scope: str) -> list | None:
    """Record ``rec.function.backward`` as ops; ``[(target index, array, Var)]`` for each
    gradient it gives, or None (nothing recorded) when it cannot be followed."""
    function = rec.function
    if function.__module__ not in INLINE_MODULES or function.once_differentiable:
        return None
    values = [tracer.env_value(v) if isinstance(v, Var) else v.value for v in rec.values]
    ctx = _Ctx(rec.needs)
    ctx.__dict__.update(rec.attrs)
    ctx.saved_tensors = tuple([Tensor._from_op(values[x]) if kind == "value" else x
                               for kind, x in rec.saved])
    ctx.__dict__.update(zip(rec.attr_values, values[len(values) - len(rec.attr_values):]))
    grad = Tensor._from_op(total[0])
    if isinstance(total[1], Const):      # the seed of backward(): ones, a constant
        tracer.constant(grad)
    mark = len(tracer.instrs)
    previous_scope = _state.scope
    tracer.strict, _state.tracer, _state.scope = True, tracer, scope
    try:
        grads = function.backward(ctx, grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        found = []
        for i in targets:
            g = grads[i] if i < len(grads) else None
            if g is None:
                continue
            if not isinstance(g, Node):
                raise Untraced(f"{function.__name__}.backward gave a raw gradient")
            parent = parents[i]
            g = parent._unbroadcast(g)
            var = tracer.lookup(g._data)
            if var is None or g._data.dtype != parent._data.dtype:
                raise Untraced(f"{function.__name__}.backward: a gradient the trace lost")
            found.append((i, g._data, var))
    except Untraced:
        del tracer.instrs[mark:]
        return None
    finally:
        tracer.strict, _state.tracer, _state.scope = False, None, previous_scope
    return found
