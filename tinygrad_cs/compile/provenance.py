"""Where a value the trace has not seen came from, and side effects a replay would miss.

A replay repeats only what the program records. Three things would make it silently wrong,
so the tracer asks these questions and stops (a graph break) when the answer is bad:

* An op reads an array the trace has not seen. If the library made it (a zero initial
  state, an index grid) it depends on shapes and arguments only, and is a constant. If the
  user's code made it (``x * np.random.rand(3)``, ``model(x, mask_np)``) it may change from
  call to call: ``user_array`` finds the library call the user's code made (the outermost
  frame of this project's code) and reports a raw numpy array among its arguments.
  Library code must therefore derive any array it passes to an op from tensor values
  through ops, never through ``numpy()`` (CONTRIBUTING.md).
* An in-place change of an array that shares memory with another array of the trace (a
  view, or the base of one): the other array's program value would go stale (``aliased``).
* A change to an optimizer's ``param_groups`` made outside ``Optimizer.step`` (a scheduler,
  ``group["lr"] = ...``): ``groups`` snapshots them before the call to compare after.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["aliased", "entry_frame", "groups", "own_code", "user_array"]

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_OWN_DIRS = tuple(os.path.join(_ROOT, d) + os.sep for d in ("tinygrad_cs", "nn", "viz"))


def own_code(frame: Any) -> bool:
    """True when ``frame`` runs this project's code (``tinygrad_cs``, ``nn``, ``viz``)."""
    return os.path.abspath(frame.f_code.co_filename).startswith(_OWN_DIRS)


def entry_frame() -> Any:
    """The outermost frame of this project's code below the innermost user frame: the
    library call the user's code made (``Tensor.__mul__``, ``Module.__call__``, ...)."""
    frame, entry = sys._getframe(1), None
    while frame is not None and own_code(frame):
        entry, frame = frame, frame.f_back
    return entry


def _arguments(frame: Any) -> Iterable[Any]:
    """The values ``frame``'s function was called with (one level into tuples, lists and
    dicts, where ``*args``/``**kwargs`` and containers of arguments land)."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)   # *args, **kwargs
    local = frame.f_locals
    for name in code.co_varnames[:count]:
        value = local.get(name)
        yield value
        if isinstance(value, (tuple, list)):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()


def user_array(traced: Any) -> np.ndarray | None:
    """A raw numpy array the user's code handed to the current library call that the trace
    has not seen (``traced(array)`` is its program value or None), else None."""
    entry = entry_frame()
    if entry is None:
        return None
    for value in _arguments(entry):
        if isinstance(value, np.ndarray) and traced(value) is None:
            return value
    return None


def aliased(array: np.ndarray, known: Iterable[np.ndarray]) -> bool:
    """True when ``array`` may share memory with one of ``known`` other than itself."""
    return any(other is not array and np.may_share_memory(array, other) for other in known)


def groups(optimizers: Iterable[Any]) -> list:
    """A comparable snapshot of the optimizers' parameter groups (all but the tensors)."""
    return [[(k, v if k not in ("params",) else [id(p) for p in v]) for k, v in g.items()]
            for o in optimizers for g in o.param_groups]
