"""gather/scatter, sorting, running sums/products, rounding and remainders: values and
gradients against PyTorch (backward of a random weighted sum), float64 gradchecks, and
the in-place forms' version bumps."""
import numpy as np
import pytest
from _torch_compare import compare as _compare
from _torch_compare import distinct as _distinct

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 2]])


@pytest.mark.parametrize("name,fn,arrays,consts", [
    ("gather", lambda L, a: L.gather(a, 1, L.tensor(IDX)), [(2, 3)], ()),
    ("gather_neg_dim_smaller", lambda L, a: a.gather(-2, L.tensor(IDX[:, :2])), [(3, 4)], ()),
    ("scatter_src", lambda L, a, s: a.scatter(1, L.tensor([[2, 0], [1, 3]]), s),
     [(2, 4), (2, 2)], ()),
    ("scatter_value", lambda L, a: L.scatter(a, 0, L.tensor([[1, 0, 1]]), 2.5), [(2, 3)], ()),
    ("scatter_add_repeats", lambda L, a, s: L.scatter_add(a, 1, L.tensor(IDX), s),
     [(2, 3), (2, 4)], ()),
    ("index_add", lambda L, a, s: a.index_add(1, L.tensor([2, 0, 2]), s, alpha=1.5),
     [(2, 3), (2, 3)], ()),
    ("index_fill", lambda L, a: a.index_fill(-1, L.tensor([0, 2]), -1.0), [(2, 3)], ()),
    ("masked_select", lambda L, a: a.masked_select(L.tensor([True, False, True])),
     [(2, 3)], ()),
    ("masked_scatter", lambda L, a, s: a.masked_scatter(L.tensor([[True, False, True],
                                                                  [False, True, False]]), s),
     [(2, 3), (5,)], ()),
    ("roll", lambda L, a: a.roll((1, -2), (0, 1)), [(3, 4)], ()),
    ("roll_flat", lambda L, a: L.roll(a, 5), [(3, 4)], ()),
    ("sort", lambda L, a: tuple(L.sort(a, dim=0)), [(4, 3)], ()),
    ("sort_descending", lambda L, a: tuple(a.sort(-1, descending=True)), [(2, 5)], ()),
    ("argsort", lambda L, a: a.argsort(dim=1, descending=True), [(3, 4)], ()),
    ("topk", lambda L, a: tuple(a.topk(2, dim=1)), [(3, 5)], ()),
    ("topk_smallest", lambda L, a: tuple(L.topk(a, 3, 0, largest=False)), [(4, 2)], ()),
    ("msort", lambda L, a: a.msort(), [(4, 2)], ()),
    ("cumsum", lambda L, a: L.cumsum(a, dim=1), [(2, 4)], ()),
    ("cumsum_neg_dim", lambda L, a: a.cumsum(-3), [(3, 2, 2)], ()),
    ("cumprod", lambda L, a: a.cumprod(0), [(4, 3)], ()),
    ("diff", lambda L, a: L.diff(a, n=2, dim=0), [(5, 3)], ()),
    ("diff_prepend_append", lambda L, a, p, q: a.diff(dim=1, prepend=p, append=q),
     [(2, 3), (2, 1), (2, 2)], ()),
    ("floor_ceil_trunc", lambda L, a: a.floor() + a.ceil() * 2 + L.trunc(a) * 3, [(3, 4)], ()),
    ("round_frac", lambda L, a: a.round() + L.frac(a) + a.round(decimals=1), [(3, 4)], ()),
    ("remainder", lambda L, a, b: a.remainder(b) + L.fmod(a, b), [(3, 4), (4,)], ()),
    ("mod_operator", lambda L, a: a % 1.5 - a % -0.6, [(3, 4)], ()),
    ("clamp_min_max", lambda L, a: L.clamp_min(a, 0.2) + a.clamp_max(-0.3), [(3, 4)], ()),
    ("addcmul_addcdiv", lambda L, a, b, c: a.addcmul(b, c, value=0.5) + a.addcdiv(b, c * c + 1),
     [(3,), (3,), (3,)], ()),
])
def test_matches_torch(name, fn, arrays, consts):
    _compare(fn, [_distinct(*s) for s in arrays])


@pytest.mark.parametrize("fn,arrays", [
    (lambda L, a, s: a.scatter(1, L.tensor(IDX), s, reduce="add"), [(2, 3), (2, 4)]),
    (lambda L, a: (7.25 % (a * a + 1), a // 0.7, 3.0 // (a * a + 1)), [(3, 4)]),
])
def test_values_match_torch_where_torch_has_no_gradient(fn, arrays):
    _compare(fn, [_distinct(*s) for s in arrays], grad=False)


def test_cumprod_with_zeros_matches_torch():
    a = np.array([[2.0, 0.0, 3.0, 0.0, 1.5], [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 0.0],
                  [0.5, 2.0, -3.0, 0.7, 2.0]])
    _compare(lambda L, x: x.cumprod(1), [a])
    _compare(lambda L, x: x.cumprod(0), [a.T.copy()])


def test_cumprod_with_zeros_gradcheck_and_second_order():
    a = tg.tensor([[2.0, 0.0, 3.0, 0.0, 1.5], [0.0, 1.0, 2.0, 3.0, -4.0]], dtype=tg.float64,
                  requires_grad=True)
    assert gradcheck(lambda x: x.cumprod(1), (a,))
    assert gradgradcheck(lambda x: x.cumprod(1), (a,))
    assert gradgradcheck(lambda x: x.cumprod(0), (a,))


def test_integer_and_int_results_match_torch():
    a = np.array([[3, -7, 2], [0, 5, -1]])
    for fn in (lambda L, x: x.cumsum(1), lambda L, x: x % 3, lambda L, x: x.fmod(3),
               lambda L, x: x // 2, lambda L, x: L.floor(x), lambda L, x: x.nonzero(),
               lambda L, x: L.argwhere(x), lambda L, x: x.sort(0)[0], lambda L, x: x.roll(1)):
        _compare(fn, [a], grad=False)
    _compare(lambda L, x: L.cumsum(x, 0), [np.array([True, False, True])], grad=False)


def test_nonzero_as_tuple_and_unique_match_torch():
    a = np.array([[3, 0, 2], [0, 3, 3]])
    ours, theirs = tg.nonzero(tg.tensor(a), as_tuple=True), torch.nonzero(torch.tensor(a),
                                                                          as_tuple=True)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    b = np.array([[2, 1, 2], [2, 1, 2], [0, 1, 5]])
    for kwargs in ({}, {"return_inverse": True}, {"return_counts": True},
                   {"return_inverse": True, "return_counts": True, "dim": 0},
                   {"return_counts": True, "dim": 1}):
        got, want = tg.tensor(b).unique(**kwargs), torch.tensor(b).unique(**kwargs)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for o, t in zip(got, want, strict=True):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
            assert o.dtype == np.dtype(str(t.dtype).replace("torch.", ""))


def test_sort_is_stable_with_ties_like_torch_stable():
    a = np.array([[1.0, 3.0, 1.0, 2.0, 3.0, 1.0], [np.nan, 0.0, np.nan, 0.0, -1.0, 5.0]])
    for descending in (False, True):
        got = tg.tensor(a).sort(dim=1, descending=descending, stable=True)
        want = torch.tensor(a).sort(dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())


def test_topk_returns_named_tuple_and_rejects_large_k():
    values, indices = tg.tensor([1.0, 4.0, 2.0]).topk(2)
    assert tg.tensor([1.0, 4.0, 2.0]).topk(2).values.tolist() == [4.0, 2.0]
    assert indices.tolist() == [1, 2] and values.tolist() == [4.0, 2.0]
    with pytest.raises(RuntimeError, match="topk.*k=4.*size 3"):
        tg.tensor([1.0, 4.0, 2.0]).topk(4)


@pytest.mark.parametrize("fn", [
    lambda x: x.gather(1, tg.tensor(IDX)),
    lambda x: x.scatter(1, tg.tensor([[2, 0], [1, 2]]), x[:, :2] * 3),
    lambda x: x.scatter_add(0, tg.tensor([[1, 1, 0]]), x[:1] ** 2),
    lambda x: x.index_add(0, tg.tensor([1, 1]), x * x, alpha=2),
    lambda x: x.masked_scatter(tg.tensor([[True, False, True], [True, True, False]]),
                               x.flip(0) * 2),
    lambda x: x.sort(1, descending=True).values * x,
    lambda x: x.topk(2, 0).values,
    lambda x: x.cumsum(1) * x,
    lambda x: x.cumprod(1),
    lambda x: x.diff(dim=1) ** 2,
    lambda x: x.roll(1, 1) * x,
    lambda x: x.remainder(0.9) + (3.0 % (x * x + 1)) + x.fmod(-0.8),
    lambda x: x.frac() * x + x.round() * x,
])
def test_gradcheck_and_second_order(fn):
    x = tg.tensor(_distinct(2, 3), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_index_checks_name_the_op_and_shapes():
    x = tg.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"gather.*same number of dimensions.*\(2, 3\)"):
        x.gather(1, tg.tensor([0, 1]))
    with pytest.raises(IndexError, match="gather.*out of bounds.*size 3"):
        x.gather(1, tg.tensor([[0, 3]]))
    with pytest.raises(RuntimeError, match="masked_scatter.*6 True.*only 2"):
        x.masked_scatter(tg.tensor([True, True, True]), tg.zeros(2))
    with pytest.raises(ValueError, match="scatter.*multiply"):
        x.scatter(0, tg.tensor([[0]]), 1.0, reduce="multiply")


# -- in-place forms ----------------------------------------------------------------------
INPLACE = [
    ("exp_", ()), ("log_", ()), ("sqrt_", ()), ("abs_", ()), ("neg_", ()), ("sigmoid_", ()),
    ("tanh_", ()), ("relu_", ()), ("floor_", ()), ("ceil_", ()), ("trunc_", ()), ("frac_", ()),
    ("sign_", ()), ("reciprocal_", ()), ("square_", ()), ("rsqrt_", ()), ("sin_", ()),
    ("cos_", ()), ("log1p_", ()), ("expm1_", ()), ("pow_", (2.0,)), ("remainder_", (0.7,)),
    ("fmod_", (0.7,)), ("clamp_min_", (1.0,)), ("clamp_max_", (1.0,)), ("clamp_", (0.5, 1.5)),
    ("div_", (2.0,)), ("sub_", (0.5,)), ("floor_divide_", (0.3,)),
]


@pytest.mark.parametrize("name,args", INPLACE)
def test_inplace_matches_torch_and_bumps_the_version(name, args):
    a = np.abs(_distinct(2, 3)) + 0.5
    ours, theirs = tg.tensor(a), torch.tensor(a)
    assert getattr(ours, name)(*args) is ours
    getattr(theirs, name)(*args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert ours._version == 1


def test_inplace_round_and_indexing_forms_match_torch():
    a = _distinct(3, 4)
    idx, src = np.array([[2, 0, 1, 1]]), _distinct(1, 4)
    for fn in (lambda L, x: x.round_(decimals=1),
               lambda L, x: x.scatter_(0, L.tensor(idx), L.tensor(src)),
               lambda L, x: x.scatter_(0, L.tensor(idx), -2.0),
               lambda L, x: x.scatter_add_(0, L.tensor(idx), L.tensor(src)),
               lambda L, x: x.index_add_(0, L.tensor([2, 2]), L.tensor(a[:2]), alpha=0.5),
               lambda L, x: x.index_fill_(1, L.tensor([3, 0]), 9.0),
               lambda L, x: x.masked_scatter_(L.tensor(a > 0), L.tensor(a.ravel() * 10)),
               lambda L, x: x.addcmul_(x, x, value=2.0),
               lambda L, x: x.addcdiv_(x, x * x + 1)):
        ours, theirs = tg.tensor(a), torch.tensor(a)
        assert fn(tg, ours) is ours
        fn(torch, theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        assert ours._version == 1


def test_inplace_after_save_makes_backward_raise_and_failures_change_nothing():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([0.5, 0.25])
    y = (w * x).sum()
    x.exp_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    with pytest.raises(RuntimeError, match="exp_.*requires grad"):
        w.exp_()
    ints = tg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="sqrt_.*can't be cast.*int64"):
        ints.sqrt_()
    assert ints.tolist() == [1, 2, 3] and ints._version == 0
    src = tg.ones(1, requires_grad=True)  # as in PyTorch, the change is recorded
    filled = tg.zeros(2).scatter_(0, tg.tensor([0]), src)
    (filled * tg.tensor([3.0, 5.0])).sum().backward()
    assert filled.requires_grad and src.grad.tolist() == [3.0]


def test_half_and_bfloat16():
    h = tg.tensor([1.0, 2.0, 3.0]).half()
    assert h.dtype == tg.float16 == np.float16
    np.testing.assert_array_equal((h * h).numpy(), torch.tensor([1.0, 2.0, 3.0]).half().square()
                                  .numpy())
    with pytest.raises(TypeError, match="bfloat16.*not support"):
        tg.tensor([1.0]).bfloat16()


@pytest.mark.parametrize("fn,arrays", [
    (lambda L, a, b: (L.einsum("ij,kj->ik", a, b), L.einsum("...j,j", a, b[0]),
                      L.einsum("ij->", a), L.einsum("ij,ij->j", [b, b * b])),
     [(3, 4), (2, 4)]),
    (lambda L, a: (a.median(), a.median(1).values, L.median(a, 0, keepdim=True).values,
                   a.kthvalue(2, 0).values, a.kthvalue(3, -1, True).values), [(4, 5)]),
    (lambda L, a: (a.quantile(0.3), a.quantile(0.75, dim=1, keepdim=True),
                   L.quantile(a, 0.5, 0, interpolation="midpoint"),
                   L.quantile(a, 0.4, -1, interpolation="lower"),
                   L.quantile(a, 0.4, -1, interpolation="higher"),
                   L.quantile(a, 0.7, 0, interpolation="nearest")), [(4, 5)]),
    (lambda L, a, v: (a.index_put((L.tensor([0, 2, 0]), L.tensor([1, 1, 3])), v,
                                  accumulate=True),
                      L.index_put(a, (L.tensor([1, 2]),), v[:1])), [(3, 4), (3,)]),
])
def test_selection_and_contraction_match_torch(fn, arrays):
    _compare(fn, [_distinct(*s) for s in arrays])


def test_indices_of_medians_searchsorted_and_bucketize_match_torch():
    a = _distinct(4, 5)
    _compare(lambda L, x: (x.median(1).indices, x.kthvalue(2, 0).indices,
                           L.bucketize(x, L.tensor([-1.0, 0.0, 1.0], dtype=L.float64)),
                           L.bucketize(x, L.tensor([-1.0, 0.0, 1.0], dtype=L.float64),
                                       right=True, out_int32=True),
                           L.searchsorted(L.tensor([-2.0, 0.5, 3.0], dtype=L.float64), x),
                           L.searchsorted(L.sort(x, 1).values, x[:, :2], side="right")),
             [a], grad=False)


def test_einsum_gradchecks_and_refuses_diagonals():
    x = tg.tensor(_distinct(2, 3), requires_grad=True)
    y = tg.tensor(_distinct(3, 2), requires_grad=True)
    assert gradgradcheck(lambda a, b: tg.einsum("ij,jk->ik", a * a, b), (x, y))
    with pytest.raises(ValueError, match="einsum.*repeated within one operand"):
        tg.einsum("ii->i", tg.ones(2, 2))
    with pytest.raises(ValueError, match="einsum.*do not fit an operand of shape"):
        tg.einsum("ij,jk->ik", tg.ones(2, 3), tg.ones(3))


def test_index_put_in_place_matches_torch():
    a = _distinct(3, 4)
    ours, theirs = tg.tensor(a), torch.tensor(a)
    ours.index_put_((tg.tensor([0, 2]), tg.tensor([3, 1])), tg.tensor(-1.0, dtype=tg.float64))
    theirs.index_put_((torch.tensor([0, 2]), torch.tensor([3, 1])), torch.tensor(-1.0,
                                                                                  dtype=torch.float64))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours._version == 1
