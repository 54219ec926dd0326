"""Saturating ops against PyTorch in float32, across the whole float32 range (issue 10, part 4).

Each property draws float32 inputs from [-100, 100] and from the extremes (up to +-3.4e38,
the overflow edges of exp, the points where sigmoid and tanh round to +-1), runs the op
forward and backward here and in PyTorch on the same inputs, and compares elementwise:

    |ours - torch| <= RTOL |torch| + atol

* ``RTOL = 4 eps`` (eps = 2**-23 = 1.2e-7, float32's epsilon): numpy's and PyTorch's libm
  each round, and a formula of a few steps rounds a few times, so a few ulps apart;
* ``atol = TINY`` (1.2e-38, the smallest normal float32) where both keep relative
  precision: below it one library may flush a subnormal to 0 (torch.sigmoid(-100) is 0,
  the true value 3.7e-44);
* a larger ``atol``, named at each op, only where PyTorch's own formula cancels and so
  has an absolute, not a relative, error: 1 - out**2 for tanh, out (1 - out) for sigmoid,
  (1 + erf) / 2 in GELU. There a one-ulp difference in the output (numpy's libm against
  PyTorch's) moves the result by about eps times the named scale, and we use PyTorch's
  formula on purpose (see ``Sigmoid``'s docstring).

Also: sigmoid keeps relative precision in both tails (float64 closed form), BCE of a
saturated sigmoid, and the gradients of std / var / norm at constant and all-zero inputs.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cs as tg
import tinygrad_cs.nn.functional as F

torch = pytest.importorskip("torch")
tF = torch.nn.functional

EPS = float(np.finfo(np.float32).eps)
TINY = float(np.finfo(np.float32).tiny)
RTOL = 4 * EPS
BIG = float(np.finfo(np.float32).max)

# The edges where the ops saturate: exp overflows past 88.7 and underflows to subnormals
# below -87.3; sigmoid rounds to 1 from 16.6 and tanh from 9.0; |x|**3 overflows from 7e12.
EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 9.0, -9.0, 16.6, 17.0, 17.3, -17.3, 20.0,
         -20.0, 87.3, -87.3, 88.7, -88.7, 103.0, -103.0, 1e13, -1e13, 1e19, -1e19, 1e30,
         -1e30, BIG, -BIG]


def values(lo: float = -BIG, hi: float = BIG) -> st.SearchStrategy[float]:
    """float32 values in [lo, hi]: mostly [-100, 100], plus edges and any magnitude."""
    inner = st.floats(max(lo, -100.0), min(hi, 100.0), width=32)
    return st.one_of(inner, inner, st.sampled_from([v for v in EDGES if lo <= v <= hi]),
                     st.floats(lo, hi, width=32, allow_nan=False, allow_infinity=False))


def batches(lo: float = -BIG, hi: float = BIG) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float32, st.integers(1, 12), elements=values(lo, hi))


def run_ours(fn, *arrays: np.ndarray):
    """fn's output (raw float32) and its vector-Jacobian product with ones (the gradient of
    its sum, without summing huge values to inf) w.r.t. every input."""
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(tg.ones_like(out))
    return out.numpy(), [x.grad.numpy() for x in xs]


def run_torch(fn, *arrays: np.ndarray):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def assert_close(what: str, ours: np.ndarray, theirs: np.ndarray, x: np.ndarray, atol=TINY):
    """|ours - theirs| <= RTOL |theirs| + atol elementwise (NaN and inf must agree)."""
    assert ours.dtype == np.float32, f"{what}: dtype {ours.dtype}, expected float32"
    with np.errstate(invalid="ignore", over="ignore"):
        same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
        err = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        bad = ~same & ~(err <= RTOL * np.abs(theirs.astype(np.float64)) + atol)
    if bad.any():
        i = int(np.argmax(bad))
        raise AssertionError(f"{what}: at x = {x.flat[i]!r}: ours {ours.flat[i]!r}, PyTorch "
                             f"{theirs.flat[i]!r} ({int(bad.sum())} of {bad.size} elements "
                             "outside the bound)")


def check_unary(name, ours_fn, torch_fn, x, fwd_atol=TINY, grad_atol=TINY):
    out, (grad,) = run_ours(ours_fn, x)
    ref, (ref_grad,) = run_torch(torch_fn, x)
    assert_close(f"{name} forward", out, ref, x, fwd_atol)
    assert_close(f"{name} gradient", grad, ref_grad, x, grad_atol)


# -- the saturating unary ops ---------------------------------------------------------------
@settings(deadline=None)
@given(batches())
def test_sigmoid(x):
    # out (1 - out), PyTorch's derivative, cancels near out = 1: eps * out
    ref = torch.sigmoid(torch.tensor(x)).numpy()
    check_unary("sigmoid", tg.sigmoid, torch.sigmoid, x, grad_atol=2 * EPS * ref + TINY)


@settings(deadline=None)
@given(batches())
def test_logsigmoid(x):
    check_unary("logsigmoid", F.logsigmoid, tF.logsigmoid, x)
    check_unary("nn.LogSigmoid", tg.nn.LogSigmoid(), torch.nn.LogSigmoid(), x)


@settings(deadline=None)
@given(batches(), st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.sampled_from([20.0, 5.0, 1.0]))
def test_softplus_with_beta_and_threshold(x, beta, threshold):
    check_unary(f"softplus(beta={beta}, threshold={threshold})",
                lambda t: F.softplus(t, beta, threshold),
                lambda t: tF.softplus(t, beta, threshold), x)


@settings(deadline=None)
@given(batches())
def test_tanh(x):
    # 1 - out**2, PyTorch's derivative, cancels near |out| = 1: eps * |out|
    ref = np.abs(torch.tanh(torch.tensor(x)).numpy())
    check_unary("tanh", tg.tanh, torch.tanh, x, grad_atol=2 * EPS * ref + TINY)


@settings(deadline=None)
@given(batches(-1.0, BIG).filter(lambda a: (a > -1.0).all()))
def test_log1p(x):
    check_unary("log1p", tg.log1p, torch.log1p, x)


@settings(deadline=None)
@given(batches(-BIG, 88.0))  # beyond 88.7 both overflow to inf (numpy warns)
def test_expm1(x):
    # out + 1, PyTorch's derivative, cancels near out = -1: eps
    check_unary("expm1", tg.expm1, torch.expm1, x, grad_atol=2 * EPS)


@settings(deadline=None)
@given(batches(), st.sampled_from([0.5, 1.0, 2.0]))
def test_elu(x, alpha):
    check_unary(f"elu(alpha={alpha})", lambda t: F.elu(t, alpha), lambda t: tF.elu(t, alpha), x)


@settings(deadline=None)
@given(batches(), st.sampled_from(["none", "tanh"]))
def test_gelu(x, approximate):
    # Phi = (1 + erf) / 2 (or (1 + tanh) / 2) cancels for x < -3, in PyTorch too: eps * |x|
    # forward, eps * (1 + |x|) derivative. Far out (|x| > 1e13) x**3 is inf and the tanh
    # form's derivative is 0 * inf = NaN in both.
    scale = np.abs(x.astype(np.float64))
    check_unary(f"gelu({approximate})", lambda t: F.gelu(t, approximate=approximate),
                lambda t: tF.gelu(t, approximate=approximate), x,
                fwd_atol=EPS * scale + TINY, grad_atol=2 * EPS * (1.0 + scale))


# -- the binary cross-entropies -----------------------------------------------------------------
targets = st.sampled_from([0.0, 1.0, 0.25, 0.5, 0.9])


@settings(deadline=None)
@given(batches(-88.0, BIG), targets)
def test_bce_of_sigmoid(z, y):
    """BCELoss(sigmoid(z), y): the logs clamped at -100, PyTorch's gradient.

    From z = -88.7 down PyTorch's sigmoid, 1 / (1 + e**-z), is 0 (e**-z overflows) while
    ours is the subnormal e**z down to z = -103; BCE(sigmoid(z), 1) there is the true -z
    here and the clamp value 100 in PyTorch, so those z are left out."""
    target = np.full_like(z, y)
    out, (gz,) = run_ours(lambda t: F.binary_cross_entropy(
        tg.sigmoid(t), tg.tensor(target), reduction="none"), z)
    ref, (ref_gz,) = run_torch(lambda t: tF.binary_cross_entropy(
        torch.sigmoid(t), torch.tensor(target), reduction="none"), z)
    assert_close(f"BCELoss(sigmoid(z), {y})", out, ref, z)
    assert_close(f"BCELoss(sigmoid(z), {y}) gradient", gz, ref_gz, z, 2 * EPS)


@settings(deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 12),
                  elements=st.one_of(st.sampled_from([0.0, 1.0, 1e-30, 1e-12, 1 - EPS / 2,
                                                      0.5]),
                                     st.floats(0.0, 1.0, width=32))),
       targets)
def test_bce_on_probabilities_including_0_and_1(x, y):
    """At x = 0 or 1 the loss is 100 (log clamped at -100); the gradient wrt x and y too."""
    target = np.full_like(x, y)
    fn = (lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
          lambda a, b: tF.binary_cross_entropy(a, b, reduction="none"))
    out, grads = run_ours(fn[0], x, target)
    ref, ref_grads = run_torch(fn[1], x, target)
    assert_close(f"BCE(x, {y})", out, ref, x)
    assert_close(f"BCE(x, {y}) gradient wrt x", grads[0], ref_grads[0], x)
    assert_close(f"BCE(x, {y}) gradient wrt y", grads[1], ref_grads[1], x)


@settings(deadline=None)
@given(batches(), hnp.arrays(np.float32, 3, elements=st.floats(0.0, 1.0, width=32)),
       st.one_of(st.none(), hnp.arrays(np.float32, 3, elements=st.floats(0.5, 3.0, width=32))))
def test_bce_with_logits(z, y, pos_weight):
    """Loss and gradients wrt scores and targets (scores of shape (n, 3)); the gradient wrt
    pos_weight, which PyTorch does not give, is checked by the op registry's gradcheck."""
    z = np.resize(z, (max(1, z.size // 3), 3)).astype(np.float32)
    y = np.broadcast_to(y, z.shape).copy()

    def ours(s, t):  # PyTorch has no gradient for pos_weight: a constant in both
        p = None if pos_weight is None else tg.tensor(pos_weight)
        return F.binary_cross_entropy_with_logits(s, t, reduction="none", pos_weight=p)

    def theirs(s, t):
        p = None if pos_weight is None else torch.tensor(pos_weight)
        return tF.binary_cross_entropy_with_logits(s, t, reduction="none", pos_weight=p)

    out, grads = run_ours(ours, z, y)
    ref, ref_grads = run_torch(theirs, z, y)
    # (1 - y) z + l softplus(-z): the two terms can cancel for soft targets, so eps times
    # their size; the derivative l sigmoid(z) - p y likewise (l <= 3)
    size = np.abs(z.astype(np.float64)) + 3.0 * np.logaddexp(0.0, -z.astype(np.float64))
    assert_close("BCEWithLogits", out, ref, z, 2 * EPS * size + TINY)
    assert_close("BCEWithLogits gradient wrt z", grads[0], ref_grads[0], z, 8 * EPS)
    assert_close("BCEWithLogits gradient wrt y", grads[1], ref_grads[1], z,
                 2 * EPS * size + TINY)


# -- relative precision in the tails, against float64 closed forms -------------------------------
def test_sigmoid_keeps_relative_precision_in_both_tails():
    """1 / (1 + e**-x) in float64 as the truth: within 4 eps relative wherever the result is
    a normal float32 (x >= -87); the tanh form was 44% off at -17 and 0 below -17.3."""
    x = np.linspace(-87.0, 30.0, 4001).astype(np.float32)
    truth = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    out = tg.sigmoid(tg.tensor(x)).numpy()
    rel = np.abs(out - truth) / truth
    assert rel.max() <= RTOL, f"sigmoid: relative error {rel.max():.3g} at x = {x[rel.argmax()]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning at the extremes
        ends = tg.sigmoid(tg.tensor(np.array([-BIG, -1e30, 1e30, BIG], np.float32))).numpy()
    assert ends.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_sigmoid_gradient_in_the_negative_tail_is_relative():
    """out (1 - out) is exact to float32 rounding where out is small (1 - out ~ 1)."""
    x = np.array([-10.0, -17.0, -20.0, -50.0, -80.0], np.float32)
    _, (grad,) = run_ours(tg.sigmoid, x)
    e = np.exp(x.astype(np.float64))
    truth = e / (1.0 + e) ** 2
    np.testing.assert_allclose(grad, truth, rtol=RTOL)


def test_bce_of_a_saturated_sigmoid_has_pytorch_loss_and_gradient():
    """The issue's case: BCELoss(sigmoid(-20), 1) is 20 with gradient -1 (it was the clamp
    value 100 with gradient 0)."""
    z = tg.tensor(np.float32(-20.0), requires_grad=True)
    loss = tg.nn.BCELoss()(tg.sigmoid(z), tg.tensor(np.float32(1.0)))
    loss.backward()
    assert loss.numpy() == pytest.approx(20.0, rel=RTOL)
    assert z.grad.numpy() == pytest.approx(-1.0, rel=RTOL)


def test_log1p_expm1_are_exact_for_tiny_inputs():
    x = np.array([1e-10, -1e-10, 1e-30], np.float32)
    np.testing.assert_array_equal(tg.log1p(tg.tensor(x)).numpy(), np.log1p(x))
    np.testing.assert_allclose(tg.expm1(tg.tensor(x)).numpy(), x, rtol=EPS)


# -- std / var / norm at constant and zero inputs ---------------------------------------------
def _grads(fn_ours, fn_torch, a: np.ndarray):
    ours, (g,) = run_ours(fn_ours, a)
    ref, (ref_g,) = run_torch(fn_torch, a)
    return ours, g, ref, ref_g


DIMS = [{}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": (0, 2)}, {"dim": -1}]


@pytest.mark.parametrize("op", ["std", "var"])
@pytest.mark.parametrize("kwargs", DIMS, ids=str)
@pytest.mark.parametrize("correction", [0, 1])
def test_std_var_of_a_constant_input_have_gradient_zero(op, kwargs, correction):
    a = np.full((2, 3, 4), 1.5, np.float32)
    out, g, ref, ref_g = _grads(lambda t: getattr(tg, op)(t, correction=correction, **kwargs),
                                lambda t: getattr(torch, op)(t, correction=correction, **kwargs),
                                a)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(g, ref_g)
    assert not np.isnan(g).any() and (g == 0).all()


def test_std_of_a_partly_constant_input_matches_pytorch():
    """Groups with spread get (a - mean) / ((n - 1) std); a constant group gets 0."""
    a = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], np.float32)
    out, g, ref, ref_g = _grads(lambda t: tg.std(t, dim=1), lambda t: torch.std(t, dim=1), a)
    np.testing.assert_allclose(out, ref, rtol=RTOL)
    np.testing.assert_allclose(g, ref_g, rtol=RTOL, atol=TINY)
    assert (g[0] == 0).all()


@pytest.mark.parametrize("op", ["std", "var"])
def test_std_var_of_one_element_are_nan_with_pytorch_warning(op):
    a = np.array([3.0], np.float32)
    with pytest.warns(UserWarning, match=rf"{op}\(\): degrees of freedom is <= 0"):
        out, (g,) = run_ours(lambda t: getattr(tg, op)(t), a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own copy of the warning
        ref, (ref_g,) = run_torch(lambda t: getattr(torch, op)(t), a)
    assert math.isnan(float(out)) and math.isnan(float(ref))
    assert np.isnan(g).all() and np.isnan(ref_g).all()


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": (0, 1), "keepdim": True}], ids=str)
def test_norm_of_zeros_has_gradient_zero(p, kwargs):
    a = np.zeros((2, 3), np.float32)
    out, g, ref, ref_g = _grads(lambda t: tg.norm(t, p, **kwargs),
                                lambda t: torch.norm(t, p, **kwargs), a)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(g, ref_g)
    assert (g == 0).all()


@pytest.mark.parametrize("p", [2, 3, 0.5, 1.5])
def test_norm_with_some_zeros_matches_pytorch(p):
    """Zero rows get 0; in other rows a zero element gets 0 (for p < 1 PyTorch masks
    |a|**(p - 1) = inf there) and the rest (sign(a) (|a| / norm)**(p - 1))."""
    a = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]], np.float32)
    out, g, ref, ref_g = _grads(lambda t: tg.norm(t, p, dim=1), lambda t: torch.norm(t, p, dim=1),
                                a)
    np.testing.assert_allclose(out, ref, rtol=RTOL)
    np.testing.assert_allclose(g, ref_g, rtol=RTOL, atol=TINY)
