"""Property-based fuzzing of every registered op (``tinygrad_cs.testing.registry``).

For each entry, Hypothesis draws valid inputs (in the op's domain, away from
its kinks), lays every float argument out in a random memory layout, and checks

1. the forward pass against the entry's numpy reference (and that it leaves
   its inputs untouched);
2. the gradient against central differences (``gradcheck``, float64);
3. the second derivative likewise (``gradgradcheck``) where the entry says so.

Failures shrink to the smallest input. The number of examples follows the
Hypothesis profile (see ``conftest.py``): a handful per op in ``ci``/``dev``,
hundreds with ``--hypothesis-profile=fuzz``. A last group of tests fails when
an op exists without a registry entry.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck, gradgradcheck, registry, strategies
from tinygrad_cs.testing.fuzz import as_inputs as _as_inputs
from tinygrad_cs.testing.fuzz import draw_args as _draw_args
from tinygrad_cs.testing.strategies import relayout

ENTRIES = registry.entries()
SECOND_ORDER = [e for e in ENTRIES if e.second_order]
# Half the profile's budget per (op, check): ~190 entries x 3 checks share one run; second
# derivatives (the costliest check, about 45% of this file's time) get a quarter. The `fuzz`
# profile gives every check thousands.
EXAMPLES = max(5, settings().max_examples // 2)
SECOND_ORDER_EXAMPLES = max(5, settings().max_examples // 4)


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_forward_matches_numpy_reference(entry, data):
    args = _draw_args(data, entry)
    before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
    expected = _as_tuple(entry.reference(*args))
    got = _as_tuple(entry.fn(*_as_inputs(args)))
    assert len(got) == len(expected), f"{entry.name}: {len(got)} outputs, expected {len(expected)}"
    for k, (g, e) in enumerate(zip(got, expected)):
        assert isinstance(g, tg.Tensor), f"{entry.name}: output {k} is {type(g).__name__}"
        e = np.asarray(e)
        assert g.shape == e.shape, f"{entry.name}: output {k} shape {g.shape}, expected {e.shape}"
        assert g.dtype.kind == e.dtype.kind, f"{entry.name}: output {k} dtype {g.dtype} vs {e.dtype}"
        np.testing.assert_allclose(g.numpy(), e, rtol=entry.forward_rtol, atol=entry.forward_atol,
                                   err_msg=f"{entry.name}: output {k}")
    for a, b in zip(args, before):
        if b is not None:
            np.testing.assert_array_equal(a, b, err_msg=f"{entry.name} modified its input")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_gradient_matches_finite_differences(entry, data):
    args = _draw_args(data, entry)
    result = gradcheck(entry.fn, _as_inputs(args), eps=entry.eps, atol=entry.atol,
                       rtol=entry.rtol)
    assert result.ok and result.max_rel_error <= 1.0


@pytest.mark.parametrize("entry", SECOND_ORDER, ids=lambda e: e.name)
@settings(max_examples=SECOND_ORDER_EXAMPLES)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(entry, data):
    args = _draw_args(data, entry)
    assert gradgradcheck(entry.fn, _as_inputs(args), eps=entry.eps, atol=entry.atol,
                         rtol=entry.rtol)


# -- coverage: no op without an entry ---------------------------------------------------
def test_every_function_in_the_package_has_a_registry_entry():
    errors = registry.import_package_modules()
    assert not errors, f"modules that failed to import (their ops went unchecked): {errors}"
    missing = registry.unregistered_functions()
    assert not missing, (
        f"Function subclasses without a registry entry: {missing}. Register them in a module "
        "of tinygrad_cs/testing/entries/ (or list them in registry.EXTERNALLY_TESTED).")


def test_every_exported_op_is_registered_or_declared_non_differentiable():
    missing = registry.unregistered_ops()
    assert not missing, (
        f"ops exported by tinygrad_cs.ops with no registry entry: {missing}; register them or "
        "add them to registry.NON_DIFFERENTIABLE / ALIASES")


def test_registry_covers_name_existing_functions():
    assert registry.stale_covers() == []


def test_registry_entries_are_named_uniquely_and_reject_duplicates():
    names = [e.name for e in ENTRIES]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="already exists"):
        registry.register(names[0], lambda a: a, reference=lambda a: a, inputs=st.just(()))


@pytest.mark.parametrize("name", sorted(registry.NON_DIFFERENTIABLE))
def test_non_differentiable_ops_return_constants(name):
    a = tg.tensor(np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]), requires_grad=True)
    b = tg.tensor(np.array([[1.0, 2.0, -3.0], [0.5, 0.0, 1.0]]), requires_grad=True)
    fn = getattr(tg.ops, name)
    binary = ("eq", "ne", "lt", "le", "gt", "ge", "floor_divide")
    edges = np.array([-1.0, 0.7, 3.0])
    if name in ("searchsorted", "bucketize"):
        out = fn(edges, a) if name == "searchsorted" else fn(a, edges)
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), np.searchsorted(edges, a.numpy()))
        return
    out = fn(a, b) if name in binary else fn(a)
    expected = {"sign": np.sign, "argmax": np.argmax, "argmin": np.argmin,
                "argsort": lambda x: np.argsort(x, -1, kind="stable"),
                "nonzero": np.argwhere, "argwhere": np.argwhere, "unique": np.unique}.get(name)
    with np.errstate(divide="ignore"):
        expected = expected(a.numpy()) if expected else getattr(np, {
            "eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
            "gt": "greater", "ge": "greater_equal", "floor_divide": "floor_divide"}[name])(
            a.numpy(), b.numpy())
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), expected)


def test_aliases_are_the_same_op():
    for alias, target in registry.ALIASES.items():
        assert getattr(tg.ops, alias) is getattr(tg.ops, target), alias


# -- the shared strategies keep their promises ---------------------------------------------
@given(a=strategies.arrays(strategies.shapes(2, 3, 2, 4), contiguous=True),
       layout=strategies.layouts(contiguous=False))
def test_relayout_keeps_values_and_changes_the_layout(a, layout):
    b = relayout(a, layout)
    np.testing.assert_array_equal(a, b)
    assert not b.flags.c_contiguous  # every side >= 2, so no layout here is C-contiguous


@given(t=strategies.tensors(dtype=np.float64, requires_grad=True))
def test_tensors_are_native_float64_and_bounded(t):
    assert isinstance(t, tg.Tensor) and t.requires_grad
    assert t.dtype == np.float64 and t.numpy().dtype.isnative
    assert np.all(np.isfinite(t.numpy())) and np.all(np.abs(t.numpy()) <= strategies.BOUND)


@given(shapes=strategies.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert np.broadcast_shapes(*shapes.input_shapes) == shapes.result_shape


@given(data=st.data(), shape=strategies.shapes(0, 3, 1, 4), distinct_abs=st.booleans())
def test_separated_arrays_never_tie(data, shape, distinct_abs):
    a = data.draw(strategies.separated_arrays(shape, gap=0.25, distinct_abs=distinct_abs))
    assert a.shape == shape
    values = np.sort(np.abs(a) if distinct_abs else a, axis=None)
    assert np.all(np.diff(values) >= 0.25 - 1e-9)
    if distinct_abs:
        assert np.all(np.abs(a) >= 0.25)


@given(data=st.data(), shapes=strategies.broadcastable_shapes(2))
def test_lattice_pairs_stay_apart(data, shapes):
    a, b = data.draw(strategies.lattice_pair(shapes.input_shapes))
    assert a.shape == shapes.input_shapes[0] and b.shape == shapes.input_shapes[1]
    assert np.all(np.abs(a - b) >= 0.05 - 1e-9)


@given(x=strategies.floats(-2.0, 2.0, avoid=(-1.0, 1.0), gap=0.1),
       y=strategies.nonzero_floats(gap=0.5), z=strategies.positive_floats(0.3))
def test_scalar_strategies_respect_their_domains(x, y, z):
    assert -2.0 <= x <= 2.0 and abs(abs(x) - 1.0) >= 0.1
    assert 0.5 <= abs(y) <= strategies.BOUND
    assert 0.3 <= z <= strategies.BOUND
