"""Losses: every functional loss and option, its module form, and the L2 penalty.

Oracles: float64 numpy references written here (independently of ``nn``), central
differences of those references for the gradients, PyTorch's ``torch.nn.functional`` when
installed (float64 and float32), and closed forms (softmax - onehot at huge logits, the
multiclass hinge at zero scores, the SGD weight-decay trajectory).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.nn import functional as F
from tinygrad_cs.nn.regularization import l2_penalty
from tinygrad_cs.testing import gradcheck, gradgradcheck

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover - optional oracle
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
# kl_div's reduction='mean' warns (as PyTorch's); the cases use it on purpose
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
rng = np.random.default_rng(0)
N, C = 6, 5


# -- float64 numpy references --------------------------------------------------------------
def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _reduce(losses, reduction, denominator=None):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (losses.size if denominator is None else denominator)


def ref_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                      label_smoothing=0.0):
    if x.ndim == 1:
        out = ref_cross_entropy(x[None], np.asarray(target)[None], weight, ignore_index,
                                reduction, label_smoothing)
        return out[0] if reduction == "none" else out
    c = x.shape[1]
    logp = _log_softmax(x, 1)
    w = (np.ones(c) if weight is None else weight).reshape((1, c) + (1,) * (x.ndim - 2))
    if target.dtype.kind == "f":  # class probabilities
        t = target * (1 - label_smoothing) + label_smoothing / c
        return _reduce(-(w * t * logp).sum(axis=1), reduction)
    valid = target != ignore_index
    y = np.where(valid, target, 0)
    w_y = np.take_along_axis(np.broadcast_to(w, logp.shape), y[:, None], 1)[:, 0] * valid
    nll = -w_y * np.take_along_axis(logp, y[:, None], 1)[:, 0]
    smooth = -(w * logp).sum(axis=1) * valid
    losses = (1 - label_smoothing) * nll + label_smoothing / c * smooth
    return _reduce(losses, reduction, w_y.sum())


def ref_nll_loss(x, target, weight=None, ignore_index=-100, reduction="mean"):
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    losses, total = np.zeros(target.shape), 0.0
    for pos in np.ndindex(target.shape):
        y = target[pos]
        if y != ignore_index:
            losses[pos] = -w[y] * x[(pos[0], y) + pos[1:]]
            total += w[y]
    return _reduce(losses, reduction, total)


def ref_multi_margin_loss(x, target, p=1, margin=1.0, weight=None, reduction="mean"):
    n, c = x.shape
    losses = np.zeros(n)
    for i in range(n):
        y = target[i]
        for j in range(c):
            z = margin - x[i, y] + x[i, j]
            if j != y and z > 0:
                losses[i] += z**p * (1.0 if weight is None else weight[y])
    return _reduce(losses / c, reduction)


def ref_mse_loss(x, y, reduction="mean"):
    return _reduce((x - y) ** 2, reduction)


def ref_l1_loss(x, y, reduction="mean"):
    return _reduce(np.abs(x - y), reduction)


def ref_smooth_l1_loss(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    losses = d if beta == 0 else np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)
    return _reduce(losses, reduction)


def ref_huber_loss(x, y, reduction="mean", delta=1.0):
    d = np.abs(x - y)
    return _reduce(np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta)), reduction)


def ref_binary_cross_entropy(x, y, weight=None, reduction="mean"):
    losses = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))
    return _reduce(losses * (1.0 if weight is None else weight), reduction)


def ref_binary_cross_entropy_with_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    lw = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y
    losses = (1 - y) * x + lw * np.logaddexp(0, -x)
    return _reduce(losses * (1.0 if weight is None else weight), reduction)


def ref_kl_div(x, t, reduction="mean", log_target=False):
    if log_target:
        losses = np.exp(t) * (t - x)
    else:
        losses = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0.0)
    if reduction == "batchmean":
        return losses.sum() / x.shape[0]
    return _reduce(losses, reduction)


# -- the cases: (id, functional name, input, target, options) -----------------------------
def _labels(shape, c=C, ignore=None):
    y = rng.integers(0, c, shape)
    if ignore is not None:
        y.flat[::3] = ignore
    return y


_x = rng.standard_normal((N, C))
_w = rng.uniform(0.2, 2.0, C)
_probs = np.exp(_log_softmax(rng.standard_normal((N, C)), 1))
_p01 = rng.uniform(0.02, 0.98, (N, C))
_t01 = rng.uniform(0.0, 1.0, (N, C))
_x4, _y4 = rng.standard_normal((2, C, 3, 2)), _labels((2, 3, 2), ignore=-100)

CASES = []
for _red in ("mean", "sum", "none"):
    CASES += [
        (f"ce-{_red}", "cross_entropy", _x, _labels(N), {"reduction": _red}),
        (f"ce-weight-{_red}", "cross_entropy", _x, _labels(N), {"weight": _w, "reduction": _red}),
        (f"ce-ignore-{_red}", "cross_entropy", _x, _labels(N, ignore=-100), {"reduction": _red}),
        (f"ce-ignore2-weight-{_red}", "cross_entropy", _x, _labels(N),
         {"ignore_index": 2, "weight": _w, "reduction": _red}),
        (f"ce-smooth-{_red}", "cross_entropy", _x, _labels(N), {"label_smoothing": 0.2,
                                                                "reduction": _red}),
        (f"ce-all-options-{_red}", "cross_entropy", _x, _labels(N, ignore=-100),
         {"label_smoothing": 0.15, "weight": _w, "reduction": _red}),
        (f"ce-kdim-{_red}", "cross_entropy", _x4, _y4, {"label_smoothing": 0.1, "weight": _w,
                                                        "reduction": _red}),
        (f"ce-unbatched-{_red}", "cross_entropy", _x[0], np.array(3), {"reduction": _red}),
        (f"ce-probs-{_red}", "cross_entropy", _x, _probs, {"reduction": _red}),
        (f"ce-probs-weight-smooth-{_red}", "cross_entropy", _x, _probs,
         {"weight": _w, "label_smoothing": 0.3, "reduction": _red}),
        (f"nll-{_red}", "nll_loss", _log_softmax(_x, 1), _labels(N), {"reduction": _red}),
        (f"nll-weight-ignore-{_red}", "nll_loss", _log_softmax(_x, 1), _labels(N, ignore=-100),
         {"weight": _w, "reduction": _red}),
        (f"nll-kdim-{_red}", "nll_loss", _log_softmax(_x4, 1), _y4, {"weight": _w,
                                                                      "reduction": _red}),
        (f"margin-p1-{_red}", "multi_margin_loss", _x, _labels(N), {"reduction": _red}),
        (f"margin-p2-weight-{_red}", "multi_margin_loss", _x, _labels(N),
         {"p": 2, "margin": 0.7, "weight": _w, "reduction": _red}),
        (f"mse-{_red}", "mse_loss", _x, _t01, {"reduction": _red}),
        (f"l1-{_red}", "l1_loss", _x, _t01, {"reduction": _red}),
        (f"smooth_l1-{_red}", "smooth_l1_loss", _x, _t01, {"reduction": _red}),
        (f"smooth_l1-beta0.5-{_red}", "smooth_l1_loss", _x, _t01, {"beta": 0.5,
                                                                    "reduction": _red}),
        (f"smooth_l1-beta0-{_red}", "smooth_l1_loss", _x, _t01, {"beta": 0.0,
                                                                  "reduction": _red}),
        (f"huber-{_red}", "huber_loss", 2 * _x, _t01, {"reduction": _red}),
        (f"huber-delta2.5-{_red}", "huber_loss", 3 * _x, _t01, {"delta": 2.5,
                                                                 "reduction": _red}),
        (f"bce-{_red}", "binary_cross_entropy", _p01, _t01, {"reduction": _red}),
        (f"bce-weight-{_red}", "binary_cross_entropy", _p01, _t01, {"weight": _w,
                                                                     "reduction": _red}),
        (f"bce-logits-{_red}", "binary_cross_entropy_with_logits", 3 * _x, _t01,
         {"reduction": _red}),
        (f"bce-logits-weights-{_red}", "binary_cross_entropy_with_logits", 3 * _x, _t01,
         {"weight": _w, "pos_weight": 2 * _w, "reduction": _red}),
        (f"kl-{_red}", "kl_div", _log_softmax(_x, 1), np.where(_probs > 0.15, _probs, 0.0),
         {"reduction": _red}),
        (f"kl-log-target-{_red}", "kl_div", _log_softmax(_x, 1), np.log(_probs),
         {"reduction": _red, "log_target": True}),
    ]
CASES += [("kl-batchmean", "kl_div", _log_softmax(_x, 1), _probs, {"reduction": "batchmean"}),
          ("kl-log-target-batchmean", "kl_div", _log_softmax(_x, 1), np.log(_probs),
           {"reduction": "batchmean", "log_target": True})]
IDS = [case[0] for case in CASES]


def _reference(name):
    return globals()[f"ref_{name}"]


def _numeric_gradient(f, x, eps=1e-6):
    """Central differences of the scalar numpy function ``f`` at ``x``."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def _cotangent(shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loss_matches_float64_numpy_reference_and_its_gradient(case):
    _, name, x, target, options = case
    reference = _reference(name)
    expected = reference(x, target, **options)
    xt = tg.tensor(x, requires_grad=True)
    loss = getattr(F, name)(xt, target, **options)
    assert loss.shape == np.shape(expected) and loss.dtype == np.float64
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12, atol=1e-14)
    r = _cotangent(loss.shape)
    loss.backward(tg.tensor(r))
    numeric = _numeric_gradient(lambda z: (r * reference(z, target, **options)).sum(), x)
    np.testing.assert_allclose(xt.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def _torch_options(options, dtype):
    return {k: torch.tensor(v, dtype=dtype) if isinstance(v, np.ndarray) else v
            for k, v in options.items()}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loss_matches_torch(case, dtype):
    _, name, x, target, options = case
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tol = 1e-12 if dtype == np.float64 else 3e-6
    x = x.astype(dtype)
    target = target.astype(dtype) if target.dtype.kind == "f" else target
    ours_opts = {k: v.astype(dtype) if isinstance(v, np.ndarray) else v
                 for k, v in options.items()}
    xo, xr = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o = getattr(F, name)(xo, target, **ours_opts)
    out_r = getattr(TF, name)(xr, torch.from_numpy(target), **_torch_options(options, tdtype))
    assert out_o.shape == tuple(out_r.shape) and out_o.dtype == dtype
    np.testing.assert_allclose(out_o.numpy(), out_r.detach().numpy(), rtol=tol, atol=tol)
    r = _cotangent(out_o.shape).astype(dtype)
    out_o.backward(tg.tensor(r))
    out_r.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xr.grad.numpy(), rtol=tol, atol=tol)


# -- huge logits -------------------------------------------------------------------------
def _huge(scale=1e4):
    x = rng.standard_normal((N, C)).astype(np.float32) * scale
    return tg.tensor(x, requires_grad=True)


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1, "weight": _w},
                                     {"reduction": "none"}])
def test_cross_entropy_is_stable_and_exact_at_logits_of_1e4(options):
    x, y = _huge(), _labels(N)
    options = {k: v.astype(np.float32) if isinstance(v, np.ndarray) else v
               for k, v in options.items()}
    loss = F.cross_entropy(x, y, **options)
    loss.sum().backward()
    assert np.isfinite(loss.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    # float64 reference: at this scale softmax is one-hot at the argmax
    expected = ref_cross_entropy(x.numpy().astype(np.float64), y, **{
        k: v.astype(np.float64) if isinstance(v, np.ndarray) else v for k, v in options.items()})
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    if not options:
        onehot = np.eye(C)
        expected_grad = (onehot[x.numpy().argmax(axis=1)] - onehot[y]) / N
        np.testing.assert_allclose(x.grad.numpy(), expected_grad, atol=1e-7)


def test_other_losses_are_finite_at_logits_of_1e4():
    y = _labels(N)
    t01 = (rng.uniform(size=(N, C)) > 0.5).astype(np.float32)
    cases = {
        "bce-logits": (lambda x: F.binary_cross_entropy_with_logits(x, t01, pos_weight=3.0),
                       lambda x: ref_binary_cross_entropy_with_logits(x, t01, pos_weight=3.0)),
        "margin": (lambda x: F.multi_margin_loss(x, y), lambda x: ref_multi_margin_loss(x, y)),
        "nll(log_softmax)": (lambda x: F.nll_loss(F.log_softmax(x, 1), y),
                             lambda x: ref_nll_loss(_log_softmax(x, 1), y)),
        "kl(log_softmax)": (lambda x: F.kl_div(F.log_softmax(x, 1), _probs.astype(np.float32),
                                               reduction="batchmean"),
                            lambda x: ref_kl_div(_log_softmax(x, 1), _probs, "batchmean")),
    }
    for name, (ours, reference) in cases.items():
        x = _huge()
        loss = ours(x)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all(), name
        np.testing.assert_allclose(loss.item(), reference(x.numpy().astype(np.float64)),
                                   rtol=1e-5, err_msg=name)
    x = _huge()  # bce-logits gradient: sigmoid(x) (1 + (pw - 1) y) - pw y, saturated
    F.binary_cross_entropy_with_logits(x, t01, reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() > 0) - t01)


@needs_torch
def test_huge_logit_gradients_match_torch():
    x, y = _huge(), _labels(N)
    xr = torch.tensor(x.numpy(), requires_grad=True)
    F.cross_entropy(x, y, label_smoothing=0.1).backward()
    TF.cross_entropy(xr, torch.from_numpy(y), label_smoothing=0.1).backward()
    np.testing.assert_allclose(x.grad.numpy(), xr.grad.numpy(), atol=1e-7)


# -- options and edge cases -----------------------------------------------------------------
def test_every_target_ignored_gives_nan_and_zero_gradients():
    x = tg.tensor(_x, requires_grad=True)
    y = np.full(N, -100)
    loss = F.cross_entropy(x, y, label_smoothing=0.1)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    assert np.isnan(F.nll_loss(x, y).item())


def test_multi_margin_loss_at_zero_scores_is_c_minus_1_over_c():
    """CS231n's SVM loss sum_{j != y} max(0, s_j - s_y + 1) is C - 1 at zero scores (the
    sanity check of the notes); PyTorch's (and ours) divides by C."""
    for c in (2, 3, 10):
        loss = F.multi_margin_loss(tg.zeros(4, c), _labels(4, c))
        assert loss.item() == pytest.approx((c - 1) / c)
        assert c * loss.item() == pytest.approx(c - 1)  # CS231n's number


def test_cross_entropy_at_zero_scores_is_log_c():
    assert F.cross_entropy(tg.zeros(4, 10), _labels(4, 10)).item() == pytest.approx(math.log(10))


def test_probability_targets_receive_gradients():
    t = tg.tensor(_probs, requires_grad=True)
    assert gradcheck(lambda t: F.cross_entropy(tg.tensor(_x), t, label_smoothing=0.2), (t,))


def test_cross_entropy_second_derivative():
    x = tg.tensor(_x, requires_grad=True)
    y = _labels(N, ignore=-100)
    assert gradgradcheck(lambda x: F.cross_entropy(x, y, weight=_w, label_smoothing=0.1), (x,))
    assert gradgradcheck(lambda x: F.cross_entropy(x, y, reduction="none"), (x,))


def test_binary_losses_gradients_in_every_argument():
    p, y = tg.tensor(_p01, requires_grad=True), tg.tensor(_t01, requires_grad=True)
    assert gradcheck(lambda p, y: F.binary_cross_entropy(p, y), (p, y))
    x, w = tg.tensor(_x, requires_grad=True), tg.tensor(_w * 2, requires_grad=True)
    assert gradcheck(lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, pos_weight=w),
                     (x, y, w))
    assert gradgradcheck(lambda x: F.binary_cross_entropy_with_logits(x, _t01), (x,))


@needs_torch
def test_binary_cross_entropy_clamps_like_torch_at_0_and_1():
    x = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    y = np.array([0.0, 0.3, 1.0, 0.6, 0.2])
    xo, xr = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o = F.binary_cross_entropy(xo, y, reduction="sum")
    out_r = TF.binary_cross_entropy(xr, torch.from_numpy(y), reduction="sum")
    out_o.backward()
    out_r.backward()
    np.testing.assert_allclose(out_o.item(), out_r.item(), rtol=1e-12)
    # +-y * 1e12; PyTorch's 1e-12 floor is a float32 constant (relative difference 4e-9)
    np.testing.assert_allclose(xo.grad.numpy(), xr.grad.numpy(), rtol=1e-8)


def test_bad_arguments_raise_clear_errors():
    x = tg.tensor(_x)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, np.array([0, 1, 2, 3, 4, 5]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(x, np.array([0, 1, 2, 3, 4, -1]))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(x, np.zeros(N))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(x, _labels(N), weight=np.ones(3))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x, _t01)
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(tg.tensor(_p01), _t01[:2])
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        F.multi_margin_loss(x, _labels(N), p=3)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, _t01[:1])
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, _probs)


def test_legacy_size_average_and_reduce_map_to_reduction():
    x = tg.tensor(_x)
    with pytest.warns(UserWarning, match="size_average and reduce"):
        summed = F.mse_loss(x, _t01, size_average=False)
    np.testing.assert_allclose(summed.item(), ref_mse_loss(_x, _t01, "sum"))
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


# -- modules ---------------------------------------------------------------------------------
MODULES = [
    (nn.CrossEntropyLoss(weight=_w, ignore_index=1, label_smoothing=0.1), "cross_entropy",
     _x, _labels(N), {"weight": _w, "ignore_index": 1, "label_smoothing": 0.1}),
    (nn.NLLLoss(reduction="sum"), "nll_loss", _x, _labels(N), {"reduction": "sum"}),
    (nn.MultiMarginLoss(p=2, margin=0.5), "multi_margin_loss", _x, _labels(N),
     {"p": 2, "margin": 0.5}),
    (nn.MSELoss(), "mse_loss", _x, _t01, {}),
    (nn.L1Loss(reduction="none"), "l1_loss", _x, _t01, {"reduction": "none"}),
    (nn.SmoothL1Loss(beta=0.3), "smooth_l1_loss", _x, _t01, {"beta": 0.3}),
    (nn.HuberLoss(delta=0.4), "huber_loss", _x, _t01, {"delta": 0.4}),
    (nn.BCELoss(weight=_w), "binary_cross_entropy", _p01, _t01, {"weight": _w}),
    (nn.BCEWithLogitsLoss(pos_weight=_w), "binary_cross_entropy_with_logits", _x, _t01,
     {"pos_weight": _w}),
    (nn.KLDivLoss(reduction="batchmean", log_target=True), "kl_div", _x, np.log(_probs),
     {"reduction": "batchmean", "log_target": True}),
]


@pytest.mark.parametrize("module, name, x, target, options", MODULES,
                         ids=[type(m[0]).__name__ for m in MODULES])
def test_loss_module_equals_its_functional_form(module, name, x, target, options):
    np.testing.assert_array_equal(module(tg.tensor(x), target).numpy(),
                                  getattr(F, name)(tg.tensor(x), target, **options).numpy())
    assert repr(module) == f"{type(module).__name__}()"


def test_loss_weights_are_buffers():
    module = nn.CrossEntropyLoss(weight=_w)
    assert list(module.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=_w).state_dict()) == ["pos_weight"]
    assert nn.CrossEntropyLoss().weight is None


# -- L2 penalty -----------------------------------------------------------------------------
def test_l2_penalty_value_and_gradient():
    a, b = tg.tensor(_x, requires_grad=True), tg.tensor(_w, requires_grad=True)
    penalty = l2_penalty([a, b], 0.3)
    assert penalty.item() == pytest.approx(0.15 * ((_x**2).sum() + (_w**2).sum()))
    penalty.backward()
    np.testing.assert_allclose(a.grad.numpy(), 0.3 * _x)
    np.testing.assert_allclose(b.grad.numpy(), 0.3 * _w)
    with pytest.raises(ValueError, match="no parameters"):
        l2_penalty([], 0.1)


def test_l2_penalty_equals_sgd_weight_decay():
    """loss + l2_penalty(params, lam) with plain SGD follows SGD(weight_decay=lam)."""
    x, y = tg.tensor(rng.standard_normal((8, 4))), _labels(8, 3)

    def run(explicit):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                        weight_decay=0.0 if explicit else 0.05)
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            if explicit:
                loss = loss + l2_penalty(model.parameters(), 0.05)
            loss.backward()
            opt.step()
        return [p.numpy() for p in model.parameters()]

    for a, b in zip(run(True), run(False)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_l2_penalty_on_weights_only_leaves_biases_alone():
    model = nn.Linear(3, 2, dtype=tg.float64)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    l2_penalty(weights, 1.0).backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), model.weight.numpy())
    assert model.bias.grad is None
