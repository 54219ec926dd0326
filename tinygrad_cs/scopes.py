"""Module scopes: ``with tg.scope("layer1"):`` labels every node created inside.

``nn.Module.__call__`` enters a scope named after the module's attribute, so
nested modules give dotted paths such as ``layer1.0.conv1``. The engine core
knows nothing of modules: it only reads ``current()`` when it creates a node.
"""
from __future__ import annotations

_path = [""]  # stack of full dotted paths; _path[-1] is the current one


def current() -> str:
    """The dotted scope path of the innermost active ``scope`` ("" at top level)."""
    return _path[-1]


class scope:
    """``with tg.scope(name):`` pushes ``name`` onto the scope path for the block.

    A small class rather than a generator-based context manager: modules enter a
    scope on every call, so its cost (about half) matters.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = str(name)

    def __enter__(self) -> str:
        parent, name = _path[-1], self.name
        path = f"{parent}.{name}" if parent and name else (parent or name)
        _path.append(path)
        return path

    def __exit__(self, *exc_info) -> None:
        _path.pop()
