"""The compiler's passes, each alone on hand-built programs: it fires where it must, not where
it must not, and the program computes the same before and after (``execute.run``)."""
from __future__ import annotations

import numpy as np
import pytest
from _programs import ProgramBuilder

from tinygrad_cs.compile.execute import run
from tinygrad_cs.compile.ir import Const, Program, check
from tinygrad_cs.compile.passes import DEFAULT, PASSES, memory_report, optimize
from tinygrad_cs.compile.passes.cse import cse
from tinygrad_cs.compile.passes.dce import dce
from tinygrad_cs.compile.passes.fold import fold
from tinygrad_cs.compile.passes.memory import memory, plan_release
from tinygrad_cs.compile.passes.simplify import simplify


def assert_same(before: Program, after: Program, b: ProgramBuilder, rtol: float = 0.0):
    """Both programs give the same outputs and writes on the builder's inputs (exactly when
    ``rtol`` is 0); the new program is well formed and the old one untouched."""
    check(after)
    inputs, state = b.feed(before)
    out0, new0 = run(before, inputs, state)
    out1, new1 = run(after, inputs, state)
    assert len(out0) == len(out1) and new0.keys() == new1.keys()
    for x, y in zip(out0 + list(new0.values()), out1 + [new1[k] for k in new0]):
        assert np.shape(x) == np.shape(y) and np.asarray(x).dtype == np.asarray(y).dtype
        if rtol:
            np.testing.assert_allclose(y, x, rtol=rtol, atol=0)
        else:
            np.testing.assert_array_equal(y, x)


def ops(program: Program) -> list[str]:
    return [ins.op for ins in program.instrs]


# -- dce ------------------------------------------------------------------------------
def test_dce_drops_what_no_result_reads_and_keeps_writes():
    b = ProgramBuilder()
    x, w = b.input((3,)), b.state_var((3,))
    dead = b.op("Exp", x)
    b.op("Log", dead)                                  # a dead chain: both go
    new_w = b.op("Sub", w, b.op("Mul", x, 0.5))        # reaches only a write: kept
    y = b.op("Tanh", x)
    p = b.program(y, writes=[(w, new_w)])
    q, log = dce(p)
    assert ops(q) == ["Mul", "Sub", "Tanh"]
    assert log == ["dce: dropped %2 = Exp(%0)", "dce: dropped %3 = Log(%2)"]
    assert ops(p) == ["Exp", "Log", "Mul", "Sub", "Tanh"]    # the input program is untouched
    assert_same(p, q, b)


# -- cse ------------------------------------------------------------------------------
def test_cse_reuses_the_first_result_and_collapses_chains():
    b = ProgramBuilder()
    x, y = b.input((2, 3)), b.input((3,))
    m1, m2 = b.op("Mul", x, y), b.op("Mul", x, y)
    e1, e2 = b.op("Exp", m1), b.op("Exp", m2)          # equal once m2 is m1
    out = b.op("Add", e1, e2)
    p = b.program(out, m2)                             # a result renamed too
    q, log = cse(p)
    assert ops(q) == ["Mul", "Exp", "Add"]
    assert q.instrs[2].inputs == (e1, e1) and q.outputs[1] is m1
    assert log == [f"cse: {m2.name} = Mul(%0, %1) is {m1.name}",
                   f"cse: {e2.name} = Exp({m1.name}) is {e1.name}"]
    assert_same(p, q, b)


@pytest.mark.parametrize(("c1", "c2"), [(1, 1.0), (0.0, -0.0), (2.0, 3.0)])
def test_cse_tells_constants_apart_by_type_sign_and_value(c1, c2):
    b = ProgramBuilder()
    x = b.input((4,), value=[-0.0, 1.0, 2.0, 3.0])
    p = b.program(b.op("Add", x, c1), b.op("Add", x, c2))
    q, log = cse(p)
    assert log == [] and len(q.instrs) == 2
    assert_same(p, q, b)


def test_cse_compares_attrs_and_leaves_input_free_instructions():
    b = ProgramBuilder()
    x = b.input((2, 3))
    s0, s1 = b.op("Sum", x, dim=0), b.op("Sum", x, dim=1)
    s2 = b.op("Sum", x, dim=1)
    def draw():                                         # a stand-in random factory
        return np.ones(3)
    r1, r2 = b.op("Randn", fn=draw), b.op("Randn", fn=draw)
    q, log = cse(b.program(s0, s1, s2, r1, r2))
    assert ops(q) == ["Sum", "Sum", "Randn", "Randn"] and q.outputs[2] is s1
    assert len(log) == 1


# -- fold -----------------------------------------------------------------------------
def test_fold_computes_constant_chains_and_keeps_results():
    b = ProgramBuilder()
    x = b.input((3,))
    six = b.op("Mul", 2.0, 3.0)
    eight = b.op("Add", six, 2.0)
    y = b.op("Add", x, eight)
    kept = b.op("Neg", 4.0)                            # a program result stays computed
    p = b.program(y, kept)
    q, log = fold(p)
    assert ops(q) == ["Add", "Neg"]
    assert isinstance(q.instrs[0].inputs[1], Const) and q.instrs[0].inputs[1].value == 8.0
    assert log == [f"fold: {six.name} = Mul(2.0, 3.0) -> 6.0",
                   f"fold: {eight.name} = Add(6.0, 2.0) -> 8.0"]
    assert_same(p, q, b)


def test_fold_names_the_instruction_that_fails():
    b = ProgramBuilder()
    x = b.input((2,))
    p = b.program(b.op("Add", x, b.op("Where", np.array([True, False]), 1.0, 2.0)))
    p.instrs[0].inputs = (Const(np.array([1.0, 0.0])), Const(1.0), Const(2.0))  # not bool
    with pytest.raises(ValueError, match=r"fold: %1 = Where\(.*must be a bool"):
        fold(p)


# -- simplify: one test per rule ----------------------------------------------------------
@pytest.mark.parametrize(("op", "args", "rule"), [
    ("Mul", ("x", 1), "times_one"), ("Mul", (1.0, "x"), "times_one"),
    ("Add", ("x", 0), "plus_zero"), ("Add", (0.0, "x"), "plus_zero"),
    ("Sub", ("x", 0.0), "minus_zero"), ("Div", ("x", 1.0), "over_one")])
def test_simplify_identities(op, args, rule):
    b = ProgramBuilder()
    x = b.input((2, 3))
    y = b.op(op, *(x if a == "x" else a for a in args))
    p = b.program(b.op("Exp", y))
    q, log = simplify(p)
    assert ops(q) == ["Exp"] and q.instrs[0].inputs == (x,)
    shown = ", ".join(x.name if a == "x" else repr(a) for a in args)
    assert log == [f"simplify: {y.name} = {op}({shown}) is {x.name} ({rule})"]
    assert_same(p, q, b)


@pytest.mark.parametrize("case", ["broadcast", "dtype", "not_unit", "reversed_sub", "array"])
def test_simplify_identities_hold_back_where_they_would_change_the_result(case):
    b = ProgramBuilder()
    x = b.input((3,), dtype=np.float32)
    y = {"broadcast": lambda: b.op("Add", x, np.zeros((2, 3), np.float32)),
         "dtype": lambda: b.op("Mul", x, np.ones((), np.float64)),      # a float64 result
         "not_unit": lambda: b.op("Mul", x, 2.0),
         "reversed_sub": lambda: b.op("Sub", 0.0, x),
         "array": lambda: b.op("Div", x, np.array([1.0, 2.0, 1.0], np.float32))}[case]()
    p = b.program(y)
    q, log = simplify(p)
    assert log == [] and ops(q) == ops(p)


def test_simplify_double_neg_and_keeps_a_shared_inner_neg():
    b = ProgramBuilder()
    x = b.input((3,))
    n1 = b.op("Neg", x)
    n2 = b.op("Neg", n1)
    p = b.program(b.op("Mul", n2, n1))
    q, log = simplify(p)
    assert ops(q) == ["Neg", "Mul"] and q.instrs[1].inputs == (x, n1)
    assert log[0].endswith(f"is {x.name} (double_neg)")
    assert_same(p, q, b)


@pytest.mark.parametrize(("first", "second", "cancel"), [
    ((1, 0), (1, 0), True), ((2, 0, 1), (1, 2, 0), True), ((1, 2, 0), (1, 2, 0), False),
    ((0, -1, 1), (0, 2, 1), True)])
def test_simplify_permutes_cancel(first, second, cancel):
    b = ProgramBuilder()
    x = b.input((2, 3, 4)[:len(first)])
    t = b.op("Permute", b.op("Permute", x, first), second)
    p = b.program(t)
    q, log = simplify(p)
    assert (q.outputs[0] is x) == cancel and len(log) == cancel
    assert_same(p, q, b)


def test_simplify_log_softmax_is_one_stable_instruction():
    b = ProgramBuilder()
    x = b.input((2, 5), value=[[0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 800.0, 1.0]])
    sm = b.op("Softmax", x, 1)
    p = b.program(b.op("Log", sm))
    q, log = simplify(p)
    assert ops(q) == ["Softmax", "LogSoftmax"] and q.instrs[1].inputs[0] is x
    assert log[0].endswith(f"-> {q.outputs[0].name} = LogSoftmax(%0, 1) (log_softmax)")
    assert ops(dce(q)[0]) == ["LogSoftmax"]
    with np.errstate(divide="ignore"):                  # the log(0) that the rule removes
        out0 = run(p, *b.feed(p))[0][0]
    out1 = run(q, *b.feed(q))[0][0]
    np.testing.assert_allclose(out1[0], out0[0], rtol=1e-13)
    assert np.isneginf(out0[1, 0]) and out1[1, 0] == -800.0      # log(0) no more


# -- memory ---------------------------------------------------------------------------
def test_memory_release_plan_and_peak_on_a_hand_computed_case():
    """float64 x (1000,) = 8000 B. Values: x, a = Exp(x), c = Mul(a, x), d = Sum(c), s = Neg(d)
    with s and c the outputs. Without release: x + a + c + d + s = 8000*3 + 8 + 8.
    With it: a dies after Mul, so at Sum: x + c + d (a freed) and the peak is at Mul:
    x + a + c = 24000; d dies after Neg."""
    b = ProgramBuilder()
    x = b.input((1000,))
    a = b.op("Exp", x)
    c = b.op("Mul", a, x)
    d = b.op("Sum", c)
    s = b.op("Neg", d)
    p = b.program(s, c)
    assert plan_release(p) == [(), (a,), (), (d,)]
    report = memory_report(p)
    assert report == {"before": 24016, "after": 24000, "released": 2}
    q, log = memory(p)
    assert q.release == [(), (a,), (), (d,)] and p.release is None
    assert log == ["memory: peak 23.5 KiB -> 23.4 KiB"]
    assert_same(p, q, b)


def test_memory_never_releases_inputs_state_or_written_values_and_frees_dead_ones():
    b = ProgramBuilder()
    x, w = b.input((4,)), b.state_var((4,))
    unused = b.op("Exp", x)                             # read by nobody: dies where made
    new_w = b.op("Add", w, x)
    p = b.program(b.op("Mul", new_w, 2.0), writes=[(w, new_w)])
    assert plan_release(p) == [(unused,), (), ()]
    assert_same(p, memory(p)[0], b)


# -- the pipeline -----------------------------------------------------------------------
def test_optimize_runs_the_passes_in_order_and_rejects_unknown_names():
    assert list(PASSES) == ["fold", "simplify", "cse", "dce", "fuse", "memory"]
    assert DEFAULT == tuple(PASSES)
    b = ProgramBuilder()
    x = b.input((8, 4))
    scale = b.op("Mul", 0.5, 2.0)                       # folds to 1.0, then x*1 -> x
    y = b.op("Mul", x, scale)
    e1, e2 = b.op("Exp", y), b.op("Exp", y)
    b.op("Log", e1)                                     # dead
    out = b.op("Add", b.op("Tanh", e1), e2)
    p = b.program(out)
    q, log = optimize(p, ["dce", "cse", "simplify", "fold"])
    assert ops(q) == ["Exp", "Tanh", "Add"]
    assert [line.split(":")[0] for line in log] == ["fold", "simplify", "cse", "dce"]
    assert_same(p, q, b)
    with pytest.raises(ValueError, match=r"unknown pass\(es\) \['fusion'\]"):
        optimize(p, ["fusion"])
