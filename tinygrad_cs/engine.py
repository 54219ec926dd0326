"""The engine: ``Node``, ``Function`` and its ``Context``, and the backward pass.

A differentiable op is a ``Function`` subclass with two static methods::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):          # raw data in (floats or numpy arrays)
            ctx.save_for_backward(a, b)
            return a * b                 # raw data out
        @staticmethod
        def backward(ctx, grad):         # d(loss)/d(out) -> d(loss)/d(each input)
            a, b = ctx.saved_tensors
            return grad * b, grad * a

``Mul.apply(x, y)`` runs ``forward`` on the inputs' raw data and, when some
input requires grad, returns a graph node whose ``grad_fn`` is a ``Context``.

``backward`` runs in one of two modes, and the same code serves both:

* plain backward: ``grad`` and ``saved_tensors`` are raw data (numpy arrays or
  floats) and nothing is recorded, so it costs no graph-building overhead;
* ``create_graph=True``: ``grad`` is a node and ``saved_tensors`` returns the
  saved *inputs and output as graph nodes*, so the arithmetic in ``backward``
  is itself recorded and can be differentiated again.

That is why backward formulas use Python operators and the engine's own ops
(``tg.exp``, ``tg.where``, ...), which accept raw arrays as well as nodes: on raw
data an op just computes (``Function.apply`` with no node among its arguments
returns raw data). An op whose backward is a raw kernel sets
``once_differentiable = True``; asking for its double backward raises.

``backward`` returns one gradient per positional argument of ``forward`` (a
bare value when there is one argument); ``None`` where no gradient flows.

Memory layout, chosen for speed: a recorded op is *one* object, its output
node, which holds the Function, its inputs and what was saved. ``Context`` is a
light view of that node, made for ``forward``/``backward`` and ``grad_fn``. So
Python's cyclic garbage collector tracks one object per op (not three), and
links only point from a node to its inputs: a finished graph is freed by
reference counting alone.

The backward pass (the second half of this file) is one loop for both engines:

One pass serves ``Value`` and ``Tensor``:

1. ``_topological_order`` walks from the outputs to the leaves with an explicit
   stack (no recursion, so a 100,000-op chain is fine) and returns the nodes
   that need a gradient, inputs before outputs.
2. Walking that order backwards, each node's total gradient (the sum ``+=`` of
   what its consumers sent) goes through its hooks, then either into ``.grad``
   (leaves) or into its op's ``backward``, whose results are summed back to
   each input's shape (broadcasting) and added to the inputs' totals.
3. Unless ``retain_graph``, each op's saved values are freed as it is done.

Before an op's ``backward`` runs, the tensors it saved are checked against their
versions when saved (``versions.py``): a tensor changed in place since then raises,
never a silently wrong gradient.

With ``create_graph=True`` the pass runs with recording on and gradients are
nodes, so the gradient is itself a differentiable function of the inputs.
"""
from __future__ import annotations

import itertools
import math
import os
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any, ClassVar

import numpy as np

from . import versions as _versions
from .grad_mode import state as _state
from .versions import _clock, check_saved

next_seq = itertools.count().__next__  # creation numbers for Node._seq

# Three markers, compared by identity on the hot path (cheaper than None checks plus flags):
_NO_INPUT = object()      # Node._in1 of a one-input op
_FREED = object()         # Node._saved once backward released the saved values
_SAVED_INPUTS = object()  # Node._saved of a two-input op that saved exactly its inputs' data


class Node:
    """Base class of graph nodes (``Value`` and ``Tensor``): data plus graph links.

    ``_fn`` is the ``Function`` that made the node (``None`` for a leaf); its
    positional inputs are ``_in0``, ``_in1`` (``_NO_INPUT`` for one input) and the
    tuple ``_in_rest`` (three slots rather than one tuple: most ops have one or two
    inputs, and a slot read is faster than building and indexing a tuple);
    ``_saved`` and ``_attrs`` hold what ``forward`` kept.
    ``_seq`` numbers nodes in creation order: an input is always older than the
    output that uses it. ``_data`` is the raw value (a numpy array or a float) and
    ``_grad`` the gradient; ``Tensor`` and ``Value`` show them as ``data``/``grad``.
    ``_counter`` is the storage's version counter and ``_epoch`` the in-place clock
    when the op ran (see ``versions.py``).
    """

    __slots__ = (
        "__weakref__",
        "_attrs",
        "_counter",
        "_data",
        "_epoch",
        "_fn",
        "_grad",
        "_hooks",
        "_in0",
        "_in1",
        "_in_rest",
        "_retains_grad",
        "_saved",
        "_seq",
        "name",
        "requires_grad",
        "scope",
    )

    # -- subclass protocol used by the engine ------------------------------------
    _grad_init: Any = None        # .grad of a fresh node
    _retain_default = False       # do op outputs keep .grad? (Value: yes, as micrograd)
    _unbroadcasts = False         # does _unbroadcast do anything? (Tensor: broadcasting)
    _result_type: type            # the class of op outputs (Tensor / Value)

    _as_data = None  # normalises an op's raw output when set (Tensor: always an ndarray)
    _lean_rules: ClassVar[dict] = {}  # Function -> rule(node, grad) -> grads: a plain backward
                                      # with no Context, for this node kind (Value: floats)

    def _unbroadcast(self, grad: Any) -> Any:
        """Bring a gradient to this node's shape (sum out broadcast dims)."""
        return grad

    def _wrap_grad(self, grad: Any) -> Any:
        """The user-facing form of a raw gradient (``Tensor`` / ``float``)."""
        return grad

    def _accumulate(self, grad: Any) -> None:
        """Add ``grad`` into ``self.grad`` (leaves and ``retain_grad`` nodes)."""
        raise NotImplementedError

    def _ones_like(self) -> Any:
        """The seed gradient d(self)/d(self) for ``backward()`` on a scalar."""
        raise NotImplementedError

    def _fit_seed(self, gradient: Any) -> Any:
        """A user-given (non-node) seed gradient as raw data of this node's shape."""
        raise NotImplementedError

    def _init_leaf(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        """Fill the slots of a leaf (a node no recorded op produced)."""
        self._data = data
        self._grad = self._grad_init
        self._counter = None
        self.requires_grad = requires_grad
        self.name = name
        self.scope = _state.scope
        self._hooks = None
        self._retains_grad = False
        self._seq = next_seq()
        self._fn = None

    @classmethod
    def _from_op(cls, data: Any) -> Node:
        """A node for an op result that was not recorded (no grad, no inputs)."""
        node = object.__new__(cls)
        node._init_leaf(data if cls._as_data is None else cls._as_data(data))
        return node

    # -- graph links -----------------------------------------------------------
    def _inputs(self) -> tuple:
        """The op's positional inputs (nodes and constants); () for a leaf."""
        if self._fn is None:
            return ()
        if self._in1 is _NO_INPUT:
            return (self._in0,)
        return (self._in0, self._in1, *self._in_rest)

    @property
    def grad_fn(self) -> Context | None:
        """A ``Context`` view of the op that created this node (None for leaves)."""
        return None if self._fn is None else Context(self)

    @property
    def is_leaf(self) -> bool:
        """True for nodes made by the user, not by a recorded op."""
        return self._fn is None

    @property
    def parents(self) -> tuple:
        """The graph nodes this node was computed from (empty for leaves), each as it was
        when this node was made (see ``as_seen_by``)."""
        seq = self._seq
        return tuple(as_seen_by(a, seq) for a in self._inputs() if isinstance(a, Node))

    @property
    def op(self) -> str | None:
        """Name of the op that created this node, or None for a leaf."""
        return None if self._fn is None else (self._fn.name or self._fn.__name__)

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this node's gradient is computed.

        ``fn`` may return a replacement gradient. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"register_hook: cannot register a hook on a {type(self).__name__} "
                "that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _HookHandle(self._hooks, fn)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf node after backward (leaves always do)."""
        if self._fn is not None:
            self._retains_grad = True

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad."""
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)


def as_seen_by(parent: Node, seq: int) -> Node:
    """``parent`` as the node numbered ``seq`` used it.

    An op's inputs are always older than its output, except after an in-place op on a
    non-leaf (``y.add_(1)``, ``y[m] = 0``): the tensor object then takes the newer node's
    place in the graph and its former self moves to a new object (``inplace_history``),
    remembered as ``_before_inplace``. An op that used the tensor before the change still
    refers to the object, so going back through former selves until a node older than the
    op finds what it used.
    """
    while parent._seq > seq:
        parent = parent._attrs["_before_inplace"]
    return parent


class _HookHandle:
    __slots__ = ("_fn", "_hooks")

    def __init__(self, hooks: list, fn) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """The innermost stack frame outside this package, as ``file:line: code``."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}'
    return "<unknown>"


class Context:
    """The view of one recorded op that ``forward``, ``backward`` and ``grad_fn`` see.

    ``fn`` is the ``Function`` subclass, ``inputs`` the positional arguments of
    ``apply`` (nodes and constants), ``saved_tensors`` what ``forward`` saved,
    ``output`` the node the op produced. ``forward`` may also store plain
    attributes (``ctx.shape = ...``); they are kept with the output node.
    """

    __slots__ = ("__dict__", "output")

    def __init__(self, output: Node) -> None:
        self.output = output
        attrs = output._attrs
        if attrs is not None:
            self.__dict__ = attrs

    @property
    def fn(self) -> type:
        return self.output._fn

    @property
    def inputs(self) -> tuple:
        return self.output._inputs()

    @property
    def name(self) -> str:
        """The op's readable name (the Function subclass's ``name`` or class name)."""
        return self.output.op

    @property
    def parents(self) -> tuple:
        """The inputs that are graph nodes, in argument order."""
        return self.output.parents

    @property
    def needs_input_grad(self) -> tuple:
        """For each positional input: does it need a gradient?"""
        out = self.output
        a, b = out._in0, out._in1
        first = isinstance(a, Node) and a.requires_grad
        if b is _NO_INPUT:
            return (first,)
        second = isinstance(b, Node) and b.requires_grad
        if not out._in_rest:
            return (first, second)
        return (first, second, *[isinstance(m, Node) and m.requires_grad for m in out._in_rest])

    @property
    def freed(self) -> bool:
        """True once a backward without ``retain_graph`` released the saved values."""
        return self.output._saved is _FREED

    def save_for_backward(self, *values: Any) -> None:
        """Keep raw values (inputs, the output, or constants) for ``backward``.

        Saving exactly the data of a two-input op's inputs (the commonest case:
        mul, div, matmul) keeps no tuple alive: one allocation less per op for
        the garbage collector to count.
        """
        out = self.output
        if len(values) == 2:
            a, b = out._in0, out._in1
            if (isinstance(a, Node) and isinstance(b, Node) and values[0] is a._data
                    and values[1] is b._data and not out._in_rest):
                out._saved = _SAVED_INPUTS
                return
        out._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What ``forward`` saved: raw data, or nodes while a backward is being recorded."""
        out = self.output
        saved = out._saved
        if saved is _SAVED_INPUTS:
            a, b = out._in0, out._in1
            return (a, b) if _state.enabled else (a._data, b._data)
        if saved is _FREED:
            raise _freed(self.name)
        if saved is None:
            return ()
        if not _state.enabled:  # plain backward: raw data
            return saved
        return tuple([self._as_node(i, v) for i, v in enumerate(saved)])

    def _as_node(self, position: int, value: Any) -> Any:
        """Map a saved raw value back to the graph node it came from, if any."""
        # Identity match against the inputs; when one object was passed as
        # several inputs, its k-th save maps to the k-th such input.
        out = self.output
        matches = [a for a in out._inputs() if isinstance(a, Node) and a._data is value]
        if matches:
            repeat = sum(1 for v in out._saved[:position] if v is value)
            return matches[min(repeat, len(matches) - 1)]
        if value is out._data:
            return out
        return value

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


class _NoGraphContext:
    """Stands in for a Context when nothing is recorded: attributes ``forward`` sets
    live only for that call, and nothing is saved."""

    needs_input_grad = ()

    def save_for_backward(self, *values: Any) -> None:
        pass


class Function:
    """Base class of differentiable ops; see the module docstring."""

    name: str | None = None          # readable op name (default: class name)
    once_differentiable = False      # True when backward is a raw kernel

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the op. Nodes in ``args`` are unwrapped; raw-only calls return raw data."""
        if _state.tracer is not None:  # tg.compile is recording (the one check on this path)
            return _state.tracer.apply(cls, args, kwargs)
        like = None
        record = False
        raw = [a._data if isinstance(a, Node) else a for a in args]
        for a in args:
            if isinstance(a, Node):
                if like is None:
                    like = a
                if a.requires_grad:
                    record = True
                    break
        if like is None:
            return cls.forward(_NoGraphContext(), *args, **kwargs)
        kind = like._result_type  # a Tensor subclass (e.g. a Parameter) yields Tensors
        if not (record and _state.enabled):
            out = kind._from_op(cls.forward(_NoGraphContext(), *raw, **kwargs))
        else:
            out = object.__new__(kind)
            out._grad = kind._grad_init
            out._counter = None
            out._epoch = _clock[0]
            out.requires_grad = True
            out.name = None
            out.scope = _state.scope
            out._hooks = None
            out._retains_grad = kind._retain_default
            out._seq = next_seq()
            out._fn = cls
            out._saved = None
            out._attrs = None
            n = len(args)
            out._in0 = args[0]
            out._in1 = args[1] if n > 1 else _NO_INPUT
            out._in_rest = args[2:] if n > 2 else ()
            ctx = _new_object(Context)   # a fresh view; Context.__init__ is for existing nodes
            ctx.output = out
            data = cls.forward(ctx, *raw, **kwargs)
            if kind._as_data is not None:
                data = _normalise_output(out, data, kind._as_data(data))
            out._data = data
            attrs = ctx.__dict__
            if attrs:
                out._attrs = attrs
            if _state.anomaly:
                out._attrs = attrs
                attrs["_trace"] = _user_frame()
        if kind._as_data is not None:
            data = out._data
            # a view of an input, or an input itself, shares its version counter (a cheap
            # first test here; versions.share_if_view decides)
            if data.base is not None or data is raw[0] or data is raw[-1] or len(raw) > 2:
                _versions.share_if_view(out, data, args, raw)
        return out


_new_object = object.__new__


def _normalise_output(out: Node, raw: Any, data: Any) -> Any:
    """Store ``data`` (the normalised form of ``forward``'s ``raw`` result) and keep a
    saved copy of the output recognisable as the output (e.g. a numpy scalar that
    became a 0-d array), so a recorded backward still sees it as the output node."""
    saved = out._saved
    if data is not raw and type(saved) is tuple:
        out._saved = tuple([data if v is raw else v for v in saved])
    return data


# -- the backward pass --------------------------------------------------------------
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



def _freed(op: str) -> RuntimeError:
    return RuntimeError(f"{op}: trying to backward through the graph a second time (its saved "
                        "values were freed after the first backward); call "
                        "backward(retain_graph=True) the first time if you need to.")


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
