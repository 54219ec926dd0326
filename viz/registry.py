"""Named models the command line can draw: ``python -m tinygrad_cs.viz NAME``.

A *builder* is a function of no arguments that builds a model, runs it on a
sample input and returns a ``Sample`` (the output node to draw and the Module
that names its leaves), or a ``(module, input)`` pair, which is run for you::

    @register_model("my-net", depth=1, description="what it is")
    def my_net():
        return MyNet(), tg.randn(1, 3, 32, 32)

Builders register when the module that defines them is imported. The registry
imports every module listed in ``PROVIDERS`` on first use: today the examples
in ``viz/examples.py`` and every model of the zoo (``viz/zoo.py``: ``nn`` must not
import ``viz``, so the adapter lives on this side).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["PROVIDERS", "Sample", "get_model", "list_models", "register_model"]

PROVIDERS = ["tinygrad_cs.viz.examples", "tinygrad_cs.viz.zoo"]


class Sample(NamedTuple):
    """What a builder returns: the node to draw, its parameter names, a suggested depth."""
    output: Any
    params: Any = None
    depth: int | None = None
    description: str = ""


class _Entry(NamedTuple):
    build: Callable[[], Any]
    description: str
    depth: int | None


_MODELS: dict[str, _Entry] = {}
_loaded: list[str] = []


def register_model(name: str, build: Callable[[], Any] | None = None, *,
                   description: str = "", depth: int | None = None, replace: bool = True):
    """Register ``build`` under ``name`` (or use as a decorator when ``build`` is None).

    With ``replace=False`` a name that is already registered keeps its first builder.
    """
    def add(fn: Callable[[], Any]) -> Callable[[], Any]:
        if replace or name not in _MODELS:
            _MODELS[name] = _Entry(fn, description or (fn.__doc__ or "").strip(), depth)
        return fn
    return add if build is None else add(build)


def _load_providers() -> None:
    for module in PROVIDERS:
        if module not in _loaded:
            importlib.import_module(module)
            _loaded.append(module)


def list_models() -> dict[str, str]:
    """Registered names and their one-line descriptions, sorted by name."""
    _load_providers()
    return {name: _MODELS[name].description for name in sorted(_MODELS)}


def get_model(name: str) -> Sample:
    """Build the registered model ``name`` and return its ``Sample``."""
    _load_providers()
    if name not in _MODELS:
        raise KeyError(f"no model named {name!r}; known: {', '.join(sorted(_MODELS))}")
    entry = _MODELS[name]
    result = entry.build()
    if not isinstance(result, Sample):
        module, x = result
        result = Sample(module(x), module)
    if result.depth is None and entry.depth is not None:
        result = result._replace(depth=entry.depth)
    return result
