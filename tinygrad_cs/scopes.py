"""Module scopes: ``with tg.scope("layer1"):`` labels every node created inside.

``nn.Module.__call__`` enters a scope named after the module's attribute, so
nested modules give dotted paths such as ``layer1.0.conv1``. The engine core
knows nothing of modules: it only reads ``current()`` when it creates a node.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_path = [""]  # stack of full dotted paths; _path[-1] is the current one


def current() -> str:
    """The dotted scope path of the innermost active ``scope`` ("" at top level)."""
    return _path[-1]


@contextmanager
def scope(name: str) -> Iterator[str]:
    """Push ``name`` onto the scope path for the duration of the block."""
    name = str(name)
    parent = _path[-1]
    path = f"{parent}.{name}" if parent and name else (parent or name)
    _path.append(path)
    try:
        yield path
    finally:
        _path.pop()
