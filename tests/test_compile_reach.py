"""The guards' cache of what a compiled function reaches (``compile/reach.py``): kept while
nothing changes, walked again (and the program retraced) when a module, parameter or
buffer is replaced or another module is bound in the closure or the globals. Oracle: the
same function run eagerly on the same modules."""
from __future__ import annotations

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn

x = tg.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))


def _same(compiled, fn):
    with tg.no_grad():
        np.testing.assert_array_equal(compiled(x).numpy(), fn(x).numpy())


def test_the_walk_is_kept_while_nothing_changes_and_train_flags_still_count():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))

    def f(x):
        return model(x)
    compiled = tg.compile(f)
    with tg.no_grad():
        for _ in range(3):
            compiled(x)
        model[1].eval()                     # a submodule's flag: read at every call
        _same(compiled, f)
    assert compiled._reach.generations == 1 and compiled.traces == 2


def test_a_submodule_or_parameter_replaced_retraces():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    def f(x):
        return model(x)
    compiled = tg.compile(f)
    _same(compiled, f)
    _same(compiled, f)
    model[2] = nn.Linear(4, 2)             # same shapes, new weights
    _same(compiled, f)
    assert compiled.traces == 2
    model[0].weight = nn.Parameter(tg.tensor(np.ones((4, 3), np.float32)))
    _same(compiled, f)
    assert compiled.traces == 3


def test_another_module_in_the_closure_retraces():
    tg.manual_seed(0)
    models = [nn.Linear(3, 2), nn.Linear(3, 2)]
    model = models[0]

    def f(x):
        return model(x)
    compiled = tg.compile(f)
    _same(compiled, f)
    model = models[1]                       # the closure cell now holds another module
    _same(compiled, f)
    assert compiled.traces == 2


GLOBAL_MODEL = nn.Linear(3, 2)


def _uses_global(x):
    return GLOBAL_MODEL(x)


def test_another_module_bound_to_a_global_retraces():
    global GLOBAL_MODEL
    compiled = tg.compile(_uses_global)
    _same(compiled, _uses_global)
    GLOBAL_MODEL = nn.Linear(3, 2)
    _same(compiled, _uses_global)
    assert compiled.traces == 2
    assert "the modules reached" in compiled._why(next(iter(compiled._cache)))


def test_two_models_in_turn_keep_their_programs():
    tg.manual_seed(0)
    models = [nn.Linear(3, 2), nn.Linear(3, 2)]

    def f(model, x):
        return model(x)
    compiled = tg.compile(f)
    with tg.no_grad():
        for _ in range(3):
            for m in models:
                np.testing.assert_array_equal(compiled(m, x).numpy(), f(m, x).numpy())
    assert compiled.traces == 2 and compiled._reach.generations == 2
