"""tinygrad_cs.optim: every optimizer against its published update rule, step for step.

Oracles: float64 re-implementations of each rule written here from the papers
(plain numpy, one short function each), torch.optim when installed, and closed
forms on quadratics (plain gradient descent on 0.5 x^T H x is x_t = (I - lr H)^t x_0).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import optim
from tinygrad_cs.optim.optimizer import required

SHAPES = [(3, 4), (5,)]
STEPS = 8


# -- reference update rules (float64, textbook form) ------------------------------------
def ref_sgd(p, grad, steps, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
            nesterov=False, maximize=False):
    v, out = None, []
    for t in range(steps):
        g = grad(p, t) * (-1 if maximize else 1) + weight_decay * p
        if momentum:
            v = g if v is None else momentum * v + (1 - dampening) * g
            g = g + momentum * v if nesterov else v
        p = p - lr * g
        out.append(p)
    return out


def ref_adagrad(p, grad, steps, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    s, out = np.full_like(p, initial_accumulator_value), []
    for t in range(1, steps + 1):
        g = grad(p, t - 1) * (-1 if maximize else 1) + weight_decay * p
        s = s + g**2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def ref_rmsprop(p, grad, steps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    sq, avg, buf, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t in range(steps):
        g = grad(p, t) * (-1 if maximize else 1) + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g**2
        avg = alpha * avg + (1 - alpha) * g
        var = sq - avg**2 if centered else sq
        if momentum > 0:
            buf = momentum * buf + g / (np.sqrt(var) + eps)
            p = p - lr * buf
        else:
            p = p - lr * g / (np.sqrt(var) + eps)
        out.append(p)
    return out


def ref_adam(p, grad, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, maximize=False, decoupled=False):
    b1, b2 = betas
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t in range(1, steps + 1):
        g = grad(p, t - 1) * (-1 if maximize else 1)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_adamw(p, grad, steps, weight_decay=1e-2, **kw):
    return ref_adam(p, grad, steps, weight_decay=weight_decay, decoupled=True, **kw)


REFS = {optim.SGD: ref_sgd, optim.Adagrad: ref_adagrad, optim.RMSprop: ref_rmsprop,
        optim.Adam: ref_adam, optim.AdamW: ref_adamw}

CONFIGS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    (optim.SGD, {"lr": 0.02, "momentum": 0.5, "maximize": True}),
    (optim.Adagrad, {}),
    (optim.Adagrad, {"lr": 0.3, "lr_decay": 0.05, "weight_decay": 0.1,
                     "initial_accumulator_value": 0.5, "eps": 1e-6}),
    (optim.Adagrad, {"lr": 0.1, "maximize": True}),
    (optim.RMSprop, {}),
    (optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "centered": True}),
    (optim.RMSprop, {"lr": 0.005, "momentum": 0.9, "weight_decay": 0.01}),
    (optim.RMSprop, {"lr": 0.005, "alpha": 0.95, "eps": 1e-4, "momentum": 0.5,
                     "centered": True, "maximize": True}),
    (optim.Adam, {}),
    (optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.05, "amsgrad": True, "maximize": True}),
    (optim.AdamW, {"lr": 0.05}),
    (optim.AdamW, {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.3, "amsgrad": True}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
       for cls, kw in CONFIGS]


# -- harness ------------------------------------------------------------------------------
def initial_params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def make_grad(i):
    """The gradient of parameter i at step t: depends on p (so the trajectory matters) and on t
    (so it is not a fixed point), with a different curvature per coordinate."""
    rng = np.random.default_rng(100 + i)
    curv = rng.uniform(0.1, 3.0, SHAPES[i])
    noise = rng.standard_normal((40, *SHAPES[i]))
    return lambda p, t: curv * p + noise[t]


def run_tg(opt_cls, groups, steps, dtype=np.float64):
    """Run opt_cls over parameters made by initial_params; groups: list of (indices, kwargs)
    with the first group's kwargs as the constructor's defaults."""
    params = [tg.tensor(a, requires_grad=True) for a in initial_params(dtype)]
    grads = [make_grad(i) for i in range(len(params))]
    spec = [{"params": [params[i] for i in idx], **kw} for idx, kw in groups[1:]]
    opt = opt_cls([{"params": [params[i] for i in groups[0][0]]}, *spec], **groups[0][1])
    history = []
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = tg.Tensor(grads[i](p.numpy().astype(np.float64), t).astype(dtype))
        opt.step()
        history.append([p.numpy().copy() for p in params])
    return history


def run_ref(opt_cls, groups, steps):
    p0 = initial_params()
    out = [None] * len(p0)
    for idx, kw in groups:
        merged = {**groups[0][1], **kw}
        for i in idx:
            out[i] = REFS[opt_cls](p0[i], make_grad(i), steps, **merged)
    return [[out[i][t] for i in range(len(p0))] for t in range(steps)]


def assert_trajectories(actual, expected, rtol, atol):
    for t, (a_step, e_step) in enumerate(zip(actual, expected)):
        for i, (a, e) in enumerate(zip(a_step, e_step)):
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol,
                                       err_msg=f"parameter {i} after step {t + 1}")


# -- trajectories ----------------------------------------------------------------------------
@pytest.mark.parametrize(("opt_cls", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_update_rule(opt_cls, kwargs):
    groups = [([0, 1], kwargs)]
    assert_trajectories(run_tg(opt_cls, groups, STEPS), run_ref(opt_cls, groups, STEPS),
                        rtol=1e-12, atol=1e-13)


PER_GROUP = {
    optim.SGD: {"lr": 0.01, "momentum": 0.5, "nesterov": True},
    optim.Adagrad: {"lr": 0.5, "lr_decay": 0.1},
    optim.RMSprop: {"lr": 0.001, "centered": True, "momentum": 0.3},
    optim.Adam: {"lr": 0.2, "betas": (0.7, 0.95), "amsgrad": True},
    optim.AdamW: {"lr": 0.2, "weight_decay": 0.5},
}


@pytest.mark.parametrize("opt_cls", list(PER_GROUP), ids=lambda c: c.__name__)
def test_per_group_hyper_parameters(opt_cls):
    groups = [([0], {"lr": 0.05, "weight_decay": 0.01}), ([1], PER_GROUP[opt_cls])]
    assert_trajectories(run_tg(opt_cls, groups, STEPS), run_ref(opt_cls, groups, STEPS),
                        rtol=1e-12, atol=1e-13)


def run_torch(opt_cls, groups, steps):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(a, requires_grad=True) for a in initial_params()]
    grads = [make_grad(i) for i in range(len(params))]
    spec = [{"params": [params[i] for i in idx], **kw} for idx, kw in groups[1:]]
    torch_cls = getattr(torch.optim, opt_cls.__name__)
    opt = torch_cls([{"params": [params[i] for i in groups[0][0]]}, *spec], **groups[0][1])
    history = []
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.from_numpy(grads[i](p.detach().numpy().copy(), t))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize(("opt_cls", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_torch(opt_cls, kwargs):
    groups = [([0, 1], kwargs)]
    expected = run_torch(opt_cls, groups, 20)
    assert_trajectories(run_tg(opt_cls, groups, 20), expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("opt_cls", list(PER_GROUP), ids=lambda c: c.__name__)
def test_per_group_matches_torch(opt_cls):
    groups = [([0], {"lr": 0.05, "weight_decay": 0.01}), ([1], PER_GROUP[opt_cls])]
    expected = run_torch(opt_cls, groups, 20)
    assert_trajectories(run_tg(opt_cls, groups, 20), expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(("opt_cls", "kwargs"), CONFIGS, ids=IDS)
def test_float32_parameters_updated_in_place_in_their_dtype(opt_cls, kwargs):
    params = [tg.tensor(a, requires_grad=True) for a in initial_params(np.float32)]
    arrays = [p.numpy() for p in params]
    opt = opt_cls(params, **kwargs)
    for t in range(3):
        for i, p in enumerate(params):
            p.grad = tg.Tensor(make_grad(i)(p.numpy(), t).astype(np.float32))
        opt.step()
    expected = run_ref(opt_cls, [([0, 1], kwargs)], 3)[-1]
    for p, arr, e in zip(params, arrays, expected):
        assert p.numpy() is arr  # never rebound: modules and views hold this array
        assert p.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))
        np.testing.assert_allclose(p.numpy(), e, rtol=2e-4, atol=2e-5)


def test_parameters_without_gradient_are_skipped():
    a, b = tg.ones(3, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.tensor([1.0, -1.0, 2.0])
    opt.step()
    np.testing.assert_array_equal(b.numpy(), np.ones(2))
    assert b not in opt.state and opt.state[a]["step"] == 1
    # the first Adam step moves every coordinate by lr (m_hat / sqrt(v_hat) = sign(g))
    np.testing.assert_allclose(a.numpy(), [0.9, 1.1, 0.9], rtol=1e-6)


def test_gradients_from_backward_drive_the_update():
    """One SGD-momentum step through the engine: p -= lr * dL/dp, with L = sum(w * p^2)."""
    w = np.array([1.0, 2.0, -3.0])
    p = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    p0 = p.numpy().copy()
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    (tg.tensor(w) * p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), p0 - 0.1 * 2 * w * p0, rtol=1e-6)


# -- zero_grad and closure --------------------------------------------------------------------
def test_zero_grad_sets_to_none_by_default():
    p = tg.ones(2, requires_grad=True)
    (p * 3).sum().backward()
    optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


def test_zero_grad_in_place_zeroes_and_detaches():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)  # x.grad = 3 x^2 is a graph node
    assert x.grad.requires_grad
    opt = optim.SGD([x], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    (x * 5).sum().backward()  # accumulates onto the zeros
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_step_with_closure_returns_loss_and_records_under_no_grad():
    p = tg.tensor([3.0, -4.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()  # gradient 2 p
        loss.backward()
        calls.append(loss.item())
        return loss

    with tg.no_grad():  # step must still record the closure's graph
        loss = opt.step(closure)
    assert calls == [25.0] and loss.item() == 25.0
    np.testing.assert_allclose(p.numpy(), [3.0 - 0.25 * 6.0, -4.0 + 0.25 * 8.0])
    assert opt.step() is None


# -- constructing optimizers ------------------------------------------------------------------
INVALID = [
    (optim.SGD, {"lr": -1}, "SGD: Invalid learning rate: -1"),
    (optim.SGD, {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    (optim.SGD, {"weight_decay": -1e-3}, "Invalid weight_decay value: -0.001"),
    (optim.SGD, {"nesterov": True}, "Nesterov momentum requires a momentum"),
    (optim.SGD, {"momentum": 0.9, "dampening": 0.1, "nesterov": True}, "zero dampening"),
    (optim.Adagrad, {"lr": -1}, "Adagrad: Invalid learning rate: -1"),
    (optim.Adagrad, {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    (optim.Adagrad, {"initial_accumulator_value": -1}, "initial_accumulator_value value: -1"),
    (optim.Adagrad, {"eps": -1}, "Invalid epsilon value: -1"),
    (optim.RMSprop, {"alpha": -0.1}, "RMSprop: Invalid alpha value: -0.1"),
    (optim.RMSprop, {"momentum": -1}, "Invalid momentum value: -1"),
    (optim.RMSprop, {"eps": -1}, "Invalid epsilon value: -1"),
    (optim.Adam, {"lr": -1}, "Adam: Invalid learning rate: -1"),
    (optim.Adam, {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    (optim.Adam, {"eps": -1}, "Invalid epsilon value: -1"),
    (optim.AdamW, {"weight_decay": -1}, "AdamW: Invalid weight_decay value: -1"),
    (optim.AdamW, {"lr": float("nan")}, "AdamW: Invalid learning rate: nan"),
]


@pytest.mark.parametrize(("opt_cls", "kwargs", "message"), INVALID,
                         ids=[m for _, _, m in INVALID])
def test_invalid_hyper_parameters_name_optimizer_and_value(opt_cls, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        opt_cls([tg.ones(2, requires_grad=True)], **kwargs)


def test_defaults_match_pytorch():
    p = [tg.ones(1, requires_grad=True)]
    assert optim.SGD(p).defaults == {"lr": 1e-3, "momentum": 0, "dampening": 0,
                                     "weight_decay": 0, "nesterov": False, "maximize": False}
    assert optim.Adagrad(p).defaults == {"lr": 1e-2, "lr_decay": 0, "weight_decay": 0,
                                         "initial_accumulator_value": 0, "eps": 1e-10,
                                         "maximize": False}
    assert optim.RMSprop(p).defaults == {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8,
                                         "weight_decay": 0, "momentum": 0, "centered": False,
                                         "maximize": False}
    adam = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "maximize": False}
    assert optim.Adam(p).defaults == {**adam, "weight_decay": 0, "decoupled_weight_decay": False}
    assert optim.AdamW(p).defaults == {**adam, "weight_decay": 1e-2,
                                       "decoupled_weight_decay": True}


def test_bad_parameter_lists():
    a = tg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({a}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)


def test_param_groups_defaults_and_add_param_group():
    a, b, c = (tg.zeros(2, requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [c], "lr": 2.0, "momentum": 0.0})
    for p in (a, b, c):
        p.grad = tg.ones(2)
    opt.step()
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0], c.numpy()[0]], [-0.1, -0.5, -2.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_named_parameters_are_accepted():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    opt = optim.Adam([("layer.weight", a), ("layer.bias", b)])
    assert opt.param_groups[0]["params"] == [a, b]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["layer.weight", "layer.bias"]


def test_custom_optimizer_subclass_and_required_hyper_parameter():
    class SignSGD(optim.Optimizer):
        """p -= lr * sign(g)."""

        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

        def _update(self, p, g, state, group):
            p -= group["lr"] * np.sign(g)

    a = tg.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        SignSGD([a])
    opt = SignSGD([a], lr=0.5)
    a.grad = tg.tensor([3.0, -0.1])
    opt.step()
    np.testing.assert_array_equal(a.numpy(), [0.5, 1.5])
    assert "SignSGD (" in repr(opt) and "lr: 0.5" in repr(opt)


# -- the CS231n picture -------------------------------------------------------------------------
def quadratic_run(make_opt, h, x0, steps):
    """Minimise f(x) = 0.5 sum(h x^2) (minimum 0 at x = 0) through the engine."""
    x = tg.tensor(x0, requires_grad=True)
    opt = make_opt([x])
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (tg.tensor(h) * x * x).sum()).backward()
        opt.step()
    return x.numpy(), 0.5 * float(np.sum(h * x.numpy()**2))


def test_momentum_and_adam_beat_sgd_on_an_ill_conditioned_quadratic():
    h = np.logspace(0, 2, 10)  # curvatures 1 .. 100: condition number 100
    x0 = np.ones(10)
    lr, steps = 0.01, 100      # lr = 1 / largest curvature: SGD's best safe rate there
    x_sgd, f_sgd = quadratic_run(lambda p: optim.SGD(p, lr=lr), h, x0, steps)
    np.testing.assert_allclose(x_sgd, (1 - lr * h) ** steps * x0, rtol=1e-10, atol=1e-300)
    _, f_mom = quadratic_run(lambda p: optim.SGD(p, lr=lr, momentum=0.9), h, x0, steps)
    _, f_nag = quadratic_run(lambda p: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
                             h, x0, steps)
    _, f_adam = quadratic_run(lambda p: optim.Adam(p, lr=0.1), h, x0, steps)
    # plain SGD crawls along the flat direction: (1 - lr)^100 = 0.37 of the way left there
    assert f_sgd == pytest.approx(0.5 * np.sum(h * ((1 - lr * h) ** (2 * steps))))
    assert f_sgd > 0.05
    for f in (f_mom, f_nag, f_adam):
        assert f < f_sgd / 10


def test_adam_fits_least_squares_to_the_closed_form_solution():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.05 * rng.standard_normal(64)
    w = tg.zeros(3, requires_grad=True, dtype=tg.float64)
    b = tg.zeros(1, requires_grad=True, dtype=tg.float64)
    opt = optim.Adam([w, b], lr=0.05)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.995)
    Xt, yt = tg.tensor(X), tg.tensor(y)
    for _ in range(1500):
        opt.zero_grad()
        ((Xt @ w + b - yt) ** 2).mean().backward()
        opt.step()
        sched.step()
    solution = np.linalg.lstsq(np.c_[X, np.ones(64)], y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[w.numpy(), b.numpy()], solution, atol=1e-4)


def test_adagrad_step_sizes_shrink_as_sum_grows():
    """Constant gradient g: after t steps sum = t g^2, so step t moves lr / sqrt(t)."""
    p = tg.zeros(1, requires_grad=True, dtype=tg.float64)
    opt = optim.Adagrad([p], lr=1.0, eps=0.0)
    moves = []
    for _ in range(4):
        before = p.numpy().copy()
        p.grad = tg.tensor([2.0], dtype=tg.float64)
        opt.step()
        moves.append(float(before[0] - p.numpy()[0]))
    np.testing.assert_allclose(moves, [1 / math.sqrt(t) for t in range(1, 5)], rtol=1e-14)
