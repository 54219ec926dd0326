"""Optimizer state dicts: PyTorch's layout, round trips (through JSON as a checkpoint stores
them) that resume bit for bit, validation before anything changes, and ``tg.save``.

Oracles: the uninterrupted run (a resumed one must match it exactly), torch.optim's own
state dicts when installed, and the harness of ``test_optim.py``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_optim import CONFIGS, IDS, PER_GROUP, initial_params, make_grad

import tinygrad_cs as tg
from tinygrad_cs import optim


def json_round_trip(obj):
    """What a checkpoint does to a state dict: arrays stored apart, the rest through JSON
    (integer keys become strings, tuples become lists)."""
    arrays = []

    def encode(o):
        if isinstance(o, np.ndarray):
            arrays.append(o.copy())
            return {"__array__": len(arrays) - 1}
        if isinstance(o, dict):
            return {k: encode(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [encode(v) for v in o]
        return o

    def decode(o):
        if isinstance(o, dict):
            return arrays[o["__array__"]] if "__array__" in o else {k: decode(v)
                                                                    for k, v in o.items()}
        if isinstance(o, list):
            return [decode(v) for v in o]
        return o

    return decode(json.loads(json.dumps(encode(obj))))


def train(opt, params, t0, steps):
    for t in range(t0, t0 + steps):
        for i, p in enumerate(params):
            p.grad = tg.Tensor(make_grad(i)(p.numpy(), t))
        opt.step()


def two_group_optimizer(opt_cls, kwargs, params):
    other = PER_GROUP[opt_cls]
    return opt_cls([{"params": [params[0]]}, {"params": [params[1]], **other}], **kwargs)


@pytest.mark.parametrize("through_json", [False, True], ids=["dict", "json"])
@pytest.mark.parametrize(("opt_cls", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_resumes_bit_for_bit(opt_cls, kwargs, through_json):
    n, m = 5, 4
    full = [tg.tensor(a, requires_grad=True) for a in initial_params()]
    train(two_group_optimizer(opt_cls, kwargs, full), full, 0, n + m)

    first = [tg.tensor(a, requires_grad=True) for a in initial_params()]
    opt = two_group_optimizer(opt_cls, kwargs, first)
    train(opt, first, 0, n)
    saved = opt.state_dict()
    snapshot = [p.numpy().copy() for p in first]
    train(opt, first, n, 2)  # later steps must not leak into the state dict taken above
    if through_json:
        saved = json_round_trip(saved)

    resumed = [tg.tensor(a, requires_grad=True) for a in snapshot]
    # default hyper-parameters: the state dict brings back the ones of the run
    opt2 = two_group_optimizer(opt_cls, {}, resumed)
    opt2.load_state_dict(saved)
    train(opt2, resumed, n, m)
    for a, b in zip(resumed, full):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_layout_is_pytorch_s():
    a, b, c = (tg.zeros(2, requires_grad=True) for _ in range(3))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}], amsgrad=True)
    for p in (a, c):
        p.grad = tg.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    np.testing.assert_allclose(sd["state"][2]["exp_avg"], [0.1, 0.1])
    sd["state"][2]["exp_avg"][:] = 7.0
    assert opt.state[c]["exp_avg"][0] == pytest.approx(0.1)  # a copy, not the live state


def test_state_dict_matches_torch_s():
    torch = pytest.importorskip("torch")
    p0 = initial_params()
    ours = [tg.tensor(a, requires_grad=True) for a in p0]
    theirs = [torch.tensor(a, requires_grad=True) for a in p0]
    opt = optim.RMSprop(ours, momentum=0.9, centered=True)
    topt = torch.optim.RMSprop(theirs, momentum=0.9, centered=True)
    for t in range(3):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            p.grad = tg.Tensor(make_grad(i)(p.numpy(), t))
            q.grad = torch.from_numpy(make_grad(i)(q.detach().numpy().copy(), t))
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for k in sd["state"]:
        assert sd["state"][k].keys() == tsd["state"][k].keys()
        for name, value in sd["state"][k].items():
            np.testing.assert_allclose(value, tsd["state"][k][name].numpy(), rtol=1e-12)
    ours_group = sd["param_groups"][0]
    assert {k: tsd["param_groups"][0][k] for k in ours_group} == ours_group


def test_load_state_dict_validates_before_changing_anything():
    a, b = tg.zeros((2, 3), requires_grad=True), tg.zeros(4, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = tg.ones((2, 3)), tg.ones(4)
    opt.step()
    before = opt.state_dict()

    two_groups = optim.Adam([{"params": [a]}, {"params": [b]}]).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        opt.load_state_dict(two_groups)
    with pytest.raises(ValueError, match="group 0 has 1 parameters, the optimizer's group has 2"):
        opt.load_state_dict(optim.Adam([a]).state_dict())
    bad = optim.Adam([a, b], lr=0.5).state_dict()
    bad["state"] = {0: dict(before["state"][0]), 1: dict(before["state"][1])}
    bad["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 1 has shape \(5,\), but the "
                                         r"parameter has shape \(4,\)"):
        opt.load_state_dict(bad)
    bad["state"] = {7: before["state"][0]}
    with pytest.raises(ValueError, match="parameter index 7"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="no 'state' entry"):
        opt.load_state_dict({"param_groups": before["param_groups"]})

    after = opt.state_dict()  # every failure above left the optimizer as it was
    assert after["param_groups"] == before["param_groups"]
    for k in before["state"]:
        for name, v in before["state"][k].items():
            np.testing.assert_array_equal(after["state"][k][name], v)


def test_load_state_dict_casts_state_to_parameter_dtype():
    a = tg.tensor(np.zeros(3, np.float32), requires_grad=True)
    src = tg.tensor(np.zeros(3), requires_grad=True)
    opt64 = optim.SGD([src], lr=0.1, momentum=0.9)
    src.grad = tg.ones(3, dtype=tg.float64)
    opt64.step()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.load_state_dict(opt64.state_dict())
    assert opt.state[a]["momentum_buffer"].dtype == np.float32


@pytest.mark.skipif(not hasattr(tg, "save"), reason="tg.save / tg.load not available yet")
def test_checkpoint_through_tg_save(tmp_path):
    params = [tg.tensor(a, requires_grad=True) for a in initial_params()]
    opt = optim.Adam(params, lr=0.05, amsgrad=True)
    train(opt, params, 0, 3)
    tg.save({"optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    resumed = [tg.tensor(p.numpy(), requires_grad=True) for p in params]
    opt2 = optim.Adam(resumed)
    opt2.load_state_dict(tg.load(tmp_path / "ckpt.npz")["optim"])
    train(opt, params, 3, 3)
    train(opt2, resumed, 3, 3)
    for a, b in zip(resumed, params):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


