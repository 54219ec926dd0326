"""Basic layers: Linear, the activations, Embedding, Dropout / Dropout2d / DropConnect.

Oracles: numpy references written here (float64), central differences (``gradcheck``),
PyTorch's default-initialisation bounds, closed forms (the embedding gradient, dropout's
mask), statistical tolerances for the random layers, and PyTorch's modules when installed
(weights copied across; outputs and gradients compared).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.kernels.erf import erf_array
from tinygrad_cs.nn import functional as F
from tinygrad_cs.ops.conv import conv2d
from tinygrad_cs.testing import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # pragma: no cover - optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
rng = np.random.default_rng(0)


def _t64(shape, scale=1.0, low=None):
    data = rng.standard_normal(shape) * scale if low is None else rng.uniform(low, scale, shape)
    return tg.tensor(data, requires_grad=True)


# -- Linear ------------------------------------------------------------------------------
@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_matches_numpy(lead, bias):
    layer = nn.Linear(4, 3, bias=bias, dtype=tg.float64)
    x = rng.standard_normal(lead + (4,))
    expected = np.einsum("...i,oi->...o", x, layer.weight.numpy())
    if bias:
        expected = expected + layer.bias.numpy()
    out = layer(tg.tensor(x))
    assert out.shape == lead + (3,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_linear_gradcheck_float64():
    layer = nn.Linear(4, 3, dtype=tg.float64)
    x = _t64((5, 4))
    assert gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))
    assert gradgradcheck(lambda x: (layer(x) ** 2).sum(dim=1), (x,))


def test_linear_default_init_follows_pytorch_bounds():
    tg.manual_seed(0)
    fan_in, fan_out = 400, 300
    layer = nn.Linear(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) == U(+-1/sqrt(fan_in))
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.dtype == np.float32 and w.shape == (fan_out, fan_in) and b.shape == (fan_out,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-a, a): mean 0, variance a^2 / 3; n = 120,000 draws, 6 standard errors
    n = w.size
    assert abs(w.mean()) < 6 * bound / math.sqrt(3 * n)
    assert abs(w.var() / (bound**2 / 3) - 1) < 6 * math.sqrt(0.8 / n)  # var of U^2 is 4a^4/45
    assert np.abs(w).max() > 0.99 * bound  # it fills the whole range
    assert abs(b.mean()) < 6 * bound / math.sqrt(3 * fan_out)


def test_linear_registers_parameters_like_pytorch():
    layer = nn.Linear(3, 2)
    assert list(layer.state_dict()) == ["weight", "bias"]
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=True)"


def test_linear_reports_mismatched_input():
    with pytest.raises(RuntimeError, match="in_features"):
        nn.Linear(3, 2)(tg.ones(4, 5))


@needs_torch
def test_linear_matches_torch_outputs_and_gradients():
    ours, ref = nn.Linear(6, 4, dtype=tg.float64), torch.nn.Linear(6, 4, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.weight.numpy()))
        ref.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    x = rng.standard_normal((3, 2, 6))
    xo, xr = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal((3, 2, 4))
    out_o, out_r = ours(xo), ref(xr)
    out_o.backward(tg.tensor(g))
    out_r.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out_o.numpy(), out_r.detach().numpy(), rtol=1e-12)
    for a, b in ((xo.grad, xr.grad), (ours.weight.grad, ref.weight.grad),
                 (ours.bias.grad, ref.bias.grad)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


# -- activations -------------------------------------------------------------------------
_erf = np.vectorize(math.erf, otypes=[np.float64])
_K = math.sqrt(2 / math.pi)

ACTIVATIONS = {  # name: (module, numpy reference)
    "ReLU": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "LeakyReLU": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "ELU": (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    "Sigmoid": (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "Tanh": (nn.Tanh(), np.tanh),
    "GELU": (nn.GELU(), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "GELU-tanh": (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(_K * (x + 0.044715 * x**3)))),
    "Softplus": (nn.Softplus(2.0, 3.0), lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2)),
    "Softmax": (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    "LogSoftmax": (nn.LogSoftmax(dim=0), lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
}


def _away_from_kinks(shape):
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < 0.05, 0.5, x)  # finite differences need |x| > eps at kinks


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward_matches_numpy(name):
    module, reference = ACTIVATIONS[name]
    x = _away_from_kinks((4, 5))
    np.testing.assert_allclose(module(tg.tensor(x)).numpy(), reference(x), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck_float64(name):
    module, _ = ACTIVATIONS[name]
    x = tg.tensor(_away_from_kinks((3, 4)), requires_grad=True)
    x.numpy()[np.abs(2 * x.numpy() - 3) < 0.05] = 2.0  # Softplus(2, 3) switches form at x = 1.5
    assert gradcheck(module, (x,))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_second_derivative(approximate):
    assert gradgradcheck(lambda x: F.gelu(x, approximate), (_t64((3, 4)),))


def test_erf_matches_math_erf_to_the_last_bits():
    x = np.concatenate([rng.standard_normal(20000) * 3, np.linspace(-7, 7, 2001),
                        [0.0, -0.0, 1e-300, -1e-12, 30.0, -30.0, np.inf, -np.inf]])
    exact = _erf(x)
    np.testing.assert_allclose(erf_array(x), exact, rtol=2e-16, atol=0)
    np.testing.assert_allclose(erf_array(x.astype(np.float32)), exact, rtol=0, atol=2e-7)
    assert np.isnan(erf_array(np.array([np.nan])))[0]
    assert erf_array(x.astype(np.float32)).dtype == np.float32


def test_activations_stay_finite_at_huge_inputs():
    x = tg.tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], np.float32), requires_grad=True)
    for module in (nn.GELU(), nn.GELU("tanh"), nn.Softplus(), nn.Sigmoid(), nn.ELU()):
        x.grad = None
        out = module(x)
        out.sum().backward()
        assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all(), module


def test_softmax_dim_none_uses_pytorchs_implicit_dim():
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(nn.Softmax()(tg.tensor(x)).numpy().sum(axis=1), 1.0)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


@needs_torch
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch_module(name):
    module, _ = ACTIVATIONS[name]
    ref = {"ReLU": torch.nn.ReLU(), "LeakyReLU": torch.nn.LeakyReLU(0.2),
           "ELU": torch.nn.ELU(0.7), "Sigmoid": torch.nn.Sigmoid(), "Tanh": torch.nn.Tanh(),
           "GELU": torch.nn.GELU(), "GELU-tanh": torch.nn.GELU("tanh"),
           "Softplus": torch.nn.Softplus(2.0, 3.0), "Softmax": torch.nn.Softmax(dim=1),
           "LogSoftmax": torch.nn.LogSoftmax(dim=0)}[name]
    assert repr(module) == repr(ref)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-6)):
        x = _away_from_kinks((4, 5)).astype(dtype)
        g = rng.standard_normal((4, 5)).astype(dtype)
        xo, xr = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_o, out_r = module(xo), ref(xr)
        out_o.backward(tg.tensor(g))
        out_r.backward(torch.from_numpy(g))
        assert out_o.dtype == dtype
        np.testing.assert_allclose(out_o.numpy(), out_r.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(xo.grad.numpy(), xr.grad.numpy(), rtol=tol, atol=tol)


# -- Embedding ---------------------------------------------------------------------------
def test_embedding_forward_and_gradient_closed_form():
    emb = nn.Embedding(5, 3, dtype=tg.float64)
    idx = np.array([[0, 2, 2], [4, 2, 0]])
    out = emb(tg.from_numpy(idx))
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    g = rng.standard_normal((2, 3, 3))
    out.backward(tg.tensor(g))
    expected = np.zeros((5, 3))
    np.add.at(expected, idx, g)  # repeated indices accumulate
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-12)


def test_embedding_gradcheck_float64():
    emb = nn.Embedding(4, 2, dtype=tg.float64)
    idx = np.array([3, 1, 3, 0])
    assert gradcheck(lambda w: (emb(tg.from_numpy(idx)) ** 2).sum(dim=1), (emb.weight,))
    assert gradgradcheck(lambda w: (emb(tg.from_numpy(idx)) ** 2).sum(dim=1), (emb.weight,))


@pytest.mark.parametrize("padding_idx", [1, -2])
def test_embedding_padding_row_is_zero_and_gets_no_gradient(padding_idx):
    emb = nn.Embedding(4, 3, padding_idx=padding_idx)
    row = padding_idx % 4
    assert emb.padding_idx == row
    np.testing.assert_array_equal(emb.weight.numpy()[row], 0.0)
    idx = np.array([row, 0, row, 3])
    emb(tg.from_numpy(idx)).sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[row], 0.0)
    np.testing.assert_array_equal(grad[0], 1.0)
    np.testing.assert_array_equal(grad[3], 1.0)


def test_embedding_default_init_is_standard_normal():
    tg.manual_seed(1)
    w = nn.Embedding(1000, 100).weight.numpy()
    n = w.size  # 100,000 draws; 6 standard errors
    assert abs(w.mean()) < 6 / math.sqrt(n)
    assert abs(w.std() - 1) < 6 / math.sqrt(2 * n)


def test_embedding_rejects_bad_indices_and_padding():
    emb = nn.Embedding(3, 2)
    with pytest.raises(IndexError, match="out of range"):
        emb(tg.tensor(np.array([0, 3])))
    with pytest.raises(RuntimeError, match="Embedding: embedding: Expected tensor for "
                       r"argument #1 'indices' .* Long, Int .* float64"):
        emb(tg.tensor(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


def test_embedding_from_pretrained_is_frozen_by_default():
    table = np.arange(6.0).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(tg.tensor(table))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(tg.tensor([2, 0])).numpy(), table[[2, 0]])
    assert nn.Embedding.from_pretrained(tg.tensor(table), freeze=False).weight.requires_grad


@needs_torch
@pytest.mark.parametrize("options", [{}, {"padding_idx": 0}, {"max_norm": 1.0},
                                     {"max_norm": 0.5, "norm_type": 1.0},
                                     {"scale_grad_by_freq": True, "padding_idx": 2}])
def test_embedding_matches_torch(options):
    ours = nn.Embedding(6, 4, dtype=tg.float64, **options)
    ref = torch.nn.Embedding(6, 4, dtype=torch.float64, **options)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.weight.numpy()))
    assert repr(ours) == repr(ref)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    g = rng.standard_normal((2, 3, 4))
    out_o, out_r = ours(tg.from_numpy(idx)), ref(torch.from_numpy(idx))
    out_o.backward(tg.tensor(g))
    out_r.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out_o.numpy(), out_r.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-12)


# -- Dropout -----------------------------------------------------------------------------
P = 0.3


def test_dropout_is_the_identity_in_eval_and_at_p0():
    x = tg.tensor(rng.standard_normal((3, 4)))
    layer = nn.Dropout(P).eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout2d(P).eval()(tg.ones(2, 3, 4, 4)).numpy(), 1.0)


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    tg.manual_seed(0)
    n = 200_000
    x = tg.tensor(rng.uniform(1.0, 2.0, n), requires_grad=True)
    out = nn.Dropout(P)(x)
    kept = out.numpy() != 0
    np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / (1 - P), rtol=1e-6)
    # the fraction dropped is Binomial(n, p) / n: within 6 standard errors of p
    assert abs((~kept).mean() - P) < 6 * math.sqrt(P * (1 - P) / n)
    out.backward(tg.ones(n))  # d out / d x = mask / (1 - p), the same mask as the forward
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - P), rtol=1e-6)


def test_dropout_preserves_the_mean():
    """E[dropout(x)] = x: over n draws of ones, mean(out) = kept / (n (1 - p)) has mean 1 and
    standard deviation sqrt(p / ((1 - p) n))."""
    tg.manual_seed(1)
    n = 200_000
    out = F.dropout(tg.ones(n), P, training=True).numpy()
    assert abs(out.mean() - 1.0) < 6 * math.sqrt(P / ((1 - P) * n))


def test_dropout_edge_probabilities_and_errors():
    x = tg.tensor(rng.standard_normal(50), requires_grad=True)
    out = F.dropout(x, 1.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


def test_dropout_masks_follow_the_seed():
    x = tg.ones(100)
    tg.manual_seed(7)
    a = F.dropout(x).numpy()
    tg.manual_seed(7)
    b = F.dropout(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(x).numpy())  # and a new draw differs


def test_dropout_gradcheck_with_a_fixed_mask():
    def fn(x):
        tg.manual_seed(3)
        return F.dropout(x, 0.4) * x
    assert gradcheck(fn, (_t64((4, 5)),))


def test_dropout2d_drops_whole_channels():
    tg.manual_seed(2)
    n, c = 400, 50
    x = tg.tensor(rng.uniform(1.0, 2.0, (n, c, 3, 3)))
    out = nn.Dropout2d(P)(x).numpy()
    dropped = (out == 0).all(axis=(2, 3))
    kept = (out != 0).all(axis=(2, 3))
    assert (dropped | kept).all()  # every channel is all-or-nothing
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / (1 - P), rtol=1e-6)
    assert abs(dropped.mean() - P) < 6 * math.sqrt(P * (1 - P) / (n * c))


def test_dropout2d_on_3d_input_warns_and_drops_rows_of_n_c_l():
    tg.manual_seed(4)
    with pytest.warns(UserWarning, match="3D input"):
        out = F.dropout2d(tg.ones(20, 30, 5), 0.5).numpy()
    assert ((out == 0).all(axis=2) | (out == 2).all(axis=2)).all()


# -- DropConnect -------------------------------------------------------------------------
def _masked_weight(layer, run):
    """W' = W * M / (1 - p) of one training forward, read off its weight gradient:
    with out = f(x, W'), d(sum out * r)/dW = (d/dW') * M / (1 - p)."""
    out = run()
    r = rng.standard_normal(out.shape)
    layer.weight.grad = None
    out.backward(tg.tensor(r))
    return out, r


def test_dropconnect_eval_is_the_wrapped_layer():
    layer = nn.Linear(5, 3)
    dc = nn.DropConnect(layer, 0.5).eval()
    x = tg.tensor(rng.standard_normal((4, 5)).astype(np.float32))
    np.testing.assert_array_equal(dc(x).numpy(), layer(x).numpy())
    assert list(dc.state_dict()) == ["module.weight", "module.bias"]
    np.testing.assert_array_equal(nn.DropConnect(layer, 0.0)(x).numpy(), layer(x).numpy())


def test_dropconnect_linear_drops_individual_weights():
    tg.manual_seed(5)
    layer = nn.Linear(60, 50, dtype=tg.float64)
    dc = nn.DropConnect(layer, P)
    x = tg.tensor(rng.standard_normal((8, 60)))
    out, r = _masked_weight(layer, lambda: dc(x))
    # dW = (r^T x) * M / (1 - p): the mask M is where dW is non-zero
    full = r.T @ x.numpy()
    scale = layer.weight.grad.numpy() / full
    kept = np.isclose(scale, 1 / (1 - P))
    assert (kept | np.isclose(scale, 0.0)).all()
    w_masked = layer.weight.numpy() * kept / (1 - P)
    np.testing.assert_allclose(out.numpy(), x.numpy() @ w_masked.T + layer.bias.numpy(),
                               rtol=1e-12)
    assert abs((~kept).mean() - P) < 6 * math.sqrt(P * (1 - P) / kept.size)
    np.testing.assert_allclose(layer.bias.grad.numpy(), r.sum(axis=0), rtol=1e-12)  # kept


def test_dropconnect_draws_a_fresh_mask_per_forward_and_preserves_the_mean():
    tg.manual_seed(6)
    layer = nn.Linear(4, 3, dtype=tg.float64)
    dc = nn.DropConnect(layer, 0.5)
    x = tg.tensor(rng.standard_normal((1, 4)))
    runs = np.stack([dc(x).numpy()[0] for _ in range(4000)])
    assert len({tuple(row) for row in runs[:20]}) > 1
    # E[out] = x W^T + b;  Var[out_i] = sum_j x_j^2 W_ij^2 p / (1 - p) (p = 0.5)
    std = np.sqrt((x.numpy()[0] ** 2 * layer.weight.numpy() ** 2).sum(axis=1))
    expected = layer(x).numpy()[0]
    assert (np.abs(runs.mean(axis=0) - expected) < 6 * std / math.sqrt(len(runs))).all()


def _conv_layers():
    layers = [("functional", _ConvLike())]
    if hasattr(nn, "Conv2d"):
        layers.append(("nn.Conv2d", nn.Conv2d(2, 3, 3, padding=1).double()))
    return layers


class _ConvLike(nn.Module):
    """A minimal Conv2d (weight, bias, stride, padding, dilation, groups) for DropConnect."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(rng.standard_normal((3, 2, 3, 3)))
        self.bias = nn.Parameter(rng.standard_normal(3))
        self.stride, self.padding, self.dilation, self.groups = 1, 1, 1, 1

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)


@pytest.mark.parametrize("name, layer", _conv_layers())
def test_dropconnect_conv2d_drops_kernel_weights(name, layer):
    tg.manual_seed(8)
    dc = nn.DropConnect(layer, P)
    x = tg.tensor(rng.standard_normal((2, 2, 5, 5)))
    np.testing.assert_allclose(dc.eval()(x).numpy(), layer(x).numpy(), rtol=1e-12)
    out, r = _masked_weight(layer, lambda: dc.train()(x))
    masked = layer.weight.grad.numpy()
    layer.weight.grad = None
    conv2d(x, layer.weight, layer.bias, padding=layer.padding).backward(tg.tensor(r))
    scale = masked / layer.weight.grad.numpy()
    kept = np.isclose(scale, 1 / (1 - P))
    assert (kept | np.isclose(scale, 0.0)).all() and 0 < kept.sum() < kept.size
    w_masked = tg.tensor(layer.weight.numpy() * kept / (1 - P))
    expected = conv2d(x, w_masked, layer.bias, padding=layer.padding).numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_dropconnect_gradcheck_with_a_fixed_mask():
    layer = nn.Linear(4, 3, dtype=tg.float64)
    dc = nn.DropConnect(layer, 0.4)
    x = _t64((2, 4))

    def fn(x, w, b):
        tg.manual_seed(9)
        return dc(x)
    assert gradcheck(fn, (x, layer.weight, layer.bias))


def test_dropconnect_rejects_other_modules():
    with pytest.raises(TypeError, match="Linear or an nn.Conv2d"):
        nn.DropConnect(nn.ReLU())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.DropConnect(nn.Linear(2, 2), 1.2)


def test_dropout_modules_repr_like_pytorch():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"
    assert repr(nn.DropConnect(nn.Linear(2, 1), 0.3)) == (
        "DropConnect(\n  p=0.3\n  (module): Linear(in_features=2, out_features=1, bias=True)\n)")
