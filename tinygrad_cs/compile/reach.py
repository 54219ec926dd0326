"""What a compiled function can reach: its modules (with their submodules) and optimizers.

``Reach(fn)(args) -> (modules, optimizers, generation)``. The *roots* are the modules and
optimizers among what ``fn`` names directly: its arguments, ``self`` (and, for an object
that is not a module, such as a trainer, the values of its attributes), its closure and the
globals its code names. Walking every root's submodules at every call is what the guards
used to pay for; the walk is now kept, and redone only when something it found changed:

* another object among the roots (``model = other`` in the enclosing scope, another module
  passed as an argument);
* a module's children, parameters or buffers (``model.fc = nn.Linear(...)``,
  ``model[0] = ...``, ``layer.weight = nn.Parameter(...)``), compared by identity.

Each new walk gets a new ``generation``, part of the call's cache key, so a program traced
with the old modules is never replayed on the new ones (it would read the old weights). Roots
seen before (two models passed in turn) find their walk again, and its generation.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Reach"]


def _is_module(obj: Any) -> bool:
    # the type first: a tensor's failing attribute lookup is slow
    return hasattr(type(obj), "named_modules") and hasattr(obj, "training")


def roots(fn: Callable, args: Sequence[Any]) -> list:
    """The modules and optimizers ``fn`` names directly (see the module docstring)."""
    from ..optim.optimizer import Optimizer
    seen: list = list(args)
    inner = getattr(fn, "__func__", fn)
    owner = getattr(fn, "__self__", None)
    seen.append(owner)
    if owner is not None and not hasattr(owner, "named_modules"):
        seen += list(getattr(owner, "__dict__", {}).values())   # a trainer's model, optimizer
    seen.append(fn)
    seen += [c.cell_contents for c in getattr(inner, "__closure__", None) or ()
             if _has_contents(c)]
    code, scope = getattr(inner, "__code__", None), getattr(inner, "__globals__", {})
    if code is not None:
        seen += [scope[n] for n in code.co_names if n in scope]
    return [obj for obj in seen if isinstance(obj, Optimizer) or _is_module(obj)]


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def _stores(module: Any) -> tuple:
    """A module's children, parameters and buffers (``nn.Module``'s documented stores, as in
    PyTorch), in order."""
    return (*module._modules.values(), *module._parameters.values(),
            *module._buffers.values())


def _identical(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """The same objects in the same order (``==`` would compare tensors elementwise)."""
    return len(a) == len(b) and all(map(operator.is_, a, b))


class _Walk:
    """One walk from one list of roots: what it found, and the stores it found them with."""

    __slots__ = ("generation", "modules", "optimizers", "roots", "stores")

    def __init__(self, found: list, generation: int) -> None:
        from ..optim.optimizer import Optimizer
        modules, optimizers, ids = [], [], set()
        for obj in found:
            if isinstance(obj, Optimizer):
                if id(obj) not in ids:
                    ids.add(id(obj))
                    optimizers.append(obj)
                continue
            for m in obj.modules():
                if id(m) not in ids:
                    ids.add(id(m))
                    modules.append(m)
        self.roots, self.modules, self.optimizers = found, modules, optimizers
        self.stores = [_stores(m) for m in modules]
        self.generation = generation

    def holds(self, found: list) -> bool:
        """Still true for these roots: the same objects, no module's stores changed."""
        return _identical(found, self.roots) and all(
            _identical(_stores(m), s) for m, s in zip(self.modules, self.stores))


class Reach:
    """``fn``'s modules and optimizers, walked again only after a change (module docstring).

    The last ``KEEP`` walks are kept by their roots' identities (a walk holds its roots, so
    those ids stay theirs), so a function called with two models in turn keeps two walks and
    two generations instead of a new one at every call."""

    KEEP = 8

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.walks: dict[tuple[int, ...], _Walk] = {}
        self.generations = 0

    def __call__(self, args: Sequence[Any]) -> tuple[list, list, int]:
        found = roots(self.fn, args)
        key = tuple(map(id, found))
        walk = self.walks.get(key)
        if walk is None or not walk.holds(found):
            walk = self.walks[key] = _Walk(found, self.generations)
            self.generations += 1
            while len(self.walks) > self.KEEP:
                del self.walks[next(iter(self.walks))]
        return walk.modules, walk.optimizers, walk.generation
