"""The CS231n case study: a two-layer net (100 ReLU units) learns the 3-arm spiral.

The notes train on 300 points (K=3 arms, N=100 each, noise 0.2) and report 98% *training*
accuracy, where a linear softmax classifier gets about 50%. We check the same on the same
data, and then held-out accuracy on a bigger draw (500 per arm, a seeded 80/20 split), where
300 test points make a 98% bound meaningful. Full-batch Adam (lr 0.02, 1,000 steps) gave
training 99.2-99.6% (N=100) and held-out 99.0-100% (N=500) over seeds 0-3.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import load_dataset, spiral
from tinygrad_cs.nn.models.linear_classifiers import softmax_classifier
from tinygrad_cs.nn.models.mlp import mlp


def _arrays(dataset):
    x, y = zip(*(dataset[i] for i in range(len(dataset))))
    return tg.tensor(np.stack(x)), tg.tensor(np.array(y))


def _train(model, x, y, steps: int = 1000) -> None:
    opt = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _accuracy(model, x, y) -> float:
    with tg.no_grad():
        return float((model(x).numpy().argmax(axis=1) == y.numpy()).mean())


@pytest.mark.parametrize("seed", [0, 1])
def test_two_layer_net_fits_the_cs231n_spiral_where_a_linear_classifier_cannot(seed):
    tg.manual_seed(seed)
    X, labels = spiral(n_per_class=100, n_classes=3, noise=0.2, seed=seed)  # as the notes
    x, y = tg.tensor(X), tg.tensor(labels)
    assert x.shape == (300, 2)
    net = mlp(in_features=2, num_classes=3, hidden_sizes=(100,))
    linear = softmax_classifier(in_features=2, num_classes=3)
    _train(net, x, y)
    _train(linear, x, y, steps=300)
    assert _accuracy(net, x, y) >= 0.98
    assert _accuracy(linear, x, y) <= 0.6


def test_two_layer_net_generalises_on_a_larger_spiral():
    tg.manual_seed(0)
    splits = load_dataset("spiral", seed=0, n_per_class=500)
    net = mlp(in_features=2, num_classes=3, hidden_sizes=(100,))
    _train(net, *_arrays(splits.train))
    x_test, y_test = _arrays(splits.test)
    assert len(y_test) == 300
    assert _accuracy(net, x_test, y_test) >= 0.98
