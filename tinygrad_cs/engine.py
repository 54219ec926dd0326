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

The backward pass that walks this graph is ``backward_pass.py`` (one loop for both
engines, ``Value`` and ``Tensor``).
"""
from __future__ import annotations

import itertools
import os
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from . import versions as _versions
from .grad_mode import state as _state
from .versions import _clock

next_seq = itertools.count().__next__  # creation numbers for Node._seq

#: ``backward_pass.backward``, which ``Node.backward`` calls. That module builds on this one,
#: so it hands its entry point over when it is imported (the package's ``__init__`` imports
#: it): no import cycle, and no import statement on the path of every ``backward()``.
run_backward: Callable[..., None] | None = None

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
        run_backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
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


def _freed(op: str) -> RuntimeError:
    return RuntimeError(f"{op}: trying to backward through the graph a second time (its saved "
                        "values were freed after the first backward); call "
                        "backward(retain_graph=True) the first time if you need to.")
