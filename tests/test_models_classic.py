"""The classic zoo models: perceptron, MLP, linear classifiers (softmax, SVM).

Oracles: the perceptron rule's closed form and Novikoff's mistake bound, the Kaiming std,
CS231n's vectorised numpy losses and gradients, the closed-form initial losses (ln C, C - 1),
PyTorch's ``multi_margin_loss`` (times C), and float64 gradient checks of the zoo's tiny models.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.linear_classifiers import (
    LinearSVM,
    SoftmaxClassifier,
    softmax_loss,
    svm_loss,
)
from tinygrad_cs.nn.models.mlp import MLP
from tinygrad_cs.nn.models.perceptron import Perceptron, ScalarPerceptron, hinge_loss

finite = st.floats(-3, 3, allow_nan=False, width=64)


# -- perceptron -------------------------------------------------------------------------------
@settings(deadline=None, max_examples=30)
@given(w=st.lists(finite, min_size=3, max_size=3), b=finite,
       x=st.lists(finite, min_size=3, max_size=3), y=st.sampled_from([-1, 1]),
       lr=st.floats(0.1, 2.0))
def test_perceptron_update_is_the_closed_form(w, b, x, y, lr):
    w, x = np.array(w), np.array(x)
    mistake = y * (w @ x + b) <= 0
    expected_w = w + lr * y * x if mistake else w
    expected_b = b + lr * y if mistake else b

    tensor_p = Perceptron(3)
    tensor_p.double()
    tensor_p.weight.numpy()[0] = w
    tensor_p.bias.numpy()[0] = b
    assert tensor_p.update(x, y, lr) == mistake
    np.testing.assert_allclose(tensor_p.weight.numpy()[0], expected_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tensor_p.bias.numpy()[0], expected_b, rtol=1e-12, atol=1e-12)

    scalar_p = ScalarPerceptron(3)
    for wi, v in zip(scalar_p.w, w):
        wi.data = float(v)
    scalar_p.b.data = b
    # the Value graph sums b + w0 x0 + w1 x1 + w2 x2 in that order: round the same way
    s = b
    for wi, xi in zip(w, x):
        s = s + wi * xi
    mistake = y * s <= 0
    expected_w = w + lr * y * x if mistake else w
    expected_b = b + lr * y if mistake else b
    assert scalar_p.update(list(x), y, lr) == mistake
    np.testing.assert_allclose([v.data for v in scalar_p.w], expected_w, rtol=1e-12, atol=1e-12)
    assert scalar_p.b.data == pytest.approx(expected_b, abs=1e-12)


def test_perceptron_criterion_sgd_step_is_the_rule():
    """One SGD step on max(0, -y s) for a misclassified example = the perceptron update."""
    p = Perceptron(2)
    p.double()
    p.weight.numpy()[0] = [0.5, -1.0]
    p.bias.numpy()[0] = 0.25
    x, y = np.array([[1.0, 2.0]]), np.array([1])          # s = 0.5 - 2 + 0.25 < 0: mistake
    hinge_loss(p(tg.tensor(x)), y, margin=0.0).backward()
    step_w = p.weight.numpy() - 0.1 * p.weight.grad.numpy()
    step_b = p.bias.numpy() - 0.1 * p.bias.grad.numpy()
    p.update(x[0], 1, lr=0.1)
    np.testing.assert_allclose(step_w, p.weight.numpy())
    np.testing.assert_allclose(step_b, p.bias.numpy())


def _separable(n: int = 200, margin: float = 0.1, seed: int = 0):
    """Points in [-1, 1]^2 labelled by a fixed line, those within ``margin`` of it dropped."""
    rng = np.random.default_rng(seed)
    u = np.array([0.6, -0.8, 0.1])                          # (w*, b*), unit norm w.r.t. (x, 1)
    u /= np.linalg.norm(u)
    X = rng.uniform(-1, 1, (4 * n, 2))
    s = X @ u[:2] + u[2]
    keep = np.abs(s) >= margin
    X, y = X[keep][:n], np.where(s[keep][:n] > 0, 1, -1)
    gamma = float(np.min(y * (X @ u[:2] + u[2])))
    R = float(np.max(np.linalg.norm(np.c_[X, np.ones(len(X))], axis=1)))
    return X, y, gamma, R


def test_perceptron_separates_linearly_separable_data_within_novikoffs_bound():
    X, y, gamma, R = _separable()
    p = Perceptron(2)
    p.double()
    mistakes = p.fit(X, y, epochs=1000)
    assert (p.predict(tg.tensor(X)).numpy() == y).all()
    assert 0 < mistakes <= (R / gamma) ** 2, (mistakes, (R / gamma) ** 2)
    # the scalar perceptron, same order: the same mistakes and the same weights
    sp = ScalarPerceptron(2)
    for _ in range(1000):
        if sum(sp.update(list(xi), int(yi)) for xi, yi in zip(X, y)) == 0:
            break
    assert [sp.predict(list(xi)) for xi in X] == list(y)
    np.testing.assert_allclose([v.data for v in sp.w], p.weight.numpy()[0], atol=1e-9)
    assert sp.b.data == pytest.approx(float(p.bias.numpy()[0]), abs=1e-9)


def test_perceptron_hinge_training_separates_with_sgd():
    X, y, _, _ = _separable(seed=1)
    p = Perceptron(2)
    opt = optim.SGD(p.parameters(), lr=0.5)
    for _ in range(200):
        loss = hinge_loss(p(tg.tensor(X.astype(np.float32))), y, margin=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (p.predict(tg.tensor(X.astype(np.float32))).numpy() == y).all()


def test_perceptron_bad_input_names_the_shapes():
    with pytest.raises(ValueError, match=r"Perceptron: expected input \(N, 2\), got \(4, 3\)"):
        Perceptron(2)(tg.zeros(4, 3))
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        ScalarPerceptron(2).update([1.0, 2.0], 0)


# -- MLP --------------------------------------------------------------------------------------
def test_mlp_shapes_layout_and_parameter_count():
    model = MLP(64, [32, 16], 10, dropout=0.5, batch_norm=True)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear",
                     "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    # no bias before BN: 64*32 + 2*32 + 32*16 + 2*16 + 16*10 + 10
    assert sum(p.numel() for p in model.parameters()) == 2048 + 64 + 512 + 32 + 170
    assert model(tg.randn(5, 64)).shape == (5, 10)
    assert model(tg.randn(5, 1, 8, 8)).shape == (5, 10)          # images are flattened
    with pytest.raises(ValueError, match=r"MLP: expected input \(N, 64\).*\(5, 63\)"):
        model(tg.randn(5, 63))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP(4, [4], 2, activation="swish")


def test_mlp_kaiming_init():
    tg.manual_seed(0)
    model = MLP(1000, [500, 500], 10)
    hidden = [m for m in model.layers if isinstance(m, nn.Linear)]
    for layer in hidden[:-1]:
        std = math.sqrt(2.0 / layer.in_features)                  # He et al. for ReLU
        assert layer.weight.numpy().std() == pytest.approx(std, rel=0.02)
        assert not layer.bias.numpy().any()
    assert hidden[-1].weight.numpy().std() == pytest.approx(math.sqrt(1 / 500), rel=0.05)
    # the point of it: the ReLU activations' second moment is preserved layer to layer
    x = tg.randn(256, 1000)
    h1 = model.layers[2](model.layers[1](x))
    h2 = model.layers[4](model.layers[3](h1))
    m1, m2 = float((h1.numpy() ** 2).mean()), float((h2.numpy() ** 2).mean())
    assert m2 == pytest.approx(m1, rel=0.15)


def test_mlp_dropout_only_in_training():
    model = MLP(8, [64], 3, dropout=0.5).eval()
    x = tg.randn(4, 8)
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())


# -- linear classifiers -----------------------------------------------------------------------
def _svm_reference(W, X, y, delta=1.0):
    """CS231n's svm_loss_vectorized (scores X W, W (D, C)): loss and dW, averaged over N."""
    N = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + delta)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    return loss, X.T @ mask / N


def _softmax_reference(W, X, y):
    """CS231n's softmax_loss_vectorized: loss and dW, averaged over N."""
    N = X.shape[0]
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean()
    p[np.arange(N), y] -= 1
    return loss, X.T @ p / N


@pytest.mark.parametrize("cls, reference", [(LinearSVM, _svm_reference),
                                            (SoftmaxClassifier, _softmax_reference)])
def test_linear_classifier_loss_and_gradient_match_cs231n(cls, reference):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 12)), rng.integers(0, 5, 50)
    model = cls(12, 5, weight_scale=0.5)
    model.double()
    model.fc.bias.numpy()[...] = 0.0
    loss = model.loss(model(tg.tensor(X)), y)
    loss.backward()
    ref_loss, ref_dW = reference(model.fc.weight.numpy().T.copy(), X, y)
    assert float(loss.item()) == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(model.fc.weight.grad.numpy().T, ref_dW, rtol=1e-9, atol=1e-12)


def test_initial_losses_are_ln_c_and_c_minus_1():
    """CS231n's sanity check: tiny weights give ~zero scores, hence closed-form losses."""
    tg.manual_seed(0)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((500, 64)).astype(np.float32), rng.integers(0, 10, 500)
    soft, svm = SoftmaxClassifier(64, 10), LinearSVM(64, 10)
    assert float(soft.loss(soft(tg.tensor(X)), y).item()) == pytest.approx(math.log(10), rel=1e-3)
    assert float(svm.loss(svm(tg.tensor(X)), y).item()) == pytest.approx(9.0, rel=1e-2)


def test_svm_loss_is_c_times_multi_margin_loss():
    rng = np.random.default_rng(2)
    s, y = rng.standard_normal((20, 7)), rng.integers(0, 7, 20)
    ours = float(svm_loss(tg.tensor(s), y, delta=0.5).item())
    mml = float(nn.functional.multi_margin_loss(tg.tensor(s), y, margin=0.5).item())
    assert ours == pytest.approx(7 * mml, rel=1e-12)
    torch = pytest.importorskip("torch")
    t = torch.nn.functional.multi_margin_loss(torch.tensor(s), torch.tensor(y), margin=0.5)
    assert ours == pytest.approx(7 * float(t), rel=1e-12)
    tsoft = torch.nn.functional.cross_entropy(torch.tensor(s), torch.tensor(y))
    assert float(softmax_loss(tg.tensor(s), y).item()) == pytest.approx(float(tsoft), rel=1e-12)


def test_linear_classifier_bad_labels_name_the_shapes():
    with pytest.raises(ValueError, match=r"svm_loss: expected scores \(N, C\).*\(4, 3\).*\(5,\)"):
        svm_loss(tg.zeros(4, 3), np.zeros(5, dtype=np.int64))
    with pytest.raises(IndexError, match=r"softmax_loss: labels must lie in \[0, 3\)"):
        softmax_loss(tg.zeros(2, 3), np.array([0, 3]))


# -- the zoo entries: forward shape and a float64 gradient check of the tiny configuration --
@pytest.mark.parametrize("name, out_shape", [("perceptron", (4,)), ("mlp", (4, 3)),
                                             ("softmax", (4, 3)), ("svm", (4, 3))])
def test_zoo_tiny_forward_and_gradcheck(name, out_shape):
    tg.manual_seed(0)
    model, x = registry.get(name).tiny()
    model.double()
    x = x.double()
    assert model(x).shape == out_shape
    params = tuple(model.parameters())
    assert 0 < sum(p.numel() for p in params) <= 300
    assert tg.testing.gradcheck(lambda *_: model(x), params)
