"""Proof: an LSTM learns a real sequence task, the scikit-learn digits read row by row.

Each 8x8 image is a sequence of 8 time steps (its rows) of 8 features (the pixels of a
row), standardised with the training set's per-pixel mean and std. The classifier is
``nn.LSTM(8, 64, batch_first=True)`` followed by ``nn.Linear(64, 10)`` on the last hidden
state h_n; it trains with Adam on the cross-entropy for 12 epochs of mini-batches of 64
on a seeded 80/20 split, and must reach >= 95% accuracy on the held-out 20% (it gets
about 97-98%, in a few seconds).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim

datasets = pytest.importorskip("sklearn.datasets")


class RowReader(nn.Module):
    """(N, 8 rows, 8 pixels) -> 10 class scores, from the LSTM's final hidden state."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])


def _split(seed: int = 0):
    digits = datasets.load_digits()
    images, labels = digits.images.astype(np.float32), digits.target
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(0.8 * len(images))
    train, test = order[:cut], order[cut:]
    mean, std = images[train].mean(axis=0), images[train].std(axis=0)
    std[std == 0] = 1.0  # pixels that are blank in every training image
    images = (images - mean) / std
    return images[train], labels[train], images[test], labels[test]


def test_lstm_reads_digits_row_by_row_to_95_percent():
    x_train, y_train, x_test, y_test = _split()
    tg.manual_seed(0)
    model = RowReader()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    first = None
    for _ in range(12):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            loss = loss_fn(model(tg.tensor(x_train[batch])), tg.tensor(y_train[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
    model.eval()
    with tg.no_grad():
        predicted = model(tg.tensor(x_test)).numpy().argmax(axis=1)
    accuracy = float((predicted == y_test).mean())
    assert loss.item() < 0.1 * first
    assert accuracy >= 0.95, f"held-out accuracy {accuracy:.3f}"
