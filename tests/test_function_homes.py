"""Every differentiable ``Function`` of the package lives in ``tinygrad_cs/ops/`` (one file per
family), and no Function shares its class name with a Module (``ReLUFn`` the op, ``nn.ReLU`` the
layer), so a name tells a reader which of the two they hold."""
from __future__ import annotations

import inspect

import tinygrad_cs as tg
import tinygrad_cs.nn
import tinygrad_cs.vision
import tinygrad_cs.viz
from tinygrad_cs.testing.registry import import_package_modules


def _subclasses(cls: type) -> list[type]:
    found, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [c for c in found if c.__module__.startswith("tinygrad_cs")]


def test_every_function_lives_in_ops():
    assert not import_package_modules(("tinygrad_cs", "tinygrad_cs.nn", "tinygrad_cs.viz"))
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in _subclasses(tg.Function)
                     if not c.__module__.startswith("tinygrad_cs.ops."))
    assert not outside, f"Functions outside tinygrad_cs/ops/: {outside}"


def test_no_function_shares_a_name_with_a_module():
    import_package_modules()
    modules = {c.__name__ for c in _subclasses(tg.nn.Module)}
    modules |= {n for n, v in vars(tg.nn).items() if inspect.isclass(v)}
    clashes = sorted(c.__name__ for c in _subclasses(tg.Function) if c.__name__ in modules)
    assert not clashes, f"Function classes named like Modules: {clashes}"
