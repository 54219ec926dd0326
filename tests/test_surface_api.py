"""The everyday surface beyond the core ops, checked against PyTorch: Tensor's other names and
helpers (tensor_compat.py), torch.X functions (functions.py), the trig family, nn/F
activations, distances, padding, parameter containers, ConcatDataset, the legacy tensor
types, runtime switches and tg.autograd."""
import numpy as np
import pytest
from _torch_compare import compare, distinct

import tinygrad_cs as tg
import tinygrad_cs.nn.functional as F
from tinygrad_cs import nn
from tinygrad_cs.testing import gradcheck, gradgradcheck
from tinygrad_cs.utils.data import ConcatDataset, TensorDataset

torch = pytest.importorskip("torch")

POS = np.abs(distinct(3, 4)) + 0.2          # positive, for logs
UNIT = distinct(3, 4) / 10                  # inside (-1, 1), for asin/atanh
WITH_NAN = np.array([[1.5, np.nan, -2.0], [np.nan, 0.5, 3.0]])


@pytest.mark.parametrize("fn,arrays", [
    (lambda L, a, b: (a.absolute(), a.negative(), a.positive(), a.multiply(b), a.true_divide(b),
                      a.subtract(b, alpha=2), a.divide(b), a.divide(b, rounding_mode="floor"),
                      a.divide(b, rounding_mode="trunc")), [distinct(3, 4), POS]),
    (lambda L, a, b: (a.greater(b), a.greater_equal(b), a.less(b), a.less_equal(b),
                      a.not_equal(b), a.logical_and(b > 0), a.logical_or(b > 1),
                      a.logical_xor(b > 1), a.logical_not(), a.signbit()),
     [distinct(3, 4), distinct(3, 4)]),
    (lambda L, a: (a.tan(), a.sinh(), a.cosh(), a.atan(), a.asinh(), a.exp2(), a.asin(),
                   a.acos(), a.atanh(), a.arctan(), L.arcsin(a), L.atan2(a, a + 0.5)), [UNIT]),
    (lambda L, a: (a.log2(), a.log10(), (a + 1).acosh(), a.logit(eps=0.1),
                   L.xlogy(a, a), a.float_power(2)), [POS]),
    (lambda L, a: (a.movedim(0, -1), a.moveaxis((0, 2), (2, 0)), a.unflatten(1, (2, -1)),
                   a.select(1, -1), a.take(L.tensor([[0, 5], [7, 23]])), a.tile((2,)),
                   a.repeat_interleave(2, dim=1), a.ravel(), a.reshape_as(a.flatten()), a.sum_to_size(1, 4, 1), L.swapdims(a, 0, 2), a.fliplr(),
                   a.flipud(), a.broadcast_to((2, 2, 4, 3))), [distinct(2, 4, 3)]),
    (lambda L, a: (a.repeat_interleave(L.tensor([1, 0, 3])), a.unfold(0, 2, 1)),
     [distinct(3)]),
    (lambda L, a: (a.unfold(1, 2, 2), L.tril(a), a.triu(1), a.tril(-1), a.diagonal(),
                   a.diagonal(1), a.diagonal(-1, 1, 0), a.diag(), a.trace(), a.dist(a * 2, 3)),
     [distinct(4, 5)]),
    (lambda L, v, m: (v.diag(), v.diag(1), L.outer(v, v), v.dot(v), m.mv(v), L.inner(v, v),
                      L.ger(v, v)), [distinct(3), distinct(2, 3)]),
    (lambda L, a: (a.nansum(), a.nansum(1), a.nanmean(0), a.nan_to_num(), L.isnan(a),
                   a.nan_to_num(nan=2.0, posinf=1.0)), [WITH_NAN]),
    (lambda L, a, b: (a.aminmax().min, a.aminmax(dim=1).max, a.count_nonzero(), a.hypot(b),
                      a.logaddexp(b), L.isclose(a, a + 1e-9), a.allclose(b), a.equal(a)),
     [distinct(3, 4), distinct(3, 4)]),
    (lambda L, a: (L.mm(a, a.t()), L.t(a), L.clone(a), L.numel(a), L.square(a), L.rsqrt(a),
                   L.reciprocal(a), L.narrow(a, 1, 1, 2), L.masked_fill(a, a > 1, 0.0),
                   L.index_select(a, 0, L.tensor([2, 0])), L.rsub(a, 3.0)), [POS]),
])
def test_tensor_and_torch_functions_match_torch(fn, arrays):
    compare(fn, arrays)


def test_predicates_sizes_and_dtypes_match_torch():
    for make in (lambda L: L.tensor([1.5, -2.0]), lambda L: L.tensor([1, 2]),
                 lambda L: L.tensor([True])):
        o, t = make(tg), make(torch)
        for name in ("is_floating_point", "is_complex", "is_signed", "get_device"):
            assert getattr(o, name)() == getattr(t, name)(), name
        assert (o.nbytes, o.itemsize, o.is_cpu, o.is_sparse) == (t.nbytes, t.itemsize, t.is_cpu,
                                                                  t.is_sparse)
        for conv in ("byte", "char", "short", "half"):
            assert str(getattr(o, conv)().dtype) == str(getattr(t, conv)().dtype)[6:]
    x = tg.tensor([2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad and tg.tensor([0.0]).is_nonzero() is False


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_stacking_and_grids_match_torch(indexing):
    compare(lambda L, a, b: (*L.meshgrid(a, b, indexing=indexing), *L.broadcast_tensors(
        a[:, None], b), L.hstack([a, a]), L.vstack([a, a]), L.column_stack([a, a]),
        *L.std_mean(a), *L.var_mean(b, unbiased=False), L.concat([a, b])),
        [distinct(3), distinct(2)])
    np.testing.assert_array_equal(tg.tril_indices(4, 3, -1).numpy(),
                                  torch.tril_indices(4, 3, -1).numpy())
    np.testing.assert_array_equal(tg.triu_indices(3, 5, 1).numpy(),
                                  torch.triu_indices(3, 5, 1).numpy())


def test_trig_family_gradchecks_to_second_order():
    x = tg.tensor(UNIT, requires_grad=True)
    y = tg.tensor(POS, requires_grad=True)
    assert gradcheck(lambda a, b: a.asin() + a.acos() * a.atanh() + b.log2() + b.log10()
                     + (b + 1).acosh() + a.tan() * a.sinh() + a.cosh() + a.exp2(), (x, y))
    assert gradgradcheck(lambda a, b: tg.atan2(a, b) + a.asinh() * a.atan(), (x, y))


def test_random_draws_respect_their_laws_and_generators():
    tg.manual_seed(0)
    perm = tg.randperm(10)
    assert sorted(perm.tolist()) == list(range(10)) and perm.dtype == tg.int64
    probs = tg.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    draws = probs.multinomial(4000, replacement=True)
    assert draws.shape == (2, 4000) and (draws[1] == 0).all()
    assert abs(float((draws[0] == 2).float().mean()) - 0.75) < 0.03
    once = tg.tensor([1.0, 1.0, 1.0, 0.0]).multinomial(3)
    assert sorted(once.tolist()) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="multinomial: cannot draw 4 samples without"):
        tg.tensor([1.0, 1.0, 1.0, 0.0]).multinomial(4)
    p = tg.full((20000,), 0.3)
    assert abs(float(p.bernoulli().mean()) - 0.3) < 0.02
    g1, g2 = tg.Generator().manual_seed(5), tg.Generator().manual_seed(5)
    assert tg.randperm(6, generator=g1).tolist() == tg.randperm(6, generator=g2).tolist()
    x = tg.zeros(3)
    x.random_(5, 8)
    assert x._version == 1 and set(x.tolist()) <= {5.0, 6.0, 7.0}
    assert tg.normal(tg.zeros(2, 3), 1.0).shape == (2, 3) and tg.normal(0.0, 1.0, (4,)).shape == (4,)


# -- nn / F -----------------------------------------------------------------------------------
ACTIVATIONS = [
    ("relu6", (), "ReLU6", ()), ("hardtanh", (-0.5, 0.8), "Hardtanh", (-0.5, 0.8)),
    ("silu", (), "SiLU", ()), ("selu", (), "SELU", ()), ("celu", (0.7,), "CELU", (0.7,)),
    ("mish", (), "Mish", ()), ("softsign", (), "Softsign", ()),
    ("hardswish", (), "Hardswish", ()), ("hardsigmoid", (), "Hardsigmoid", ()),
    ("tanhshrink", (), "Tanhshrink", ()), ("softshrink", (0.3,), "Softshrink", (0.3,)),
    ("hardshrink", (0.3,), "Hardshrink", (0.3,)), ("threshold", (0.2, -1.0), "Threshold",
                                                   (0.2, -1.0)),
    ("softmin", (1,), "Softmin", (1,)), ("glu", (1,), "GLU", (1,)),
]


@pytest.mark.parametrize("fn,args,module,margs", ACTIVATIONS)
def test_activations_match_torch(fn, args, module, margs):
    # rtol 1e-6: some of PyTorch's float64 kernels use float32 constants (celu's alpha,
    # hardsigmoid's 1/6)
    a = distinct(3, 4) * 3
    compare(lambda L, x: getattr(L.nn.functional, fn)(x, *args), [a], rtol=1e-6)
    compare(lambda L, x: getattr(L.nn, module)(*margs)(x), [a], rtol=1e-6)


def test_prelu_rrelu_and_distances_match_torch():
    w = np.array([0.2, -0.1, 0.4])
    compare(lambda L, x, w: L.nn.functional.prelu(x, w), [distinct(2, 3, 2), w])
    compare(lambda L, x, w: L.nn.functional.prelu(x, w[:1]), [distinct(2, 3), w])
    compare(lambda L, x: L.nn.functional.rrelu(x, 0.1, 0.3, training=False), [distinct(3, 4)])
    compare(lambda L, a, b: (L.nn.functional.normalize(a), L.nn.functional.normalize(a, 1, 0),
                             L.nn.functional.cosine_similarity(a, b),
                             L.nn.functional.cosine_similarity(a, b[:1], dim=-1),
                             L.nn.functional.pairwise_distance(a, b),
                             L.nn.functional.pairwise_distance(a, b, 1.0, keepdim=True),
                             L.nn.CosineSimilarity(0)(a, b), L.nn.PairwiseDistance(3)(a, b)),
            [distinct(3, 4), distinct(3, 4)])
    labels = np.array([[0, 2], [1, 4]])
    compare(lambda L, y: (L.nn.functional.one_hot(y), L.nn.functional.one_hot(y, 6)), [labels],
            grad=False)
    with pytest.raises(RuntimeError, match="one_hot: class values must be in"):
        F.one_hot(tg.tensor([3]), 3)
    m = nn.PReLU(3)
    assert [n for n, _ in m.named_parameters()] == ["weight"] and m.weight.tolist() == [0.25] * 3


@pytest.mark.parametrize("name,args", [
    ("ZeroPad2d", (1,)), ("ZeroPad2d", ((1, 0, 2, 1),)), ("ConstantPad1d", ((2, 1), 3.5)),
    ("ConstantPad2d", (1, -1.0)), ("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 2, 0, 1),)),
    ("ReplicationPad1d", ((0, 3),)), ("ReplicationPad2d", (2,)), ("CircularPad1d", (1,)),
    ("CircularPad2d", ((1, 1, 2, 0),)), ("ZeroPad1d", (2,)),
])
def test_padding_modules_match_torch(name, args):
    compare(lambda L, x: getattr(L.nn, name)(*args)(x), [distinct(2, 3, 4)])


def test_in_place_functional_forms_match_torch_and_bump_versions():
    a = distinct(3, 4)
    for name, args in [("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.2,)),
                       ("hardtanh_", (-0.3, 0.3)), ("selu_", ()), ("celu_", (2.0,)),
                       ("threshold_", (0.1, 9.0))]:
        ours, theirs = tg.tensor(a), torch.tensor(a)
        assert getattr(F, name)(ours, *args) is ours
        getattr(torch.nn.functional, name)(theirs, *args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        assert ours._version == 1


def test_parameter_containers_name_parameters_as_torch():
    def build(L):
        class Net(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.plist = L.nn.ParameterList([L.nn.Parameter(L.ones(2)), L.zeros(3)])
                self.pdict = L.nn.ParameterDict({"scale": L.nn.Parameter(L.ones(1))})
                self.pdict["shift"] = L.nn.Parameter(L.zeros(2))
                self.plist.append(L.ones(1))
        return Net()
    ours, theirs = build(tg), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [p.shape for p in ours.plist] == [tuple(p.shape) for p in theirs.plist]
    assert len(ours.pdict) == 2 and "shift" in ours.pdict and ours.pdict.pop("shift").shape == (2,)
    assert ours.plist[-1].requires_grad and isinstance(ours.plist[1], nn.Parameter)


def test_concat_dataset_matches_torch():
    a, b = TensorDataset(tg.arange(3)), TensorDataset(tg.arange(10, 14))
    ta = torch.utils.data.TensorDataset(torch.arange(3))
    tb = torch.utils.data.TensorDataset(torch.arange(10, 14))
    ours, theirs = a + b, torch.utils.data.ConcatDataset([ta, tb])
    assert isinstance(ours, ConcatDataset) and len(ours) == len(theirs) == 7
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in (0, 2, 3, 6, -1, -7):
        assert int(ours[i][0]) == int(theirs[i][0])
    with pytest.raises(IndexError, match="ConcatDataset: index 7"):
        ours[7]


# -- legacy types, runtime switches, tg.autograd --------------------------------------------------
def test_legacy_tensor_types_behave_as_torchs():
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor",
                 "BoolTensor", "HalfTensor", "ShortTensor", "CharTensor"):
        ours, theirs = getattr(tg, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert str(ours.dtype) == str(theirs.dtype)[6:] and ours.tolist() == theirs.tolist()
        assert isinstance(ours, getattr(tg, name))
    assert tg.FloatTensor(2, 3).shape == (2, 3) and not isinstance(tg.ones(2), tg.LongTensor)
    assert tg.ones(2).type(tg.DoubleTensor).dtype == tg.float64
    assert tg.Size([2, 3]) == tg.ones(2, 3).shape and isinstance(tg.float32, tg.dtype)
    assert tg.finfo(tg.float32).eps == torch.finfo(torch.float32).eps
    assert (tg.pi, tg.e, tg.inf) == (torch.pi, torch.e, torch.inf)


def test_runtime_switches():
    saved = np.get_printoptions()
    try:
        tg.set_printoptions(precision=2)
        assert repr(tg.tensor([1.23456])) == "tensor([1.23])"
    finally:
        np.set_printoptions(**saved)
    n = tg.get_num_threads()
    tg.set_num_threads(1)
    assert tg.get_num_threads() == 1
    tg.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads"):
        tg.set_num_threads(0)
    tg.use_deterministic_algorithms(True)
    assert tg.are_deterministic_algorithms_enabled()
    tg.use_deterministic_algorithms(False)
    tg.set_anomaly_enabled(True)
    assert tg.is_anomaly_enabled()
    tg.set_anomaly_enabled(False)
    assert not tg.is_anomaly_enabled() and str(tg.get_default_device()) == "cpu"


def test_autograd_namespace_runs_torch_autograd_code():
    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    x = tg.autograd.Variable(tg.tensor([2.0, -1.0]), requires_grad=True)
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [12.0, 3.0]
    tg.autograd.backward(g.sum())
    assert x.grad.tolist() == [12.0, -6.0]
    assert tg.autograd.gradcheck(lambda t: Cube.apply(t), (tg.tensor([0.5], dtype=tg.float64,
                                                                      requires_grad=True),))


@pytest.mark.parametrize("fn", [
    lambda L, x: L.nn.functional.max_pool1d(x, 2),
    lambda L, x: L.nn.functional.max_pool1d(x, 3, 2, 1, ceil_mode=True),
    lambda L, x: L.nn.functional.avg_pool1d(x, 3, 1, 1, count_include_pad=False),
    lambda L, x: L.nn.functional.adaptive_avg_pool1d(x, 3),
    lambda L, x: L.nn.MaxPool1d(2, return_indices=True)(x),
    lambda L, x: L.nn.AvgPool1d(2)(x[0]),
    lambda L, x: L.nn.AdaptiveAvgPool1d(4)(x),
    lambda L, x: L.nn.AdaptiveMaxPool2d((2, 3))(x.reshape(2, 3, 2, 4)),
    lambda L, x: L.nn.functional.adaptive_max_pool2d(x.reshape(2, 3, 4, 2), 3,
                                                     return_indices=True),
])
def test_one_d_and_adaptive_max_pooling_match_torch(fn):
    compare(fn, [distinct(2, 3, 8)])


@pytest.mark.parametrize("fn", [
    lambda L, x: L.nn.functional.unfold(x, 2),
    lambda L, x: L.nn.functional.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
    lambda L, x: L.nn.Unfold(3, padding=1)(x),
    lambda L, x: L.nn.functional.fold(L.nn.functional.unfold(x, 2, stride=1), (4, 5), 2),
    lambda L, x: L.nn.Fold((4, 5), 3, padding=1, stride=2)(
        L.nn.functional.unfold(x, 3, padding=1, stride=2)),
])
def test_unfold_and_fold_match_torch(fn):
    compare(fn, [distinct(2, 3, 4, 5)])


PM = np.sign(distinct(3, 4))  # targets in {1, -1}


def _const(L, array):
    return L.tensor(array)


@pytest.mark.parametrize("fn,arrays", [
    (lambda L, a, b: (L.nn.functional.margin_ranking_loss(a, b, _const(L, PM), 0.3),
                      L.nn.MarginRankingLoss(0.1, reduction="none")(a, b, _const(L, PM))),
     [distinct(3, 4), distinct(3, 4)]),
    (lambda L, a: (L.nn.functional.hinge_embedding_loss(a, _const(L, PM), 0.5),
                   L.nn.HingeEmbeddingLoss(reduction="sum")(a, _const(L, PM)),
                   L.nn.functional.soft_margin_loss(a, _const(L, PM)),
                   L.nn.SoftMarginLoss(reduction="none")(a, _const(L, PM))), [distinct(3, 4)]),
    (lambda L, a, b: (L.nn.functional.cosine_embedding_loss(a, b, _const(L, PM[:, 0]), 0.2),
                      L.nn.CosineEmbeddingLoss(reduction="none")(a, b, _const(L, PM[:, 0]))),
     [distinct(3, 4), distinct(3, 4)]),
    (lambda L, a, p, n: (L.nn.functional.triplet_margin_loss(a, p, n, 0.5),
                         L.nn.TripletMarginLoss(p=1, swap=True, reduction="none")(a, p, n)),
     [distinct(3, 4), distinct(3, 4), distinct(3, 4)]),
    (lambda L, a: (L.nn.functional.multilabel_soft_margin_loss(a, _const(L, PM > 0).double()),
                   L.nn.MultiLabelSoftMarginLoss(_const(L, POS[0]), reduction="none")(
                       a, _const(L, PM > 0).double())), [distinct(3, 4)]),
    (lambda L, a: (L.nn.functional.poisson_nll_loss(a, _const(L, np.floor(POS * 3))),
                   L.nn.PoissonNLLLoss(log_input=False, full=True)(a, _const(L, np.floor(POS * 3))),
                   L.nn.functional.poisson_nll_loss(a, _const(L, np.floor(POS * 3)), full=True,
                                                    reduction="sum")), [POS]),
    (lambda L, a, v: (L.nn.functional.gaussian_nll_loss(a, _const(L, UNIT), v),
                      L.nn.GaussianNLLLoss(full=True, eps=0.5, reduction="none")(
                          a, _const(L, UNIT), v),
                      L.nn.functional.gaussian_nll_loss(a, _const(L, UNIT), v[:, :1])),
     [distinct(3, 4), POS]),
])
def test_more_losses_match_torch(fn, arrays):
    compare(fn, arrays, rtol=1e-10, atol=1e-12)


def test_one_d_layers_pixel_shuffle_and_nearest_upsampling_match_torch():
    def build(L, cls, *args, **kwargs):
        L.manual_seed(0)
        return getattr(L.nn, cls)(*args, **kwargs)

    for cls, args, kwargs, shape in [
            ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1},
             (2, 3, 5)),
            ("ConvTranspose1d", (4, 2, 2), {"groups": 2, "dilation": 2, "bias": False},
             (4, 6)),
            ("InstanceNorm1d", (3,), {"affine": True}, (2, 3, 5)),
            ("PixelShuffle", (2,), {}, (2, 8, 2, 3)), ("PixelUnshuffle", (3,), {}, (1, 2, 3, 6)),
            ("UpsamplingNearest2d", (), {"scale_factor": 2}, (1, 2, 2, 3))]:
        theirs = build(torch, cls, *args, **kwargs).double()
        ours = build(tg, cls, *args, **kwargs)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        ours = ours.double()
        compare(lambda L, x, m={tg: ours, torch: theirs}: m[L](x), [distinct(*shape)])
    compare(lambda L, x: L.nn.functional.dropout1d(x, 0.5, training=False), [distinct(2, 3, 4)])
    for shape in ((2, 40, 3), (40, 3)):
        kept = tg.nn.Dropout1d(0.5)(tg.ones(*shape)).numpy()
        assert kept.shape == shape and set(np.unique(kept)) == {0.0, 2.0}
        assert (kept == kept[..., :1]).all()  # whole channels
