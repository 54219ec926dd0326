"""Module scopes: ``with tg.scope("layer1"):`` labels every node created inside.

``nn.Module.__call__`` enters a scope named after the module's attribute, so
nested modules give dotted paths such as ``layer1.0.conv1``. The engine core
knows nothing of modules: it only reads ``current()`` when it creates a node.
"""
from __future__ import annotations

from .grad_mode import state


def current() -> str:
    """The dotted scope path of the innermost active ``scope`` ("" at top level).

    Per thread, like grad mode: each thread has its own path.
    """
    return state.scope


class scope:
    """``with tg.scope(name):`` extends the current thread's scope path for the block.

    A small class rather than a generator-based context manager: modules enter a
    scope on every call, so its cost (about half) matters. Each ``with`` needs its
    own ``scope`` object (it remembers the path to restore).
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str) -> None:
        self.name = str(name)
        self.previous = None

    def __enter__(self) -> str:
        parent, name = state.scope, self.name
        self.previous = parent
        path = f"{parent}.{name}" if parent and name else (parent or name)
        state.scope = path
        return path

    def __exit__(self, *exc_info) -> None:
        state.scope = self.previous
