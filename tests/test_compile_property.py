"""Property: a random program of registered ops gives the same values and gradients
compiled (replayed on fresh values of the same shapes) as eager, float64 to 1e-12 relative.

A program is a chain of 1-4 ops drawn from the op registry (``tinygrad_cs.testing``), each
with inputs drawn by its entry (random memory layouts included: views, transposes). Op
``j > 0`` depends on op ``j - 1``: its first float input is shifted by
``1e-3 * tanh(sum(previous output))``, small enough to stay in its domain. The loss is
``sum_k (w_k * out_k).sum()`` over the float outputs with weights ``w_k`` passed as
arguments (program inputs); ``backward`` fills the ``.grad`` of the drawn float inputs,
which are tensors made outside the function (program state). Later calls copy fresh
values (each array scaled by a factor in [0.9, 1], which keeps symmetric and positive
definite inputs so) into those tensors and pass fresh weights. Oracle: the same program
run eagerly on tensors holding the same values.
"""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import registry
from tinygrad_cs.testing.fuzz import draw_args, flatten_outputs

ENTRIES = registry.entries()
CALLS = 3


def _program(entries, args):
    """(params, f): the drawn float64 arrays as leaf tensors, and the step over them."""
    params = [[tg.tensor(a, requires_grad=True) if _is_float(a) else a for a in op_args]
              for op_args in args]

    def f(weights, arrays):
        previous, outs, arrays = None, [], iter(arrays)
        for entry, op_args in zip(entries, params):
            op_args = [next(arrays) if isinstance(a, np.ndarray) else a for a in op_args]
            if previous is not None:
                first = next(i for i, a in enumerate(op_args) if isinstance(a, tg.Tensor))
                op_args[first] = op_args[first] + 1e-3 * previous.sum().tanh()
            floats = [o for o in flatten_outputs(entry.fn(*op_args)) if o.dtype == tg.float64]
            outs += floats
            previous = floats[0] if floats else None
        loss = sum((w * o).sum() for w, o in zip(weights, outs))
        loss.backward()
        return loss
    return params, f


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == np.float64


def _float_outputs(entries, args) -> list:
    """The shapes of each op's float outputs when run as in ``f`` (no grad needed)."""
    shapes, previous = [], None
    with tg.no_grad():
        for entry, op_args in zip(entries, args):
            op_args = [tg.tensor(a) if _is_float(a) else a for a in op_args]
            if previous is not None:
                first = next(i for i, a in enumerate(op_args) if isinstance(a, tg.Tensor))
                op_args[first] = op_args[first] + 1e-3 * previous.sum().tanh()
            floats = [o for o in flatten_outputs(entry.fn(*op_args)) if o.dtype == tg.float64]
            shapes += [o.shape for o in floats]
            previous = floats[0] if floats else None
    return shapes


def _run(f, args, params, values, weights):
    """Set the params' values, clear their .grad, call f with the weights and the
    non-float arrays (index arrays: arguments, so program inputs): (loss, grads)."""
    for p, v in zip(params, values):
        np.copyto(p._data, v)
        p.grad = None
    arrays = [a for op_args in args for a in op_args if isinstance(a, np.ndarray)
              and not _is_float(a)]
    loss = f([tg.tensor(w) for w in weights], arrays)
    return float(loss.detach().numpy()), [None if p.grad is None else p.grad.numpy().copy()
                                          for p in params]


@settings(max_examples=max(8, settings().max_examples // 3), deadline=None)
@given(data=st.data())
def test_random_programs_compiled_equal_eager(data):
    k = data.draw(st.integers(1, 4), label="number of ops")
    entries = [data.draw(st.sampled_from(ENTRIES), label=f"op {j}") for j in range(k)]
    args = [draw_args(data, e) for e in entries]
    if any(not any(_is_float(a) for a in op_args) for op_args in args[1:]):
        entries, args = entries[:1], args[:1]   # an op with no float input cannot be chained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # eager warnings of the ops themselves
        try:
            shapes = _float_outputs(entries, args)
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            return                          # the chain left an op's domain: nothing to compare
    if not shapes:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    eager_params, eager_f = _program(entries, args)
    comp_params, comp_f = _program(entries, args)
    compiled = tg.compile(comp_f)
    eager_leaves = [a for op in eager_params for a in op if isinstance(a, tg.Tensor)]
    comp_leaves = [a for op in comp_params for a in op if isinstance(a, tg.Tensor)]
    originals = [p.numpy().copy() for p in eager_leaves]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in range(CALLS):
            scale = [1.0 if call == 0 else rng.uniform(0.9, 1.0) for _ in originals]
            values = [s * v for s, v in zip(scale, originals)]
            weights = [rng.standard_normal(s) for s in shapes]
            want = _run(eager_f, args, eager_leaves, values, weights)
            got = _run(compiled, args, comp_leaves, values, weights)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=0)
            for g, w in zip(got[1], want[1]):
                assert (g is None) == (w is None)
                if g is not None:
                    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-300)
    names = [e.name for e in entries]
    breaks = [str(w.message) for w in caught if "graph break" in str(w.message)]
    assert compiled.graph_break is None and not breaks, (names, compiled.graph_break)
    assert compiled.traces == 1, (names, compiled.traces)
