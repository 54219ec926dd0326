"""python -m tinygrad_cs.demo: the raw-tensor MLP on scikit-learn digits."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cs as tg

pytest.importorskip("sklearn")
from tinygrad_cs import demo  # after the skip: the demo needs scikit-learn


def test_default_training_reaches_95_percent_held_out(capsys):
    result = demo.train()
    assert result["test_acc"] >= 0.95
    assert result["history"][0]["loss"] > 3 * result["history"][-1]["loss"]
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert len(lines) == len(result["history"]) == 20   # one progress line per epoch
    assert "test acc" in lines[-1]


def test_split_is_stratified_80_20_and_standardised_on_train():
    X_train, y_train, X_test, y_test = demo.load_digits_split(seed=0)
    assert (len(X_train), len(X_test)) == (1437, 360) and X_train.shape[1] == 64
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    # train statistics: mean 0, std 1 on every pixel that varies (constant ones stay 0)
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-5)
    std = X_train.std(axis=0)
    assert np.all((np.abs(std - 1) < 1e-4) | (std == 0))
    assert min(np.bincount(y_test)) >= 35        # every digit present ~36 times


def test_cross_entropy_value_and_gradient_match_closed_form():
    rng = np.random.default_rng(0)
    logits_np = rng.standard_normal((5, 10))
    y = rng.integers(0, 10, size=5)
    logits = tg.tensor(logits_np, requires_grad=True)
    loss = demo.cross_entropy(logits, y)
    p = np.exp(logits_np - logits_np.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert loss.item() == pytest.approx(-np.log(p[np.arange(5), y]).mean(), rel=1e-12)
    loss.backward()
    onehot = np.eye(10)[y]
    np.testing.assert_allclose(logits.grad.numpy(), (p - onehot) / 5, atol=1e-12)


def test_kaiming_init_scale_and_shapes():
    tg.manual_seed(0)
    W1, b1, W2, b2 = demo.init_params([64, 512, 10])
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((64, 512), (512,), (512, 10), (10,))
    assert W1.std().item() == pytest.approx(np.sqrt(2 / 64), rel=0.05)
    assert all(p.requires_grad and p.is_leaf for p in (W1, b1, W2, b2))


def test_demo_imports_only_the_engine_core():
    code = ("import sys, tinygrad_cs.demo; "
            "print(sorted(m for m in sys.modules if m.startswith(('tinygrad_cs.nn', "
            "'tinygrad_cs.viz', 'tinygrad_cs.data', 'tinygrad_cs.train'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
