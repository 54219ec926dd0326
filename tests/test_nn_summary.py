"""``nn.summary``: parameter counts, multiply-adds and receptive fields against closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.ReLU()),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_parameter_counts_add_up_to_numel(depth):
    model = _net()
    info = nn.summary(model, (2, 3, 8, 8), depth=depth)
    total = sum(p.numel() for p in model.parameters())
    assert info.total_params == info.trainable_params == total
    assert sum(r.params or 0 for r in info.rows) == total
    assert info["0"].params == 3 * 8 * 9 + 8 and info["1"].params == 16
    model[0].weight.requires_grad_(False)
    assert nn.summary(model, (1, 3, 8, 8)).trainable_params == total - 3 * 8 * 9


def test_mult_adds_of_conv_grouped_conv_transposed_and_linear():
    n, h = 2, 8
    info = nn.summary(_net(), (n, 3, h, h))
    assert info["0"].mult_adds == n * 8 * h * h * 3 * 9            # out * C_in * k*k
    assert info["3.0"].mult_adds == n * 8 * h * h * (8 // 2) * 9    # groups divide C_in
    assert info["3"].mult_adds is None                              # expanded: its rows count
    assert info["6"].mult_adds == n * 5 * 128
    assert info.total_mult_adds == sum(r.mult_adds or 0 for r in info.rows)
    up = nn.Sequential(nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1))
    t = nn.summary(up, (1, 4, 5, 5))
    assert t["0"].output_shape == (1, 6, 10, 10)
    assert t.total_mult_adds == 4 * 5 * 5 * 6 * 16                 # in * C_out * k*k
    collapsed = nn.summary(_net(), (n, 3, h, h), depth=1)
    assert collapsed["3"].mult_adds == info["3.0"].mult_adds
    assert collapsed.total_mult_adds == info.total_mult_adds


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 3, 5]), st.sampled_from([1, 2]),
                          st.sampled_from([1, 2])), min_size=1, max_size=4))
def test_receptive_field_of_a_conv_stack_matches_the_formula(layers):
    """r = 1 + sum_l (k_l - 1) * d_l * prod_{m<l} s_m, for any kernels, dilations, strides."""
    model = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, dilation=d, padding=d * (k // 2))
                            for k, s, d in layers])
    info = nn.summary(model, (1, 1, 16, 16))
    expected = 1 + sum((k - 1) * d * math.prod(s for _, s, _ in layers[:i])
                       for i, (k, _, d) in enumerate(layers))
    assert info[str(len(layers) - 1)].receptive_field == (expected, expected)


def test_receptive_fields_of_stacked_3x3_versus_one_5x5_and_through_a_skip():
    two = nn.summary(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)), (1, 1, 9, 9))
    one = nn.summary(nn.Sequential(nn.Conv2d(1, 1, 5)), (1, 1, 9, 9))
    assert two["1"].receptive_field == one["0"].receptive_field == (5, 5)

    class Skip(nn.Module):  # the add meets a 5x5 path and the identity: the wider one wins
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1)
            self.head = nn.Conv2d(1, 1, 1)

        def forward(self, x):
            return self.head(x + self.b(self.a(x)))

    assert nn.summary(Skip(), (1, 1, 6, 6))["head"].receptive_field == (5, 5)
    assert nn.summary(nn.Sequential(nn.Conv2d(1, 1, (1, 3))), (1, 1, 4, 4))["0"] \
        .receptive_field == (1, 3)


def test_summary_changes_nothing_and_reports_bad_calls():
    model = _net().train()
    model[3].eval()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = np.random.get_state()
    tg.manual_seed(0)
    expected_draw = tg.randn(3).numpy()
    tg.manual_seed(0)
    text = str(nn.summary(model, (2, 3, 8, 8)))
    assert np.array_equal(tg.randn(3).numpy(), expected_draw)      # no draw from the generator
    assert np.random.get_state()[1].tolist() == state[1].tolist()
    assert "Total params: 1,181" in text  # 224 + 16 + 296 + 645 and "(Conv2d)" in text
    assert model.training and not model[3].training and model[1].training
    for key, value in model.state_dict().items():
        assert np.array_equal(value.numpy(), before[key]), key
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    with pytest.raises(ValueError, match="exactly one of input_size and input_data"):
        nn.summary(model)
    with pytest.raises(ValueError, match="input_size must be a shape"):
        nn.summary(model, "3x8x8")
    with pytest.raises(KeyError, match="no row named 'fc'"):
        nn.summary(model, (1, 3, 8, 8))["fc"]
    with pytest.raises(RuntimeError):
        nn.summary(model, (1, 4, 8, 8))  # wrong channels: the conv's own error
    assert all(not m._forward_hooks for m in model.modules()) and model.training


def test_a_module_called_twice_is_counted_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    info = nn.summary(Twice(), (1, 2, 4, 4))
    assert [r.recursive for r in info.rows] == [False, True]
    assert info.total_params == 2 * 2 * 9 + 2
    assert info.total_mult_adds == 2 * (2 * 4 * 4 * 2 * 9)
    assert info.rows[1].receptive_field == (5, 5)
