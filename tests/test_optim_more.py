"""Adadelta, Adamax, NAdam and RAdam (used by PyTorch's official examples) against torch.optim.

Oracle: ``torch.optim`` on the same float64 parameters and gradients, 20 steps, through
the harness of ``test_optim.py`` (gradients that depend on the parameters and the step).
RAdam's first steps (rho_t <= 5, plain momentum) and later ones (rectified) are both in.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_optim import assert_trajectories, run_tg, run_torch

import tinygrad_cs as tg
from tinygrad_cs import optim

CONFIGS = [
    (optim.Adadelta, {}),
    (optim.Adadelta, {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1}),
    (optim.Adadelta, {"maximize": True}),
    (optim.Adamax, {}),
    (optim.Adamax, {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True}),
    (optim.NAdam, {}),
    (optim.NAdam, {"lr": 0.05, "momentum_decay": 0.01, "weight_decay": 0.1}),
    (optim.NAdam, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
                   "maximize": True}),
    (optim.RAdam, {}),
    (optim.RAdam, {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    (optim.RAdam, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
       for cls, kw in CONFIGS]


def _tolerance(opt_cls) -> dict:
    # PyTorch keeps NAdam's running product of momenta in a float32 scalar tensor (its
    # default scalar dtype, checked) even for float64 parameters; ours is a float64 number,
    # so the two trajectories differ by that rounding (up to ~1e-9 absolute), and only there.
    if opt_cls is optim.NAdam:
        return {"rtol": 1e-6, "atol": 1e-8}
    return {"rtol": 1e-11, "atol": 1e-13}


@pytest.mark.parametrize(("opt_cls", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_torch(opt_cls, kwargs):
    groups = [([0, 1], kwargs)]
    expected = run_torch(opt_cls, groups, 20)
    assert_trajectories(run_tg(opt_cls, groups, 20), expected, **_tolerance(opt_cls))


@pytest.mark.parametrize("opt_cls", [optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam],
                         ids=lambda c: c.__name__)
def test_per_group_settings_and_state_dict_round_trip(opt_cls):
    groups = [([0], {"lr": 0.05}), ([1], {"lr": 0.2, "weight_decay": 0.01})]
    assert_trajectories(run_tg(opt_cls, groups, 20), run_torch(opt_cls, groups, 20),
                        **_tolerance(opt_cls))
    p = tg.tensor([1.0, -2.0], requires_grad=True)
    opt = opt_cls([p], lr=0.1)
    for _ in range(3):
        p.grad = tg.tensor([0.5, -1.0])
        opt.step()
    again = opt_cls([tg.tensor(p.numpy().copy(), requires_grad=True)], lr=0.1)
    again.load_state_dict(opt.state_dict())
    q = again.param_groups[0]["params"][0]
    p.grad, q.grad = tg.tensor([0.25, 0.5]), tg.tensor([0.25, 0.5])
    opt.step()
    again.step()
    np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("name,kwargs,message", [
    ("Adadelta", {"rho": 1.5}, "Invalid rho value"),
    ("Adamax", {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0"),
    ("NAdam", {"momentum_decay": -1.0}, "Invalid momentum_decay value"),
    ("RAdam", {"eps": -1.0}, "Invalid epsilon value"),
])
def test_invalid_settings_raise_as_torch(name, kwargs, message):
    torch = pytest.importorskip("torch")
    for lib in (optim, torch.optim):
        with pytest.raises(ValueError, match=message):
            getattr(lib, name)([tg.zeros(1, requires_grad=True)] if lib is optim
                               else [torch.zeros(1, requires_grad=True)], **kwargs)
