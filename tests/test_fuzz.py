"""tg.testing.fuzz: Hypothesis gradient fuzzing of registry ops and of whole models."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.testing import GradcheckError
from tinygrad_cs.testing.fuzz import directional_check, find_entries, fuzz_model, fuzz_op


class _WrongTanh(tg.Function):
    """tanh with a backward off by a factor 1.01: the checks must notice."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y) * 1.01


class _Net(nn.Module):
    def __init__(self, wrong: bool) -> None:
        super().__init__()
        self.fc1, self.fc2, self.wrong = nn.Linear(3, 5), nn.Linear(5, 2), wrong

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(_WrongTanh.apply(h) if self.wrong else h.tanh())


def test_find_entries_takes_every_variant_of_an_op():
    names = [e.name for e in find_entries("conv2d")]
    assert "conv2d[dense]" in names and "conv2d[depthwise]" in names
    assert [e.name for e in find_entries("conv2d[dense]")] == ["conv2d[dense]"]
    with pytest.raises(KeyError, match="no registered op called 'conv9d'"):
        find_entries("conv9d")


def test_fuzz_op_passes_a_correct_op_and_reports_its_error():
    report = fuzz_op(find_entries("tanh")[0], max_examples=5)
    assert report.examples == 5 and report.max_rel_error < 1e-4


@pytest.mark.parametrize("full", [False, True])
def test_fuzz_model_passes_a_correct_model(full):
    report = fuzz_model(lambda: (_Net(False), tg.randn(4, 3)), max_examples=3, full=full)
    assert report.max_rel_error < 1e-4


@pytest.mark.parametrize("full", [False, True])
def test_fuzz_model_catches_a_one_percent_gradient_error(full):
    with pytest.raises((AssertionError, GradcheckError)):
        fuzz_model(lambda: (_Net(True), tg.randn(4, 3)), max_examples=3, full=full)


def test_directional_check_restores_the_parameters():
    tg.manual_seed(0)
    model = _Net(False).double()
    x = tg.randn(4, 3, dtype=tg.float64)
    before = [p.numpy().copy() for p in model.parameters()]
    directional_check(lambda: model(x), tuple(model.parameters()), np.random.default_rng(0))
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)
