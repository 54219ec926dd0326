"""``ParameterList`` and ``ParameterDict``: parameters held in a list or a dict, registered
under the keys ``"0"``, ``"1"``, ... (or the dict's keys), so ``named_parameters`` and
``state_dict`` name them as PyTorch does (``params.0``, ``table.bias``). A tensor that is
not yet a ``Parameter`` is made one (sharing its memory), as in PyTorch.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tinygrad_cs import Tensor

from .module import Module
from .parameter import Parameter, is_parameter

__all__ = ["ParameterDict", "ParameterList"]


def _as_parameter(value: Any) -> Any:
    return value if value is None or is_parameter(value) else Parameter(value)


class ParameterList(Module):
    """A list of parameters: ``append``, ``extend``, indexing, ``len`` and iteration."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self.extend(values or ())

    def _key(self, idx: int) -> str:
        i = operator.index(idx)
        n = len(self._parameters)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for ParameterList of length {n}")
        return str(i % n)

    def __getitem__(self, idx: int) -> Tensor:
        return self._parameters[self._key(idx)]

    def __setitem__(self, idx: int, value: Any) -> None:
        self._parameters[self._key(idx)] = _as_parameter(value)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Tensor]:
        return iter(self._parameters.values())

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for k, p in self._parameters.items())


class ParameterDict(Module):
    """A dict of parameters (insertion-ordered): ``d[key]``, ``keys``/``items``/``values``,
    ``update``, ``pop``, ``in``, ``len`` and iteration over the keys."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable | None = None) -> None:
        super().__init__()
        self.update(parameters or {})

    def __getitem__(self, key: str) -> Tensor:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no key {key!r} (keys: {list(self._parameters)})")
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._parameters:
            self._parameters[key] = _as_parameter(value)
        else:
            self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: str) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def pop(self, key: str) -> Tensor:
        value = self[key]
        del self._parameters[key]
        return value

    def update(self, parameters: Mapping[str, Any] | Iterable) -> None:
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value
