"""Conv / pooling / normalisation modules against PyTorch: state_dicts copied across, outputs
and gradients compared in float64, BatchNorm running statistics in train/eval, default init
bounds, reprs and state_dict keys."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn

torch = pytest.importorskip("torch")

TOL = {"rtol": 1e-9, "atol": 1e-10}

# name -> (factory taking the nn namespace, tg.nn or torch.nn; input shape)
CASES = {
    "conv1d": (lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "conv1d_groups": (lambda m: m.Conv1d(4, 6, 2, dilation=2, groups=2, bias=False), (2, 4, 7)),
    "conv2d": (lambda m: m.Conv2d(3, 5, 3, padding=1), (2, 3, 6, 5)),
    "conv2d_strided": (lambda m: m.Conv2d(4, 4, (3, 2), stride=(2, 1), groups=2), (2, 4, 7, 6)),
    "conv_transpose2d": (lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                                     output_padding=1), (2, 3, 4, 5)),
    "maxpool2d": (lambda m: m.MaxPool2d(2), (2, 3, 6, 6)),
    "maxpool2d_pad": (lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 6)),
    "avgpool2d": (lambda m: m.AvgPool2d(2, stride=1, padding=1), (2, 3, 5, 5)),
    "adaptive_avgpool2d": (lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    "adaptive_avgpool2d_1": (lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    "upsample_scale": (lambda m: m.Upsample(scale_factor=2), (2, 3, 3, 4)),
    "upsample_size": (lambda m: m.Upsample(size=(5, 7)), (2, 3, 3, 4)),
    "layernorm": (lambda m: m.LayerNorm((4, 5)), (3, 4, 5)),
    "layernorm_nobias": (lambda m: m.LayerNorm(5, bias=False), (3, 4, 5)),
    "groupnorm": (lambda m: m.GroupNorm(2, 6), (3, 6, 4, 4)),
    "instancenorm2d": (lambda m: m.InstanceNorm2d(3), (2, 3, 4, 5)),
    "instancenorm2d_affine": (lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
}


def _pair(make, seed=0):
    """(ours, theirs): torch's module in float64, its state copied into ours."""
    torch.manual_seed(seed)
    theirs = make(torch.nn).double()
    ours = make(nn)
    _copy(theirs, ours)
    return ours, theirs


def _copy(theirs, ours):
    """Copy torch's state (params and buffers) into ours, as float64."""
    for name, t in theirs.state_dict().items():
        a = t.detach().numpy().copy()
        mod, _, leaf = name.rpartition(".")
        owner = ours.get_submodule(mod)
        if leaf in owner._parameters:
            owner._parameters[leaf] = nn.Parameter(a)
        else:
            owner._buffers[leaf] = tg.Tensor(a)


def _check_step(ours, theirs, x, seed=1):
    """One forward/backward with the same upstream gradient: outputs, input and param grads."""
    xo = tg.Tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x.copy(), requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), **TOL)
    g = np.random.default_rng(seed).standard_normal(yo.shape)
    yo.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **TOL)
    params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), **TOL, err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_module_matches_torch(case):
    make, shape = CASES[case]
    ours, theirs = _pair(make)
    x = np.random.default_rng(0).standard_normal(shape)
    _check_step(ours, theirs, x)


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_keys_and_repr_match_torch(case):
    make, _ = CASES[case]
    ours, theirs = make(nn), make(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname and tuple(p.shape) == tuple(tp.shape)


BN_CASES = {
    "bn1d_2d": (lambda m, **k: m.BatchNorm1d(4, **k), (8, 4)),
    "bn1d_3d": (lambda m, **k: m.BatchNorm1d(4, **k), (6, 4, 5)),
    "bn2d": (lambda m, **k: m.BatchNorm2d(3, **k), (4, 3, 5, 4)),
}


@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"momentum": 0.3, "affine": False},
                                    {"track_running_stats": False}])
@pytest.mark.parametrize("case", sorted(BN_CASES))
def test_batchnorm_train_eval_running_stats_match_torch(case, kwargs):
    make, shape = BN_CASES[case]
    torch.manual_seed(0)
    theirs = make(torch.nn, **kwargs).double()
    with torch.no_grad():  # non-trivial affine
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape, dtype=torch.float64))
    ours = make(nn, **kwargs)
    _copy(theirs, ours)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        _check_step(ours, theirs, x, seed=step)
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd)
    for name, v in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(v.numpy()), sd[name].numpy(), **TOL, err_msg=name)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked.numpy()) == 3
    ours.eval()
    theirs.eval()
    _check_step(ours, theirs, rng.standard_normal(shape), seed=9)
    for name, v in ours.state_dict().items():  # eval leaves the statistics alone
        np.testing.assert_allclose(np.asarray(v.numpy()), sd[name].numpy(), **TOL, err_msg=name)


def test_batchnorm_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((5, 2)) for _ in range(4)]
    for x in xs:
        bn(tg.Tensor(x.astype(np.float32)))
    want = np.mean([x.mean(axis=0) for x in xs], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), want, rtol=1e-5)
    assert int(bn.num_batches_tracked.numpy()) == 4


def test_instancenorm_tracking_running_stats_matches_torch():
    ours, theirs = _pair(lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True))
    rng = np.random.default_rng(0)
    for step in range(2):
        _check_step(ours, theirs, rng.standard_normal((2, 3, 4, 4)) + 1, seed=step)
    sd = theirs.state_dict()
    for name, v in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(v.numpy()), sd[name].numpy(), **TOL, err_msg=name)
    ours.eval()
    theirs.eval()
    _check_step(ours, theirs, rng.standard_normal((2, 3, 4, 4)), seed=5)


@pytest.mark.parametrize("bad", [
    (lambda: nn.BatchNorm2d(3), (4, 3, 5), "expected 4D input"),
    (lambda: nn.BatchNorm1d(3), (4, 3, 5, 5), "expected 2D or 3D input"),
    (lambda: nn.InstanceNorm2d(3), (4, 3), "expected 3D or 4D input"),
])
def test_norm_input_dim_errors(bad):
    make, shape, msg = bad
    with pytest.raises(ValueError, match=msg):
        make()(tg.zeros(shape))


def test_padding_mode_other_than_zeros_is_rejected():
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(NotImplementedError, match="padding_mode='zeros'"):
            nn.Conv2d(2, 2, 3, padding_mode=mode)


def test_groupnorm_rejects_indivisible_channels():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


@pytest.mark.parametrize("make", [lambda: nn.Conv1d(6, 8, 5), lambda: nn.Conv2d(4, 32, 3),
                                  lambda: nn.Conv2d(8, 32, (3, 2), groups=2),
                                  lambda: nn.ConvTranspose2d(8, 6, 3, groups=2)])
def test_conv_default_init_bounds(make):
    tg.manual_seed(0)
    m = make()
    w = m.weight.numpy()
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias rule coincide
    for a in (w, m.bias.numpy()):
        assert np.abs(a).max() <= bound
        assert np.abs(a).max() > 0.7 * bound  # really spread over the range
    assert abs(w.std() - bound / math.sqrt(3)) < 0.2 * bound


def test_norm_default_init():
    for m in (nn.BatchNorm2d(3), nn.GroupNorm(1, 3), nn.LayerNorm(3),
              nn.InstanceNorm2d(3, affine=True)):
        np.testing.assert_array_equal(m.weight.numpy(), 1)
        np.testing.assert_array_equal(m.bias.numpy(), 0)
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)
    assert bn.num_batches_tracked.numpy().dtype == np.int64


def test_load_torch_state_dict_into_small_cnn():
    def build(m):
        return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                            m.MaxPool2d(2), m.Conv2d(4, 6, 3), m.GroupNorm(2, 6),
                            m.AdaptiveAvgPool2d(1), m.Flatten(), m.Linear(6, 3))
    torch.manual_seed(0)
    theirs = build(torch.nn).double()
    ours = build(nn)
    result = ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    yo = ours(tg.Tensor(x.astype(np.float32)))
    yt = theirs(torch.tensor(x))
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_unbatched_inputs_match_torch():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    for make in (lambda m: m.InstanceNorm2d(3), lambda m: m.Conv2d(3, 2, 3, padding=1),
                 lambda m: m.MaxPool2d(2)):
        ours, theirs = _pair(make)
        _check_step(ours, theirs, x)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_string_padding_matches_torch(padding):
    for ours, theirs, shape in [
        (nn.Conv2d(2, 3, 3, padding=padding, dtype=tg.float64),
         torch.nn.Conv2d(2, 3, 3, padding=padding, dtype=torch.float64), (1, 2, 6, 5)),
        (nn.Conv1d(2, 3, 4, padding=padding, dtype=tg.float64),
         torch.nn.Conv1d(2, 3, 4, padding=padding, dtype=torch.float64), (2, 2, 9)),
    ]:
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        x = np.random.default_rng(0).standard_normal(shape)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="'full'"):
        nn.Conv2d(2, 3, 3, padding="full")
