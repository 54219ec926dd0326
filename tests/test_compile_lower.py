"""Replay's lowered instructions (``tinygrad_cs/compile/lowered/``) compute what the generic
ones compute, bit for bit, and compiled steps stay eager's bit for bit with them.

Oracles: each lowered instruction against the generic call of the same instruction on the
same arrays (``Instr.fn``, which re-runs the op's own ``Function``); whole steps against an
identical twin model trained eagerly. Also: where a rule must decline (and the step is
still eager's), ``.grad`` arrays never shared, updates made in place on the live arrays, a
read-only parameter or a failing replay changing nothing, and OpenBLAS's thread count put
back however a replay ends.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.compile.ir import Const
from tinygrad_cs.compile.lowered import lower
from tinygrad_cs.compile.passes import DEFAULT
from tinygrad_cs.kernels import blas_threads as blas


def _mlp(seed, sizes=(5, 7, 3), dtype=np.float32, bias=True):
    tg.manual_seed(seed)
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out, bias=bias), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    return model.double() if dtype == np.float64 else model


def _trainer(model, opt_cls, loss_fn, **kw):
    opt = opt_cls(model.parameters(), **kw)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step, opt


def _batches(n, n_in, n_out, dtype=np.float32, steps=3, seed=1):
    rng = np.random.default_rng(seed)
    return [(tg.tensor(rng.standard_normal((n, n_in)).astype(dtype)),
             tg.tensor(rng.integers(0, n_out, n))) for _ in range(steps)]


def _twins(opt_cls=tg.optim.SGD, kw=None, loss_fn=None, passes=None, **net):
    """Train an eager and a compiled twin on the same batches; return both models, both
    optimizers and the compiled function."""
    kw = {"lr": 0.1, "momentum": 0.9} if kw is None else kw
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    eager_model, model = _mlp(0, **net), _mlp(0, **net)
    eager_step, eager_opt = _trainer(eager_model, opt_cls, loss_fn, **kw)
    step, opt = _trainer(model, opt_cls, loss_fn, **kw)
    compiled = tg.compile(step, passes=passes)
    sizes = net.get("sizes", (5, 7, 3))
    for x, y in _batches(4, sizes[0], sizes[-1], net.get("dtype", np.float32)):
        assert compiled(x, y).item() == eager_step(x, y).item()
    return (eager_model, model), (eager_opt, opt), compiled


def _assert_same_training_state(models, opts):
    eager_model, model = models
    for a, b in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    es, cs = (o.state_dict()["state"] for o in opts)
    assert es.keys() == cs.keys()
    for k in es:
        for key in es[k]:
            np.testing.assert_array_equal(np.asarray(es[k][key]), np.asarray(cs[k][key]))


def _lowered_ops(compiled) -> set[str]:
    replay = compiled._last.replay
    return {replay.program.instrs[k].op for k in replay.lowered}


def _check_each_lowered_instruction(compiled, n_in=5, n_out=3, dtype=np.float32):
    """Run the last program generically on the current state and a new batch; at each
    lowered instruction also run its lowered call (on copies: an update works in place)
    and compare."""
    entry = compiled._last
    program, slots = entry.program, entry.slots
    lowering = lower(program, slots)
    assert lowering.lowered
    x, y = _batches(4, n_in, n_out, dtype, steps=1, seed=7)[0]
    env = {id(v): a.numpy() for v, a in zip(program.inputs, (x, y))}
    env.update((id(v), s.read()) for v, s in zip(program.state, slots))
    for k, ins in enumerate(program.instrs):
        args = [v.value if isinstance(v, Const) else env[id(v)] for v in ins.inputs]
        expected = ins.fn(*args, **ins.attrs)
        outs = expected if len(ins.outputs) > 1 else (expected,)
        if k in lowering.lowered:
            copies = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
            got = lowering.calls[k](*copies)
            got = got if len(ins.outputs) > 1 else (got,)
            assert len(got) == len(outs), ins.op
            for g, e in zip(got, outs):
                if isinstance(e, np.ndarray):
                    assert g.dtype == e.dtype and g.shape == e.shape, ins.op
                    np.testing.assert_array_equal(g, e, err_msg=ins.op)
                else:
                    assert g == e, ins.op
        env.update((id(v), a) for v, a in zip(ins.outputs, outs))


@pytest.mark.parametrize("opt_cls,kw", [
    (tg.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (tg.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    (tg.optim.Adam, {"lr": 0.01}),
    (tg.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_lowered_instruction_equals_its_generic_call(opt_cls, kw, dtype):
    models, opts, compiled = _twins(opt_cls, kw, dtype=dtype)
    _assert_same_training_state(models, opts)
    name = opt_cls.__name__
    assert {"Linear", "ReLU", "Linear.backward", "ReLU.backward", "cross_entropy.backward",
            "AccumulateGrad", f"{name}.update"} <= _lowered_ops(compiled)
    _check_each_lowered_instruction(compiled, dtype=dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_no_bias_and_both_reductions_lowered(reduction):
    models, opts, compiled = _twins(loss_fn=nn.CrossEntropyLoss(reduction=reduction),
                                    bias=False)
    _assert_same_training_state(models, opts)
    assert {"Linear", "Linear.backward", "cross_entropy.backward"} <= _lowered_ops(compiled)
    _check_each_lowered_instruction(compiled)


def test_cross_entropy_with_label_smoothing_keeps_its_generic_backward():
    models, opts, compiled = _twins(loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1))
    _assert_same_training_state(models, opts)
    assert "cross_entropy.backward" not in _lowered_ops(compiled)
    assert "Linear.backward" in _lowered_ops(compiled)


def test_cross_entropy_with_class_weights_follows_the_targets():
    # 1 / sum_i w[y_i] depends on the targets: a program value, not the trace's constant
    weight = tg.tensor(np.array([1.0, 2.0, 0.5], np.float32))
    models, opts, _ = _twins(loss_fn=nn.CrossEntropyLoss(weight=weight))
    _assert_same_training_state(models, opts)


@pytest.mark.parametrize("passes", [None, DEFAULT])
def test_targets_ignored_only_after_the_trace_get_no_gradient(passes):
    # traced on batches with nothing ignored; a later batch ignores two of its targets
    eager_model, model = _mlp(0), _mlp(0)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    eager_step, eager_opt = _trainer(eager_model, tg.optim.SGD, loss_fn, lr=0.1)
    step, opt = _trainer(model, tg.optim.SGD, loss_fn, lr=0.1)
    compiled = tg.compile(step, passes=passes)
    batches = _batches(4, 5, 3, steps=4)
    masked = batches[3][1].numpy().copy()
    masked[[0, 2]] = -100
    batches[3] = (batches[3][0], tg.tensor(masked))
    for x, y in batches:
        assert compiled(x, y).item() == eager_step(x, y).item()
    assert compiled.traces <= 2          # a new batch is an input, never a retrace
    _assert_same_training_state((eager_model, model), (eager_opt, opt))
    assert "cross_entropy.backward" in _lowered_ops(compiled)


def test_a_batched_linear_keeps_its_generic_call():
    model, twin = (nn.Linear(3, 2) for _ in range(2))
    twin.load_state_dict(model.state_dict())
    opt, topt = (tg.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin))

    def step_of(m, o):
        def step(x):
            o.zero_grad()
            m(x).square().sum().backward()
            o.step()
        return step
    compiled, eager = tg.compile(step_of(model, opt)), step_of(twin, topt)
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32))
    for _ in range(3):
        compiled(x)
        eager(x)
    assert "Linear" not in _lowered_ops(compiled) and "SGD.update" in _lowered_ops(compiled)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("passes", [None, DEFAULT])
def test_benchmark_mlp_step_is_eager_bit_for_bit_on_one_blas_thread(passes):
    # the sizes of benchmarks/bench_mlp.py: GEMMs big enough for OpenBLAS to use both
    # threads eagerly, while the replay runs them on one
    models, opts, compiled = _twins(sizes=(64, 128, 128, 10), passes=passes)
    _assert_same_training_state(models, opts)
    assert compiled._last.replay.one_thread


def test_double_precision_keeps_blas_threads():
    _, _, compiled = _twins(dtype=np.float64)
    assert not compiled._last.replay.one_thread   # dgemm's bits depend on the thread count


def test_updates_happen_in_place_and_grads_are_never_shared():
    models, opts, compiled = _twins()
    model, opt = models[1], opts[1]
    arrays = [p.numpy() for p in model.parameters()]
    buffers = [opt.state[p]["momentum_buffer"] for p in model.parameters()]
    x, y = _batches(4, 5, 3, steps=1, seed=9)[0]
    before = [a.copy() for a in arrays]
    compiled(x, y)
    for p, a, b, old in zip(model.parameters(), arrays, buffers, before):
        assert p.numpy() is a and opt.state[p]["momentum_buffer"] is b   # as Optimizer.step
        assert not np.array_equal(a, old)
    grads = [p.grad.numpy() for p in model.parameters()]
    assert not any(np.shares_memory(g, h) for i, g in enumerate(grads) for h in grads[i + 1:])


def test_accumulate_grad_copies_a_gradient_that_is_not_fresh():
    # Add.backward hands the same array to both inputs: each .grad must be its own copy
    a, b = (tg.tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2))

    def f(x):
        a.grad = b.grad = None
        ((a + b) * x).sum().backward()
        return a.grad + b.grad
    compiled = tg.compile(f)
    x = tg.tensor(np.arange(3, dtype=np.float32))
    for _ in range(2):
        np.testing.assert_array_equal(compiled(x).numpy(), 2 * x.numpy())
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), x.numpy())


def test_reading_weights_after_the_step_keeps_updates_on_copies():
    # an instruction after the update reads the parameters: no update in place
    models = _mlp(0), _mlp(0)
    opts = [tg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in models]

    def step_of(model, opt):
        def step(x, y):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            with tg.no_grad():
                return model(x)
        return step
    eager, compiled = step_of(models[0], opts[0]), tg.compile(step_of(models[1], opts[1]))
    for x, y in _batches(4, 5, 3):
        np.testing.assert_array_equal(compiled(x, y).numpy(), eager(x, y).numpy())
    assert "SGD.update" not in _lowered_ops(compiled)
    _assert_same_training_state(models, opts)


def _snapshot(model, opt):
    return ([p.numpy().copy() for p in model.parameters()],
            [p.grad.numpy().copy() for p in model.parameters()],
            [opt.state[p]["momentum_buffer"].copy() for p in model.parameters()])


def _assert_unchanged(model, opt, snapshot):
    for got, want in zip(_snapshot(model, opt), snapshot):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_a_read_only_parameter_is_refused_before_anything_changes():
    models, opts, compiled = _twins()
    model, opt = models[1], opts[1]
    x, y = _batches(4, 5, 3, steps=1, seed=9)[0]
    before = _snapshot(model, opt)
    weight = model[2].weight
    weight.numpy().flags.writeable = False
    with pytest.raises(RuntimeError, match=r"2\.weight \(shape \(3, 7\)\) is read-only"):
        compiled(x, y)
    _assert_unchanged(model, opt, before)
    with pytest.raises(RuntimeError, match="read-only"):   # eager refuses it too
        opt.step()
    weight.numpy().flags.writeable = True
    compiled(x, y)
    assert not np.array_equal(weight.numpy(), before[0][2])


def test_a_replay_failing_midway_changes_nothing_and_restores_blas_threads():
    models, opts, compiled = _twins(sizes=(64, 128, 128, 10))
    model, opt = models[1], opts[1]
    assert compiled._last.replay.one_thread
    threads = [get() for get, _ in blas._libs()]
    before = _snapshot(model, opt)
    x, _ = _batches(4, 64, 10, steps=1)[0]
    with pytest.raises(IndexError, match="out of bounds"):
        compiled(x, tg.tensor(np.array([0, 1, 10, 2])))   # class 10 of 10: in the forward
    assert compiled.traces == 2   # the replay raised, not a new trace
    _assert_unchanged(model, opt, before)
    assert [get() for get, _ in blas._libs()] == threads


def test_sgemm_gives_the_same_bits_on_one_blas_thread():
    # the assumption behind one_thread, checked on this machine's BLAS
    rng = np.random.default_rng(0)
    for _ in range(40):
        m, k, n = rng.integers(1, 200, 3)
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((n, k)).astype(np.float32).T
        both = a @ b
        blas.single()
        try:
            one = a @ b
        finally:
            blas.restore()
        np.testing.assert_array_equal(one, both)
