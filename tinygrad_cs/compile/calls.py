"""The callables a traced program's instructions run: each re-runs, on plain arrays, exactly
the code eager execution ran, so a replay computes the same bits as the call it was traced from.

* ``Forward``: a ``Function``'s ``forward`` with a fresh context; also returns the arrays the
  op saved for backward that are not its inputs or output (``extras``), and the new values of
  arrays it updates in place (BatchNorm's ``running=`` statistics, copied first: pure).
* ``Backward``: a ``Function``'s ``backward`` on a context rebuilt from program values, each
  gradient summed back to its input's shape (``Tensor._unbroadcast``), as the engine does.
* ``Update``: one optimizer's ``_update`` for one parameter, on copies: (p, g, state, hyper)
  -> (new p, new state); ``in_place`` runs it on the arrays themselves.
* ``InPlace``: an in-place tensor method (``add_``, ``zero_``) on a copy.
* ``Draw``: a ``random.draw`` sample; the generator object is the state it advances.
* ``accumulate_grad``: a leaf's first gradient, as its own array of the leaf's dtype.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import _NoGraphContext
from ..tensor import Tensor

__all__ = ["Backward", "Draw", "Forward", "InPlace", "Update", "accumulate_grad"]


class _Ctx:
    """The context a replayed ``forward``/``backward`` sees: ``needs_input_grad``, what
    ``save_for_backward`` kept (``saved_tensors``), and the attributes ``forward`` set."""

    def __init__(self, needs: tuple) -> None:
        self.needs_input_grad = needs

    def save_for_backward(self, *values: Any) -> None:
        self.saved_tensors = values


class Forward:
    """``fn(*args, *kw_arrays, **kwargs) -> out`` or ``(out, *extras, *new_kw_arrays)``.

    ``needs`` is the op's ``needs_input_grad`` when eager recorded it (else None: a context
    that keeps nothing); ``extras`` lists ("saved", index) / ("attr", name) picks;
    ``kw_arrays`` lists (keyword, position in its tuple) of arrays updated in place.
    """

    __slots__ = ("extras", "function", "kw_arrays", "n_args", "needs")

    def __init__(self, function: type, n_args: int, needs: tuple | None,
                 extras: list, kw_arrays: list) -> None:
        self.function, self.n_args, self.needs = function, n_args, needs
        self.extras, self.kw_arrays = extras, kw_arrays

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        n = self.n_args
        fresh = [np.array(a) for a in args[n:]]   # copies: the instruction stays pure
        for (key, i), array in zip(self.kw_arrays, fresh):
            packed = list(kwargs[key])
            packed[i] = array
            kwargs[key] = tuple(packed)
        ctx = _NoGraphContext() if self.needs is None else _Ctx(self.needs)
        data = self.function.forward(ctx, *args[:n], **kwargs)
        data = Tensor._as_data(data)
        if not self.extras and not fresh:
            return data
        saved = getattr(ctx, "saved_tensors", ())
        picked = [saved[k] if where == "saved" else ctx.__dict__[k] for where, k in self.extras]
        return (data, *picked, *fresh)


class Backward:
    """``fn(grad, *values) -> grads`` of the inputs listed in ``targets`` (one array, or a
    tuple). ``saved`` rebuilds ``saved_tensors``: ("value", i) takes ``values[i]``,
    ("const", x) a constant; ``attrs`` are constant attributes and ``attr_values`` the names
    of attributes taken from the values after the saved ones."""

    __slots__ = ("attr_values", "attrs", "function", "likes", "needs", "saved", "targets")

    def __init__(self, function: type, needs: tuple, saved: list, attrs: dict,
                 attr_values: list, targets: list, likes: list) -> None:
        self.function, self.needs, self.saved = function, needs, saved
        self.attrs, self.attr_values = attrs, attr_values
        self.targets, self.likes = targets, likes

    def grads(self, grad: Any, *values: Any) -> list:
        """The gradient of each target (None where ``backward`` gave none)."""
        ctx = _Ctx(self.needs)
        ctx.__dict__.update(self.attrs)
        ctx.saved_tensors = tuple([values[x] if kind == "value" else x for kind, x in self.saved])
        ctx.__dict__.update(zip(self.attr_values, values[len(values) - len(self.attr_values):]))
        grads = self.function.backward(ctx, grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        return [None if grads[i] is None else like._unbroadcast(grads[i])
                for i, like in zip(self.targets, self.likes)]

    def __call__(self, grad: Any, *values: Any) -> Any:
        out = self.grads(grad, *values)
        return out[0] if len(out) == 1 else tuple(out)


def shape_like(array: np.ndarray) -> Tensor:
    """A zero-memory tensor of ``array``'s shape and dtype, for ``_unbroadcast``."""
    return Tensor._from_op(np.broadcast_to(np.zeros((), array.dtype), array.shape))


class Update:
    """``fn(p, g, *state_values, *hyper_values) -> (new p, *new state values)``: the
    optimizer's ``_update`` on copies of the parameter and its state (``in_place``: on the
    arrays themselves, as ``Optimizer.step`` does; ``lowered/state.py`` says when)."""

    __slots__ = ("hyper_keys", "out_keys", "rule", "state_keys", "static")

    def __init__(self, rule: Any, static: dict, state_keys: list, hyper_keys: list) -> None:
        self.rule, self.static = rule, static
        self.state_keys, self.hyper_keys = state_keys, hyper_keys
        self.out_keys: list = []

    def run(self, p: np.ndarray, g: np.ndarray, *values: Any,
            copy: bool = True) -> tuple[np.ndarray, dict]:
        n = len(self.state_keys)
        state = {k: np.array(v) if copy and isinstance(v, np.ndarray) else v
                 for k, v in zip(self.state_keys, values[:n]) if v is not None}
        group = dict(self.static)
        group.update(zip(self.hyper_keys, values[n:]))
        if copy:
            p = np.array(p)
        self.rule(p, g, state, group)
        return p, state

    def __call__(self, p: np.ndarray, g: np.ndarray, *values: Any) -> tuple:
        p, state = self.run(p, g, *values)
        return (p, *[state[k] for k in self.out_keys])

    def in_place(self, p: np.ndarray, g: np.ndarray, *values: Any) -> tuple:
        p, state = self.run(p, g, *values, copy=False)
        return (p, *[state[k] for k in self.out_keys])


class InPlace:
    """``fn(d) -> d'``: an in-place method's change (a closure over constants) on a copy."""

    __slots__ = ("change",)

    def __init__(self, change: Any) -> None:
        self.change = change

    def __call__(self, data: np.ndarray) -> np.ndarray:
        data = np.array(data)
        self.change(data)
        return data


class Draw:
    """``fn(generator, *args) -> (sample, generator)``: the generator is advanced in place
    (it is the program's RNG state), and returned so later draws depend on this one."""

    __slots__ = ("sample",)

    def __init__(self, sample: Any) -> None:
        self.sample = sample

    def __call__(self, rng: np.random.Generator, *args: Any) -> tuple:
        return self.sample(rng, *args), rng


def accumulate_grad(grad: Any, dtype: Any = None) -> np.ndarray:
    """A leaf's first gradient: its own array (never aliased), in the leaf's dtype."""
    return np.array(grad, dtype=dtype)
