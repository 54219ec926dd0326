"""``tg.optim.LBFGS``: trajectories against ``torch.optim.LBFGS`` in float64, a closed form,
state dicts and errors."""
import io

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn import functional as F

RNG = np.random.default_rng(0)
A_LS, B_LS = RNG.standard_normal((30, 5)), RNG.standard_normal(30)
X_LOG = RNG.standard_normal((60, 3))
Y_LOG = (X_LOG @ np.array([1.5, -2.0, 0.5]) + 0.3 * RNG.standard_normal(60) > 0).astype(float)


def rosenbrock(lib, x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def least_squares(lib, x):
    return ((lib.tensor(A_LS) @ x - lib.tensor(B_LS)) ** 2).mean()


def logistic(lib, w, b):
    f = lib.nn.functional if lib is not tg else F
    logits = (lib.tensor(X_LOG) @ w).reshape(-1) + b
    return f.binary_cross_entropy_with_logits(logits, lib.tensor(Y_LOG))


def _pair(torch, problem, inits, steps, **options):
    """Run both optimizers on ``problem`` from ``inits``; per step, the parameters, the
    returned loss and the evaluation counts must agree."""
    ours = [tg.tensor(a.copy(), requires_grad=True) for a in inits]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inits]
    opt, ref = tg.optim.LBFGS(ours, **options), torch.optim.LBFGS(theirs, **options)

    def closure():
        opt.zero_grad()
        loss = problem(tg, *ours)
        loss.backward()
        return loss

    def ref_closure():
        ref.zero_grad()
        loss = problem(torch, *theirs)
        loss.backward()
        return loss

    for step in range(steps):
        loss, ref_loss = opt.step(closure), ref.step(ref_closure)
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"loss of step {step}")
        for i, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=f"parameter {i} after step {step}")
        for key in ("func_evals", "n_iter"):
            assert opt.state[ours[0]][key] == ref.state[theirs[0]][key], (key, step)
    return ours, opt


# -- against PyTorch, step by step, float64 ---------------------------------------------------
# tolerance: rtol 1e-8 on the parameters (and 1e-9 on the loss): the two evaluate the loss
# and its gradient with different rounding, and Rosenbrock's valley amplifies that
# difference chaotically without a line search, so that run is compared for 30 iterations.
@pytest.mark.parametrize("line_search, lr, steps", [(None, 0.1, 3), ("strong_wolfe", 1, 8)])
def test_rosenbrock_follows_torch(line_search, lr, steps):
    torch = pytest.importorskip("torch")
    (x,), _ = _pair(torch, rosenbrock, [np.array([-1.5, 2.0])], steps, lr=lr, max_iter=10,
                    line_search_fn=line_search)
    if line_search:
        np.testing.assert_allclose(x.numpy(), [1.0, 1.0], atol=1e-4)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_least_squares_follows_torch(line_search):
    torch = pytest.importorskip("torch")
    (x,), _ = _pair(torch, least_squares, [np.zeros(5)], 4, max_iter=8,
                    line_search_fn=line_search)
    solution = np.linalg.lstsq(A_LS, B_LS, rcond=None)[0]
    best = least_squares(tg, tg.tensor(solution)).item()
    assert 0 <= least_squares(tg, x).item() - best < 1e-8  # stopped by tolerance_change


@pytest.mark.parametrize("line_search, history", [(None, 100), ("strong_wolfe", 3)])
def test_logistic_regression_with_two_parameters_follows_torch(line_search, history):
    torch = pytest.importorskip("torch")
    _pair(torch, logistic, [np.zeros((3, 1)), np.zeros(1)], 3, lr=0.5, max_iter=10,
          history_size=history, line_search_fn=line_search)


def test_a_small_network_follows_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    inits = [p.detach().double().numpy() for p in net.parameters()]
    target = np.sin(X_LOG.sum(axis=1, keepdims=True))

    def loss(lib, w1, b1, w2, b2):
        hidden = lib.tanh(lib.tensor(X_LOG) @ w1.T + b1)
        return ((hidden @ w2.T + b2 - lib.tensor(target)) ** 2).mean()

    _pair(torch, loss, inits, 3, max_iter=15, history_size=5, line_search_fn="strong_wolfe")


# -- closed form --------------------------------------------------------------------------------
def test_a_quadratic_converges_to_its_minimiser_in_few_iterations():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((6, 6))
    a, b = m @ m.T + 6 * np.eye(6), rng.standard_normal(6)  # symmetric positive definite
    x = tg.tensor(np.zeros(6), requires_grad=True)
    # tolerance_grad 1e-8, not tighter: near 1e-9 the gradient is float64 rounding noise
    # (|a| ~ 20), the search direction stops being one of descent and where exactly that
    # happens depends on the BLAS build's summation order
    opt = tg.optim.LBFGS([x], max_iter=50, tolerance_grad=1e-8, tolerance_change=0,
                         line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (tg.tensor(a) @ x)) - tg.tensor(b) @ x
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-8, atol=1e-9)
    # BFGS with exact line searches ends in n = 6 iterations; Wolfe steps are inexact
    assert opt.state[x]["n_iter"] <= 20

    before = dict(opt.state[x])
    opt.step(closure)  # at the minimiser: one evaluation, no iteration
    assert opt.state[x]["func_evals"] == before["func_evals"] + 1
    assert opt.state[x]["n_iter"] == before["n_iter"]


# -- state dicts -------------------------------------------------------------------------------
def _least_squares_run(x, opt):
    def closure():
        opt.zero_grad()
        loss = least_squares(tg, x)
        loss.backward()
        return loss
    return closure


def test_state_dict_round_trip_continues_identically():
    x = tg.tensor(np.zeros(5), requires_grad=True)
    opt = tg.optim.LBFGS([x], max_iter=2, max_eval=10, history_size=2)
    for _ in range(2):
        opt.step(_least_squares_run(x, opt))
    snapshot = opt.state_dict()
    assert snapshot["state"][0]["n_iter"] == 4 and len(snapshot["state"][0]["old_dirs"]) == 2
    buffer = io.BytesIO()
    tg.save(snapshot, buffer)
    buffer.seek(0)

    y = tg.tensor(x.numpy().copy(), requires_grad=True)
    resumed = tg.optim.LBFGS([y], max_iter=2, max_eval=10, history_size=2)
    resumed.load_state_dict(tg.load(buffer))
    for _ in range(2):
        opt.step(_least_squares_run(x, opt))
        resumed.step(_least_squares_run(y, resumed))
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert snapshot["state"][0]["n_iter"] == 4  # the snapshot did not move with the optimizer
    assert resumed.state[y]["func_evals"] == opt.state[x]["func_evals"]


def test_torchs_state_dict_loads_and_continues_as_torch_does(tmp_path):
    torch = pytest.importorskip("torch")
    theirs = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    ref = torch.optim.LBFGS([theirs], max_iter=3, line_search_fn="strong_wolfe")

    def ref_closure():
        ref.zero_grad()
        loss = least_squares(torch, theirs)
        loss.backward()
        return loss

    ref.step(ref_closure)
    torch.save(ref.state_dict(), tmp_path / "lbfgs.pt")
    x = tg.tensor(theirs.detach().numpy().copy(), requires_grad=True)
    opt = tg.optim.LBFGS([x], max_iter=3, line_search_fn="strong_wolfe")
    opt.load_state_dict(tg.load(tmp_path / "lbfgs.pt"))
    ref.step(ref_closure)
    opt.step(_least_squares_run(x, opt))
    np.testing.assert_allclose(x.numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_a_state_vector_of_the_wrong_size_is_refused():
    x = tg.tensor(np.zeros(5), requires_grad=True)
    opt = tg.optim.LBFGS([x], max_iter=2)
    opt.step(_least_squares_run(x, opt))
    state = opt.state_dict()
    state["state"][0]["d"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"state 'd' of parameter 0 has shape \(4,\).* 5 "):
        opt.load_state_dict(state)


# -- errors: they name the problem and change nothing -----------------------------------------------
def test_a_step_without_closure_or_with_a_bad_one_changes_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = tg.optim.LBFGS([x], line_search_fn="strong_wolfe")
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()

    calls = []

    def failing():  # the line search's third evaluation fails
        calls.append(1)
        if len(calls) == 3:
            raise FloatingPointError("the model blew up")
        opt.zero_grad()
        loss = rosenbrock(tg, x)
        loss.backward()
        return loss

    with pytest.raises(FloatingPointError):
        opt.step(failing)
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    assert "n_iter" not in opt.state[x]

    def not_a_loss():
        opt.zero_grad()
        (x * x).sum().backward()
        return x * x

    with pytest.raises(TypeError, match=r"must return the loss.*shape \(2,\)"):
        opt.step(not_a_loss)
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


def test_unsupported_settings_are_refused():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        tg.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="parameter 1 .*shape \\(3,\\).* is float64"):
        tg.optim.LBFGS([a, tg.zeros(3, dtype=tg.float64, requires_grad=True)])
    with pytest.raises(ValueError, match="only 'strong_wolfe'"):
        tg.optim.LBFGS([a], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="Invalid learning rate"):
        tg.optim.LBFGS([a], lr=-1)
    opt = tg.optim.LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})
    assert opt.defaults["max_eval"] == 25  # max_iter * 5 // 4, as in torch
