"""The op registry: for every differentiable op, how to call it, check it and sample it.

An ``OpEntry`` holds

* ``fn(*args)``: calls the op; float64 numpy arrays among ``args`` arrive as
  Tensors that require grad, everything else (ints, shapes, index arrays,
  bool masks, Python scalars) arrives unchanged;
* ``reference(*args)``: the same computation in plain numpy (all arrays raw),
  the oracle for the forward pass;
* ``inputs``: a Hypothesis strategy drawing an ``args`` tuple inside the op's
  domain and away from its kinks (see ``strategies``);
* ``covers``: the ``Function`` classes it exercises (classes or
  ``"module.QualName"`` strings), for the coverage check below;
* ``second_order``: whether ``gradgradcheck`` applies; tolerances.

The suite ``tests/test_op_registry_fuzz.py`` runs every entry. To add ops,
call ``register(...)`` (or use it as a decorator on ``fn``) in a module of
``tinygrad_cs.testing.entries``: every module there is imported by
``entries()``. ``unregistered_functions()`` lists the ``Function`` subclasses
defined in the package that no entry covers, and ``unregistered_ops()`` the
names exported by ``tinygrad_cs.ops`` with neither an entry nor a place in
``NON_DIFFERENTIABLE`` / ``ALIASES``; the suite fails on either.
"""
from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine import Function

#: Exported ops with no gradient (they return bool/int tensors or piecewise constants).
NON_DIFFERENTIABLE = {
    "sign": "piecewise constant: zero gradient, returned as a constant",
    "eq": "comparison", "ne": "comparison", "lt": "comparison",
    "le": "comparison", "gt": "comparison", "ge": "comparison",
    "argmax": "integer indices", "argmin": "integer indices",
    "argsort": "integer indices", "nonzero": "integer indices", "argwhere": "integer indices",
    "unique": "distinct values: no gradient, as PyTorch",
    "floor_divide": "piecewise constant: no gradient, as PyTorch",
    "searchsorted": "integer indices", "bucketize": "integer indices",
}

#: Exported names that are the same op under another name.
ALIASES = {"clip": "clamp", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
           "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2"}

#: Function classes tested by a dedicated suite instead of an entry: the one place
#: where an op may be left out of the registry, each with the test that covers it.
EXTERNALLY_TESTED = {
    **{f"tinygrad_cs.ops.scalar.{name}": "tests/test_value_vs_tensor.py (Value vs 0-d Tensor gradients)"
       for name in ("ScalarPow", "ScalarExp", "ScalarLog", "ScalarTanh", "ScalarSigmoid",
                    "ScalarReLU", "ScalarLeakyReLU", "ScalarELU", "ScalarAbs")},
    **{f"tinygrad_cs.ops.hooks.{name}": "tests/test_module.py (full backward hooks: closed forms, "
       "PyTorch, gradcheck/gradgradcheck)" for name in ("HookGate", "HookTap")},
}


@dataclass(frozen=True)
class OpEntry:
    """One registered op variant; see the module docstring for the fields."""

    name: str
    fn: Callable
    reference: Callable
    inputs: Any
    covers: tuple = ()
    op: str = ""
    second_order: bool = True
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    forward_rtol: float = 1e-7
    forward_atol: float = 1e-10
    notes: str = field(default="", compare=False)

    def __repr__(self) -> str:  # pytest ids and Hypothesis reports show this
        return f"OpEntry({self.name})"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # Hypothesis' pretty-printer
        printer.text(repr(self))


_REGISTRY: dict[str, OpEntry] = {}
_loaded = [False]


def register(name: str, fn: Callable | None = None, *, reference: Callable, inputs: Any,
             covers=(), op: str | None = None, second_order: bool = True, **tolerances):
    """Add an entry (``op`` defaults to ``name`` up to a ``[variant]`` suffix).

    Use directly, ``register("exp", lambda a: tg.exp(a), reference=np.exp,
    inputs=...)``, or as a decorator on ``fn``::

        @register("conv2d[stride]", reference=conv_ref, inputs=conv_inputs(), covers=(Conv2dFn,))
        def _(x, w):
            return F.conv2d(x, w, stride=2)
    """
    def add(f: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"register: an entry named {name!r} already exists")
        _REGISTRY[name] = OpEntry(
            name=name, fn=f, reference=reference, inputs=inputs,
            covers=tuple(covers if isinstance(covers, (tuple, list)) else (covers,)),
            op=op or name.split("[")[0], second_order=second_order, **tolerances)
        return f

    return add if fn is None else add(fn)


def entries() -> list[OpEntry]:
    """All registered entries (importing every module of ``tinygrad_cs.testing.entries``)."""
    if not _loaded[0]:
        from . import entries as package
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
        _loaded[0] = True
    return list(_REGISTRY.values())


def _qualified(cls_or_name) -> str:
    if isinstance(cls_or_name, str):
        return cls_or_name
    return f"{cls_or_name.__module__}.{cls_or_name.__qualname__}"


def _all_subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def import_package_modules(packages=("tinygrad_cs.ops",)) -> dict[str, str]:
    """Import every module of the given packages so all Function subclasses exist.

    Returns ``{module: error}`` for modules that failed to import (a package
    that is absent altogether, e.g. ``tinygrad_cs.nn`` before it exists, is
    skipped silently).
    """
    errors: dict[str, str] = {}
    for pkg_name in packages:
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError as e:
            if e.name == pkg_name:
                continue
            errors[pkg_name] = repr(e)
            continue
        for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), pkg_name + "."):
            if ".testing" in info.name or info.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception as e:  # noqa: BLE001 - reported to the caller, never hidden
                errors[info.name] = repr(e)
    return errors


def package_functions() -> list[type]:
    """``Function`` subclasses defined in ``tinygrad_cs`` modules (tests' own excluded)."""
    return [c for c in _all_subclasses(Function)
            if c.__module__.startswith("tinygrad_cs.")
            and not c.__module__.startswith("tinygrad_cs.testing")]


def unregistered_functions() -> list[str]:
    """Qualified names of package ``Function``s that no entry covers.

    Covered means: named in some entry's ``covers``, listed in
    ``EXTERNALLY_TESTED``, or a base class all of whose subclasses are covered
    (e.g. the shared base of amax/amin).
    """
    covered = {_qualified(c) for e in entries() for c in e.covers} | set(EXTERNALLY_TESTED)
    classes = package_functions()

    def is_covered(cls: type) -> bool:
        if _qualified(cls) in covered:
            return True
        subs = [s for s in cls.__subclasses__() if s in classes]
        return bool(subs) and all(is_covered(s) for s in subs)

    return sorted(_qualified(c) for c in classes if not is_covered(c))


def unregistered_ops() -> list[str]:
    """Names exported by ``tinygrad_cs.ops`` with no entry and no exemption."""
    from .. import ops
    registered = {e.op for e in entries()}
    names = [n for n in ops.__all__ if not isinstance(getattr(ops, n), types.ModuleType)]
    return sorted(n for n in names
                  if n not in registered and n not in NON_DIFFERENTIABLE and n not in ALIASES)


def stale_covers() -> list[str]:
    """Names in ``covers``/``EXTERNALLY_TESTED`` that match no existing Function (typos)."""
    existing = {_qualified(c) for c in package_functions()}
    named = {_qualified(c) for e in entries() for c in e.covers} | set(EXTERNALLY_TESTED)
    return sorted(named - existing)
