"""tg.compile: traced-then-replayed training steps equal eager ones, guards retrace, graph
breaks fall back to eager, programs print. Oracle: the same steps run eagerly."""
import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn


def _net(seed, dropout=True, batchnorm=True):
    tg.manual_seed(seed)
    layers = [nn.Linear(3, 6)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(6))
    layers.append(nn.ReLU())
    if dropout:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Linear(6, 2))
    return nn.Sequential(*layers)


def _trainer(model, opt_cls=tg.optim.SGD, **kw):
    opt = opt_cls(model.parameters(), **kw)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step, opt


def _data(n=4, seed=1):
    rng = np.random.default_rng(seed)
    return [(tg.tensor(rng.standard_normal((n, 3)).astype(np.float32)),
             tg.tensor(rng.integers(0, 2, n))) for _ in range(4)]


@pytest.mark.parametrize("opt_cls,kw", [(tg.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
                                        (tg.optim.Adam, {"lr": 0.01})])
def test_compiled_steps_equal_eager_bit_for_bit(opt_cls, kw):
    # the same Functions run on the same arrays: identical bits, state and RNG included
    eager_model, compiled_model = _net(0), _net(0)
    eager_step, eager_opt = _trainer(eager_model, opt_cls, **kw)
    step, opt = _trainer(compiled_model, opt_cls, **kw)
    compiled = tg.compile(step)
    tg.manual_seed(5)
    eager_losses = [eager_step(x, y).item() for x, y in _data()]
    tg.manual_seed(5)
    losses = [compiled(x, y).item() for x, y in _data()]
    assert compiled.traces == 2  # .grad and optimizer state appear after the first step
    assert losses == eager_losses
    for (name, a), b in zip(eager_model.state_dict().items(), compiled_model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    for a, b in zip(eager_model.parameters(), compiled_model.parameters()):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    es, cs = eager_opt.state_dict()["state"], opt.state_dict()["state"]
    for k in es:
        for key in es[k]:
            np.testing.assert_array_equal(np.asarray(es[k][key]), np.asarray(cs[k][key]))
    np.testing.assert_array_equal(tg.random.generator().random(3), _after_seed_draws())


def _after_seed_draws():
    # the generator after the eager run's draws: rerun them on a fresh seed
    tg.manual_seed(5)
    model = _net(0)
    tg.manual_seed(5)
    step, _ = _trainer(model, lr=0.1, momentum=0.9)
    for x, y in _data():
        step(x, y)
    return tg.random.generator().random(3)


def test_forward_only_replays_fresh_inputs_float64():
    tg.manual_seed(0)
    w = tg.tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)

    def f(x):
        return (x @ w).tanh().exp().sum(dim=1)
    compiled = tg.compile(f)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = tg.tensor(rng.standard_normal((2, 3)))
        with tg.no_grad():
            np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
    assert compiled.traces == 1


def test_guards_shape_dtype_eval_no_grad_and_lr():
    model = _net(0, dropout=False)
    step, opt = _trainer(model, lr=0.1)
    compiled = tg.compile(model)
    x = tg.tensor(np.ones((4, 3), np.float32))
    with tg.no_grad():
        compiled(x)
        compiled(x)
        assert compiled.traces == 1
        compiled(tg.tensor(np.ones((5, 3), np.float32)))            # shape
        assert compiled.traces == 2
        model.eval()                                               # train/eval
        np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())
        assert compiled.traces == 3
    out = compiled(x)                                              # grad mode: retrace
    assert compiled.traces == 4 and out.requires_grad  # a live graph out: eager (a break)
    model64 = _net(0, dropout=False).double()
    c64 = tg.compile(model64)
    c64(x.double())
    with pytest.raises(RuntimeError):                          # dtype: retrace, eager's error
        c64(x)
    # a scheduler's learning rate is read at every replay
    model.train()
    cstep = tg.compile(step)
    twin = _net(0, dropout=False)
    twin.load_state_dict(model.state_dict())
    tstep, topt = _trainer(twin, lr=0.1)
    sched, tsched = (tg.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5) for o in (opt, topt))
    for x, y in _data():
        a, b = cstep(x, y), tstep(x, y)
        assert a.item() == b.item()
        sched.step()
        tsched.step()
    assert cstep.traces == 2
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_graph_break_runs_eagerly_and_warns_once():
    w = tg.tensor(np.array([1.0, -2.0]), requires_grad=True)

    def f(x):
        y = (x * w).sum()
        if y.item() > 0:        # Python reads a value: cannot be captured
            return y * 2
        return y * 3
    compiled = tg.compile(f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [compiled(tg.tensor(np.array(v))).item() for v in ([1.0, 0.0], [0.0, 1.0], [2.0, 0.0])]
    assert results == [2.0, -6.0, 4.0]
    breaks = [w for w in caught if "graph break" in str(w.message)]
    assert len(breaks) == 1 and "item()" in str(breaks[0].message)
    with pytest.raises(RuntimeError, match="graph break"):
        tg.compile(f, fullgraph=True)(tg.tensor(np.array([1.0, 0.0])))


def test_printed_program_of_an_mlp_step():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    step, _ = _trainer(model, lr=0.1, momentum=0.9)
    compiled = tg.compile(step)
    x, y = _data()[0]
    compiled(x, y)
    text = str(compiled.program)
    lines = text.splitlines()
    assert lines[0] == "inputs:" and "forward:" in lines and "backward:" in lines
    assert "update:" in lines and "writes:" in lines
    assert "  %3: float32[4, 3] = 0.weight" in lines
    assert any(line.startswith("  %5: float32[4, 4] = Linear(%1, %3, %4)   # 0") for line in lines)
    assert any("= ReLU.backward(" in line for line in lines)
    assert any("= SGD.update(%3, " in line for line in lines)
    assert "  0.weight <- " in "\n".join(lines[lines.index("writes:"):])


def test_rejects_unsupported_torch_compile_options():
    with pytest.raises(ValueError, match="dynamic"):
        tg.compile(lambda x: x, dynamic=True)
    with pytest.raises(ValueError, match="backend"):
        tg.compile(lambda x: x, backend="cudagraphs")
    f = lambda x: x
    assert tg.compile(f, disable=True) is f
