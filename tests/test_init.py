"""nn.init: gains, fans, and the statistics of each scheme against its formula.

Tensors are large (>= 250,000 draws) so the sample std is within ~0.3% of the
true one (relative standard error 1/sqrt(2N)); the tolerance is 2%.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn import init


def close(a: float, b: float, rel: float = 0.02) -> bool:
    return abs(a - b) <= rel * abs(b)


@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2.0)),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01**2))),
    ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)), ("leaky_relu", 0, math.sqrt(2.0)),
    ("selu", None, 0.75)])
def test_calculate_gain_closed_forms(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_matches_pytorch_and_rejects_bad_input():
    torch = pytest.importorskip("torch")
    for name in ("linear", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        for param in (None, 0.3):
            assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape, fans", [
    ((7, 5), (5, 7)), ((16, 3, 3, 3), (27, 144)), ((4, 2, 5), (10, 20)),
    ((8, 4, 2, 3, 3), (72, 144))])
def test_fans_follow_out_in_kernel_layout(shape, fans):
    assert init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == fans


def test_fans_match_pytorch_and_need_two_dims():
    torch = pytest.importorskip("torch")
    for shape in [(3, 2), (6, 4, 5), (16, 8, 3, 3), (2, 3, 1, 1, 4)]:
        ours = init._calculate_fan_in_and_fan_out(tg.zeros(*shape))
        assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tg.zeros(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(tg.zeros(3, 3), mode="fan_avg")


def test_kaiming_normal_std_is_sqrt_2_over_fan_in():
    w = nn.Parameter(tg.zeros(500, 512))
    assert init.kaiming_normal_(w, nonlinearity="relu") is w  # works on a parameter, in place
    assert w.requires_grad and w.dtype == np.float32
    assert close(w.numpy().std(), math.sqrt(2.0 / 512))
    assert abs(w.numpy().mean()) < 0.01 * math.sqrt(2.0 / 512) * 5


def test_kaiming_defaults_are_leaky_relu_with_a_zero_which_is_he_init():
    conv = tg.zeros(64, 32, 3, 3, dtype=tg.float64)  # fan_in = 288, fan_out = 576
    init.kaiming_normal_(conv)
    assert conv.dtype == np.float64 and close(conv.numpy().std(), math.sqrt(2.0 / 288))
    init.kaiming_normal_(conv, mode="fan_out", nonlinearity="relu")
    assert close(conv.numpy().std(), math.sqrt(2.0 / 576))
    init.kaiming_normal_(conv, a=0.2)
    assert close(conv.numpy().std(), math.sqrt(2.0 / 1.04) / math.sqrt(288))


def test_kaiming_uniform_bound_and_std():
    w = tg.zeros(600, 400)
    init.kaiming_uniform_(w, a=math.sqrt(5))  # torch.nn.Linear's default weight init
    gain = math.sqrt(2.0 / (1 + 5))
    bound = math.sqrt(3.0) * gain / math.sqrt(400)  # = 1 / sqrt(fan_in)
    assert bound == pytest.approx(1 / math.sqrt(400))
    assert w.numpy().max() <= bound and w.numpy().min() >= -bound
    assert w.numpy().max() > 0.99 * bound and w.numpy().min() < -0.99 * bound
    assert close(w.numpy().std(), bound / math.sqrt(3.0))


def test_xavier_uniform_and_normal():
    w = tg.zeros(300, 900)
    init.xavier_uniform_(w, gain=init.calculate_gain("tanh"))
    std = 5.0 / 3 * math.sqrt(2.0 / 1200)
    assert np.abs(w.numpy()).max() <= math.sqrt(3.0) * std
    assert close(w.numpy().std(), std)
    init.xavier_normal_(w)
    assert close(w.numpy().std(), math.sqrt(2.0 / 1200))


def test_statistics_agree_with_pytorchs_initialisers():
    torch = pytest.importorskip("torch")
    shape = (256, 128, 3, 3)
    schemes = [(init.kaiming_normal_, torch.nn.init.kaiming_normal_, {}),
               (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"mode": "fan_out"}),
               (init.xavier_normal_, torch.nn.init.xavier_normal_, {"gain": 2.0}),
               (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {})]
    for ours, theirs, kwargs in schemes:
        a = ours(tg.zeros(*shape), **kwargs).numpy()
        b = theirs(torch.zeros(shape), **kwargs).numpy()
        assert close(a.std(), b.std()), ours.__name__
        # same distribution shape, not just the same std: compare a high quantile of |w|
        assert close(np.quantile(np.abs(a), 0.99), np.quantile(np.abs(b), 0.99)), ours.__name__


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (16, 4, 3, 3), (30, 30)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = init.orthogonal_(tg.zeros(*shape, dtype=tg.float64), gain=2.0)
    flat = w.numpy().reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    assert np.allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_needs_two_dims():
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(tg.zeros(4))


def test_normal_uniform_and_constants():
    w = tg.zeros(1000, 500)
    init.normal_(w, mean=3.0, std=0.5)
    assert close(w.numpy().mean(), 3.0, rel=0.005) and close(w.numpy().std(), 0.5)
    init.uniform_(w, a=-2.0, b=4.0)
    assert w.numpy().min() >= -2.0 and w.numpy().max() < 4.0
    assert close(w.numpy().mean(), 1.0, rel=0.02) and close(w.numpy().std(), 6.0 / math.sqrt(12))
    assert np.array_equal(init.zeros_(w).numpy(), np.zeros((1000, 500)))
    assert np.array_equal(init.ones_(w).numpy(), np.ones((1000, 500)))
    assert np.array_equal(init.constant_(w, -1.5).numpy(), np.full((1000, 500), -1.5))


def test_draws_come_from_the_seeded_generator_or_a_given_one():
    tg.manual_seed(123)
    a = init.kaiming_uniform_(tg.zeros(4, 5)).numpy().copy()
    b = init.orthogonal_(tg.zeros(3, 3)).numpy().copy()
    tg.manual_seed(123)
    assert np.array_equal(init.kaiming_uniform_(tg.zeros(4, 5)).numpy(), a)
    assert np.array_equal(init.orthogonal_(tg.zeros(3, 3)).numpy(), b)
    one = init.normal_(tg.zeros(3), generator=np.random.default_rng(7)).numpy()
    two = init.normal_(tg.zeros(3), generator=np.random.default_rng(7)).numpy()
    assert np.array_equal(one, two)


def test_zero_element_tensors_warn_and_stay_as_they_are():
    w = tg.zeros(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_normal_(w) is w
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init.orthogonal_(w) is w
