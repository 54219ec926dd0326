"""Proof: a small CNN of the new layers learns scikit-learn's 8x8 handwritten digits.

``Conv2d(1, 16, 3, padding=1) - BatchNorm2d - ReLU - MaxPool2d(2) - Conv2d(16, 32, 3,
padding=1) - BatchNorm2d - ReLU - AdaptiveAvgPool2d(1) - Flatten - Linear(32, 10)`` on images
(N, 1, 8, 8) standardised with the training statistics (one mean/std over all pixels), a seeded
stratified 80/20 split, ``optim.Adam(lr=0.01)`` with cosine annealing over 24 epochs, ``CrossEntropyLoss``,
mini-batches of 32. Held-out accuracy (eval mode: BatchNorm's running statistics) must reach
98%: this recipe gave 98.6-99.2% over seeds 0-3 (98.9% for seed 0), about 4 s each.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim

sklearn = pytest.importorskip("sklearn", reason="the digits come with scikit-learn")

EPOCHS = 24


def _digits(seed: int = 0):
    """(X_train (N, 1, 8, 8) float32, y_train (N,), X_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed,
                                                        stratify=y)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (((a - mean) / std).reshape(-1, 1, 8, 8).astype(np.float32)
                       for a in (X_train, X_test))
    return X_train, y_train, X_test, y_test


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def _accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with tg.no_grad():
        predicted = model(tg.tensor(X)).argmax(dim=1).numpy()
    model.train()
    return float((predicted == y).mean())


def test_cnn_reaches_98_percent_on_held_out_digits():
    tg.manual_seed(0)
    X_train, y_train, X_test, y_test = _digits()
    model = _cnn()
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    order = np.random.default_rng(0)
    for _ in range(EPOCHS):
        perm = order.permutation(len(X_train))
        for s in range(0, len(perm), 32):
            batch = perm[s:s + 32]
            loss = loss_fn(model(tg.tensor(X_train[batch])), y_train[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    test_acc = _accuracy(model, X_test, y_test)
    assert test_acc >= 0.98, test_acc

