"""``tg.compile(fn)``: trace on the first call, replay on later calls with the same guards.

Guards. A call's *key* is: each tensor argument's shape, dtype and requires_grad (other
arguments by value, or by identity when unhashable), the grad mode, the train/eval flag of
every module the function can reach (its arguments, closure, ``self`` and the globals it
names, with their submodules: found by ``reach.py``, which walks them again only after a
change), the non-numeric options of their optimizers' parameter groups (``nesterov``,
``maximize``, ...), and the *generation* of what the function reaches (it changes when a
module, parameter or buffer is replaced: the old program would read the old weights). A
program found under the key is then checked against the state it reads (the shape and dtype
of each parameter, buffer, ``.grad`` and optimizer-state entry, or its absence): a mismatch
retraces. Numeric hyper-parameters (a scheduler's ``lr``) are program state, read at every
replay.

Programs are kept in an LRU cache of ``max_cache`` keys; when tracing keeps happening (more
traces than ``max_cache``) a warning says once which guard changed. A graph break (see
``trace.py``) warns once, with where it happened, and the function runs eagerly from then on.
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..grad_mode import state as _state
from ..tensor import Tensor
from .format import format_program
from .ir import Program, check
from .pipeline import Pass, run_passes
from .reach import Reach
from .replay import Replay
from .slots import signature
from .trace import Tracer, finish

__all__ = ["CompiledFunction", "compile"]


def _flatten(value: Any, leaves: list) -> Any:
    """The structure of ``value`` with each Tensor replaced by its index in ``leaves``."""
    if isinstance(value, Tensor):
        leaves.append(value)
        return _Leaf(len(leaves) - 1)
    if isinstance(value, (tuple, list)):
        return type(value)(_flatten(v, leaves) for v in value)
    if isinstance(value, dict):
        return {k: _flatten(v, leaves) for k, v in value.items()}
    return value


class _Leaf:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _unflatten(structure: Any, leaves: Sequence[Any]) -> Any:
    if isinstance(structure, _Leaf):
        return leaves[structure.index]
    if isinstance(structure, (tuple, list)):
        return type(structure)(_unflatten(v, leaves) for v in structure)
    if isinstance(structure, dict):
        return {k: _unflatten(v, leaves) for k, v in structure.items()}
    return structure


def _arg_key(value: Any) -> Any:
    if isinstance(value, Tensor):
        return ("tensor", value.shape, value.dtype, value.requires_grad)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype)
    if isinstance(value, (tuple, list)):    # tensors inside containers are inputs too
        return (type(value).__name__, tuple(_arg_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _arg_key(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


class _Entry:
    __slots__ = ("clears", "program", "replay", "signatures", "slots", "structure")


class CompiledFunction:
    """``fn`` compiled (see the module docstring). ``program`` is the last program used,
    ``programs`` all cached ones, ``explanation`` the passes' report of the last trace."""

    def __init__(self, fn: Callable, passes: Sequence[Pass], explain: bool, max_cache: int,
                 fullgraph: bool) -> None:
        if max_cache < 1:
            raise ValueError(f"compile: max_cache must be at least 1, got {max_cache}")
        functools.update_wrapper(self, fn, updated=())
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.fn, self.passes, self.explain = fn, tuple(passes), explain
        self.max_cache, self.fullgraph = max_cache, fullgraph
        self._cache: OrderedDict[Any, _Entry] = OrderedDict()
        self._last: _Entry | None = None
        self.traces = 0
        self.graph_break: str | None = None
        self.explanation: list[str] = []
        self._warned_retrace = False
        self._reach = Reach(fn)

    @property
    def program(self) -> Program | None:
        return None if self._last is None else self._last.program

    @property
    def programs(self) -> list[Program]:
        return [e.program for e in self._cache.values()]

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        modules, optimizers, generation = self._reach((*args, *kwargs.values()))
        groups = tuple(tuple((k, v) for k, v in g.items() if isinstance(v, (bool, str))
                             or v is None) for o in optimizers for g in o.param_groups)
        return (tuple(_arg_key(a) for a in args),
                tuple((k, _arg_key(v)) for k, v in sorted(kwargs.items())),
                _state.enabled, tuple(m.training for m in modules), groups, generation)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.graph_break is not None or _state.tracer is not None:
            return self.fn(*args, **kwargs)   # eager, or inlined into an enclosing trace
        key = self._key(args, kwargs)
        entry = self._cache.get(key)
        if entry is not None:
            state = [s.read() for s in entry.slots]
            changed = _changed(entry, state)
            if changed is None:
                self._cache.move_to_end(key)
                self._last = entry
                inputs = [a._data if isinstance(a, Tensor) else a for a in _tensor_args(args, kwargs)]
                outputs = entry.replay(inputs, state)
                return _unflatten(entry.structure, [Tensor._from_op(o) for o in outputs])
            return self._trace(key, args, kwargs, changed)
        return self._trace(key, args, kwargs, self._why(key))

    def _why(self, key: tuple) -> str:
        if not self._cache:
            return "first call"
        old = next(reversed(self._cache))
        names = ("positional arguments (shape, dtype, requires_grad)", "keyword arguments",
                 "grad mode (tg.no_grad)", "a module's train/eval mode",
                 "an optimizer's options", "the modules reached (a module or parameter replaced)")
        return "; ".join(f"{n} changed" for n, a, b in zip(names, old, key) if a != b)

    def _trace(self, key: tuple, args: tuple, kwargs: dict, reason: str) -> Any:
        modules, optimizers, _ = self._reach((*args, *kwargs.values()))
        labels: dict[int, str] = {}
        owners: dict[int, Tensor] = {}
        inner = {id(c) for m in modules for c in m.modules() if c is not m}
        for root in [m for m in modules if id(m) not in inner]:
            for name, t in (*root.named_parameters(), *root.named_buffers()):
                if t is not None and id(t) not in labels:
                    labels[id(t)] = name
                    labels[id(t._data)] = name
        for o in optimizers:
            for g in o.param_groups:
                for p in g["params"]:
                    owners[id(p)] = p
        for m in modules:
            for p in m.parameters(recurse=False):
                owners[id(p)] = p
        tracer = Tracer(labels, list(owners.values()), optimizers)
        for i, a in enumerate(_tensor_args(args, kwargs)):
            tracer.add_input(a._data if isinstance(a, Tensor) else a, f"arg{i}")
        self.traces += 1
        if self.traces == 1:
            _help_cold_start(modules)
        if self.traces > self.max_cache and not self._warned_retrace:
            self._warned_retrace = True
            warnings.warn(f"compile: {self.__name__} was traced {self.traces} times (more than "
                          f"max_cache={self.max_cache}); last reason: {reason}", stacklevel=3)
        previous, _state.tracer = _state.tracer, tracer
        try:
            result = self.fn(*args, **kwargs)
        finally:
            _state.tracer = previous
        leaves: list = []
        structure = _flatten(result, leaves)
        if tracer.broken is None:
            program, slots, clears = finish(tracer, leaves)
        if tracer.broken is not None:
            self._break(tracer.broken)
            return result
        check(program)
        program, self.explanation = run_passes(program, self.passes)
        if self.explain:
            print(f"compile: {self.__name__}: traced ({reason})")
            print("\n".join(self.explanation))
        entry = _Entry()
        entry.program, entry.slots, entry.clears = program, slots, clears
        entry.signatures, entry.structure = tracer.signatures, structure
        entry.replay = Replay(program, slots, clears)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_cache:
            self._cache.popitem(last=False)
        self._last = entry
        return result

    def _break(self, reason: str) -> None:
        message = (f"compile: graph break in {self.__name__}: {reason}\n"
                   "It runs eagerly from now on (same results, no replay).")
        if self.fullgraph:
            raise RuntimeError(message)
        self.graph_break = reason
        self._cache.clear()
        warnings.warn(message, stacklevel=4)

    def __repr__(self) -> str:
        return f"<compiled {self.__name__}: {len(self._cache)} program(s)>"

    def __str__(self) -> str:
        return repr(self) if self.program is None else format_program(self.program)


def _help_cold_start(modules: Sequence[Any]) -> None:
    """On a cold kernel cache, a first trace that reaches a convolution compiles the kernels
    one after another (the first ResNet-8 step: ~11 s); a helper process then compiles the
    main job's kernels alongside (``kernels/_background.py``: the same types, so mostly the
    same kernels), from the end of its list. It ends by itself, or when this process does."""
    from ..nn.conv import Conv2d
    if any(isinstance(m, Conv2d) for m in modules):
        from ..kernels import _background
        _background.start()


def _tensor_args(args: tuple, kwargs: dict) -> list:
    """The tensors and arrays among the arguments, in order, inside lists, tuples and dicts
    too (the same walk as ``_arg_key``): the program's inputs."""
    found: list = []

    def walk(value: Any) -> None:
        if isinstance(value, (Tensor, np.ndarray)):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
    walk(args)
    walk([kwargs[k] for k in sorted(kwargs)])
    return found


def _changed(entry: _Entry, state: list) -> str | None:
    """Which state guard fails now (None: all hold)."""
    for slot, value, expected in zip(entry.slots, state, entry.signatures):
        if signature(value) != expected:
            return f"state {slot.label or slot.kind} changed from {expected} to {signature(value)}"
    return None


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False, passes: Sequence[Pass | str] | None = None,
            explain: bool = False, max_cache: int = 8) -> Any:
    """Compile ``model`` (a function or a module) into a traced program: ``torch.compile``'s
    signature, plus ``passes``, ``explain`` (print what each pass changed) and ``max_cache``
    (programs kept). Used bare, with arguments, or as a decorator (``@tg.compile``,
    ``@tg.compile(explain=True)``).

    ``passes`` run in order on each traced program: names from
    ``tinygrad_cs.compile.passes.PASSES`` (``"fold"``, ``"simplify"``, ``"cse"``, ``"dce"``,
    ``"fuse"``, ``"memory"``) or callables ``Program -> (Program, lines)``. ``None`` runs
    ``passes.EXACT``, every pass but ``fuse``: a replay then computes bit for bit what eager
    execution does. ``passes=passes.DEFAULT`` adds the fused kernels (faster; exp, tanh, ...
    within a few ulps, sums in another order); ``()`` runs none (the program as traced).

    What a replay repeats: the tensor ops, ``backward()``, ``Optimizer.step()`` and
    ``zero_grad``, draws through ``tinygrad_cs.random.draw`` (dropout), and in-place changes
    of tensors the program reads. Nothing else the function does in Python happens again,
    so the trace stops (a *graph break*: a warning, then eager calls) where that would
    matter: a scheduler's ``step()``, any other change of an optimizer's ``param_groups``,
    a tensor stored on a module (``self.cache = out``), ``t.data = ...``, reading a value
    (``item()``, ``bool()``), a tensor made from data inside the function (``tg.tensor``
    of a numpy array, ``from_numpy``) or a numpy array handed to an op (pass such values as
    arguments: they are program inputs), and an in-place change through a view. Factories
    of fixed arguments (``tg.zeros``, ``tg.arange``) are program constants. Python numbers
    are constants too: one that changes between calls must be an argument (it is part of
    the cache key). Call schedulers outside the compiled function: their new ``lr`` is read
    at every replay.

    ``fullgraph=True`` raises at a graph break instead of running eagerly; ``disable=True``
    returns ``model`` unchanged. Shapes are static (``dynamic=True`` is refused); ``backend``
    and ``mode`` accept only PyTorch's defaults, ``options`` only None.
    """
    if dynamic:
        raise ValueError("compile: dynamic=True is not supported: programs have static shapes "
                         "(a new shape retraces)")
    if backend != "inductor":
        raise ValueError(f"compile: backend={backend!r} is not supported; tinygrad_cs has one "
                         "backend (leave the default)")
    if mode not in (None, "default"):
        raise ValueError(f"compile: mode={mode!r} is not supported (use passes=...)")
    if options is not None:
        raise ValueError("compile: options=... is not supported (use passes=...)")

    def wrap(fn: Callable) -> Any:
        if disable:
            return fn
        if not callable(fn):
            raise TypeError(f"compile: expected a function or a module, got {type(fn).__name__}")
        return CompiledFunction(fn, _resolve(passes), explain, max_cache, fullgraph)
    return wrap if model is None else wrap(model)


def _resolve(passes: Sequence[Pass | str] | None) -> list[Pass]:
    """The pass callables ``passes`` names (see ``compile``)."""
    from .passes import EXACT, lookup
    if passes is None:
        passes = EXACT
    if isinstance(passes, str):
        passes = (passes,)
    return [lookup([p])[0] if isinstance(p, str) else p for p in passes]
