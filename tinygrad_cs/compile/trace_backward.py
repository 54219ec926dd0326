"""The tracer's backward hook: records ``backward()`` as instructions of the program.

``BackwardHooks`` is a part of ``trace.Tracer`` (kept in its own file so each stays short).
The engine's backward loop hands its work here while a trace runs; each op's gradient is
recorded as the ordinary ops of its formula where it can be (``backward_ops.py``), else as
one ``Name.backward`` instruction that re-runs the op's ``backward`` on program values.
Gradients meeting at a node are added (``Add``), and a leaf's gradient is accumulated into
its ``.grad`` (``AccumulateGrad``), as the engine does.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backward_pass import _run, _topological_order
from ..engine import _FREED, _NO_INPUT, Node, as_seen_by
from ..grad_mode import state as _state
from ..tensor import Tensor
from ..versions import _clock, check_saved
from . import calls
from .backward_ops import inline_backward
from .ir import Const, Var

__all__ = ["BackwardHooks"]


class BackwardHooks:
    """``Tracer.backward`` and its helpers (see the module docstring)."""

    def backward(self, roots, seeds, retain_graph: bool, create_graph: bool, capture) -> None:
        order = _topological_order(roots)
        reason = None
        if create_graph or capture is not None or _state.observers:
            reason = "backward with create_graph, tg.grad or a gradient observer"
        for node in order:
            if reason is not None:
                break
            if not isinstance(node, Tensor) or node._hooks:
                reason = "backward through a gradient hook or a scalar Value"
            elif node._fn is not None and node._saved is _FREED:
                reason = "a second backward through a freed graph"
            elif node._fn is None and node._seq > self.start:
                reason = "a gradient for a leaf tensor created inside the compiled function"
            elif node._fn is not None and id(node) not in self.records:
                reason = "backward into a graph recorded before the compiled function ran"
        if reason is not None:
            self.stop(reason)
            return _run(roots, seeds, retain_graph, create_graph, capture)
        previous, self.phase = self.phase, "backward"
        previous_mode, _state.enabled = _state.enabled, False
        _state.tracer = None   # the instructions' own code must not be traced
        try:
            self._backward(order, roots, seeds, retain_graph)
        finally:
            _state.tracer, _state.enabled, self.phase = self, previous_mode, previous
        return None

    def _backward(self, order, roots, seeds, retain_graph: bool) -> None:
        totals: dict = {}
        for root, seed in zip(roots, seeds):
            if self.lookup(seed) is None and not np.all(np.asarray(seed) == 1):
                self.stop(f"backward(gradient=...): a gradient of shape {np.shape(seed)} "
                          "the trace did not compute (pass it as an argument)")
            totals[root] = self._sum(totals.get(root), (seed, self.operand(seed)), root.scope)
        for node in order:
            total = totals.pop(node, None)
            if total is None:
                continue
            if node._fn is None or node._retains_grad:
                self._accumulate(node, *total)
            if node._fn is None:
                continue
            if node._epoch != _clock[0]:
                check_saved(node)
            rec = self.records[id(node)]
            inputs = (node._in0,) if node._in1 is _NO_INPUT else (node._in0, node._in1,
                                                                   *node._in_rest)
            parents = [as_seen_by(a, node._seq) if isinstance(a, Node) else None for a in inputs]
            targets = [i for i, a in enumerate(parents) if a is not None and a.requires_grad]
            found = inline_backward(self, rec, total, parents, targets, node.scope)
            if found is None:
                found = self._opaque_backward(rec, total, parents, targets, node.scope)
            for i, array, var in found:
                parent = parents[i]
                totals[parent] = self._sum(totals.get(parent), (array, var), node.scope)
            if not retain_graph:
                node._saved = _FREED

    def _opaque_backward(self, rec, total, parents, targets, scope: str) -> list:
        """``Name.backward`` as one instruction: ``[(target index, array, Var)]``."""
        likes = [calls.shape_like(parents[i]._data) for i in targets]
        fn = calls.Backward(rec.function, rec.needs, rec.saved, rec.attrs, rec.attr_values,
                            targets, likes)
        arrays = [self.env_value(v) if isinstance(v, Var) else v.value for v in rec.values]
        grads = fn.grads(total[0], *arrays)
        kept = [k for k, g in enumerate(grads) if g is not None]
        fn.targets, fn.likes = [targets[k] for k in kept], [likes[k] for k in kept]
        outs = [self.new_var(grads[k]) for k in kept]
        name = rec.function.name or rec.function.__name__
        self.emit(f"{name}.backward", fn, (total[1], *rec.values), tuple(outs), scope=scope)
        for k, var in zip(kept, outs):
            self.bind(grads[k], var)
        return [(targets[k], grads[k], var) for k, var in zip(kept, outs)]

    def _sum(self, previous, new, scope: str):
        """Gradients meeting at one node are added, as the engine's ``+=``."""
        if previous is None:
            return new
        total = previous[0] + new[0]
        var = self.new_var(total)
        self.emit("Add", np.add, (previous[1], new[1]), (var,), elementwise=True, scope=scope)
        self.bind(total, var)
        return total, var

    def _accumulate(self, node: Tensor, grad: Any, value: Var | Const) -> None:
        self.grad_owners[id(node)] = node
        label = (self.labels.get(id(node)) or node.name or "") + ".grad"
        if node._grad is None:
            self.slot("grad", node, label=label)   # written at the end: its "before" value
            dtype = node._data.dtype
            array = calls.accumulate_grad(grad, dtype)
            var = self.new_var(array, label)
            self.emit("AccumulateGrad", calls.accumulate_grad, (value,), (var,),
                      {"dtype": dtype}, scope=node.scope)
        else:
            old = self.grad_operand(node)
            array = node._grad._data + grad
            var = self.new_var(array)
            self.emit("Add", np.add, (old, value), (var,), elementwise=True, scope=node.scope)
        node._grad = Tensor._from_op(array)
        self.bind(array, var)
