"""The op protocol shared by both engines: ``Function`` and its ``Context``.

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
input requires grad, returns a graph node whose ``grad_fn`` is the ``Context``.

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
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Any

from . import scopes as _scope
from .grad_mode import state as _state

next_seq = itertools.count().__next__  # creation numbers for Node._seq


class Node:
    """Base class of graph nodes (``Value`` and ``Tensor``): data plus graph links.

    ``_ctx`` is the ``Context`` of the op that made the node (``None`` for a
    leaf). Links only point from a node to its inputs, never back, so a
    finished graph is freed by reference counting alone. ``_seq`` numbers nodes
    in creation order (an input is always older than the op output using it).
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "name", "scope",
                 "_hooks", "_retains_grad", "_seq", "__weakref__")

    # -- subclass protocol used by the engine ------------------------------
    @classmethod
    def _from_op(cls, data: Any, ctx: "Context | None") -> "Node":
        """Wrap an op's raw output (``ctx`` is None when nothing is recorded)."""
        raise NotImplementedError

    def _fit_grad(self, grad: Any) -> Any:
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

    # -- graph links -----------------------------------------------------------
    @property
    def grad_fn(self) -> "Context | None":
        """The ``Context`` of the op that created this node (None for leaves)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        """True for nodes made by the user, not by a recorded op."""
        return self._ctx is None

    @property
    def parents(self) -> tuple:
        """The graph nodes this node was computed from (empty for leaves)."""
        return () if self._ctx is None else self._ctx.parents

    @property
    def op(self) -> str | None:
        """Name of the op that created this node, or None for a leaf."""
        return None if self._ctx is None else self._ctx.name

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
        if self._ctx is not None:
            self._retains_grad = True

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad."""
        from .autodiff import backward
        backward(self, gradient, retain_graph=retain_graph,
                 create_graph=create_graph, inputs=inputs)


class _HookHandle:
    __slots__ = ("_hooks", "_fn")

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


_FREED = object()   # marks a Context whose saved values were released by backward
_INPUTS = object()  # marks a Context that saved exactly its inputs' data


class Context:
    """What one recorded op keeps for its backward pass.

    ``fn`` is the ``Function`` subclass, ``inputs`` the positional arguments of
    ``apply`` (nodes and constants), ``saved_tensors`` what ``forward`` saved.
    ``forward`` may also store plain attributes (``ctx.shape = ...``).

    The context holds no reference to its output node (that would be a cycle);
    while the engine records a higher-order backward it lends the output node
    as ``_out`` so a saved output can be returned as a node.
    """

    __slots__ = ("fn", "inputs", "_saved", "_out", "_trace", "__dict__", "__weakref__")

    def __init__(self, fn: type, inputs: tuple) -> None:
        self.fn = fn
        self.inputs = inputs
        self._saved = None
        self._out = None
        self._trace = None

    @property
    def name(self) -> str:
        """The op's readable name (the Function subclass's ``name`` or class name)."""
        return self.fn.name or self.fn.__name__

    @property
    def parents(self) -> tuple:
        """The inputs that are graph nodes, in argument order."""
        return tuple(a for a in self.inputs if isinstance(a, Node))

    @property
    def needs_input_grad(self) -> tuple:
        """For each positional input: does it need a gradient?"""
        return tuple([isinstance(a, Node) and a.requires_grad for a in self.inputs])

    @property
    def freed(self) -> bool:
        """True once a backward without ``retain_graph`` released the saved values."""
        return self._saved is _FREED

    def save_for_backward(self, *values: Any) -> None:
        """Keep raw values (inputs, the output, or constants) for ``backward``.

        The common case, saving exactly the inputs' data in order, is stored as a
        marker: nothing extra stays alive, and a recorded backward gets the input
        nodes themselves.
        """
        inputs = self.inputs
        if len(values) == len(inputs):
            for a, v in zip(inputs, values):
                if not (isinstance(a, Node) and a.data is v):
                    break
            else:
                self._saved = _INPUTS
                return
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What ``forward`` saved: raw data, or nodes when recording a backward graph."""
        saved = self._saved
        if saved is _INPUTS:
            if self._out is None:
                return tuple([a.data for a in self.inputs])
            return self.inputs
        if saved is _FREED:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time "
                "(its saved values were freed after the first backward); "
                "call backward(retain_graph=True) the first time if you need to.")
        if saved is None:
            return ()
        if self._out is None:  # plain backward: raw data
            return saved
        return tuple(self._as_node(i, v) for i, v in enumerate(saved))

    def _as_node(self, position: int, value: Any) -> Any:
        """Map a saved raw value back to the graph node it came from, if any."""
        # Identity match against the inputs; when one object was passed as
        # several inputs, its k-th save maps to the k-th such input.
        matches = [a for a in self.inputs if isinstance(a, Node) and a.data is value]
        if matches:
            repeat = sum(1 for v in self._saved[:position] if v is value)
            return matches[min(repeat, len(matches) - 1)]
        if value is self._out.data:
            return self._out
        return value

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


class _Scratch:
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
        like = None
        record = False
        raw = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Node):
                raw[i] = a.data
                if like is None:
                    like = a
                if a.requires_grad:
                    record = True
        if like is None:
            return cls.forward(_Scratch(), *args, **kwargs)
        if not (record and _state.enabled):
            return like._from_op(cls.forward(_Scratch(), *raw, **kwargs), None)
        ctx = _new_context(Context)
        ctx.fn = cls
        ctx.inputs = args
        ctx._saved = ctx._out = None
        ctx._trace = _user_frame() if _state.anomaly else None
        return like._from_op(cls.forward(ctx, *raw, **kwargs), ctx)


_new_context = object.__new__
