"""Empty batches (batch size 0) through every layer and loss of ``tinygrad_cs.nn``, with
PyTorch as the oracle.

For each case the same constructor runs on ``tg.nn`` and ``torch.nn``, the torch module's
state is loaded into ours, and both see an input whose batch dim is 0 (in training and in
eval mode). Where PyTorch raises, we must raise the same exception type; otherwise the
outputs agree in shape, dtype and value (a mean over no elements is NaN), ``backward``
works, the input gradient is zero-size, and every parameter gradient and buffer equals
PyTorch's (zeros: nothing in the batch contributes; running statistics unchanged).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn as tnn

torch = pytest.importorskip("torch")

IDX = "idx"  # an int64 class-index input: zeros of the shape that follows


def _loss(name: str, *inputs):
    """A loss case: ``nn.<name>(reduction=...)`` on ``inputs``."""
    return lambda nn, reduction="mean": getattr(nn, name)(reduction=reduction), inputs


LOSSES = {
    "MSELoss": _loss("MSELoss", (0, 3), (0, 3)),
    "L1Loss": _loss("L1Loss", (0, 3), (0, 3)),
    "SmoothL1Loss": _loss("SmoothL1Loss", (0, 3), (0, 3)),
    "HuberLoss": _loss("HuberLoss", (0, 3), (0, 3)),
    "BCELoss": _loss("BCELoss", (0, 3), (0, 3)),
    "BCEWithLogitsLoss": _loss("BCEWithLogitsLoss", (0, 3), (0, 3)),
    "KLDivLoss": _loss("KLDivLoss", (0, 3), (0, 3)),
    "CrossEntropyLoss": _loss("CrossEntropyLoss", (0, 3), (IDX, (0,))),
    "CrossEntropyLoss-spatial": _loss("CrossEntropyLoss", (0, 3, 2, 2), (IDX, (0, 2, 2))),
    "CrossEntropyLoss-probabilities": _loss("CrossEntropyLoss", (0, 3), (0, 3)),
    "NLLLoss": _loss("NLLLoss", (0, 3), (IDX, (0,))),
    "MultiMarginLoss": _loss("MultiMarginLoss", (0, 3), (IDX, (0,))),
    "MarginRankingLoss": _loss("MarginRankingLoss", (0,), (0,), (0,)),
    "HingeEmbeddingLoss": _loss("HingeEmbeddingLoss", (0, 3), (0, 3)),
    "SoftMarginLoss": _loss("SoftMarginLoss", (0, 3), (0, 3)),
    "CosineEmbeddingLoss": _loss("CosineEmbeddingLoss", (0, 3), (0, 3), (0,)),
    "TripletMarginLoss": _loss("TripletMarginLoss", (0, 3), (0, 3), (0, 3)),
    "MultiLabelSoftMarginLoss": _loss("MultiLabelSoftMarginLoss", (0, 3), (0, 3)),
    "PoissonNLLLoss": _loss("PoissonNLLLoss", (0, 3), (0, 3)),
    "GaussianNLLLoss": _loss("GaussianNLLLoss", (0, 3), (0, 3), (0, 3)),
}

# name -> (factory(nn), input specs); the name up to any "-" is the class under test
def _encoder_layer(nn):
    return nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)


def _decoder_layer(nn):
    return nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=True)


LAYERS = {
    "Linear": (lambda nn: nn.Linear(3, 2), [(0, 3)]),
    "Conv1d": (lambda nn: nn.Conv1d(3, 2, 3), [(0, 3, 5)]),
    "Conv2d": (lambda nn: nn.Conv2d(4, 2, 3, padding=1, groups=2), [(0, 4, 5, 5)]),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2), [(0, 3, 4, 4)]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), [(0, 3)]),
    "BatchNorm1d-3d": (lambda nn: nn.BatchNorm1d(3, momentum=None), [(0, 3, 40)]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), [(0, 3, 4, 4)]),
    "InstanceNorm2d": (lambda nn: nn.InstanceNorm2d(3), [(0, 3, 4, 4)]),
    "LayerNorm": (lambda nn: nn.LayerNorm((3, 2)), [(0, 3, 2)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [(0, 4, 5)]),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), [(0, 3, 4, 4)]),
    "MaxPool2d-indices": (lambda nn: nn.MaxPool2d(3, 1, 1, return_indices=True),
                          [(0, 3, 4, 4)]),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2), [(0, 3, 4, 4)]),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d(3), [(0, 3, 4, 4)]),
    "Upsample": (lambda nn: nn.Upsample(scale_factor=2), [(0, 3, 4, 4)]),
    "Embedding": (lambda nn: nn.Embedding(5, 2, padding_idx=0), [(IDX, (0, 3))]),
    "RNN": (lambda nn: nn.RNN(3, 2, num_layers=2), [(5, 0, 3)]),
    "LSTM": (lambda nn: nn.LSTM(3, 2, batch_first=True), [(0, 5, 3)]),
    "GRU": (lambda nn: nn.GRU(3, 2, bidirectional=True), [(5, 0, 3)]),
    "RNNCell": (lambda nn: nn.RNNCell(3, 2), [(0, 3)]),
    "LSTMCell": (lambda nn: nn.LSTMCell(3, 2), [(0, 3)]),
    "GRUCell": (lambda nn: nn.GRUCell(3, 2), [(0, 3)]),
    "ReLU": (lambda nn: nn.ReLU(), [(0, 3)]),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.2), [(0, 3)]),
    "ELU": (lambda nn: nn.ELU(), [(0, 3)]),
    "GELU": (lambda nn: nn.GELU(), [(0, 3)]),
    "Sigmoid": (lambda nn: nn.Sigmoid(), [(0, 3)]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), [(0, 3)]),
    "DataParallel": (lambda nn: nn.DataParallel(nn.Linear(3, 2)), [(0, 3)]),
    "Tanh": (lambda nn: nn.Tanh(), [(0, 3)]),
    "Softplus": (lambda nn: nn.Softplus(), [(0, 3)]),
    "Softmax": (lambda nn: nn.Softmax(dim=1), [(0, 3)]),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=1), [(0, 3)]),
    "Dropout": (lambda nn: nn.Dropout(0.5), [(0, 3)]),
    "Dropout2d": (lambda nn: nn.Dropout2d(0.5), [(0, 3, 2, 2)]),
    "Identity": (lambda nn: nn.Identity(), [(0, 3)]),
    "Flatten": (lambda nn: nn.Flatten(), [(0, 3, 2)]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (3, 2)), [(0, 6)]),
    "Sequential": (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
                   [(0, 3)]),
    **{name: (lambda nn, name=name: getattr(nn, name)(), [(0, 3)])
       for name in ("ReLU6", "SiLU", "Hardtanh", "SELU", "CELU", "Mish", "Softsign", "Hardswish",
                    "Hardsigmoid", "Tanhshrink", "Softshrink", "Hardshrink", "RReLU", "PReLU")},
    "Softmin": (lambda nn: nn.Softmin(dim=1), [(0, 3)]),
    "GLU": (lambda nn: nn.GLU(dim=1), [(0, 4)]),
    "Threshold": (lambda nn: nn.Threshold(0.1, 2.0), [(0, 3)]),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [(0, 3, 2, 2)]),
    "CosineSimilarity": (lambda nn: nn.CosineSimilarity(), [(0, 3), (0, 3)]),
    "PairwiseDistance": (lambda nn: nn.PairwiseDistance(), [(0, 3), (0, 3)]),
    **{name: (lambda nn, name=name: getattr(nn, name)(1), [(0, 3, 4)])
       for name in ("ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d")},
    **{name: (lambda nn, name=name: getattr(nn, name)(1), [(0, 3, 4, 4)])
       for name in ("ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d")},
    "Unfold": (lambda nn: nn.Unfold(2, padding=1), [(0, 3, 4, 4)]),
    "Fold": (lambda nn: nn.Fold((3, 3), 2), [(0, 12, 4)]),
    "ConvTranspose1d": (lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2), [(0, 3, 4)]),
    "Dropout1d": (lambda nn: nn.Dropout1d(0.5), [(0, 3, 4)]),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3), [(0, 3, 4)]),
    "UpsamplingNearest2d": (lambda nn: nn.UpsamplingNearest2d(scale_factor=2), [(0, 3, 2, 2)]),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(2), [(0, 3, 4)]),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(3, 1, 1), [(0, 3, 4)]),
    "AdaptiveAvgPool1d": (lambda nn: nn.AdaptiveAvgPool1d(2), [(0, 3, 5)]),
    "AdaptiveMaxPool2d": (lambda nn: nn.AdaptiveMaxPool2d(2), [(0, 3, 5, 4)]),
    "ConstantPad1d": (lambda nn: nn.ConstantPad1d(2, 1.5), [(0, 3, 4)]),
    "ConstantPad2d": (lambda nn: nn.ConstantPad2d((1, 0, 2, 1), -1.0), [(0, 3, 4, 4)]),
    "MultiheadAttention": (lambda nn: nn.MultiheadAttention(4, 2, batch_first=True),
                           [(0, 3, 4), (0, 5, 4), (0, 5, 4)]),
    "TransformerEncoderLayer": (lambda nn: _encoder_layer(nn), [(0, 3, 4)]),
    "TransformerEncoder": (lambda nn: nn.TransformerEncoder(_encoder_layer(nn), 2,
                                                            enable_nested_tensor=False),
                           [(0, 3, 4)]),
    "TransformerDecoderLayer": (lambda nn: _decoder_layer(nn), [(0, 3, 4), (0, 5, 4)]),
    "TransformerDecoder": (lambda nn: nn.TransformerDecoder(_decoder_layer(nn), 2),
                           [(0, 3, 4), (0, 5, 4)]),
    "Transformer": (lambda nn: nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, batch_first=True),
                    [(0, 5, 4), (0, 3, 4)]),
    **{name: (factory, list(inputs)) for name, (factory, inputs) in LOSSES.items()},
}

# modules of tg.nn that take no input of their own (base classes, non-callable containers),
# and DropConnect, which PyTorch lacks (tested below against the layer it wraps)
NOT_LAYERS = {"Module", "ModuleDict", "ModuleList", "RNNBase", "RNNCellBase", "DropConnect",
              "ParameterList", "ParameterDict"}
# layers PyTorch 2.x cannot run on an empty batch (PixelShuffle's backward returns a gradient
# of the wrong shape, PixelUnshuffle refuses the input): checked on their own below
PYTORCH_FAILS = {"PixelShuffle": ((0, 8, 2, 3), (0, 2, 4, 6)),
                 "PixelUnshuffle": ((0, 2, 4, 2), (0, 8, 2, 1))}


def _inputs(specs, seed: int = 0):
    """The same random inputs as numpy arrays (float32; class indices int64)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        if spec[0] == IDX:
            arrays.append(np.zeros(spec[1], np.int64))
        else:
            arrays.append(rng.random(spec, dtype=np.float32))
    return arrays


def _leaves(out):
    """The tensors of a (possibly nested) tuple of outputs."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _leaves(o)]
    return [out]


def _is_float(t) -> bool:
    return t.is_floating_point() if isinstance(t, torch.Tensor) else t.dtype.kind == "f"


def _run(module, arrays, train: bool, as_tensor):
    """(inputs, outputs) of ``module`` after forward and backward of the outputs' sum."""
    module.train(train)
    inputs = [as_tensor(a, a.dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a mean over 0 elements
        outs = _leaves(module(*inputs))
        sum(o.sum() for o in outs if _is_float(o)).backward()
    return inputs, outs


def _torch_tensor(a, grad):
    return torch.tensor(a, requires_grad=grad)


def _tg_tensor(a, grad):
    return tg.tensor(a, requires_grad=grad) if grad else tg.from_numpy(a)


def _np(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def _same(ours, theirs, what: str, closed_form: float | None = None) -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != PyTorch's {b.shape}"
    if closed_form is not None:  # where PyTorch's value is not to be trusted
        np.testing.assert_array_equal(a, np.asarray(closed_form, a.dtype), err_msg=what)
        return
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != PyTorch's {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=what)


def _check(make, specs, train: bool, torch_make=None, key=lambda k: k,
           scalar: float | None = None) -> None:
    """Compare ``make(tg.nn)`` with ``(torch_make or make)(torch.nn)`` on inputs ``specs``;
    ``key`` maps PyTorch's state-dict keys to ours; ``scalar``, if given, is the expected
    value of 0-d outputs instead of PyTorch's."""
    arrays = _inputs(specs)
    torch.manual_seed(0)
    t_mod = (torch_make or make)(torch.nn)
    g_mod = make(tnn)
    g_mod.load_state_dict({key(k): v.numpy().copy() for k, v in t_mod.state_dict().items()})
    try:
        t_in, t_out = _run(t_mod, arrays, train, _torch_tensor)
    except (RuntimeError, ValueError, IndexError) as e:  # PyTorch refuses: so must we
        with pytest.raises(type(e)):
            _run(g_mod, arrays, train, _tg_tensor)
        return
    g_in, g_out = _run(g_mod, arrays, train, _tg_tensor)
    assert len(g_out) == len(t_out)
    for i, (ours, theirs) in enumerate(zip(g_out, t_out)):
        _same(ours, theirs, f"output {i}", scalar if theirs.ndim == 0 else None)
    for i, (ours, theirs) in enumerate(zip(g_in, t_in)):
        if theirs.grad is not None:
            assert ours.grad is not None, f"input {i}: no gradient (PyTorch has one)"
            _same(ours.grad, theirs.grad, f"grad of input {i}")
    t_params = {key(k): p for k, p in t_mod.named_parameters()}
    for name, p in g_mod.named_parameters():
        theirs = t_params[name].grad
        if theirs is None:
            assert p.grad is None or not _np(p.grad).any(), f"{name}.grad"
        else:
            assert p.grad is not None, f"{name}: no gradient (PyTorch's is {theirs})"
            _same(p.grad, theirs, f"{name}.grad")
    t_buffers = {key(k): b for k, b in t_mod.named_buffers()}
    for name, b in g_mod.named_buffers():
        _same(b, t_buffers[name], f"buffer {name}")


# PyTorch 2.x's multi_margin_loss returns uninitialised memory when reducing 0 samples
# (e.g. 3.9e+29 for 'sum'): the closed forms are a sum of nothing, 0, and a mean, NaN
_MARGIN_EMPTY = {"mean": np.nan, "sum": 0.0}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_empty_batch_matches_pytorch(name: str, train: bool) -> None:
    make, specs = LAYERS[name]
    _check(make, specs, train, scalar=_MARGIN_EMPTY["mean"] if name == "MultiMarginLoss" else None)


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_batch_loss_reductions(name: str, reduction: str) -> None:
    make, specs = LOSSES[name]
    _check(lambda nn: make(nn, reduction), specs, True,
           scalar=_MARGIN_EMPTY.get(reduction) if name == "MultiMarginLoss" else None)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_empty_batch_drop_connect(train: bool) -> None:
    """DropConnect(Linear) on 0 rows: the Linear's shapes and (zero) weight gradients."""
    _check(lambda nn: nn.DropConnect(nn.Linear(3, 2), p=0.5), [(0, 3)], train,
           torch_make=lambda nn: nn.Linear(3, 2), key=lambda k: "module." + k)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_empty_batch_affine_instance_norm(train: bool) -> None:
    """PyTorch 2.x's affine InstanceNorm2d fails on 0 samples inside its own code
    (``IndexError: select(): index 0 out of range``), a bug rather than a rule: we pass the
    empty batch through like every other norm, with zero weight and bias gradients."""
    m = tnn.InstanceNorm2d(3, affine=True).train(train)
    x = tg.tensor(np.ones((0, 3, 4, 4), np.float32), requires_grad=True)
    y = m(x)
    y.sum().backward()
    assert y.shape == (0, 3, 4, 4) and x.grad.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(m.weight.grad.numpy(), np.zeros(3, np.float32))
    np.testing.assert_array_equal(m.bias.grad.numpy(), np.zeros(3, np.float32))


def test_every_layer_and_loss_is_covered() -> None:
    """A layer or loss added to tg.nn must be added to LAYERS/LOSSES above."""
    exported = {name for name in tnn.__all__
                if isinstance(getattr(tnn, name), type)
                and issubclass(getattr(tnn, name), tnn.Module)}
    covered = {name.split("-")[0] for name in LAYERS}
    assert exported - NOT_LAYERS - set(PYTORCH_FAILS) - covered == set()
    assert covered - exported == set()


def test_batch_norm_training_on_one_value_per_channel_raises() -> None:
    """Zero elements pass (above); exactly one value per channel raises, as PyTorch."""
    x = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.tensor(x))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        tnn.BatchNorm1d(3)(tg.tensor(x))


@pytest.mark.parametrize("name", sorted(PYTORCH_FAILS))
def test_empty_batch_where_pytorch_fails(name) -> None:
    """The output has the right (empty) shape and backward gives an empty input gradient."""
    shape_in, shape_out = PYTORCH_FAILS[name]
    x = tg.zeros(*shape_in, requires_grad=True)
    y = getattr(tnn, name)(2)(x)
    assert y.shape == shape_out
    y.sum().backward()
    assert x.grad.shape == shape_in
