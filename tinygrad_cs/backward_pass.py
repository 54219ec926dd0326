"""The backward pass, one loop for both engines (``Value`` and ``Tensor``), on the graph
``engine.py`` records; ``tg.autograd`` is its public face (``autodiff.py``).

1. ``_topological_order`` walks from the outputs to the leaves with an explicit stack (no
   recursion, so a 100,000-op chain is fine) and returns the nodes that need a gradient,
   outputs first (by creation number).
2. Walking that order, each node's total gradient (the sum ``+=`` of what its consumers
   sent) goes through its hooks, then either into ``.grad`` (leaves) or into its op's
   ``backward``, whose results are summed back to each input's shape (broadcasting) and
   added to the inputs' totals.
3. Unless ``retain_graph``, each op's saved values are freed as it is done.

Before an op's ``backward`` runs, the tensors it saved are checked against their versions
when saved (``versions.py``): a tensor changed in place since then raises, never a silently
wrong gradient. With ``create_graph=True`` the pass runs with recording on and gradients are
nodes, so the gradient is itself a differentiable function of the inputs.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

import numpy as np

from . import engine as _engine
from .engine import (
    _FREED,
    _NO_INPUT,
    Context,
    Node,
    _freed,
    _new_object,
    as_seen_by,
)
from .grad_mode import state as _state
from .versions import _clock, check_saved


class AnomalyError(RuntimeError):
    """A backward produced NaN or Inf inside ``tg.detect_anomaly()``."""


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside the block, a backward that yields NaN/Inf raises ``AnomalyError``.

    The error names the op and shows the user's source line where that op was
    created during the forward pass (recorded only while the mode is on).
    """
    previous = _state.anomaly
    _state.anomaly = True
    try:
        yield
    finally:
        _state.anomaly = previous


@contextmanager
def observe_gradients(callback) -> Iterator[None]:
    """Inside the block, every backward calls ``callback(node, grad)`` once per node
    with the node's total gradient (raw data, after hooks, before it moves on).

    This is how ``tinygrad_cs.viz`` measures the gradient flowing through each
    node of a graph: it keeps only summaries (norms, zero shares), never the
    gradients themselves. Costs nothing when no observer is active.
    """
    previous = _state.observers
    _state.observers = (*previous, callback)
    try:
        yield
    finally:
        _state.observers = previous


def _topological_order(roots: Sequence[Node]) -> list[Node]:
    """Nodes reachable from ``roots`` through inputs that require grad, outputs first.

    Every node carries a creation number ``_seq`` and an op's inputs always exist
    before its output, so sorting the reachable set by ``_seq`` (descending) is a
    valid reverse topological order; the walk is an explicit stack, no recursion.
    """
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        if node._fn is None:
            continue
        seq = node._seq
        b = node._in1  # node._inputs(), inlined: this loop runs once per node
        for parent in (node._in0,) if b is _NO_INPUT else (node._in0, b, *node._in_rest):
            if not isinstance(parent, Node):
                continue
            if parent._seq > seq:  # changed in place after this op used it
                parent = as_seen_by(parent, seq)
            if parent.requires_grad and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_creation_number, reverse=True)


_creation_number = attrgetter("_seq")


def _is_finite(grad: Any) -> bool:
    data = grad._data if isinstance(grad, Node) else grad
    if isinstance(data, float):
        return math.isfinite(data)
    return bool(np.all(np.isfinite(data)))


def _check_anomaly(node: Node, index: int, grad: Any, parent: Node) -> None:
    if _is_finite(grad):
        return
    where = (node._attrs or {}).get(
        "_trace", "(op created outside detect_anomaly: no source line recorded)")
    shape = getattr(parent, "shape", ())
    raise AnomalyError(
        f"Function '{node.op}' returned NaN/Inf in its gradient for input {index} "
        f"(shape {shape}).\nThe op was created in the forward pass at:\n{where}")


def _run_hooks(node: Node, grad: Any, create_graph: bool) -> Any:
    for hook in list(node._hooks):
        wrapped = grad if create_graph else node._wrap_grad(grad)
        result = hook(wrapped)
        if result is not None:
            grad = result if create_graph else (result._data if isinstance(result, Node) else result)
    return grad


def _run(roots: Sequence[Node], seeds: Sequence[Any], retain_graph: bool,
         create_graph: bool, capture: dict | None) -> None:
    """The backward pass. ``capture`` (for ``tg.grad``) collects gradients of chosen
    nodes instead of accumulating into any ``.grad``."""
    if _state.tracer is not None:  # tg.compile records this backward as instructions
        return _state.tracer.backward(roots, seeds, retain_graph, create_graph, capture)
    totals: dict = {}   # node -> sum of the gradients received so far
    for root, seed in zip(roots, seeds):
        totals[root] = seed if root not in totals else totals[root] + seed
    anomaly = _state.anomaly
    observers = _state.observers
    previous_mode = _state.enabled
    _state.enabled = create_graph
    try:
        for node in _topological_order(roots):
            grad = totals.pop(node, None)
            if grad is None:
                continue
            if node._hooks:
                grad = _run_hooks(node, grad, create_graph)
            if observers:
                for observer in observers:
                    observer(node, grad)
            fn = node._fn
            if capture is not None:
                if node in capture:
                    capture[node] = grad
            elif fn is None or node._retains_grad:
                node._accumulate(grad)
            if fn is None:
                continue
            if node._saved is _FREED or (create_graph and fn.once_differentiable):
                _refuse_backward(node, create_graph)
            if node._epoch != _clock[0]:  # something changed in place since the op ran
                check_saved(node)
            # a node kind's float rules (Value) stand in for a Context and fn.backward
            rule = None if create_graph else node._lean_rules.get(fn)
            if rule is not None:
                grads = rule(node, grad)
            else:
                ctx = _new_object(Context)
                ctx.output = node
                if node._attrs is not None:
                    ctx.__dict__ = node._attrs
                grads = fn.backward(ctx, grad)
                if not isinstance(grads, tuple):
                    grads = (grads,)
            b = node._in1
            inputs = (node._in0,) if b is _NO_INPUT else (node._in0, b, *node._in_rest)
            seq = node._seq
            index = -1  # a counter, not enumerate(): its tuples cost ~3% of a scalar backward
            for parent, g in zip(inputs, grads):
                index += 1
                if g is None or not isinstance(parent, Node):
                    continue
                if parent._seq > seq:  # changed in place after this op used it
                    parent = as_seen_by(parent, seq)
                if not parent.requires_grad:
                    continue
                if parent._unbroadcasts:
                    g = parent._unbroadcast(g)
                if anomaly:
                    _check_anomaly(node, index, g, parent)
                previous = totals.get(parent)
                totals[parent] = g if previous is None else previous + g
            # totals now hold the only references this loop keeps: a leaf's gradient no one
            # else holds can then become its .grad without a copy (Tensor._accumulate)
            grads = g = None
            if not retain_graph:
                node._saved = _FREED
    finally:
        _state.enabled = previous_mode



def _refuse_backward(node: Node, create_graph: bool) -> None:
    if node._saved is _FREED:
        raise _freed(node.op)
    raise RuntimeError(
        f"{node.op}: this op's backward is a raw kernel and has no double "
        "backward (create_graph=True is not supported through it)")


def _as_seed(root: Node, gradient: Any, create_graph: bool, op: str) -> Any:
    if not root.requires_grad:
        raise RuntimeError(
            f"{op}: element 0 of the outputs does not require grad and has no grad_fn "
            "(did you forget requires_grad=True on a leaf, or run it under no_grad?)")
    if gradient is None:
        if getattr(root, "shape", ()) not in ((), (1,)) and np.size(root._data) != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; got an "
                f"output of shape {root.shape}: pass `gradient` (a tensor of that shape)")
        return root._ones_like() if not create_graph else root._from_op(root._ones_like())
    if isinstance(gradient, Node):
        if getattr(gradient, "shape", ()) != getattr(root, "shape", ()):
            raise RuntimeError(
                f"{op}: gradient has shape {gradient.shape} but the output has shape {root.shape}")
        return gradient if create_graph else gradient._data
    seed = root._fit_seed(gradient)
    return root._from_op(seed) if create_graph else seed


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of leaves (``tg.autograd.backward``).

    ``inputs``, if given, restricts accumulation to those nodes.
    """
    roots = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(roots)
    elif not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors]
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_as_seed(r, g, create_graph, "backward") for r, g in zip(roots, grad_tensors)]
    if inputs is None:
        _run(roots, seeds, retain_graph, create_graph, None)
        return
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    capture = {i: None for i in inputs}
    _run(roots, seeds, retain_graph, create_graph, capture)
    for node in inputs:
        g = capture[node]
        if g is not None:
            node._accumulate(g)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Mirrors ``torch.autograd.grad``: nothing is accumulated into any ``.grad``.
    With ``create_graph=True`` the returned gradients are graph nodes and can be
    differentiated again (Hessian-vector products, gradient penalties).
    An input that does not influence the outputs raises unless ``allow_unused``
    (then its gradient is ``None``).
    """
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    ins = [inputs] if single else list(inputs)
    for i, node in enumerate(ins):
        if not isinstance(node, Node) or not node.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_as_seed(o, g, create_graph, "grad") for o, g in zip(outs, grad_outputs)]
    capture: dict = {i: None for i in ins}
    _run(outs, seeds, retain_graph, create_graph, capture)
    result = []
    for i, node in enumerate(ins):
        g = capture[node]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {getattr(node, 'shape', ())}) was not used to "
                    "compute the outputs; pass allow_unused=True to get None for it")
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            result.append(node._wrap_grad(node._unbroadcast(g)))
    return tuple(result)


_engine.run_backward = backward   # Node.backward's entry point (see engine.run_backward)
