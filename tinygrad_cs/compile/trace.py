"""The tracer: runs a function eagerly while writing down what it computes as a ``Program``.

While ``grad_mode.state.tracer`` is set, the engine hands its work here: ``Function.apply``
(``apply``), the backward loop (``backward``), in-place tensor methods (``inplace``),
``Optimizer.step`` (``step``) and ``random.draw`` (``draw``). Each runs eagerly, exactly as
without tracing (so the traced call's results are eager's), and appends instructions whose
callables (``calls.py``) recompute the same values from arrays at replay.

Values are followed by array identity: ``env`` maps each array the traced code produced or
read to the ``Var`` holding it. A tensor whose array the trace has not seen is state (a
parameter, a buffer: read at every replay), or a constant if the function created it.

What cannot be captured stops the trace (``stop``): the function then simply keeps running
eagerly, and the compiled function runs eagerly from then on (a *graph break*). Reading a
tensor's value in Python (``item()``, ``bool()``, ``float()``, ``tolist()``, ``numpy()`` from
user code), a random draw outside ``random.draw``, gradient hooks, ``create_graph`` and
``tg.grad``, in-place changes of tensors that require grad, and optimizers with their own
``step`` (LBFGS) or a closure are breaks. So are values a replay would get wrong
(``provenance.py``): a tensor made inside the function from data (``tg.tensor``,
``from_numpy``, a raw-numpy result) rather than by a factory of fixed arguments
(``zeros``, ``arange``: ``constant``), a numpy array the user's code passes to an op, an
in-place change of an array that shares memory with another, and Python side effects
(``grad_mode.untraceable``: scheduler steps, tensors stored on modules, ``.data = ...``,
any other change of an optimizer's ``param_groups``).
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .. import random as _random
from .. import versions as _versions
from ..engine import (
    _FREED,
    _NO_INPUT,
    _SAVED_INPUTS,
    Node,
    _user_frame,
    next_seq,
)
from ..grad_mode import state as _state
from ..tensor import Tensor
from . import calls, provenance
from .backward_ops import Untraced
from .ir import Const, Instr, Program, Var
from .slots import Slot, signature
from .trace_backward import BackwardHooks

__all__ = ["Tracer", "finish"]

_ELEMENTWISE_MODULES = ("tinygrad_cs.ops.elementwise",)


def _dtype_of(value: Any) -> np.dtype:
    if isinstance(value, np.ndarray):
        return value.dtype
    return np.dtype(type(value)) if isinstance(value, (bool, int, float)) else np.dtype(object)


class _Record:
    """What backward needs of one traced forward op: the op, its Vars, what it saved."""

    __slots__ = ("attr_values", "attrs", "function", "needs", "saved", "values")

    def __init__(self, function, needs, saved, attrs, attr_values, values) -> None:
        self.function, self.needs, self.saved = function, needs, saved
        self.attrs, self.attr_values, self.values = attrs, attr_values, values


class Tracer(BackwardHooks):
    """Builds one program from one eager call; see the module docstring."""

    def __init__(self, labels: dict[int, str], owners: list[Tensor],
                 optimizers: list | tuple = ()) -> None:
        self.labels = labels            # id(tensor or array) -> "layer1.0.conv1.weight"
        # leaves whose .grad the function may set, and their .grad when the call began
        self.grad_owners: dict[int, Tensor] = {id(t): t for t in owners}
        self.initial_grads = {id(t): None if t._grad is None else t._grad._data for t in owners}
        self.signatures: list[tuple] = []   # each slot's value when the call began
        self.env: dict[int, tuple[Any, Var]] = {}
        self.value_of: dict[int, Any] = {}   # id(Var) -> its value at trace time
        self.inputs: list[Var] = []
        self.state: list[Var] = []
        self.slots: list[Slot] = []
        self.latest: list[Var] = []     # each slot's value now (differs once written)
        self.slot_keys: dict[tuple, int] = {}
        self.instrs: list[Instr] = []
        self.records: dict[int, _Record] = {}
        self.start = next_seq()
        self.phase = "forward"
        self.broken: str | None = None
        self._count = 0
        self.constants: dict[int, Tensor] = {}   # tensors made by factories of fixed arguments
        self.optimizers = list(optimizers)
        self.groups = provenance.groups(self.optimizers)   # param_groups when the call began
        self.strict = False   # recording a backward formula: raise Untraced, never guess
        self.tainted: list = []   # library calls that read a tensor's values in numpy

    # -- values ------------------------------------------------------------------------
    def new_var(self, like: Any, label: str = "") -> Var:
        self._count += 1
        return Var(f"%{self._count}", tuple(np.shape(like)) if isinstance(like, np.ndarray)
                   else (), _dtype_of(like), label)

    def lookup(self, array: Any) -> Var | None:
        entry = self.env.get(id(array))
        return entry[1] if entry is not None and entry[0] is array else None

    def bind(self, array: Any, var: Var) -> None:
        self.env[id(array)] = (array, var)
        self.value_of[id(var)] = array

    def add_input(self, array: np.ndarray, label: str) -> Var:
        var = self.lookup(array)
        if var is None:
            var = self.new_var(array, label)
            self.inputs.append(var)
            self.bind(array, var)
        return var

    def slot(self, kind: str, owner: Any, key: Any = None, label: str = "") -> int:
        """The index of the slot (kind, owner, key), made (and read once) on first use."""
        ident = (kind, id(owner), key)
        index = self.slot_keys.get(ident)
        if index is None:
            slot = Slot(kind, owner, key, label)
            value = slot.read()
            if kind == "grad" and id(owner) in self.initial_grads:
                value = self.initial_grads[id(owner)]
            self.signatures.append(signature(value))
            var = self.new_var(value, label)
            if kind == "data":
                self.slot_keys[("data-array", id(value), None)] = len(self.slots)
            if value is None and kind in ("grad", "optim"):  # written only: shaped like its owner
                like = owner if kind == "grad" else None
                if like is not None:
                    var.shape, var.dtype = like.shape, like._data.dtype
            index = self.slot_keys[ident] = len(self.slots)
            self.slots.append(slot)
            self.state.append(var)
            self.latest.append(var)
            self.value_of[id(var)] = value
            if isinstance(value, np.ndarray) and kind in ("data", "array", "grad"):
                self.bind(value, var)
        return index

    def operand(self, a: Any) -> Var | Const:
        """The program value of an op argument (Tensor, array or constant)."""
        if isinstance(a, Node):
            data = a._data
            var = self.lookup(data)
            if var is not None:
                return var
            if a._seq > self.start and a._fn is None:  # made inside the function
                if id(a) not in self.constants and self.strict:
                    raise Untraced("a tensor made from data")
                if id(a) not in self.constants:
                    self.stop(f"a tensor of shape {tuple(data.shape)} made inside the function "
                              "from data the trace cannot follow (tg.tensor, from_numpy or "
                              "a numpy result): pass it as an argument, or compute it with "
                              "tensor ops")
                return Const(data)
            label = self.labels.get(id(a)) or self.labels.get(id(data)) or a.name or ""
            return self.latest[self.slot("data", a, label=label)]
        if isinstance(a, np.ndarray):
            var = self.lookup(a)
            if var is None and self.strict:
                raise Untraced("a numpy array the trace has not seen")
            return Const(a) if var is None else var
        return Const(a)

    def constant(self, tensor: Tensor) -> None:
        """``tensor`` was made by a factory of fixed arguments (``zeros``, ``arange``): its
        value is the same at every call, so it may be a program constant."""
        self.constants[id(tensor)] = tensor

    def emit(self, op: str, fn: Any, inputs: tuple, outputs: tuple, attrs: dict | None = None,
             elementwise: bool = False, scope: str | None = None) -> None:
        self.instrs.append(Instr(op, fn, tuple(inputs), tuple(outputs), attrs or {},
                                 _state.scope if scope is None else scope, self.phase,
                                 elementwise))

    # -- graph breaks ------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Give up tracing (the call goes on eagerly); remember why, and where."""
        if self.broken is None:
            self.broken = f"{reason}\n  at {_user_frame()}"
        _state.tracer = None

    def reads_value(self, tensor: Tensor, what: str, internal_ok: bool = False) -> None:
        if internal_ok and provenance.own_code(sys._getframe(2)):
            if id(tensor) not in self.constants:   # numbers derived from it are suspect
                self.tainted.append(provenance.entry_frame())
            return
        self.stop(f"{what} reads the value of a tensor of shape {tuple(tensor.shape)}")

    def draws_outside(self, reason: str) -> None:
        self.stop(reason)

    # -- the hooks -----------------------------------------------------------------------
    def apply(self, function: type, args: tuple, kwargs: dict) -> Any:
        if any(isinstance(a, Node) and not isinstance(a, Tensor) for a in args):
            self.stop(f"{function.__name__} on scalar Values (only Tensors are traced)")
            return function.apply(*args, **kwargs)
        values = [self.operand(a) for a in args]
        raw_unseen = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)
                      and self.lookup(a) is None]
        raw_unseen += [x for v in kwargs.values() if isinstance(v, tuple) for x in v
                       if isinstance(x, np.ndarray) and self.lookup(x) is None]
        if raw_unseen and self.strict:
            raise Untraced(f"{function.__name__}: a numpy array the trace has not seen")
        if raw_unseen and self.broken is None:
            entry = provenance.entry_frame()
            if any(entry is frame for frame in self.tainted):
                self.stop(f"{function.__name__}: a numpy array of shape {raw_unseen[0].shape} "
                          "computed by the library from a tensor's values in numpy (not by "
                          "ops): a replay would reuse its trace-time value")
            array = provenance.user_array(self.lookup)
            if array is not None:
                self.stop(f"{function.__name__}: a numpy array of shape {array.shape} from "
                          "the function's own code (not an argument of the compiled "
                          "function): a replay would reuse its trace-time value; pass it "
                          "as an argument, or make it a tensor computed with ops")
        kw_arrays, kw_values, static = [], [], dict(kwargs)
        for key, v in kwargs.items():
            if isinstance(v, tuple) and any(isinstance(x, np.ndarray) for x in v):
                for i, x in enumerate(v):
                    if isinstance(x, np.ndarray):
                        kw_arrays.append((key, i))
                        kw_values.append(x)
                static[key] = tuple(None if isinstance(x, np.ndarray) else x for x in v)
        if not any(isinstance(v, Var) for v in values) and not kw_values:
            _state.tracer = None
            try:
                return function.apply(*args, **kwargs)
            finally:
                _state.tracer = self
        kw_vars = []
        for x in kw_values:
            var = self.lookup(x)
            kw_vars.append(self.latest[self.slot("array", x, label=self.labels.get(id(x), ""))]
                           if var is None else var)
        _state.tracer, _state.in_trace = None, True
        try:
            out = function.apply(*args, **kwargs)
        finally:
            _state.tracer, _state.in_trace = self, False
        data = out._data if isinstance(out, Node) else out
        raw = [a._data if isinstance(a, Node) else a for a in args]
        out_var = self.new_var(data)
        recorded = isinstance(out, Node) and out._fn is function
        needs, extras, extra_vars = None, [], []
        if recorded:
            if (out._attrs or {}).get("_before_inplace") is not None:
                self.stop(f"{function.__name__}: an in-place change of a tensor in the graph")
            needs = _needs(out)
            saved, attrs, attr_values, vals = self._saved_recipe(out, raw, values, data,
                                                                 out_var, extras, extra_vars)
            self.records[id(out)] = _Record(function, needs, saved, attrs, attr_values, vals)
        new_kw = [self.new_var(x) for x in kw_values]
        fn = calls.Forward(function, len(args), needs, extras, kw_arrays)
        elementwise = (function.__module__ in _ELEMENTWISE_MODULES and not extras
                       and not kw_arrays)
        self.emit(function.name or function.__name__, fn, (*values, *kw_vars),
                  (out_var, *extra_vars, *new_kw), static, elementwise)
        self.bind(data, out_var)
        for x, var in zip(kw_values, new_kw):
            self.mutated(x, var)
        return out

    def raw_op(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        """A non-differentiable numpy function of tensors (a comparison, ``clone``, a cast:
        ``ops._util.constant``), recorded as one instruction ``fn(*arrays, **kwargs)``."""
        values = [self.operand(a) for a in args]
        out = fn(*(a._data if isinstance(a, Node) else a for a in args), **kwargs)
        if isinstance(out, np.ndarray) and any(isinstance(v, Var) for v in values):
            var = self.new_var(out)
            self.emit(getattr(fn, "__name__", "numpy"), fn, tuple(values), (var,), dict(kwargs))
            self.bind(out, var)
        return out

    def alias(self, view: Tensor, source: Tensor) -> None:
        """``view`` is a new tensor on ``source``'s storage (``detach()``, ``.data``): the
        same program value (``source`` becomes state if the trace has not seen it)."""
        var = self.operand(source)
        if isinstance(var, Var):
            self.env[id(view._data)] = (view._data, var)

    def _saved_recipe(self, out, raw, values, data, out_var, extras, extra_vars):
        """How backward finds what forward saved: program values, or constants."""
        saved = out._saved
        if saved is _SAVED_INPUTS:
            saved = (raw[0], raw[1])
        vals: list = []
        recipe: list = []

        def place(x, where, key):
            if isinstance(x, (np.ndarray, np.generic)):  # a numpy scalar is data too
                for a, v in zip(raw, values):
                    if a is x and isinstance(v, Var):
                        vals.append(v)
                        return ("value", len(vals) - 1)
                if x is data:
                    vals.append(out_var)
                    return ("value", len(vals) - 1)
                var = self.new_var(x)
                self.bind(x, var)
                extras.append((where, key))
                extra_vars.append(var)
                vals.append(var)
                return ("value", len(vals) - 1)
            return ("const", x)
        for k, x in enumerate(saved or ()):
            recipe.append(place(x, "saved", k))
        attrs, attr_values, attr_vals = {}, [], []
        for key, x in (out._attrs or {}).items():
            if key in ("_trace", "_before_inplace"):
                continue
            kind, where = place(x, "attr", key)
            if kind == "const":
                attrs[key] = where
            else:
                attr_values.append(key)
                attr_vals.append(vals.pop())
        return recipe, attrs, attr_values, vals + attr_vals

    def mutated(self, array: np.ndarray, var: Var) -> None:
        """``array`` (the same object) now holds ``var``: update the env and its slot."""
        self.bind(array, var)
        for kind in ("array",):
            index = self.slot_keys.get((kind, id(array), None))
            if index is not None:
                self.latest[index] = var

    def _mutated_tensor(self, tensor: Tensor, var: Var) -> None:
        self.bind(tensor._data, var)
        # found by the array: ``p.data`` is another Tensor object on the parameter's array
        index = self.slot_keys.get(("data-array", id(tensor._data), None))
        if index is not None:
            self.latest[index] = var

    def inplace(self, tensor: Tensor, change, op: str, recorded, operands: tuple) -> Any:
        traced = [o for o in operands if isinstance(o, Node)
                  or (isinstance(o, np.ndarray) and self.lookup(o) is not None)]
        old = self.operand(tensor)
        reason = None
        if tensor._records_inplace(operands):
            reason = f"{op}: an in-place change of a tensor that requires grad"
        elif traced:
            reason = f"{op}: an in-place change whose operand is a traced value"
        elif isinstance(old, Const) or not tensor._data.flags.writeable:
            reason = f"{op}: an in-place change of a constant or read-only tensor"
        elif provenance.aliased(tensor._data, (a for a, _ in self.env.values())):
            reason = (f"{op}: an in-place change of a tensor of shape {tuple(tensor.shape)} "
                      "that shares memory with another (a view, or the base of one)")
        if reason is not None:
            self.stop(reason)
            return tensor._inplace(change, op, recorded, operands)
        _state.tracer = None
        try:
            tensor._inplace(change, op, recorded, operands)
        finally:
            _state.tracer = self
        new = self.new_var(tensor._data)
        self.emit(op, calls.InPlace(change), (old,), (new,))
        self._mutated_tensor(tensor, new)
        return tensor

    def draw(self, sample, args: tuple) -> np.ndarray:
        rng = _random.current()
        index = self.slot("rng", _random, label="rng")
        array = sample(rng, *args)
        out, advanced = self.new_var(array, sample.__name__.strip("_")), self.new_var(rng)
        self.emit("Random", calls.Draw(sample), (self.latest[index], *map(Const, args)),
                  (out, advanced))
        self.latest[index] = advanced
        self.value_of[id(advanced)] = rng
        self.bind(array, out)
        return array

    def grad_assigned(self, tensor: Tensor) -> None:
        """``tensor.grad`` is about to be assigned: if the trace did not know this leaf yet,
        its ``.grad`` now is the one the call began with (the guard compares it)."""
        if id(tensor) not in self.initial_grads:
            self.grad_owners[id(tensor)] = tensor
            self.initial_grads[id(tensor)] = None if tensor._grad is None else tensor._grad._data

    def grad_operand(self, tensor: Tensor) -> Var:
        """The program value of ``tensor.grad`` (made state if the trace has not seen it)."""
        var = self.lookup(tensor._grad._data)
        if var is None:
            label = (self.labels.get(id(tensor)) or tensor.name or "") + ".grad"
            var = self.latest[self.slot("grad", tensor, label=label)]
        return var

    def step(self, optimizer, closure) -> Any:
        from ..optim.optimizer import Optimizer
        if closure is not None or type(optimizer).step is not Optimizer.step:
            self.stop(f"{type(optimizer).__name__}.step with a closure or a step of its own")
            return optimizer.step(closure)
        name = type(optimizer).__name__
        updates = [(p, gi, group) for gi, group in enumerate(optimizer.param_groups)
                   for p in group["params"] if p.grad is not None]
        for index, (p, _, _) in enumerate(updates):
            optimizer._check_grad(p, index)
        previous, self.phase = self.phase, "update"
        for p, gi, group in updates:
            pname = self.labels.get(id(p)) or p.name or f"param{gi}"
            p_var, g_var = self.operand(p), self.grad_operand(p)
            state = optimizer.state[p]
            keys = sorted(state)
            state_vars = [self._state_value(state, k, f"{name}.state[{pname}].{k}") for k in keys]
            hyper = [k for k, v in group.items() if _is_hyper(k, v)]
            static = {k: v for k, v in group.items() if k not in hyper
                      and k not in ("params", "param_names")}
            hyper_vars = [self.latest[self.slot("hyper", group, k, f"param_groups[{gi}].{k}")]
                          for k in hyper]
            fn = calls.Update(optimizer._update, static, keys, hyper)
            values = [self.env_value(v) for v in (*state_vars, *hyper_vars)]
            new_p, new_state = fn.run(p._data, p._grad._data, *values)
            fn.out_keys = sorted(new_state)
            indices = [self.slot("optim", state, k, f"{name}.state[{pname}].{k}")
                       for k in fn.out_keys]   # made before the update: their "before" value
            p_new = self.new_var(new_p, pname)
            outs = [self.new_var(new_state[k], f"{name}.state[{pname}].{k}")
                    for k in fn.out_keys]
            self.emit(f"{name}.update", fn, (p_var, g_var, *state_vars, *hyper_vars),
                      (p_new, *outs), scope=pname.rpartition(".")[0])
            np.copyto(p._data, new_p)
            _versions.bump(p)
            self._mutated_tensor(p, p_new)
            state.clear()
            state.update(new_state)
            for k, index, var in zip(fn.out_keys, indices, outs):
                self.latest[index] = var
                self.bind(new_state[k], var)
        self.phase = previous
        return None

    def _state_value(self, state: dict, key: str, label: str) -> Var:
        value = state[key]
        var = self.lookup(value) if isinstance(value, np.ndarray) else None
        return var if var is not None else self.latest[self.slot("optim", state, key, label)]

    def env_value(self, var: Var) -> Any:
        """The value ``var`` had when the trace made it."""
        return self.value_of[id(var)]



def _needs(out: Node) -> tuple:
    inputs = (out._in0,) if out._in1 is _NO_INPUT else (out._in0, out._in1, *out._in_rest)
    return tuple(isinstance(a, Node) and a.requires_grad for a in inputs)


def _is_hyper(key: str, value: Any) -> bool:
    """A group entry read at every replay: numbers (lr, momentum) and tuples of them (betas)."""
    if key in ("params", "param_names") or isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value)


def finish(tracer: Tracer, outputs: list) -> tuple[Program, list[Slot], list[Tensor]]:
    """The program of a finished trace: its outputs, and a write for every slot whose value
    changed; also the leaves whose ``.grad`` the function set to None (``zero_grad``)."""
    out_vars = []
    for t in outputs:
        if t.requires_grad and t._fn is not None and t._saved is not _FREED:
            tracer.stop("the function returns a tensor whose graph is still live (a backward "
                        "after the compiled function cannot be replayed)")
            break
        value = tracer.operand(t)
        if isinstance(value, Const):
            tracer.stop("the function returns a tensor it created from constants")
            break
        out_vars.append(value)
    if provenance.groups(tracer.optimizers) != tracer.groups:
        tracer.stop("an optimizer's param_groups changed outside Optimizer.step (a scheduler "
                    "step or an assignment): a Python side effect a replay would not repeat")
    clears = []
    for owner in tracer.grad_owners.values():
        grad, before = owner._grad, tracer.initial_grads.get(id(owner))
        if grad is None:
            if before is not None:
                clears.append(owner)
            continue
        if before is not None and grad._data is before:
            continue
        var = tracer.lookup(grad._data)
        index = tracer.slot_keys.get(("grad", id(owner), None))
        if var is None or index is None:
            tracer.stop("a .grad set to a tensor the trace did not compute")
            continue
        tracer.latest[index] = var
    writes = [(old, new) for old, new in zip(tracer.state, tracer.latest) if old is not new]
    program = Program(tracer.inputs, tracer.state, tracer.instrs, out_vars, writes)
    return program, tracer.slots, clears
