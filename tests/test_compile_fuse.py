"""Fusion: which instructions join a group, and fused programs compute what the unfused do.

Oracles: the unfused program run by ``execute.run`` (the eager Functions' own numpy code).
Arithmetic, comparisons, selections, casts and square roots must agree exactly; ops that call
libm (exp, log, sin, cos, tanh, sigmoid, elu, softplus, pow) within 4 ulps per op, because
numpy evaluates them with its own SIMD routines (float32 exp is not correctly rounded there:
2 ulps off was measured) where the kernel calls the C library through Numba.
"""
from __future__ import annotations

import numpy as np
import pytest
from _programs import FUNCTIONS, ProgramBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from test_compile_passes import assert_same, ops

from tinygrad_cs.compile.codegen import Step, fused_kernel
from tinygrad_cs.compile.execute import run
from tinygrad_cs.compile.passes.fuse import fuse
from tinygrad_cs.compile.pointwise import OPS

EXACT = {"Add", "Sub", "Mul", "Div", "Neg", "Abs", "Sqrt", "ReLU", "LeakyReLU", "Clamp",
         "Maximum", "Minimum", "Where", "Cast"}
LIBM = set(OPS) - EXACT
MAX_ULP = 4


def assert_close_ulp(actual, expected, maxulp):
    """Same NaNs and infinities; finite values within ``maxulp`` ulps (signed zeros equal)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    same = (actual == expected) | np.isnan(expected)
    np.testing.assert_array_max_ulp(actual[~same], expected[~same], maxulp=maxulp)


def test_a_chain_with_a_broadcast_bias_becomes_one_kernel():
    b = ProgramBuilder()
    x, w, bias = b.input((32, 64), np.float32), b.input((32, 64), np.float32), b.input((64,), np.float32)
    y = b.op("ReLU", b.op("Add", b.op("Mul", x, w), bias))
    p = b.program(y)
    q, log = fuse(p)
    assert ops(q) == ["Fused"] and q.instrs[0].inputs == (x, w, bias)
    assert q.instrs[0].attrs == {} and q.instrs[0].fn.ops == ("Mul", "Add", "ReLU")
    assert q.outputs == [y] and log == ["fuse: 3 ops -> Fused#1 [Mul, Add, ReLU] float32[32, 64]"]
    assert_same(p, q, b)


def test_an_intermediate_read_outside_the_group_or_returned_stays_a_value():
    b = ProgramBuilder()
    x = b.input((4, 3))
    shared = b.op("Mul", x, 2.0)
    returned = b.op("Neg", b.op("Abs", x))              # Abs joins Neg's group; Neg is a result
    y = b.op("Add", b.op("Exp", shared), returned)
    z = b.op("Sum", shared)                             # reads `shared` from outside the group
    p = b.program(y, z, returned)
    q, _ = fuse(p)
    assert ops(q) == ["Mul", "Fused", "Fused", "Sum"]
    assert [ins.fn.ops for ins in q.instrs if ins.op == "Fused"] == [("Abs", "Neg"), ("Exp", "Add")]
    assert q.instrs[2].inputs == (shared, returned)
    assert_same(p, q, b, rtol=1e-15)


def test_a_diamond_fuses_whole_and_unknown_or_backward_ops_break_groups():
    b = ProgramBuilder()
    x = b.input((5,))
    n = b.op("Neg", x)
    d = b.op("Mul", b.op("Sin", n), b.op("Cos", n))      # n is read twice, both inside
    opaque = b.op("Tanh.backward", d, d, fn=lambda g, y: g * (1 - y * y), elementwise=True)
    s = b.op("Softmax", b.op("Exp", opaque), 0)          # Softmax is not elementwise
    p = b.program(b.op("Add", b.op("Sqrt", s), 1.0))
    q, _ = fuse(p)
    assert ops(q) == ["Fused", "Tanh.backward", "Exp", "Softmax", "Fused"]
    assert q.instrs[0].fn.ops == ("Neg", "Sin", "Cos", "Mul") and q.instrs[0].inputs == (x,)
    assert_same(p, q, b, rtol=1e-14)


def test_parameters_must_be_constants_and_conditions_bool():
    b = ProgramBuilder()
    x, lo = b.input((6,), np.float32), b.input((), np.float32)
    cond = b.input((6,), np.bool_)
    leaky = b.op("LeakyReLU", b.op("Mul", x, 3.0), 0.2)             # slope as a Const input
    clamped = b.op("Clamp", b.op("Exp", leaky), min=-1.0, max=2.5)  # bounds as attrs
    picked = b.op("Where", cond, clamped, b.op("Neg", x))
    tensor_bound = b.op("Clamp", b.op("Abs", picked), lo)           # a Var bound: not fused
    p = b.program(tensor_bound)
    q, _ = fuse(p)
    assert ops(q) == ["Fused", "Clamp"] and q.instrs[1].inputs[1] is lo
    assert q.instrs[0].fn.ops == ("Mul", "LeakyReLU", "Exp", "Clamp", "Neg", "Where", "Abs")
    out0, out1 = run(p, *b.feed(p))[0][0], run(q, *b.feed(q))[0][0]
    assert_close_ulp(out1, out0, MAX_ULP)


def test_mixed_dtypes_promote_as_numpy_does():
    b = ProgramBuilder()
    x32, x64 = b.input((3, 4), np.float32), b.input((4,), np.float64)
    y = b.op("Cast", b.op("Div", b.op("Mul", x32, 0.1), x64), np.float32)  # f32*0.1 in f32
    p = b.program(b.op("Sub", y, np.float32(1.5)))
    q, _ = fuse(p)
    assert ops(q) == ["Fused"] and q.outputs[0].dtype == np.float32
    assert_same(p, q, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("dim", "keepdim", "shape"), [
    (None, False, ()), ((1, 2), False, (6,)), (-1, True, (6, 5, 1)), ((-2, 2), True, (6, 1, 1))])
def test_a_trailing_sum_joins_the_group(dim, keepdim, shape, dtype):
    """Summed in float64 in index order, then rounded: within a few float32 ulps of numpy's
    pairwise sum (positive terms: no cancellation), and closer in float64."""
    b = ProgramBuilder()
    x, y = b.input((6, 5, 7), dtype), b.input((6, 5, 7), dtype)
    total = b.op("Sum", b.op("Exp", b.op("Mul", x, y)), dim=dim, keepdim=keepdim)
    p = b.program(total)
    q, log = fuse(p)
    assert ops(q) == ["Fused"] and q.instrs[0].fn.ops == ("Mul", "Exp", "Sum")
    assert q.outputs[0].shape == shape and not q.instrs[0].elementwise
    assert log == [f"fuse: 3 ops -> Fused#1 [Mul, Exp, Sum] {np.dtype(dtype).name}{list(shape)}"]
    assert_same(p, q, b, rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("case", ["leading_axis", "read_elsewhere", "broadcast_in_part"])
def test_a_sum_stays_apart_where_one_loop_cannot_make_it(case):
    b = ProgramBuilder()
    x = b.input((4, 3, 2))
    other = b.input((3, 1) if case == "broadcast_in_part" else (4, 3, 2))
    e = b.op("Exp", b.op("Mul", x, other))
    total = b.op("Sum", e, dim=0 if case == "leading_axis" else (1, 2))
    p = b.program(total, e) if case == "read_elsewhere" else b.program(total)
    q, _ = fuse(p)
    assert ops(q) == ["Fused", "Sum"] and q.instrs[0].fn.ops == ("Mul", "Exp")
    assert_same(p, q, b, rtol=1e-15)                   # exp: libm's against numpy's


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", sorted(OPS))
def test_each_table_op_matches_its_eager_function(op, dtype):
    """Every op of the table against the eager Function it stands for, with NaN, +-inf,
    +-0 and both tails among the inputs (exactly, or within ``MAX_ULP`` for libm ops)."""
    rng = np.random.default_rng(1)
    special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 30.0, -30.0, 1e-8], dtype)
    a = np.concatenate([special, (rng.standard_normal(56) * 4).astype(dtype)])
    bb = np.concatenate([special[::-1], (rng.standard_normal(56) * 2).astype(dtype)])
    entry = OPS[op]
    args = {"cond": a > 0, "a": a, "b": bb}
    operands = [args[name] for name in entry.operands]
    params = {"LeakyReLU": (0.2,), "ELU": (0.7,), "Softplus": (2.0, 5.0), "Clamp": (-1.0, 0.5),
              "Cast": (np.dtype(dtype),)}.get(op, ())
    with np.errstate(all="ignore"):
        expected = FUNCTIONS[op].apply(*operands, *params)
    names = [name for name, _ in entry.params]
    step = Step(op, tuple(("in", k) for k in range(len(operands))),
                tuple(zip(names, params)), np.dtype(dtype))
    actual = fused_kernel([step], [o.shape for o in operands], a.shape)(*operands)
    assert_close_ulp(actual, expected, 0 if op in EXACT else MAX_ULP)


# -- the property: random elementwise DAGs fuse to the values of the unfused run ----------------
_FUZZ = settings.default.max_examples >= 1000         # the `fuzz` profile runs many more
PROPERTY = settings(deadline=None, derandomize=not _FUZZ,  # fixed examples: a warm kernel cache
                    max_examples=settings.default.max_examples if _FUZZ else 12,
                    suppress_health_check=[HealthCheck.too_slow])  # drawing runs the ops
CONSTS = (0.0, -1.5, 0.5, 2.0, 3)


@st.composite
def programs(draw, names, unit=False):
    """A random DAG of ``names`` over 3 float inputs of mutually broadcastable shapes and mixed
    dtypes and a bool mask, with scalar constants; the last value and maybe an intermediate
    are the results. ``unit``: inputs and constants in [-1, 1]."""
    shapes = draw(mutually_broadcastable_shapes(num_shapes=4, max_dims=3, max_side=4)).input_shapes
    b = ProgramBuilder(seed=draw(st.integers(0, 2**16)))
    consts = (0.0, 0.5, -1.0) if unit else CONSTS
    pool = [b.input(s, draw(st.sampled_from([np.float32, np.float64])),
                    value=b.rng.uniform(-1, 1, s) if unit else None) for s in shapes[:3]]
    mask = b.input(shapes[3], np.bool_)
    operand = st.one_of(st.integers(0, 10**6).map(lambda i: ("value", i)),
                        st.sampled_from(consts).map(lambda c: ("const", c)))
    for _ in range(draw(st.integers(2, 7))):
        op = draw(st.sampled_from(names))
        args = []
        for name in OPS[op].operands:
            kind, what = draw(operand)
            args.append(mask if name == "cond" else
                        pool[-1 - what % len(pool)] if kind == "value" else what)
        if not any(isinstance(a, type(mask)) for a in args[OPS[op].condition is not None:]):
            args[-1] = pool[-1]                     # at least one array operand
        extra = {"LeakyReLU": (0.1,), "ELU": (1.5,), "Softplus": (1.0, 4.0),
                 "Cast": (draw(st.sampled_from([np.float32, np.float64])),)}.get(op, ())
        kwargs = {"min": -0.5, "max": 1.0} if op == "Clamp" else {}
        pool.append(b.op(op, *args, *extra, **kwargs))
    results = [pool[-1]] + ([pool[-2]] if draw(st.booleans()) and len(b.instrs) > 2 else [])
    return b, b.program(*results)


@PROPERTY
@given(programs(sorted(EXACT)))
def test_fused_random_programs_of_exact_ops_equal_the_unfused_run_exactly(case):
    b, p = case
    q, _ = fuse(p)
    assert len(q.instrs) <= len(p.instrs)
    with np.errstate(all="ignore"):
        assert_same(p, q, b)


@PROPERTY
@given(programs(["Mul", "Neg", "Maximum", "Minimum", "Where", "Tanh", "Sigmoid", "Sin", "Cos"],
                unit=True))
def test_fused_random_programs_with_libm_ops_stay_within_ulps_of_bounded_values(case):
    """Inputs and constants in [-1, 1] and ops that map [-1, 1] into itself, where each is
    1-Lipschitz: an op's error is at most its operands' errors added plus its own 4 ulps, so
    n ops are off by less than 4 * 2**n ulps of 1."""
    b, p = case
    q, _ = fuse(p)
    (out0, *_), _ = run(p, *b.feed(p))
    (out1, *_), _ = run(q, *b.feed(q))
    assert np.abs(out0).max(initial=0) <= 1
    eps = np.finfo(out0.dtype).eps
    np.testing.assert_allclose(out1, out0, rtol=0, atol=MAX_ULP * 2 ** len(p.instrs) * eps)
