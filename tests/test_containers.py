"""Sequential, ModuleList, ModuleDict, Identity, Flatten, Unflatten.

Oracles: PyTorch's containers (keys after each edit, repr text, outputs of the
shape modules) when torch is installed; numpy reshapes and exact values otherwise.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn


class Linear(nn.Module):
    """y = x W^T + b, printed like torch.nn.Linear (the real layer lives elsewhere)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(tg.randn(out_features, in_features, dtype=tg.float64))
        self.bias = nn.Parameter(tg.randn(out_features, dtype=tg.float64))

    def forward(self, x):
        return x @ self.weight.T + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias=True"


class Scale(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k


def keys(module) -> list[str]:
    return list(module.state_dict())


# -- Sequential -----------------------------------------------------------------------------
def test_sequential_composes_in_order():
    seq = nn.Sequential(Scale(2.0), Linear(3, 2), Scale(-1.0))
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    lin = seq[1]
    expected = -((2.0 * x.numpy()) @ lin.weight.numpy().T + lin.bias.numpy())
    assert np.array_equal(seq(x).numpy(), expected)
    assert len(seq) == 3 and list(seq) == [seq[0], seq[1], seq[2]] and seq[-1] is seq[2]
    assert keys(seq) == ["1.weight", "1.bias"]


def test_sequential_indexing_slicing_and_editing_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(*[Linear(2, 2) for _ in range(4)])
    theirs = torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(4)])
    assert isinstance(ours[1:3], nn.Sequential) and ours[1:3][0] is ours[1]
    assert keys(ours[1:3]) == list(theirs[1:3].state_dict())  # slices keep the names
    for edit in (lambda s, L: s.append(L(2, 2)),
                 lambda s, L: s.insert(1, L(2, 2)),
                 lambda s, L: s.__delitem__(0),
                 lambda s, L: s.__delitem__(slice(1, 3)),
                 lambda s, L: s.pop(-1),
                 lambda s, L: s.extend([L(2, 2), L(2, 2)])):
        edit(ours, Linear)
        edit(theirs, torch.nn.Linear)
        assert keys(ours) == list(theirs.state_dict())
    first = ours[0]
    ours[0] = Linear(2, 2)
    assert ours[0] is not first and len(ours) == len(theirs)
    with pytest.raises(IndexError, match="out of range"):
        ours[len(ours)]


def test_sequential_from_ordered_dict_uses_the_names():
    seq = nn.Sequential(OrderedDict([("fc", Linear(2, 2)), ("act", Scale(1.0))]))
    assert keys(seq) == ["fc.weight", "fc.bias"] and seq[0] is seq.fc
    assert seq.insert(0, Scale(3.0)) is seq  # Sequential.insert returns self, as PyTorch


def test_containers_scope_their_children_by_key():
    model = nn.Module()
    model.blocks = nn.ModuleList([Linear(2, 2), Linear(2, 2)])
    model.seq = nn.Sequential(Scale(2.0), Linear(2, 2))
    model.forward = lambda x: model.seq(model.blocks[1](model.blocks[0](x)))
    out = model(tg.ones(1, 2, dtype=tg.float64))
    scopes = {n.scope for n in tg.Graph(out) if not n.is_leaf}
    assert scopes == {"blocks.0", "blocks.1", "seq.0", "seq.1"}


# -- ModuleList -------------------------------------------------------------------------------
def test_module_list_is_a_registered_list():
    layers = nn.ModuleList([Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and list(layers)[2] is layers[2] and layers[-1] is layers[2]
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    assert keys(layers)[:2] == ["0.weight", "0.bias"]
    assert len(list(layers.parameters())) == 6
    extra = Linear(2, 2)
    assert layers.append(extra) is layers and layers[3] is extra
    front, back = Scale(1.0), Scale(2.0)
    layers.insert(0, front)
    layers.insert(-1, back)  # before the last one, as list.insert
    assert layers[0] is front and layers[-2] is back and layers[-1] is extra
    del layers[0]
    del layers[-2]
    layers += [Linear(2, 2)]
    assert len(layers) == 5 and len(layers + [Scale(1.0)]) == 6
    with pytest.raises(NotImplementedError, match="ModuleList"):
        layers(tg.ones(2))


def test_module_list_edits_renumber_like_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([Linear(2, 2) for _ in range(3)])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    for edit in (lambda s, L: s.insert(1, L(2, 2)),
                 lambda s, L: s.insert(len(s), L(2, 2)),
                 lambda s, L: s.__delitem__(0),
                 lambda s, L: s.pop(1),
                 lambda s, L: s.__delitem__(slice(0, 2)),
                 lambda s, L: s.extend([L(2, 2)])):
        edit(ours, Linear)
        edit(theirs, torch.nn.Linear)
        assert keys(ours) == list(theirs.state_dict())


# -- ModuleDict -------------------------------------------------------------------------------
def test_module_dict_behaves_as_an_ordered_dict_of_children():
    d = nn.ModuleDict({"b": Linear(2, 2), "a": Scale(1.0)})
    d["c"] = Linear(2, 1)
    assert list(d) == ["b", "a", "c"] and list(d.keys()) == ["b", "a", "c"]
    assert "a" in d and "z" not in d and len(d) == 3
    assert [k for k, _ in d.items()] == ["b", "a", "c"] and d["c"] is list(d.values())[2]
    assert keys(d) == ["b.weight", "b.bias", "c.weight", "c.bias"]
    popped = d.pop("b")
    assert isinstance(popped, Linear) and list(d) == ["a", "c"]
    del d["a"]
    d.update([("x", Scale(2.0))])
    assert list(d) == ["c", "x"]
    with pytest.raises(ValueError, match="length 3"):
        d.update([("y", Scale(1.0), 3)])
    d.clear()
    assert len(d) == 0 and keys(d) == []


# -- repr -------------------------------------------------------------------------------------
def test_tree_repr_is_pytorchs():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def build(ns, linear):
        model = ns.Sequential(
            ns.Flatten(), ns.Unflatten(1, (2, 3)), ns.Identity(),
            ns.ModuleList([linear(3, 3), linear(3, 3), linear(3, 3), linear(3, 4)]),
            ns.ModuleDict({"head": ns.Sequential(linear(4, 2)), "empty": ns.ModuleList()}))
        return repr(model)

    assert build(nn, Linear) == build(tnn, tnn.Linear)
    assert repr(nn.Module()) == repr(tnn.Module()) == "Module()"


# -- Identity, Flatten, Unflatten ---------------------------------------------------------------
def test_identity_returns_its_input_and_ignores_arguments():
    x = tg.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x


def test_flatten_matches_numpy_and_passes_gradients_back():
    data = np.arange(120.0).reshape(2, 3, 4, 5)
    x = tg.tensor(data, requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert np.array_equal(nn.Flatten()(x).numpy(), data.reshape(2, 60))
    assert nn.Flatten(0, 2)(x).shape == (24, 5) and nn.Flatten(-3, -2)(x).shape == (2, 12, 5)
    weights = tg.tensor(np.arange(60.0))
    (nn.Flatten()(x) * weights).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.broadcast_to(np.arange(60.0), (2, 60)).reshape(
        2, 3, 4, 5))


def test_unflatten_splits_a_dim_and_infers_minus_one():
    data = np.arange(24.0).reshape(2, 12)
    x = tg.tensor(data)
    assert np.array_equal(nn.Unflatten(1, (3, 4))(x).numpy(), data.reshape(2, 3, 4))
    assert nn.Unflatten(-1, (2, -1))(x).shape == (2, 2, 6)
    assert nn.Unflatten(0, [1, 2])(x).shape == (1, 2, 12)
    with pytest.raises(RuntimeError, match=r"don't multiply up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 2))(x)
    with pytest.raises(RuntimeError, match="multiply"):
        nn.Unflatten(1, (5, -1))(x)
    with pytest.raises(TypeError, match="unflattened_size"):
        nn.Unflatten(1, 12)


def test_shape_modules_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    pairs = [(nn.Flatten(), torch.nn.Flatten()), (nn.Flatten(1, 2), torch.nn.Flatten(1, 2)),
             (nn.Unflatten(2, (2, 2)), torch.nn.Unflatten(2, (2, 2))),
             (nn.Unflatten(-1, (-1, 5)), torch.nn.Unflatten(-1, (-1, 5)))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert np.array_equal(ours(tg.tensor(data)).numpy(), theirs(torch.from_numpy(data)).numpy())
