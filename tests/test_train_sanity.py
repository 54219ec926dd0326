"""The CS231n sanity checks: the initial loss against its closed form, overfitting 20 examples.

Oracles: ln C for softmax; (C-1)/C * margin^p for ``MultiMarginLoss`` (PyTorch's convention,
which divides by C); 100% training accuracy on 20 digits.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.train import CheckResult, check_initial_loss, check_overfit, run_sanity_checks
from tinygrad_cs.train.sanity import expected_initial_loss


def digits(n=400):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    return (x[:n] / 16.0).astype(np.float32), y[:n].astype(np.int64)


def mlp(scale=1.0):
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    with tg.no_grad():
        model[2].weight.mul_(scale)
        model[2].bias.mul_(scale)
    return model


def state(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# -- the expected values -----------------------------------------------------------------------
@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_expected_values_are_the_closed_forms(C):
    assert expected_initial_loss(nn.CrossEntropyLoss(), C)[0] == pytest.approx(math.log(C))
    assert expected_initial_loss(nn.MultiMarginLoss(), C)[0] == pytest.approx((C - 1) / C)
    assert expected_initial_loss(nn.MultiMarginLoss(p=2, margin=2.0), C)[0] == \
        pytest.approx(4 * (C - 1) / C)

    class CS231nSVM:  # the CS231n convention (sum over wrong classes), through the hook
        def expected_initial_loss(self, num_classes):
            return num_classes - 1.0

    assert expected_initial_loss(CS231nSVM(), C)[0] == C - 1


def test_expected_values_match_the_losses_on_uniform_scores():
    """The closed forms are the losses themselves at zero scores."""
    C, y = 7, np.arange(7) % 7
    zeros = tg.zeros(7, C)
    assert nn.CrossEntropyLoss()(zeros, y).item() == pytest.approx(math.log(C), rel=1e-6)
    assert nn.MultiMarginLoss()(zeros, y).item() == pytest.approx((C - 1) / C, rel=1e-6)


def test_the_zoo_linear_classifiers_losses_are_recognised():
    """``model.loss`` of the zoo's LinearSVM is the CS231n sum: (C-1) * delta; softmax: ln C."""
    models = pytest.importorskip("tinygrad_cs.nn.models.linear_classifiers")
    x, y = digits()
    tg.manual_seed(0)
    svm = models.linear_svm(in_features=64, num_classes=10, delta=2.0)
    r = check_initial_loss(svm, (tg.tensor(x), tg.tensor(y)), svm.loss, 10)
    assert r.passed and r.expected == 18.0 and abs(r.measured - 18.0) < 0.1
    soft = models.softmax_classifier(in_features=64, num_classes=10)
    assert expected_initial_loss(soft.loss, 10)[0] == pytest.approx(math.log(10))


def test_unknown_loss_and_bad_reduction_are_named():
    with pytest.raises(TypeError, match="MSELoss"):
        expected_initial_loss(nn.MSELoss(), 10)
    with pytest.raises(ValueError, match="reduction='sum'"):
        expected_initial_loss(nn.CrossEntropyLoss(reduction="sum"), 10)


# -- initial loss ------------------------------------------------------------------------------
def test_initial_loss_passes_with_small_weights_and_fails_with_huge_ones():
    x, y = digits()
    tg.manual_seed(0)
    small = check_initial_loss(mlp(0.01), (tg.tensor(x), tg.tensor(y)), nn.CrossEntropyLoss(),
                               10)
    assert small.passed and small.expected == pytest.approx(math.log(10))
    assert abs(small.measured - math.log(10)) < 0.01
    huge = check_initial_loss(mlp(100.0), (tg.tensor(x), tg.tensor(y)), nn.CrossEntropyLoss(),
                              10)
    assert not huge.passed and huge.measured > 2 * math.log(10)
    assert huge.expected == pytest.approx(math.log(10))
    assert str(huge).startswith("[FAIL] initial loss: measured ")
    assert "too large" in str(huge)


def test_initial_loss_for_the_svm_on_a_loader():
    x, y = digits()
    tg.manual_seed(0)
    model = nn.Linear(64, 10)
    with tg.no_grad():
        model.weight.mul_(0.001)  # CS231n: W = 0.001 * randn, scores near zero
        model.bias.zero_()
    loader = [(tg.tensor(x[i:i + 50]), tg.tensor(y[i:i + 50])) for i in range(0, 400, 50)]
    r = check_initial_loss(model, loader, nn.MultiMarginLoss(), 10, max_batches=3)
    assert r.passed and r.expected == pytest.approx(0.9)
    assert "over 150 examples" in r.detail


def test_initial_loss_leaves_no_trace():
    """Training-mode BatchNorm and dropout would change buffers and RNG: both are restored."""
    x, y = digits()
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.Dropout(0.5),
                          nn.Linear(32, 10))
    model.eval()
    before, rng = state(model), tg.get_rng_state()
    check_initial_loss(model, (tg.tensor(x), tg.tensor(y)), nn.CrossEntropyLoss(), 10)
    for k, v in before.items():
        np.testing.assert_array_equal(state(model)[k], v, err_msg=k)
    assert tg.get_rng_state() == rng and not model.training


# -- overfitting -------------------------------------------------------------------------------
def test_overfit_passes_for_an_mlp_on_20_digits():
    x, y = digits()
    tg.manual_seed(0)
    model = mlp()
    before = state(model)
    r = check_overfit(model, (x, y), n=20, steps=300, lr=1e-2)
    assert r.passed and r.measured == 1.0 and r.expected == 1.0
    assert str(r).startswith("[PASS] overfit small sample: measured 1")
    for k, v in before.items():  # the model given is put back as it was
        np.testing.assert_array_equal(state(model)[k], v, err_msg=k)


def test_overfit_fails_with_lr_zero():
    x, y = digits()
    tg.manual_seed(0)
    r = check_overfit(mlp, (x, y), n=20, steps=20, lr=0.0)
    assert not r.passed and r.measured < 1.0
    assert "best accuracy" in r.detail and "final loss" in r.detail and "after 20 steps" in r.detail


def test_overfit_fails_without_capacity():
    """20 random 2-D points with random labels among 10 classes: no linear classifier
    separates them (a linear model splits the plane into convex cells, one per class)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 2)).astype(np.float32), rng.integers(0, 10, 20)
    tg.manual_seed(0)
    r = check_overfit(lambda: nn.Linear(2, 10), (x, y), n=20, steps=150, lr=0.05)
    assert not r.passed and 0.1 < r.measured < 1.0


def test_overfit_on_a_dataset_with_a_custom_optimizer():
    x, y = digits()

    class Pairs:  # the Dataset protocol: ds[i] -> (x_i, y_i)
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return x[i], y[i]

    tg.manual_seed(0)
    r = check_overfit(mlp, Pairs(), n=20, steps=300, lr=0.5,
                      optimizer=lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9))
    assert r.passed


def test_run_sanity_checks_prints_both(capsys):
    x, y = digits()
    tg.manual_seed(0)
    results = run_sanity_checks(mlp(0.01), (x, y), nn.CrossEntropyLoss(), 10, lr=1e-2,
                                steps=300)
    assert [r.name for r in results] == ["initial loss", "overfit small sample"]
    assert all(isinstance(r, CheckResult) and r.passed for r in results)
    assert capsys.readouterr().out.count("[PASS]") == 2
