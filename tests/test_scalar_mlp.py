"""tinygrad_cs.nn.scalar: Neuron / Layer / MLP on Value, and training on the CS231n spiral."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.data import spiral
from tinygrad_cs.nn.scalar import MLP, Layer, Neuron


def make_spiral(n_per_class: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's spiral (``tinygrad_cs.data.spiral``) in float64, the precision of a Value."""
    X, y = spiral(n_per_class=n_per_class, n_classes=n_classes, seed=seed)
    return X.astype(np.float64), y


def test_neuron_is_relu_of_affine_map():
    tg.manual_seed(0)
    n = Neuron(3)
    w = [p.data for p in n.w]
    assert all(-1.0 <= wi <= 1.0 for wi in w) and n.b.data == 0.0
    x = [0.5, -2.0, 1.5]
    expected = sum(wi * xi for wi, xi in zip(w, x))
    assert n(x).data == pytest.approx(max(expected, 0.0))
    linear = Neuron(3, nonlin=False)
    wl = [p.data for p in linear.w]
    assert linear(x).data == pytest.approx(sum(wi * xi for wi, xi in zip(wl, x)))


def test_neuron_gradients_match_closed_form():
    tg.manual_seed(1)
    n = Neuron(2, nonlin=False)
    out = n([3.0, -4.0])
    out.backward()
    # d(w.x + b)/dw = x, d/db = 1
    assert [p.grad for p in n.parameters()] == [3.0, -4.0, 1.0]


def test_weights_come_from_the_seeded_generator():
    tg.manual_seed(123)
    a = [p.data for p in MLP(2, [4, 1]).parameters()]
    tg.manual_seed(123)
    b = [p.data for p in MLP(2, [4, 1]).parameters()]
    assert a == b
    expected = np.random.default_rng(123).uniform(-1.0, 1.0, size=2)
    assert a[:2] == pytest.approx(expected.tolist())


def test_layer_and_mlp_shapes():
    tg.manual_seed(0)
    layer = Layer(3, 4)
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 4 and all(isinstance(o, tg.Value) for o in out)
    assert isinstance(Layer(3, 1)([1.0, 2.0, 3.0]), tg.Value)
    model = MLP(2, [16, 16, 1])
    assert isinstance(model([0.1, -0.2]), tg.Value)
    assert len(MLP(2, [8, 3])([0.1, -0.2])) == 3
    # ReLU everywhere except the last layer, which stays linear
    assert [layer.neurons[0].nonlin for layer in model.layers] == [True, True, False]


def test_parameter_counts():
    assert len(MLP(2, [16, 16, 1]).parameters()) == 3 * 16 + 17 * 16 + 17 * 1 == 337
    assert len(Layer(5, 3).parameters()) == 18
    assert len(Neuron(7).parameters()) == 8
    params = MLP(2, [16, 16, 1]).parameters()
    assert len({id(p) for p in params}) == len(params)


def test_mlp_matches_numpy_forward():
    tg.manual_seed(3)
    model = MLP(3, [5, 4, 2])
    x = [0.3, -1.2, 2.0]
    h = np.asarray(x)
    for i, layer in enumerate(model.layers):
        W = np.array([[p.data for p in n.w] for n in layer.neurons])
        b = np.array([n.b.data for n in layer.neurons])
        h = W @ h + b
        if i < len(model.layers) - 1:
            h = np.maximum(h, 0.0)
    assert [o.data for o in model(x)] == pytest.approx(h.tolist())


def test_zero_grad_resets_accumulated_gradients():
    tg.manual_seed(0)
    model = MLP(2, [4, 1])
    for _ in range(2):
        model([1.0, -1.0]).backward()
    first = [p.grad for p in model.parameters()]
    assert any(g != 0.0 for g in first)
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    model([1.0, -1.0]).backward()
    # two identical backward passes accumulated twice the single gradient
    assert first == pytest.approx([2 * p.grad for p in model.parameters()])


def test_wrong_input_length_is_a_clear_error():
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])


def test_spiral_max_margin_training_reaches_90_percent():
    """micrograd's demo recipe on the 2-class spiral: SVM hinge loss + L2, decaying SGD.

    loss = mean_i max(0, 1 - y_i s_i) + alpha * sum(p^2), labels y_i = +-1.
    """
    X, y = make_spiral(50, 2, seed=0)
    X, labels = X.tolist(), [float(v) for v in 2 * y - 1]
    tg.manual_seed(0)
    model = MLP(2, [16, 16, 1])
    params = model.parameters()
    alpha, steps = 1e-4, 100

    def evaluate():
        scores = [model(x) for x in X]
        hinge = [(1.0 - yi * s).relu() for yi, s in zip(labels, scores)]
        loss = sum(hinge) * (1.0 / len(hinge)) + alpha * sum(p * p for p in params)
        acc = np.mean([(s.data > 0) == (yi > 0) for yi, s in zip(labels, scores)])
        return loss, acc

    first_loss, _ = evaluate()
    for k in range(steps):
        loss, acc = evaluate()
        if acc >= 0.93:   # past the target with a margin; stop early to keep the test short
            break
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in params:
            p.data -= lr * p.grad
    final_loss, final_acc = evaluate()
    assert final_acc >= 0.90
    assert math.isfinite(final_loss.data) and final_loss.data < 0.5 * first_loss.data
