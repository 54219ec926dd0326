"""``Parameter``: a tensor that a ``Module`` registers as trainable.

``nn.Parameter(data, requires_grad=True)`` returns a leaf ``tg.Tensor`` sharing
``data``'s memory, marked as a parameter, so ``isinstance(p, nn.Parameter)`` holds
and assigning it to a module attribute registers it (as with PyTorch).

Why a marked ``Tensor`` and not a subclass: the engine makes each op's output
an instance of its first input's class, so with a subclass ``W @ x`` would be a
"Parameter" too, and ``self.h = W @ x`` would silently register a parameter.
A marked plain tensor keeps op outputs plain tensors.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from tinygrad_cs import Tensor, get_default_dtype

_marked: dict[int, weakref.ref] = {}  # id(tensor) -> weak reference to it


def _unmark(ref: weakref.ref, key: int) -> None:
    if _marked.get(key) is ref:
        del _marked[key]


def mark(tensor: Tensor) -> Tensor:
    """Mark ``tensor`` as a parameter (in place); returns it."""
    key = id(tensor)
    _marked[key] = weakref.ref(tensor, lambda ref: _unmark(ref, key))
    return tensor


def is_parameter(obj: Any) -> bool:
    ref = _marked.get(id(obj))
    return ref is not None and ref() is obj


class _ParameterType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return is_parameter(obj)


class Parameter(metaclass=_ParameterType):
    """``Parameter(data=None, requires_grad=True)``: a new leaf tensor on ``data``'s memory.

    ``data`` is a Tensor, numpy array or anything ``tg.tensor`` accepts; ``None``
    gives an empty float tensor. The result is a ``tg.Tensor`` (ops on it give
    plain tensors); ``isinstance(result, Parameter)`` is True.
    """

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        array = data.numpy() if isinstance(data, Tensor) else data
        return mark(Tensor(array, requires_grad=requires_grad))
