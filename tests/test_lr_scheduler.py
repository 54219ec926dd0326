"""tinygrad_cs.optim.lr_scheduler: learning-rate sequences against torch and hand-computed values.

Each schedule is built by a function ``make(m, opt)`` where ``m`` is the scheduler
module (ours or ``torch.optim.lr_scheduler``), so the very same code drives both.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import optim
from tinygrad_cs.optim import lr_scheduler

BASE_LRS = (0.1, 0.05)


def _metric(t: int) -> float:
    """A validation loss that improves, then plateaus with small wiggles, then improves again."""
    return max(1.0 / (1 + t), 0.2) + 0.01 * math.sin(1.7 * t) + (0.1 if t > 130 else 0.0)


CASES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=30, gamma=0.5), 200),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[80, 120, 150], gamma=0.1), 200),
    "MultiStepLR-repeated": (lambda m, o: m.MultiStepLR(o, [90, 30, 30], gamma=0.5), 200),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.98), 200),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=50), 200),
    "CosineAnnealingLR-eta_min": (lambda m, o: m.CosineAnnealingLR(o, 37, eta_min=1e-3), 200),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + 0.05 * e)), 200),
    "LambdaLR-per-group": (lambda m, o: m.LambdaLR(o, [lambda e: 0.99**e,
                                                       lambda e: 1 + (e % 7)]), 200),
    "LinearLR": (lambda m, o: m.LinearLR(o), 200),
    "LinearLR-custom": (lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.5,
                                                total_iters=40), 200),
    "SequentialLR-warmup-cosine": (
        lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=10),
                                        m.CosineAnnealingLR(o, T_max=190)], milestones=[10]),
        200),
    "SequentialLR-three": (
        lambda m, o: m.SequentialLR(o, [m.LinearLR(o), m.StepLR(o, 30),
                                        m.ExponentialLR(o, 0.97)], milestones=[20, 100]),
        200),
    "chained-Step-Exponential": (lambda m, o: (m.StepLR(o, 25, gamma=0.5),
                                               m.ExponentialLR(o, 0.99)), 200),
    "OneCycleLR-SGD": (lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=200), 199),
    "OneCycleLR-Adam-linear-three-phase": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.01, epochs=10, steps_per_epoch=20,
                                  anneal_strategy="linear", three_phase=True), 200),
    "OneCycleLR-options": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=150, pct_start=0.25,
                                  div_factor=10.0, final_div_factor=100.0,
                                  cycle_momentum=False), 150),
    "ReduceLROnPlateau": (lambda m, o: m.ReduceLROnPlateau(o, patience=5), 200),
    "ReduceLROnPlateau-max-abs": (
        lambda m, o: m.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=3,
                                         threshold=0.05, threshold_mode="abs", cooldown=4,
                                         min_lr=[0.01, 0.002]), 200),
}
ADAM_CASES = {"OneCycleLR-Adam-linear-three-phase"}


def _schedulers(made):
    return made if isinstance(made, tuple) else (made,)


def _record(opt, momentum_key):
    lrs = [g["lr"] for g in opt.param_groups]
    moms = [g["betas"][0] if momentum_key == "betas" else g["momentum"]
            for g in opt.param_groups]
    return lrs + [float(m) for m in moms]


def _step(schedulers, t):
    for s in schedulers:
        if type(s).__name__ == "ReduceLROnPlateau":  # ours or torch's: step takes the metric
            s.step(_metric(t))
        else:
            s.step()


def make_optimizer(name, params, module):
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, BASE_LRS)]
    if name in ADAM_CASES:
        return module.Adam(groups), "betas"
    return module.SGD(groups, momentum=0.9), "momentum"


def run_ours(name, steps=None, start=None):
    """The [lr per group + momentum per group] after construction and after each step."""
    make, n = CASES[name]
    params = [tg.zeros(1, requires_grad=True) for _ in BASE_LRS]
    opt, key = make_optimizer(name, params, optim)
    scheds = _schedulers(make(lr_scheduler, opt))
    out = [_record(opt, key)]
    for t in range(steps if steps is not None else n):
        opt.step()
        _step(scheds, t)
        out.append(_record(opt, key))
    return out, opt, scheds


def run_torch(name):
    torch = pytest.importorskip("torch")
    make, n = CASES[name]
    params = [torch.zeros(1, requires_grad=True) for _ in BASE_LRS]
    opt, key = make_optimizer(name, params, torch.optim)
    scheds = _schedulers(make(torch.optim.lr_scheduler, opt))
    out = [_record(opt, key)]
    for t in range(n):
        opt.step()
        _step(scheds, t)
        out.append(_record(opt, key))
    return out


# -- against torch --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    expected = run_torch(name)
    ours, _, scheds = run_ours(name)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    assert scheds[-1].get_last_lr() == pytest.approx(expected[-1][:2], rel=1e-12)


# -- hand-computed values ---------------------------------------------------------------------
def lrs_of(name):
    return np.array(run_ours(name)[0])[:, :2]


def test_multistep_decays_at_80_120_150():
    lrs = lrs_of("MultiStepLR")[:, 0]
    for epoch, expected in [(0, 0.1), (79, 0.1), (80, 0.01), (119, 0.01), (120, 1e-3),
                            (149, 1e-3), (150, 1e-4), (200, 1e-4)]:
        assert lrs[epoch] == pytest.approx(expected, rel=1e-12), epoch


def test_step_exponential_and_repeated_milestones_closed_forms():
    e = np.arange(201)
    np.testing.assert_allclose(lrs_of("StepLR")[:, 0], 0.1 * 0.5 ** (e // 30), rtol=1e-12)
    np.testing.assert_allclose(lrs_of("ExponentialLR")[:, 1], 0.05 * 0.98**e, rtol=1e-12)
    hits = (e >= 30) * 2 + (e >= 90)  # milestone 30 listed twice: decays by gamma^2 there
    np.testing.assert_allclose(lrs_of("MultiStepLR-repeated")[:, 0], 0.1 * 0.5**hits,
                               rtol=1e-12)


def test_cosine_follows_closed_form_and_its_period():
    e = np.arange(201)
    closed = 1e-3 + (0.1 - 1e-3) * (1 + np.cos(np.pi * e / 37)) / 2
    np.testing.assert_allclose(lrs_of("CosineAnnealingLR-eta_min")[:, 0], closed, rtol=1e-9)
    lrs = lrs_of("CosineAnnealingLR")[:, 0]
    assert lrs[50] == pytest.approx(0.0, abs=1e-15) and lrs[100] == pytest.approx(0.1)


def test_linear_warmup_values():
    # start 1/3, end 1, 5 iterations: factors 1/3 + (2/3) e / 5 = 5/15, 7/15, ..., 15/15
    lrs = lrs_of("LinearLR")[:8, 0]
    np.testing.assert_allclose(lrs, 0.1 * np.array([5, 7, 9, 11, 13, 15, 15, 15]) / 15,
                               rtol=1e-12)


def test_lambda_values():
    e = np.arange(201)
    lrs = lrs_of("LambdaLR-per-group")
    np.testing.assert_allclose(lrs[:, 0], 0.1 * 0.99**e, rtol=1e-12)
    np.testing.assert_allclose(lrs[:, 1], 0.05 * (1 + e % 7), rtol=1e-12)


def test_sequential_warmup_then_cosine_from_base_lr():
    lrs = lrs_of("SequentialLR-warmup-cosine")[:, 0]
    warm = np.arange(10)  # LinearLR from 0.1 to 1 over 10 epochs: factor 0.1 + 0.09 e
    np.testing.assert_allclose(lrs[:10], 0.1 * (0.1 + 0.09 * warm), rtol=1e-12)
    e = np.arange(191)    # then the cosine restarts at its epoch 0, from the base lr
    np.testing.assert_allclose(lrs[10:], 0.1 * (1 + np.cos(np.pi * e / 190)) / 2, rtol=1e-9,
                               atol=1e-15)


def test_one_cycle_landmarks():
    rows = np.array(run_ours("OneCycleLR-SGD")[0])
    lr, mom = rows[:, 0], rows[:, 2]
    peak = int(0.3 * 200) - 1  # the warm-up ends at step pct_start * total_steps - 1
    assert lr[0] == pytest.approx(1.0 / 25) and mom[0] == pytest.approx(0.95)
    assert lr[peak] == pytest.approx(1.0) and mom[peak] == pytest.approx(0.85)
    assert lr[199] == pytest.approx(1.0 / 25 / 1e4) and mom[199] == pytest.approx(0.95)
    assert lr.argmax() == peak and np.all(np.diff(lr[:peak + 1]) > 0)
    assert np.all(np.diff(lr[peak:]) < 0)
    # the cosine leg's midpoint lies halfway between max_lr and min_lr
    assert lr[peak + 70] == pytest.approx((1.0 + 1.0 / 25 / 1e4) / 2)


def test_one_cycle_three_phase_moves_adam_beta1():
    rows = np.array(run_ours("OneCycleLR-Adam-linear-three-phase")[0])
    lr, beta1 = rows[:, 0], rows[:, 2]
    # linear: up over 60 steps (0..59), down over 59 (59..118), then to min_lr at 199
    np.testing.assert_allclose(lr[:60], 4e-4 + (0.01 - 4e-4) * np.arange(60) / 59, rtol=1e-12)
    assert lr[118] == pytest.approx(4e-4) and lr[199] == pytest.approx(4e-8)
    assert beta1[59] == pytest.approx(0.85) and beta1[118] == pytest.approx(0.95)


def test_one_cycle_refuses_steps_past_the_end():
    _, _, (sched,) = run_ours("OneCycleLR-options")  # 150 steps after construction
    assert sched.last_epoch == sched.total_steps == 150
    with pytest.raises(ValueError, match="Tried to step 151 times"):
        sched.step()


def test_plateau_hand_trace():
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=2, cooldown=1, factor=0.5,
                                           min_lr=0.2)
    metrics = [1.0, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5, 0.5, 0.5, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5]
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    # epochs 3-5 are bad (3 > patience) -> 0.5 at epoch 5; epoch 6 is cooldown (and 0.49999
    # is only a 2e-5 relative gain, under the 1e-4 threshold); epochs 7-9 bad -> 0.25; 0.4
    # at epoch 10 is a new best; 11-13 bad -> max(0.125, min_lr) = 0.2, where it stays
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2,
                   0.2]
    assert sched.get_last_lr() == [0.2] and sched.best == 0.4


# -- state dicts --------------------------------------------------------------------------
def json_round_trip(obj):
    """What a checkpoint's JSON index does: tuples become lists, dict keys strings."""
    return json.loads(json.dumps(obj))


@pytest.mark.parametrize("through", ["dict", "json", "checkpoint"])
@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_resumes_the_sequence(name, through, tmp_path):
    full, _, _ = run_ours(name)
    k = 37
    _, opt, scheds = run_ours(name, steps=k)
    saved_opt = opt.state_dict()
    saved = [s.state_dict() for s in scheds]
    if through == "json":
        saved = json_round_trip(saved)
        saved_opt = {"state": {}, "param_groups": json_round_trip(saved_opt["param_groups"])}
    elif through == "checkpoint":
        if not hasattr(tg, "save"):
            pytest.skip("tg.save / tg.load not available")
        tg.save({"optimizer": saved_opt, "schedulers": saved}, tmp_path / "ckpt.npz")
        loaded = tg.load(tmp_path / "ckpt.npz")
        saved_opt, saved = loaded["optimizer"], loaded["schedulers"]

    make, n = CASES[name]
    params = [tg.zeros(1, requires_grad=True) for _ in BASE_LRS]
    opt2, key = make_optimizer(name, params, optim)
    scheds2 = _schedulers(make(lr_scheduler, opt2))  # construction steps the lrs: loads undo
    opt2.load_state_dict(saved_opt)
    for s, sd in zip(scheds2, saved):
        s.load_state_dict(sd)
    resumed = [_record(opt2, key)]
    for t in range(k, n):
        opt2.step()
        _step(scheds2, t)
        resumed.append(_record(opt2, key))
    assert resumed == full[k:]


def test_state_dict_is_plain_data_and_a_snapshot():
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    warm = lr_scheduler.LinearLR(opt, total_iters=4)
    sched = lr_scheduler.SequentialLR(opt, [warm, lr_scheduler.StepLR(opt, 3)], [4])
    sd = sched.state_dict()
    assert "optimizer" not in sd and "optimizer" not in sd["_schedulers"][0]
    assert json_round_trip(sd) == sd  # numbers, strings, lists and dicts only
    sched.step()
    assert sd["last_epoch"] == 0 and sd["_schedulers"][0]["last_epoch"] == 0


class Warmup:
    """A callable object: its attributes go into LambdaLR's state dict."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.steps)


def test_lambda_state_dict_keeps_callable_objects_attributes_not_functions():
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([{"params": [p]}, {"params": [tg.zeros(1, requires_grad=True)]}], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, [Warmup(10), lambda e: 0.5**e])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"steps": 10}, None]
    other = Warmup(3)
    sched2 = lr_scheduler.LambdaLR(opt, [other, lambda e: 0.5**e])
    sched2.load_state_dict(sd)
    assert other.steps == 10 and callable(sched2.lr_lambdas[1])


# -- construction and misuse ----------------------------------------------------------------
def test_construction_records_initial_lr_once_and_resume_needs_it():
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    lr_scheduler.LinearLR(opt, start_factor=0.5)
    lr_scheduler.ExponentialLR(opt, 0.9)  # a second scheduler keeps the true starting lr
    assert opt.param_groups[0]["initial_lr"] == 0.1
    fresh = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(fresh, 10, last_epoch=5)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([p], 10)


def test_step_with_epoch_jumps_to_closed_form_with_a_warning():
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.last_epoch == 5 and sched.get_last_lr() == [pytest.approx(0.05)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # the usual call does not warn
    assert sched.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.6)))


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative"),
    (lambda o: lr_scheduler.LambdaLR(o, [abs, abs]), ValueError, "Expected 1 lr_lambdas"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1), ValueError, "total_steps OR"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, [0.1, 0.2], 10), ValueError, "max_lr must have"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="mean"), ValueError, "mode mean"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
     "threshold mode x"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0, 0]), ValueError, "expected 1"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]), ValueError,
     "one more than the number of milestone"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
     ValueError, "does not support ReduceLROnPlateau"),
])
def test_invalid_arguments(make, error, message):
    opt = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(error, match=message):
        make(opt)


def test_one_cycle_needs_momentum_to_cycle():
    opt = optim.Adagrad([tg.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10)
    sched = lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.004)]


def test_sequential_rejects_a_scheduler_of_another_optimizer():
    a = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    b = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(a, [lr_scheduler.StepLR(a, 2), lr_scheduler.StepLR(b, 2)], [3])
