"""PyTorch's validation rules, with PyTorch as the oracle: which inputs a layer refuses
(dtype mismatches, raw numpy arrays), bool masks of the wrong shape, invalid reshapes.

Each case runs the same call on ``tg`` and ``torch``: where PyTorch raises, we raise the
same exception type with a message naming the layer and both dtypes (or shapes); where it
does not, we compute in the input's dtype as it does.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn as tnn

torch = pytest.importorskip("torch")

# name -> (factory(nn), input shape); every layer with parameters or buffers
LAYERS = {
    "Linear": (lambda nn: nn.Linear(3, 2), (4, 3)),
    "Linear-nobias": (lambda nn: nn.Linear(3, 2, bias=False), (4, 3)),
    "Conv1d": (lambda nn: nn.Conv1d(3, 2, 1), (2, 3, 5)),
    "Conv2d": (lambda nn: nn.Conv2d(3, 2, 1), (2, 3, 4, 4)),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(3, 2, 1), (2, 3, 4, 4)),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm1d-noaffine": (lambda nn: nn.BatchNorm1d(3, affine=False), (4, 3)),
    "BatchNorm1d-nothing": (lambda nn: nn.BatchNorm1d(3, affine=False,
                                                      track_running_stats=False), (4, 3)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "InstanceNorm2d": (lambda nn: nn.InstanceNorm2d(3), (2, 3, 4, 4)),
    "InstanceNorm2d-affine": (lambda nn: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    "InstanceNorm2d-track": (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True),
                             (2, 3, 4, 4)),
    "LayerNorm": (lambda nn: nn.LayerNorm(3), (4, 3)),
    "LayerNorm-noaffine": (lambda nn: nn.LayerNorm(3, elementwise_affine=False), (4, 3)),
    "GroupNorm": (lambda nn: nn.GroupNorm(1, 3), (4, 3, 2)),
    "GroupNorm-noaffine": (lambda nn: nn.GroupNorm(1, 3, affine=False), (4, 3, 2)),
    "RNN": (lambda nn: nn.RNN(3, 2), (5, 4, 3)),
    "LSTM": (lambda nn: nn.LSTM(3, 2), (5, 4, 3)),
    "GRU": (lambda nn: nn.GRU(3, 2), (5, 4, 3)),
    "RNNCell": (lambda nn: nn.RNNCell(3, 2), (4, 3)),
    "LSTMCell": (lambda nn: nn.LSTMCell(3, 2), (4, 3)),
    "GRUCell": (lambda nn: nn.GRUCell(3, 2), (4, 3)),
}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_input_dtype_other_than_the_layers_raises_as_pytorch(name: str, dtype: str) -> None:
    make, shape = LAYERS[name]
    x = np.ones(shape, dtype)
    try:
        expected = _first(make(torch.nn)(torch.from_numpy(x))).dtype
    except NotImplementedError:  # PyTorch has no integer kernel: refused all the same
        with pytest.raises((TypeError, RuntimeError), match=dtype):
            make(tnn)(tg.from_numpy(x))
        return
    except (RuntimeError, ValueError) as e:
        with pytest.raises(type(e)) as info:
            make(tnn)(tg.from_numpy(x))
        message = str(info.value)
        layer = name.split("-")[0]
        assert message.startswith(layer) and dtype in message and "float32" in message, message
        return
    out = _first(make(tnn)(tg.from_numpy(x)))
    assert str(out.dtype) == str(expected).removeprefix("torch."), (out.dtype, expected)


def test_dtype_error_names_the_module_path() -> None:
    model = tnn.Sequential(tnn.Linear(3, 3).double(), tnn.Linear(3, 2))
    with pytest.raises(RuntimeError, match=r"^Linear '1': mat1 and mat2 must have the same "
                                           r"dtype, but got input float64 and parameters "
                                           r"float32 \(input of shape \(4, 3\)\)"):
        model(tg.tensor(np.ones((4, 3))))


def test_cell_state_dtype_is_checked() -> None:
    x, h = torch.ones(4, 3), torch.ones(4, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        torch.nn.GRUCell(3, 2)(x, h)
    with pytest.raises(RuntimeError, match=r"GRUCell: .* got hx float64 and parameters float32"):
        tnn.GRUCell(3, 2)(tg.from_numpy(x.numpy()), tg.from_numpy(h.numpy()))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "uint8", "bool", "int32",
                                   "int64"])
def test_embedding_indices_dtype_as_pytorch(dtype: str) -> None:
    idx = np.zeros(3, dtype)
    try:
        expected = torch.nn.Embedding(5, 2)(torch.from_numpy(idx)).shape
    except RuntimeError:
        with pytest.raises(RuntimeError, match=rf"Embedding: .*'indices' .* Long, Int .*{dtype}"):
            tnn.Embedding(5, 2)(tg.from_numpy(idx))
        return
    assert tnn.Embedding(5, 2)(tg.from_numpy(idx)).shape == tuple(expected)


MODULES = {  # one of each kind of layer, with a valid input shape
    **{name: spec for name, spec in LAYERS.items() if "-" not in name},
    "ReLU": (lambda nn: nn.ReLU(), (4, 3)),
    "Softmax": (lambda nn: nn.Softmax(dim=1), (4, 3)),
    "Dropout": (lambda nn: nn.Dropout(), (4, 3)),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), (1, 1, 4, 4)),
    "Flatten": (lambda nn: nn.Flatten(), (4, 3)),
    "MSELoss": (lambda nn: lambda x: nn.MSELoss()(x, x), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_raw_numpy_input_raises_type_error(name: str) -> None:
    make, shape = MODULES[name]
    x = np.ones(shape, np.float32)
    with pytest.raises((TypeError, AttributeError)):  # PyTorch's refusal varies by layer
        make(torch.nn)(x)
    with pytest.raises(TypeError, match=r"must be a Tensor, not numpy.ndarray .* "
                                        r"tg.from_numpy\(array\) .* tg.tensor\(array\)"):
        make(tnn)(x)


def test_embedding_numpy_indices_raise_type_error() -> None:
    with pytest.raises(TypeError, match=r"Embedding: argument 'indices' must be a Tensor"):
        tnn.Embedding(5, 2)(np.zeros(3, np.int64))


def test_identity_passes_anything_as_pytorch() -> None:
    x = np.ones(3)
    assert torch.nn.Identity()(x) is x
    assert tnn.Identity()(x) is x


# -- bool masks --------------------------------------------------------------------------
MASKS = {
    "short": (np.array([True, False]),),
    "long": (np.array([True, False, True, False]),),
    "2d-wrong-cols": (np.ones((3, 3), bool),),
    "dim1": (slice(None), np.array([True, False])),
    "after-ellipsis": (Ellipsis, np.array([True, False, True])),
    "after-none": (None, np.array([True, False])),
    "ok-rows": (np.array([True, False, True]),),
    "ok-2d": (np.eye(3, 4, dtype=bool),),
    "ok-dim1": (slice(None), np.array([True, False, True, True])),
    "ok-ellipsis": (Ellipsis, np.array([False, True, True, False])),
    "ok-with-int": (np.array([True, False, True]), 1),
}


def _torch_index(index):
    return tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)


def _tg_index(index):
    return tuple(tg.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)


@pytest.mark.parametrize("name", sorted(MASKS))
def test_bool_mask_read_matches_pytorch(name: str) -> None:
    index = MASKS[name]
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = tg.tensor(a, requires_grad=True)
    try:
        expected = torch.from_numpy(a)[_torch_index(index)].numpy()
    except IndexError as e:
        with pytest.raises(IndexError) as info:
            x[_tg_index(index)]
        assert str(info.value) == str(e)  # PyTorch's wording, shapes and positions
        return
    out = x[_tg_index(index)]
    np.testing.assert_array_equal(out.numpy(), expected)
    out.sum().backward()
    grad = torch.zeros(3, 4)
    grad[_torch_index(index)] = 1
    np.testing.assert_array_equal(x.grad.numpy(), grad.numpy())


@pytest.mark.parametrize("name", sorted(MASKS))
def test_bool_mask_assignment_is_checked(name: str) -> None:
    index = MASKS[name]
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    ref, x = torch.from_numpy(a.copy()), tg.tensor(a)
    try:
        ref[_torch_index(index)] = -1.0
    except IndexError:
        # the index is refused, and the tensor is left unchanged
        with pytest.raises(IndexError):
            x[_tg_index(index)] = -1.0
        np.testing.assert_array_equal(x.numpy(), a)
        return
    x[_tg_index(index)] = -1.0
    np.testing.assert_array_equal(x.numpy(), ref.numpy())


# -- reshape / view ----------------------------------------------------------------------
RESHAPES = {
    "minus-two": ((6,), (-2, 3)),
    "two-inferred": ((6,), (-1, -1)),
    "wrong-size": ((6,), (4,)),
    "not-divisible": ((6,), (-1, 4)),
    "empty-ambiguous": ((0, 3), (0, -1)),
    "empty-ambiguous-2": ((0, 3), (-1, 0)),
    "zero-into-nonempty": ((6,), (0, -1)),
    "ok-infer": ((2, 3, 4), (4, -1)),
    "ok-empty": ((0, 3), (-1, 3)),
    "ok-scalar": ((1,), ()),
    "ok-to-empty": ((0,), (2, 0, 5)),
}


@pytest.mark.parametrize("method", ["reshape", "view"])
@pytest.mark.parametrize("name", sorted(RESHAPES))
def test_reshape_sizes_as_pytorch(name: str, method: str) -> None:
    old, new = RESHAPES[name]
    a = np.zeros(old, np.float32)
    try:
        expected = getattr(torch.from_numpy(a), method)(new).shape
    except RuntimeError:
        with pytest.raises(RuntimeError, match=rf"shape '\[{', '.join(map(str, new))}\]' is "
                                               rf"invalid for input of size {a.size}"):
            getattr(tg.from_numpy(a), method)(new)
        return
    assert getattr(tg.from_numpy(a), method)(new).shape == tuple(expected)
