"""Batch / instance / group / layer norm: fused kernels against the numpy reference,
float32 accuracy, running statistics, gradients (first and second order), PyTorch parity
and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cs as tg
from tinygrad_cs.kernels import norm_reference as R
from tinygrad_cs.ops import normalization as N
from tinygrad_cs.testing import gradcheck, gradgradcheck
from tinygrad_cs.testing.strategies import layouts, relayout

DTYPES = st.sampled_from([np.float32, np.float64])


def _tol(dtype):
    return {"rtol": 2e-4, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-9,
                                                                      "atol": 1e-10}


@st.composite
def _array(draw, shape, dtype, low=None, high=None):
    """A float array of ``shape`` in a random memory layout, in [low, high] if given, else
    with elements at least 0.1 apart: no group of two or more is (nearly) constant, where
    float32 rounding of ``x - mean`` is amplified by invstd ~ 1/sqrt(eps)."""
    if low is not None:
        a = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    else:
        size = math.prod(shape)
        order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
        noise = draw(hnp.arrays(np.float64, shape, elements=st.floats(-0.2, 0.2)))
        a = 0.5 * (order.reshape(shape) - size // 2) + noise
    return relayout(a.astype(dtype), draw(layouts()))


def _params(draw, shape, dtype, affine):
    if not affine:
        return None, None
    return (draw(_array(shape, dtype, -2.0, 2.0)), draw(_array(shape, dtype, -2.0, 2.0)))


def _run(fn, x, *params):
    """Output of fn(x, *params) on Tensors that require grad, the upstream g, the grads."""
    leaves = [None if p is None else tg.Tensor(p, requires_grad=True) for p in (x, *params)]
    out = fn(*leaves)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    out.backward(tg.Tensor(g))
    grads = [None if t is None else t.grad.numpy() for t in leaves]
    return out.numpy(), g, grads


def _close(got, expected, dtype):
    """Compare gradients; a parameter that was None has none."""
    for a, b in zip(got, expected):
        if a is not None:
            np.testing.assert_allclose(a, b, **_tol(dtype))


@st.composite
def _shapes(draw, min_dims=2):
    dims = draw(st.integers(min_dims, 4))
    return tuple(draw(st.integers(1, 5)) for _ in range(dims))


# -- kernels against the numpy reference ----------------------------------------------------
@pytest.fixture
def kernel_family(request):
    """Batch norm on the channel kernels (rows of L elements) or on the column kernels
    (short rows): switched by the spatial size threshold, restored afterwards."""
    saved = N.COLUMNS_BELOW
    N.COLUMNS_BELOW = request.param
    yield request.param
    N.COLUMNS_BELOW = saved


@pytest.mark.parametrize("kernel_family", [0, 10**9], indirect=True, ids=["rows", "columns"])
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), shape=_shapes(), dtype=DTYPES, training=st.booleans(),
       affine=st.booleans(), momentum=st.sampled_from([0.1, 0.5, 1.0]))
def test_batch_norm_matches_reference(kernel_family, data, shape, dtype, training, affine,
                                      momentum):
    if training and math.prod(shape) // shape[1] < 2:
        shape = (shape[0] + 1,) + shape[1:]
    c = shape[1]
    x = data.draw(_array(shape, dtype))
    w, b = _params(data.draw, (c,), dtype, affine)
    rm = data.draw(_array((c,), dtype, -1.0, 1.0))
    rv = data.draw(_array((c,), dtype, 0.5, 2.0))
    rm0, rv0 = rm.copy(), rv.copy()
    y, g, grads = _run(lambda t, *p: N.batch_norm(t, rm, rv, *p, training=training,
                                                 momentum=momentum), x, w, b)
    ref_y, ref_rm, ref_rv = R.batch_norm(x, rm0, rv0, w, b, training, momentum)
    np.testing.assert_allclose(y, ref_y, **_tol(dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(rm, ref_rm, **_tol(dtype))   # updated in place (train only)
    np.testing.assert_allclose(rv, ref_rv, **_tol(dtype))
    _close(grads, R.batch_norm_backward(g, x, w, training, rm0, rv0), dtype)


@settings(deadline=None)
@given(data=st.data(), shape=_shapes(min_dims=3), dtype=DTYPES, affine=st.booleans())
def test_instance_norm_matches_reference(data, shape, dtype, affine):
    if math.prod(shape[2:]) < 2:
        shape = shape[:2] + (2,) + shape[3:]
    x = data.draw(_array(shape, dtype))
    w, b = _params(data.draw, (shape[1],), dtype, affine)
    y, g, grads = _run(lambda t, *p: N.instance_norm(t, None, None, *p), x, w, b)
    np.testing.assert_allclose(y, R.instance_norm(x, w, b), **_tol(dtype))
    _close(grads, R.instance_norm_backward(g, x, w), dtype)


@settings(deadline=None)
@given(data=st.data(), shape=_shapes(), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       dtype=DTYPES, affine=st.booleans())
def test_group_norm_matches_reference(data, shape, groups, per_group, dtype, affine):
    shape = (shape[0], groups * per_group) + shape[2:]
    if per_group * math.prod(shape[2:]) < 2:  # a group of one element has no variance
        shape = shape + (2,)
    x = data.draw(_array(shape, dtype))
    w, b = _params(data.draw, (shape[1],), dtype, affine)
    y, g, grads = _run(lambda t, *p: N.group_norm(t, groups, *p), x, w, b)
    np.testing.assert_allclose(y, R.group_norm(x, groups, w, b), **_tol(dtype))
    _close(grads, R.group_norm_backward(g, x, groups, w), dtype)


@settings(deadline=None)
@given(data=st.data(), shape=_shapes(min_dims=1), dtype=DTYPES, affine=st.booleans())
def test_layer_norm_matches_reference(data, shape, dtype, affine):
    k = data.draw(st.integers(1, len(shape)))
    if math.prod(shape[len(shape) - k:]) < 2:  # a row of one element has no variance
        shape = shape + (2,)
        k += 1
    norm_shape = shape[len(shape) - k:]
    x = data.draw(_array(shape, dtype))
    w, b = _params(data.draw, norm_shape, dtype, affine)
    y, g, grads = _run(lambda t, *p: N.layer_norm(t, norm_shape, *p), x, w, b)
    np.testing.assert_allclose(y, R.layer_norm(x, norm_shape, w, b), **_tol(dtype))
    _close(grads, R.layer_norm_backward(g, x, norm_shape, w), dtype)


# -- float32 accuracy: large means must not eat the digits ------------------------------------
@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("shape", [(8, 4, 16, 16), (256, 4)])  # channel / column kernels
def test_float32_batch_norm_is_accurate_against_float64(offset, shape):
    rng = np.random.default_rng(5)
    x64 = rng.standard_normal(shape) + offset
    x = x64.astype(np.float32)
    y, g, (dx,) = _run(lambda t: N.batch_norm(t, None, None, training=True), x)
    ref_y, _, _ = R.batch_norm(x.astype(np.float64), None, None, training=True)
    ref_dx, _, _ = R.batch_norm_backward(g.astype(np.float64), x.astype(np.float64))
    assert np.abs(y - ref_y).max() < 2e-6      # float32 resolution of the unit-scale output
    assert np.abs(dx - ref_dx).max() < 2e-5 * np.abs(ref_dx).max()


def test_float32_layer_norm_is_accurate_with_a_large_mean():
    x = (np.random.default_rng(6).standard_normal((16, 300)) + 1e4).astype(np.float32)
    y = N.layer_norm(x, 300)
    assert np.abs(y - R.layer_norm(x.astype(np.float64), (300,))).max() < 2e-6


# -- train / eval semantics ----------------------------------------------------------------------
def test_running_statistics_follow_pytorch_over_several_steps():
    rng = np.random.default_rng(1)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    expected_m, expected_v = rm.astype(np.float64), rv.astype(np.float64)
    for _ in range(4):
        x = rng.standard_normal((5, 3, 4)).astype(np.float32) * 3 + 2
        N.batch_norm(tg.tensor(x), rm, rv, training=True, momentum=0.2)
        x64 = x.astype(np.float64)
        expected_m = 0.8 * expected_m + 0.2 * x64.mean(axis=(0, 2))
        expected_v = 0.8 * expected_v + 0.2 * x64.var(axis=(0, 2), ddof=1)  # unbiased
    np.testing.assert_allclose(rm, expected_m, rtol=1e-6)
    np.testing.assert_allclose(rv, expected_v, rtol=1e-6)
    # eval normalises with those statistics, and leaves them alone
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    y = N.batch_norm(tg.tensor(x), rm, rv, training=False).numpy()
    expected = (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rm, expected_m, rtol=1e-6)


def test_running_statistics_accept_tensors_and_update_their_data():
    rm, rv = tg.zeros(2), tg.ones(2)
    x = tg.tensor(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
    N.batch_norm(x, rm, rv, training=True, momentum=1.0)
    np.testing.assert_allclose(rm.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(rv.numpy(), [2.0, 8.0])  # unbiased: n / (n - 1) = 2


def test_instance_norm_running_statistics_average_the_instances():
    x = np.random.default_rng(2).standard_normal((3, 2, 5))
    rm, rv = np.zeros(2), np.ones(2)
    N.instance_norm(tg.tensor(x), rm, rv, momentum=0.5)
    np.testing.assert_allclose(rm, 0.5 * x.mean(axis=2).mean(axis=0))
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var(axis=2, ddof=1).mean(axis=0))
    y = N.instance_norm(tg.tensor(x), rm, rv, use_input_stats=False).numpy()
    expected = (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-5)
    np.testing.assert_allclose(y, expected)


# -- gradients: float64 central differences, first and second order ---------------------------
_rng = np.random.default_rng(9)
_X = _rng.standard_normal((3, 2, 3, 2))
_W, _B = _rng.standard_normal(2), _rng.standard_normal(2)
_RM, _RV = _rng.standard_normal(2), _rng.random(2) + 0.5
GRAD_CASES = {
    "batch_norm train": (lambda x, w, b: N.batch_norm(x, None, None, w, b, training=True),
                         (_X, _W, _B)),
    "batch_norm eval": (lambda x, w, b: N.batch_norm(x, _RM, _RV, w, b), (_X, _W, _B)),
    "batch_norm 2d": (lambda x, w: N.batch_norm(x, None, None, w, training=True),
                      (_X[:, :, 0, 0], _W)),
    "instance_norm": (lambda x, w, b: N.instance_norm(x, weight=w, bias=b), (_X, _W, _B)),
    "instance_norm eval": (lambda x: N.instance_norm(x, _RM, _RV, use_input_stats=False),
                           (_X,)),
    "group_norm": (lambda x, w, b: N.group_norm(x, 2, w, b),
                   (_rng.standard_normal((2, 4, 3)), _rng.standard_normal(4),
                    _rng.standard_normal(4))),
    "layer_norm": (lambda x, w, b: N.layer_norm(x, (3, 2), w, b),
                   (_X, _rng.standard_normal((3, 2)), _rng.standard_normal((3, 2)))),
}


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradcheck_and_gradgradcheck_float64(name):
    fn, arrays = GRAD_CASES[name]
    inputs = tuple(tg.tensor(a, requires_grad=True) for a in arrays)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", GRAD_CASES)
def test_create_graph_gradients_equal_the_kernel_gradients(name):
    """The engine-op backward (create_graph) and the fused kernel agree."""
    fn, arrays = GRAD_CASES[name]
    inputs = tuple(tg.tensor(a, requires_grad=True) for a in arrays)
    g = tg.tensor(np.random.default_rng(4).standard_normal(fn(*inputs).shape))
    plain = tg.grad(fn(*inputs), inputs, g)
    graph = tg.grad(fn(*inputs), inputs, g, create_graph=True)
    for p, q in zip(plain, graph):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10, atol=1e-12)


# -- parity with PyTorch -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["batch_norm train", "batch_norm eval", "instance_norm",
                                "group_norm", "layer_norm"])
def test_matches_pytorch(op, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((4, 6, 5, 3)) * 2 + 1).astype(dtype)
    w, b = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    rm, rv = rng.standard_normal(6).astype(dtype), (rng.random(6) + 0.5).astype(dtype)
    rm_t, rv_t = torch.tensor(rm), torch.tensor(rv)
    calls = {
        "batch_norm train": (lambda t, w, b: N.batch_norm(t, rm, rv, w, b, training=True),
                             lambda t, w, b: F.batch_norm(t, rm_t, rv_t, w, b, training=True)),
        "batch_norm eval": (lambda t, w, b: N.batch_norm(t, rm, rv, w, b),
                            lambda t, w, b: F.batch_norm(t, rm_t, rv_t, w, b)),
        "instance_norm": (lambda t, w, b: N.instance_norm(t, rm, rv, w, b),
                          lambda t, w, b: F.instance_norm(t, rm_t, rv_t, w, b)),
        "group_norm": (lambda t, w, b: N.group_norm(t, 3, w, b),
                       lambda t, w, b: F.group_norm(t, 3, w, b)),
        "layer_norm": (lambda t, w, b: N.layer_norm(t, 3, w[:3], b[:3]),
                       lambda t, w, b: F.layer_norm(t, (3,), w[:3], b[:3])),
    }
    ours, theirs = calls[op]
    y, g, grads = _run(ours, x, w, b)
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = theirs(*leaves)
    ref.backward(torch.tensor(g))
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y, ref.detach().numpy(), **tol)
    for mine, t in zip(grads, leaves):
        np.testing.assert_allclose(mine, t.grad.numpy(), **tol)
    np.testing.assert_allclose(rm, rm_t.numpy(), **tol)
    np.testing.assert_allclose(rv, rv_t.numpy(), **tol)


# -- errors name the op and the shapes -----------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda x: N.batch_norm(x, np.zeros(4), np.ones(3)), RuntimeError,
     r"batch_norm: running_mean should contain 3 elements .* got shape \(4,\)"),
    (lambda x: N.batch_norm(x, None, None, np.ones(2), training=True), RuntimeError,
     "weight should contain 3"),
    (lambda x: N.batch_norm(x, None, None), RuntimeError, "must be defined in evaluation mode"),
    (lambda x: N.batch_norm(x[:1, :, :1], None, None, training=True), ValueError,
     r"more than 1 value per channel .* \(1, 3, 1\)"),
    (lambda x: N.batch_norm(x[0, 0], None, None, training=True), ValueError,
     r"\(N, C, \*\), got \(4,\)"),
    (lambda x: N.batch_norm(x, None, None, training=True, momentum=None), TypeError,
     "momentum"),
    (lambda x: N.instance_norm(x[:, :, :1]), ValueError, "more than 1 spatial element"),
    (lambda x: N.instance_norm(x, use_input_stats=False), RuntimeError, "use_input_stats"),
    (lambda x: N.group_norm(x, 2), RuntimeError, r"divisible by num_groups.*\(2, 3, 4\)"),
    (lambda x: N.layer_norm(x, (3,)), RuntimeError, r"normalized_shape=\[3\].*\(2, 3, 4\)"),
    (lambda x: N.layer_norm(x, 4, np.ones(3)), RuntimeError, "weight of shape"),
    (lambda x: N.batch_norm(x.astype(np.int64), None, None, training=True), TypeError,
     "float32 or float64"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((2, 3, 4)))
