"""nn.Module and nn.Parameter: registration, naming, state dicts, hooks, scopes, repr.

Oracles: PyTorch's behaviour (compared directly when torch is installed), closed
forms for gradients, and exact values for everything that is copied.
"""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn


class Linear(nn.Module):
    """y = x W^T + b, named and printed like torch.nn.Linear (the layers live elsewhere)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(tg.randn(out_features, in_features, dtype=tg.float64))
        if bias:
            self.bias = nn.Parameter(tg.randn(out_features, dtype=tg.float64))
        else:
            self.register_parameter("bias", None)  # as torch.nn.Linear does

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Norm(nn.Module):
    """A module with a parameter, persistent buffers and a non-persistent one."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(tg.ones(n, dtype=tg.float64))
        self.register_buffer("running_mean", tg.zeros(n, dtype=tg.float64))
        self.register_buffer("num_batches_tracked", tg.tensor(0))
        self.register_buffer("scratch", tg.zeros(n, dtype=tg.float64), persistent=False)

    def forward(self, x):
        return (x - self.running_mean) * self.weight


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = Linear(3, 3)
        self.bn1 = Norm(3)
        self.conv2 = Linear(3, 3, bias=False)

    def forward(self, x):
        return self.conv2(self.bn1(self.conv1(x)).relu()) + x


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = Linear(4, 3)
        self.layer1 = nn.Sequential(Block(), Block())
        self.heads = nn.ModuleList([Linear(3, 2), Linear(3, 2)])
        self.extra = nn.ModuleDict({"proj": Linear(2, 2)})

    def forward(self, x):
        x = self.layer1(self.stem(x))
        x = self.heads[0](x) + self.heads[1](x)
        return self.extra["proj"](x)


def torch_net():
    """The same architecture in PyTorch (same names, shapes and buffers)."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TNorm(tnn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = tnn.Parameter(torch.ones(n))
            self.register_buffer("running_mean", torch.zeros(n))
            self.register_buffer("num_batches_tracked", torch.tensor(0))
            self.register_buffer("scratch", torch.zeros(n), persistent=False)

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Linear(3, 3)
            self.bn1 = TNorm(3)
            self.conv2 = tnn.Linear(3, 3, bias=False)

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.stem = tnn.Linear(4, 3)
            self.layer1 = tnn.Sequential(TBlock(), TBlock())
            self.heads = tnn.ModuleList([tnn.Linear(3, 2), tnn.Linear(3, 2)])
            self.extra = tnn.ModuleDict({"proj": tnn.Linear(2, 2)})

    return TNet()


# -- Parameter -----------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_memory():
    data = np.arange(6.0).reshape(2, 3)
    p = nn.Parameter(tg.from_numpy(data))
    assert type(p) is nn.Parameter and isinstance(p, tg.Tensor)  # as in PyTorch
    assert p.requires_grad and p.is_leaf and p.dtype == np.float64
    data[0, 0] = 42.0
    assert p.numpy()[0, 0] == 42.0
    frozen = nn.Parameter(tg.zeros(2), requires_grad=False)
    assert isinstance(frozen, nn.Parameter) and not frozen.requires_grad
    empty = nn.Parameter()
    assert empty.shape == (0,) and empty.dtype == tg.get_default_dtype()
    assert not isinstance(tg.zeros(2), nn.Parameter) and not isinstance(3.0, nn.Parameter)


def test_ops_on_parameters_give_plain_tensors_that_do_not_register():
    m = Linear(2, 2)
    h = m.weight * 2
    with tg.no_grad():
        s = m.weight.sum()
    assert not isinstance(h, nn.Parameter) and not isinstance(s, nn.Parameter)
    assert not isinstance(m.weight.detach(), nn.Parameter)
    m.cache = h  # a computed tensor is a plain attribute, not a parameter
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.cache is h


# -- registration --------------------------------------------------------------------------
def test_attribute_assignment_registers_parameters_modules_and_buffers_in_order():
    m = Block()
    assert [n for n, _ in m.named_parameters()] == [
        "conv1.weight", "conv1.bias", "bn1.weight", "conv2.weight"]
    assert [n for n, _ in m.named_buffers()] == [
        "bn1.running_mean", "bn1.num_batches_tracked", "bn1.scratch"]
    assert [n for n, _ in m.named_children()] == ["conv1", "bn1", "conv2"]
    assert m.conv2.bias is None and "bias" in m.conv2._parameters
    assert [p.shape for p in m.parameters(recurse=False)] == []
    assert [n for n, _ in m.conv1.named_parameters(prefix="x")] == ["x.weight", "x.bias"]


def test_assignment_rules_as_pytorch():
    m = Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign .*Tensor.* as parameter 'weight'"):
        m.weight = tg.zeros(2, 2)
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    m.weight = nn.Parameter(tg.ones(2, 2))
    assert np.array_equal(m.weight.numpy(), np.ones((2, 2)))
    n = Norm(2)
    n.running_mean = tg.ones(2)  # a buffer may be replaced by another tensor
    assert np.array_equal(n.running_mean.numpy(), np.ones(2))
    with pytest.raises(TypeError, match="as buffer 'running_mean'"):
        n.running_mean = [1.0, 2.0]
    b = Block()
    with pytest.raises(TypeError, match="as child module 'conv1'"):
        b.conv1 = 3
    b.conv1 = Linear(3, 3)  # replacing a child keeps its place
    assert [k for k, _ in b.named_children()] == ["conv1", "bn1", "conv2"]


def test_unknown_attribute_raises_attribute_error_naming_class_and_name():
    m = Block()
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'conv3'"):
        m.conv3  # noqa: B018
    assert not hasattr(m, "conv3") and getattr(m, "conv3", None) is None


def test_delattr_removes_parameters_buffers_and_modules():
    m = Block()
    del m.conv1
    del m.bn1.running_mean
    del m.conv2.weight
    assert [n for n, _ in m.named_parameters()] == ["bn1.weight"]
    assert "bn1.running_mean" not in m.state_dict()
    with pytest.raises(AttributeError):
        m.conv1  # noqa: B018


def test_register_buffer_and_parameter_validate_like_pytorch():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", tg.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="buffer 'a'"):
        m.register_buffer("a", np.zeros(1))
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.register_parameter("w", tg.zeros(1, requires_grad=True))
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", tg.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", tg.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.zeros(1))
    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()


def test_shared_parameters_are_listed_once_but_named_twice_in_state_dict():
    m = nn.Module()
    m.a = Linear(2, 2)
    m.b = m.a
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "a"]
    assert len(list(m.named_modules(remove_duplicate=False))) == 3


def test_names_and_state_dict_keys_match_pytorch():
    ours, theirs = Net(), torch_net()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.shape == tuple(b.shape), k


def test_get_submodule():
    m = Net()
    assert m.get_submodule("layer1.1.conv2") is m.layer1[1].conv2
    assert m.get_submodule("") is m
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("layer1.nope")


# -- modes and bulk operations ---------------------------------------------------------------
def test_train_and_eval_set_the_flag_on_the_whole_tree():
    m = Net()
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.layer1.train()
    assert m.layer1[0].bn1.training and not m.training and not m.stem.training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_to_none_or_to_zeros():
    m = Linear(3, 2)
    m(tg.ones(1, 3, dtype=tg.float64)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and np.array_equal(grad.numpy(), np.zeros((2, 3)))
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_apply_visits_children_first_like_pytorch():
    ours, theirs = Net(), torch_net()
    seen, tseen = [], []
    assert ours.apply(lambda mod: seen.append(type(mod).__name__)) is ours
    theirs.apply(lambda mod: tseen.append(type(mod).__name__))
    renamed = {"TNet": "Net", "TBlock": "Block", "TNorm": "Norm"}
    assert seen == [renamed.get(n, n) for n in tseen]


def test_requires_grad_freezes_parameters():
    m = Block()
    m.conv1.requires_grad_(False)
    assert [p.requires_grad for p in m.parameters()] == [False, False, True, True]


def test_to_double_and_float_cast_floats_in_place():
    m = Norm(2).float()
    weight, count = m.weight, m.num_batches_tracked
    assert m.weight.dtype == np.float32 and m.running_mean.dtype == np.float32
    m.weight.grad = tg.ones(2, dtype=tg.float32)
    assert m.to(tg.float64) is m
    assert m.weight is weight and m.weight.dtype == np.float64
    assert m.weight.grad.dtype == np.float64 and m.scratch.dtype == np.float64
    assert m.num_batches_tracked is count and count.dtype == np.int64  # integers stay
    assert m.double().to("cpu").to(tg.zeros(1, dtype=tg.float32)).weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(tg.int64)
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")


def test_deepcopy_gives_an_independent_module_with_registered_parameters():
    m = Block()
    c = copy.deepcopy(m)
    assert all(isinstance(p, nn.Parameter) for p in c.parameters())
    c.conv1.weight = nn.Parameter(tg.zeros(3, 3, dtype=tg.float64))  # still settable
    with tg.no_grad():
        c.bn1.weight.fill_(5.0)
    assert np.array_equal(m.bn1.weight.numpy(), np.ones(3))


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required"):
        nn.Module()(1)


def test_module_trains_to_the_least_squares_solution():
    """Gradients reach the parameters through __call__: gradient descent on 0.5 |Xw + b - y|^2
    converges to numpy's least-squares solution."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.01 * rng.standard_normal((50, 1))
    m = Linear(3, 1)
    for _ in range(500):
        m.zero_grad()
        loss = ((m(tg.tensor(x)) - tg.tensor(y)) ** 2).mean() * 0.5
        loss.backward()
        with tg.no_grad():
            for p in m.parameters():
                p.sub_(0.3 * p.grad.numpy())
    design = np.hstack([x, np.ones((50, 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0].ravel()
    assert np.allclose(np.r_[m.weight.numpy().ravel(), m.bias.numpy()], solution, atol=1e-8)


# -- state dict -----------------------------------------------------------------------------
def test_state_dict_values_are_detached_views_and_load_round_trips_exactly():
    src, dst = Net(), Net()
    sd = src.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["stem.weight"].numpy(), src.stem.weight.numpy())
    assert "layer1.0.bn1.scratch" not in sd
    result = dst.load_state_dict({k: v.numpy().copy() for k, v in sd.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()) and a.dtype == b.dtype, k
    assert dst.stem.weight.requires_grad and isinstance(dst.stem.weight, nn.Parameter)


def _snapshot(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


def _unchanged(m, before):
    return all(np.array_equal(v.numpy(), before[k]) for k, v in m.state_dict().items())


def test_strict_load_lists_missing_and_unexpected_keys_and_changes_nothing():
    m = Net()
    before = _snapshot(m)
    sd = {k: np.zeros(v.shape) for k, v in Net().state_dict().items()}
    del sd["stem.bias"]
    sd["stem.gamma"] = np.zeros(3)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "stem.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "stem.gamma".' in msg
    assert _unchanged(m, before)
    result = m.load_state_dict(sd, strict=False)
    assert result == (["stem.bias"], ["stem.gamma"])
    assert np.array_equal(m.stem.weight.numpy(), np.zeros((3, 4)))
    assert np.array_equal(m.stem.bias.numpy(), before["stem.bias"])


def test_shape_mismatch_names_key_and_both_shapes_and_leaves_module_untouched():
    m = Net()
    before = _snapshot(m)
    sd = {k: np.full(v.shape, 7.0) for k, v in m.state_dict().items()}
    sd["layer1.1.conv1.weight"] = np.zeros((3, 5))
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=re.escape(
                "size mismatch for layer1.1.conv1.weight: copying a param with shape (3, 5) "
                "from checkpoint, the shape in current model is (3, 3).")):
            m.load_state_dict(sd, strict=strict)
        assert _unchanged(m, before)
    sd["layer1.1.conv1.weight"] = np.array(["a", "b"])
    with pytest.raises(RuntimeError, match="unsupported value for layer1.1.conv1.weight"):
        m.load_state_dict(sd)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([("stem.weight", np.zeros((3, 4)))])


def test_load_error_message_has_pytorchs_layout():
    torch = pytest.importorskip("torch")
    theirs = torch_net()
    sd = dict(theirs.state_dict())
    sd.pop("stem.bias")
    sd["stem.gamma"] = torch.zeros(3)
    sd["heads.0.weight"] = torch.zeros(5, 3)
    with pytest.raises(RuntimeError) as expected:
        theirs.load_state_dict(sd)
    with pytest.raises(RuntimeError) as got:
        Net().load_state_dict({k: v.numpy() for k, v in sd.items()})
    torch_msg = re.sub(r"torch\.Size\(\[([^\]]*)\]\)", r"(\1)", str(expected.value))
    assert str(got.value) == torch_msg.replace("TNet", "Net")


def test_buffers_load_with_their_own_dtype():
    m = Norm(2)
    m.load_state_dict({"weight": np.ones(2), "running_mean": [0.5, 1.5],
                       "num_batches_tracked": np.array(7.0)})
    assert m.num_batches_tracked.dtype == np.int64 and m.num_batches_tracked.item() == 7
    assert np.array_equal(m.running_mean.numpy(), [0.5, 1.5])


# -- hooks ------------------------------------------------------------------------------------
def test_forward_pre_hooks_and_forward_hooks_modify_and_remove():
    m = Linear(2, 2, bias=False)
    with tg.no_grad():
        m.weight.copy_(np.eye(2))
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    x = tg.tensor([[1.0, 2.0]], dtype=tg.float64)
    assert np.array_equal(m(x).numpy(), [[3.0, 5.0]])
    assert calls == ["first"]
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    assert np.array_equal(m(x).numpy(), [[1.0, 2.0]])

    def with_kwargs(mod, args, kwargs):
        return (args[0] + 10,), kwargs
    with m.register_forward_pre_hook(with_kwargs, with_kwargs=True):
        assert np.array_equal(m(x).numpy(), [[11.0, 12.0]])
    assert np.array_equal(m(x).numpy(), [[1.0, 2.0]])


class TwoInputs(nn.Module):
    """out = (x * w * y * k, x + y): two tensor inputs, a number, two outputs."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor([2.0, 3.0], dtype=tg.float64))

    def forward(self, x, y, k):
        return x * self.w * y * k, x + y


def test_full_backward_hook_sees_closed_form_grads_and_replaces_grad_input():
    m = TwoInputs()
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append((module, grad_input, grad_output))
        return grad_input[0] * 10, grad_input[1], None

    handle = m.register_full_backward_hook(hook)
    x = tg.tensor([1.0, 1.0], dtype=tg.float64, requires_grad=True)
    y = tg.tensor([5.0, 7.0], dtype=tg.float64, requires_grad=True)
    a, b = m(x, y, 2.0)
    (a.sum() + 3 * b.sum()).backward()
    (module, gin, gout), = seen
    assert module is m and len(gin) == 3 and len(gout) == 2 and gin[2] is None
    # d/da = 1, d/db = 3;  d/dx (through the module) = w*y*k + 3, d/dy = x*w*k + 3
    assert np.array_equal(gout[0].numpy(), [1.0, 1.0]) and np.array_equal(gout[1].numpy(), [3.0, 3.0])
    assert np.array_equal(gin[0].numpy(), [23.0, 45.0]) and np.array_equal(gin[1].numpy(), [7.0, 9.0])
    assert np.array_equal(x.grad.numpy(), [230.0, 450.0]) and np.array_equal(y.grad.numpy(), [7.0, 9.0])
    assert np.array_equal(m.w.grad.numpy(), [10.0, 14.0])  # x*y*k: parameters are not affected
    handle.remove()
    x.grad = None
    m(x, y, 2.0)[0].sum().backward()
    assert len(seen) == 1 and np.array_equal(x.grad.numpy(), [20.0, 42.0])


def test_full_backward_hook_matches_pytorch():
    torch = pytest.importorskip("torch")

    class TTwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([2.0, 3.0], dtype=torch.float64))

        def forward(self, x, y, k):
            return x * self.w * y * k, x + y

    def run(module, tensor, hook_result):
        seen = []

        def hook(mod, gin, gout):
            seen.append(([None if g is None else np.asarray(g.detach() if hasattr(g, "detach")
                          else g) for g in gin],
                         [None if g is None else np.asarray(g) for g in gout]))
            return hook_result(gin)
        module.register_full_backward_hook(hook)
        x = tensor([1.0, -1.0], requires_grad=True)
        y = tensor([5.0, 7.0], requires_grad=False)  # this input needs no gradient
        a, _ = module(x, y, 2.0)
        (a * a).sum().backward()
        return seen, np.asarray(x.grad.detach() if hasattr(x.grad, "detach") else x.grad)

    def scale(gin):
        return (gin[0] * 0.5, None, None)

    ours = run(TwoInputs(), lambda v, requires_grad: tg.tensor(
        v, dtype=tg.float64, requires_grad=requires_grad), scale)
    theirs = run(TTwoInputs(), lambda v, requires_grad: torch.tensor(
        v, dtype=torch.float64, requires_grad=requires_grad), scale)
    (og, oo), = ours[0]
    (tg_, to), = theirs[0]
    # y needs no gradient: None here, a zero placeholder in PyTorch; k is no tensor: None
    assert og[1] is None and np.array_equal(tg_[1], [0.0, 0.0])
    assert og[2] is None and tg_[2] is None
    assert np.allclose(og[0], tg_[0]) and np.allclose(oo[0], to[0])
    assert oo[1] is None and to[1] is None  # b was not used
    assert np.allclose(ours[1], theirs[1])


def test_gradients_through_hooked_modules_pass_gradcheck_and_gradgradcheck():
    """The hook plumbing (gate and tap nodes) is exact, also when backward is recorded."""
    from tinygrad_cs.testing import gradcheck, gradgradcheck

    m = TwoInputs()
    calls = []
    m.register_full_backward_hook(lambda mod, gin, gout: calls.append(len(gin)))

    def f(x, y):
        a, b = m(x, y, 0.5)
        return a.tanh() * b
    x = tg.randn(2, dtype=tg.float64, requires_grad=True)
    y = tg.randn(2, dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, (x, y)) and gradgradcheck(f, (x, y))
    assert calls and set(calls) == {3}


def test_full_backward_hook_runs_when_no_input_requires_grad():
    m = Linear(2, 1, bias=False)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout)))
    m(tg.ones(1, 2, dtype=tg.float64)).sum().backward()
    (gin, gout), = seen
    assert gin == (None,) and np.array_equal(gout[0].numpy(), [[1.0]])
    assert m.weight.grad is not None


def test_backward_hook_with_wrong_number_of_gradients_raises():
    m = Linear(2, 1)
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
    x = tg.ones(1, 2, dtype=tg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 2 gradients, but the module has 1 inputs"):
        m(x).sum().backward()


# -- scopes -----------------------------------------------------------------------------------
def test_graph_nodes_record_the_dotted_module_path():
    m = Net()
    out = m(tg.randn(2, 4, dtype=tg.float64))
    graph = tg.Graph(out)
    scopes = {graph.info(n).scope for n in graph if not n.is_leaf}
    assert {"stem", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.conv2", "layer1.0",
            "layer1.1.conv1", "heads.0", "heads.1", "extra.proj", ""} <= scopes
    # The relu and the residual add belong to the block, the matmul to its conv1
    relu = next(n for n in graph if n.op and "relu" in n.op.lower())
    assert relu.scope == "layer1.0"
    conv1_ops = [n.op for n in graph if n.scope == "layer1.0.conv1" and not n.is_leaf]
    assert conv1_ops and all(op is not None for op in conv1_ops)
    assert out.scope == "extra.proj"


def test_scopes_nest_under_an_outer_user_scope_and_submodules_called_alone():
    m = Net()
    with tg.scope("train"):
        out = m(tg.randn(2, 4, dtype=tg.float64))
    assert out.scope == "train.extra.proj"
    assert any(n.scope == "train.layer1.1.bn1" for n in tg.Graph(out))
    alone = m.layer1[0](tg.randn(2, 3, dtype=tg.float64))  # the called module is the root
    assert {n.scope for n in tg.Graph(alone) if not n.is_leaf} >= {"conv1", "bn1", ""}
