"""``Tensor.data`` is a Tensor and ``.grad`` is checked on assignment, as in PyTorch.

Oracles: PyTorch running the same idioms (hand-written SGD through ``p.data``, the
DCGAN's ``m.weight.data.normal_``), closed forms, and ``optim.SGD`` itself.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim


def test_data_is_a_detached_tensor_on_the_same_storage():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.numpy(), p.numpy())
    d.fill_(0)
    np.testing.assert_array_equal(p.numpy(), [0.0, 0.0])
    assert p.numpy() is p.numpy()  # numpy() shares, never copies


def test_common_idioms_of_real_pytorch_code():
    tg.manual_seed(0)
    m = nn.Linear(3, 2)
    m.weight.data.normal_(0.0, 0.02)          # the DCGAN initialisation
    m.bias.data.fill_(0)
    assert abs(float(m.weight.numpy().std()) - 0.02) < 0.02
    np.testing.assert_array_equal(m.bias.numpy(), 0.0)
    m.bias.data.copy_(tg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(m.bias.numpy(), [1.0, 2.0])
    m.weight.data.uniform_(-0.1, 0.1)
    assert np.all(np.abs(m.weight.numpy()) <= 0.1)


def test_hand_written_sgd_through_data_equals_optim_sgd():
    def train(step):
        tg.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        x, y = tg.randn(16, 4), tg.randint(0, 3, (16,))
        for _ in range(5):
            model.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            step(model)
        return [p.numpy().copy() for p in model.parameters()]

    def by_hand(model):
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-0.1)

    opts = {}

    def by_optim(model):
        opt = opts.setdefault("sgd", optim.SGD(model.parameters(), lr=0.1))
        opt.step()
    for a, b in zip(train(by_hand), train(by_optim)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_assigning_data_shares_the_new_storage_and_checks_the_shape():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    new = tg.tensor([5.0, 6.0])
    p.data = new
    np.testing.assert_array_equal(p.numpy(), [5.0, 6.0])
    assert np.shares_memory(p.numpy(), new.numpy())
    p.data = p.data.double()  # the dtype may change, as PyTorch's set_data allows
    assert p.dtype == np.float64
    with pytest.raises(RuntimeError, match=r"shape \(3,\) to a tensor of shape \(2,\)"):
        p.data = tg.zeros(3)
    assert p.shape == (2,)


def test_pytorch_agrees_on_the_data_idioms():
    torch = pytest.importorskip("torch")

    def program(lib):
        p = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (p * p).sum().backward()
        p.data.add_(p.grad, alpha=-0.25)
        p.data.mul_(2)
        return p.detach().numpy().tolist(), p._version
    assert program(tg) == program(torch)


def test_grad_assignment_is_checked_like_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        p = lib.zeros(2, 3, requires_grad=True)
        p.grad = lib.ones(2, 3)
        with pytest.raises(RuntimeError, match="attempting to assign a gradient of (shape|size)"):
            p.grad = lib.ones(3, 2)
        with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype"):
            p.grad = lib.ones(2, 3, dtype=lib.float64)
        with pytest.raises(TypeError):
            p.grad = np.ones((2, 3), np.float32)
        np.testing.assert_array_equal(np.asarray(p.grad.tolist()), 1.0)  # unchanged
        p.grad = None
        assert p.grad is None


def test_value_data_stays_a_float():
    v = tg.Value(2.0)
    assert isinstance(v.data, float)
    (v * v).backward()
    v.data -= 0.1 * v.grad
    assert v.data == pytest.approx(1.6)


# -- the optimizer step is atomic ---------------------------------------------------------------
def _two_parameter_setup(opt_cls, **kwargs):
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([[3.0, 4.0]], requires_grad=True)
    opt = opt_cls([a, b], lr=0.1, **kwargs)
    ((a * a).sum() + (b * b).sum()).backward()
    return a, b, opt


@pytest.mark.parametrize("opt_cls,kwargs", [(optim.SGD, {"momentum": 0.9}), (optim.Adam, {}),
                                            (optim.AdamW, {}), (optim.RMSprop, {}),
                                            (optim.Adagrad, {})])
def test_a_failing_step_changes_nothing(opt_cls, kwargs):
    a, b, opt = _two_parameter_setup(opt_cls, **kwargs)
    b.grad.data = b.grad.data.double()  # a gradient of the wrong dtype (untracked path)
    before = [a.numpy().copy(), b.numpy().copy()]
    state = opt.state_dict()
    with pytest.raises(RuntimeError, match="parameter 1 has dtype float64.*nothing was updated"):
        opt.step()
    np.testing.assert_array_equal(a.numpy(), before[0])
    np.testing.assert_array_equal(b.numpy(), before[1])
    assert opt.state_dict()["state"] == state["state"] == {}
    assert (a._version, b._version) == (0, 0)
    b.grad = tg.tensor([[1.0, 1.0]])  # fixed: the next step works and builds state
    opt.step()
    assert len(opt.state) == 2
    assert (a._version, b._version) == (1, 1)


def test_a_read_only_parameter_is_refused_before_any_update():
    a, b, opt = _two_parameter_setup(optim.SGD)
    b.data = np.broadcast_to(np.float32(3.0), (1, 2))  # a read-only array
    before = a.numpy().copy()
    with pytest.raises(RuntimeError, match="parameter 1 .*read-only"):
        opt.step()
    np.testing.assert_array_equal(a.numpy(), before)


# -- module scopes are per thread ----------------------------------------------------------------
def test_scopes_are_per_thread():
    models = {"left": nn.Sequential(nn.Linear(2, 2)), "right": nn.Sequential(nn.Linear(2, 2))}
    wrong = []
    start = threading.Barrier(2)

    def run(name):
        model = models[name]
        start.wait()
        for _ in range(200):
            with tg.scope(name):
                out = model(tg.randn(1, 2, requires_grad=True))
            if out.scope != f"{name}.0":
                wrong.append((name, out.scope))
    threads = [threading.Thread(target=run, args=(n,)) for n in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert tg.scopes.current() == ""
