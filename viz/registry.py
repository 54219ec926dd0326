"""Named graphs the command line can draw: ``python -m tinygrad_cs.viz NAME``.

Two sources, one mechanism (``nn.models.registry.Registry``): the *drawings* registered here
(micrograd's neuron, the init studies, ...: ``viz/examples.py``) and every model of the zoo
(drawn as ``viz/zoo.py`` says). A drawing of the same name as a zoo model is drawn instead
of it (``mlp``: the example MLP with its loss).

A drawing's *builder* is a function of no arguments that builds a model, runs it on a
sample input and returns a ``Sample`` (the output node to draw and the Module that names its
leaves), or a ``(module, input)`` pair, which is run for you::

    @register_model("my-net", depth=1, description="what it is")
    def my_net():
        return MyNet(), tg.randn(1, 3, 32, 32)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from tinygrad_cs.nn.models import registry as zoo_registry

__all__ = ["DRAWINGS", "Sample", "get_model", "list_models", "register_model"]


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


DRAWINGS: zoo_registry.Registry[_Entry] = zoo_registry.Registry(
    "drawing", ["tinygrad_cs.viz.examples"])


def register_model(name: str, build: Callable[[], Any] | None = None, *,
                   description: str = "", depth: int | None = None):
    """Register ``build`` under ``name`` (or use as a decorator when ``build`` is None)."""
    def add(fn: Callable[[], Any]) -> Callable[[], Any]:
        DRAWINGS.register(name, _Entry(fn, description or (fn.__doc__ or "").strip(), depth))
        return fn
    return add if build is None else add(build)


def list_models() -> dict[str, str]:
    """Every drawable name (drawings and zoo models) and its one-line description, sorted."""
    found = {name: zoo_registry.get(name).description for name in zoo_registry.names()}
    found.update({name: DRAWINGS.get(name).description for name in DRAWINGS})
    return dict(sorted(found.items()))


def get_model(name: str) -> Sample:
    """Build the drawing or zoo model ``name`` and return its ``Sample``."""
    if name in DRAWINGS:
        entry = DRAWINGS.get(name)
    elif name in zoo_registry.ZOO:
        from .zoo import zoo_sample
        return zoo_sample(zoo_registry.get(name))
    else:
        raise KeyError(f"no model named {name!r}; known: {', '.join(list_models())}")
    result = entry.build()
    if not isinstance(result, Sample):
        module, x = result
        result = Sample(module(x), module)
    if result.depth is None and entry.depth is not None:
        result = result._replace(depth=entry.depth)
    return result
