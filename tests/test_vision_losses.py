"""``vision.ops.sigmoid_focal_loss`` (nn/models/detection/losses.py) against the closed form
torchvision documents, written in numpy, and central differences in float64."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.vision.ops import sigmoid_focal_loss


def _reference(x, t, alpha, gamma):
    p = 1 / (1 + np.exp(-x))
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    return loss * (alpha * t + (1 - alpha) * (1 - t)) if alpha >= 0 else loss


@given(seed=st.integers(0, 2**32 - 1), alpha=st.sampled_from([0.25, 0.5, -1.0]),
       gamma=st.sampled_from([0.0, 1.0, 2.0]))
def test_focal_loss_matches_the_closed_form(seed, alpha, gamma):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (4, 5))
    t = (rng.random((4, 5)) < 0.3).astype(np.float64)
    out = sigmoid_focal_loss(tg.Tensor(x), tg.Tensor(t), alpha, gamma)
    np.testing.assert_allclose(out.numpy(), _reference(x, t, alpha, gamma), rtol=1e-10,
                               atol=1e-12)
    total = sigmoid_focal_loss(tg.Tensor(x), tg.Tensor(t), alpha, gamma, reduction="sum")
    mean = sigmoid_focal_loss(tg.Tensor(x), tg.Tensor(t), alpha, gamma, reduction="mean")
    np.testing.assert_allclose([total.item(), mean.item()], [out.numpy().sum(), out.numpy().mean()])


def test_focal_loss_hand_case_and_gradient():
    # x = 0: p = 1/2, ce = ln 2, (1 - p_t)^2 = 1/4; alpha_t = 0.25 (t = 1) or 0.75 (t = 0)
    out = sigmoid_focal_loss(tg.zeros(2), tg.Tensor(np.array([1.0, 0.0], np.float32)))
    np.testing.assert_allclose(out.numpy(), [0.25 * np.log(2) / 4, 0.75 * np.log(2) / 4],
                               rtol=1e-6)
    x = tg.Tensor(np.random.default_rng(1).normal(0, 2, (3, 4)), requires_grad=True)
    t = tg.Tensor((np.arange(12).reshape(3, 4) % 3 == 0).astype(np.float64))
    gradcheck(lambda v: sigmoid_focal_loss(v, t, reduction="sum"), (x,))


def test_focal_loss_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"sigmoid_focal_loss.*\(2, 3\).*\(3, 2\)"):
        sigmoid_focal_loss(tg.zeros(2, 3), tg.zeros(3, 2))
    with pytest.raises(ValueError, match="reduction"):
        sigmoid_focal_loss(tg.zeros(2), tg.zeros(2), reduction="max")
