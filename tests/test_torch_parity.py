"""Same program in tinygrad_cs and PyTorch CPU: values and gradients agree.

The oracle for API semantics (argument names, defaults, index conventions).
Skipped cleanly when torch is not installed.
"""
import numpy as np
import pytest

import tinygrad_cs as tg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def _distinct(*shape):
    """Values with no ties and away from 0 (no kinks hit)."""
    n = int(np.prod(shape))
    vals = (rng.permutation(n) - n / 2 + 0.37) / max(n / 4, 1)
    return vals.reshape(shape)


CASES = {
    "add_broadcast": ([(3, 1), (4,)], lambda a, b: a + b),
    "sub_rev": ([(2, 3)], lambda a: 1.5 - a),
    "div": ([(2, 3), (3,)], lambda a, b: a / (b * b + 1)),
    "pow_tensor": ([(4,), (4,)], lambda a, b: (a * a + 0.5) ** b),
    "rpow": ([(3,)], lambda a: 2.0 ** a),
    "abs": ([(5,)], lambda a: a.abs()),
    "exp_log_sqrt": ([(5,)], lambda a: (a.exp() + 1).log() + (a * a + 1).sqrt()),
    "trig": ([(5,)], lambda a: a.sin() * a.cos()),
    "tanh_sigmoid": ([(5,)], lambda a: a.tanh() + a.sigmoid()),
    "relu_family": ([(6,)], "activations"),
    "clamp": ([(6,)], lambda a: a.clamp(min=-0.5, max=0.7)),
    "maximum_minimum": ([(4,), (4,)], lambda a, b: a.maximum(b) * 2 + a.minimum(b)),
    "where": ([(4,), (4,)], lambda a, b: (a > 0).where(a, b) if False else None),
    "sum_dims": ([(2, 3, 4)], lambda a: a.sum(dim=(0, 2), keepdim=True)),
    "mean_dim": ([(2, 3, 4)], lambda a: a.mean(dim=-1)),
    "amax": ([(3, 4)], lambda a: a.amax(dim=1)),
    "max_dim_values": ([(3, 4)], lambda a: a.max(dim=0)[0]),
    "min_dim_keep": ([(3, 4)], lambda a: a.min(dim=1, keepdim=True)[0]),
    "var_default": ([(3, 5)], lambda a: a.var(dim=1)),
    "var_biased": ([(3, 5)], lambda a: a.var(dim=1, unbiased=False)),
    "std_all": ([(3, 5)], lambda a: a.std()),
    "prod": ([(3, 4)], lambda a: a.prod(dim=1)),
    "logsumexp": ([(3, 4)], lambda a: a.logsumexp(dim=1)),
    "norm": ([(3, 4)], lambda a: a.norm() + a.norm(p=1, dim=1).sum()),
    "matmul_batched_broadcast": ([(2, 1, 3, 4), (5, 4, 2)], lambda a, b: a @ b),
    "matmul_vec_mat": ([(4,), (4, 3)], lambda a, b: a @ b),
    "matmul_mat_vec": ([(2, 4), (4,)], lambda a, b: a @ b),
    "matmul_dot": ([(4,), (4,)], lambda a, b: a @ b),
    "reshape_flatten": ([(2, 3, 4)], lambda a: a.reshape(4, -1).flatten()),
    "squeeze_unsqueeze": ([(2, 1, 3)], lambda a: a.squeeze(1).unsqueeze(0)),
    "transpose_permute": ([(2, 3, 4)], lambda a: a.transpose(0, 2).permute(2, 0, 1)),
    "expand": ([(3, 1)], lambda a: a.expand(2, 3, 4)),
    "repeat": ([(2, 3)], lambda a: a.repeat(2, 1, 3)),
    "getitem_basic": ([(4, 5)], lambda a: a[1:3, ::2]),
    "getitem_none_ellipsis": ([(2, 3, 4)], lambda a: a[..., None, 1]),
    "getitem_int_array_repeats": ([(5, 3)], "fancy"),
    "getitem_bool_mask": ([(3, 4)], "mask"),
    "cat": ([(2, 3), (2, 2)], lambda a, b: torch_or_tg_cat(a, b)),
    "stack": ([(2, 3), (2, 3)], "stack"),
    "split": ([(7, 2)], "split"),
    "chunk": ([(7, 2)], "chunk"),
    "softmax": ([(3, 5)], lambda a: a.softmax(dim=1)),
    "log_softmax": ([(3, 5)], lambda a: a.log_softmax(dim=0)),
}
CASES.pop("where")


def torch_or_tg_cat(a, b):
    return (torch.cat if isinstance(a, torch.Tensor) else tg.cat)([a, b], dim=1)


def _special(kind, lib, *xs):
    (a, *rest) = xs
    if kind == "activations":
        f = torch.nn.functional if lib is torch else tg
        return (a.relu() + 0.1 * f.elu(a, alpha=0.7) + f.softplus(a, beta=2.0)
                + f.leaky_relu(a, 0.2))
    if kind == "fancy":
        return a[[0, 2, 2, 4]]
    if kind == "mask":
        mask = lib.tensor(np.array([[True, False, True, False]] * 3))
        return a[mask]
    if kind == "stack":
        return lib.stack([a, rest[0]], dim=1)
    if kind == "split":
        return lib.cat([p * (i + 1) for i, p in enumerate(a.split([2, 5]))]) + \
            lib.cat([p * (i + 2) for i, p in enumerate(a.split(3))])
    if kind == "chunk":
        parts = a.chunk(3)
        assert len(parts) == 3
        return lib.cat([p * (i + 1) for i, p in enumerate(parts)])
    raise KeyError(kind)


def _run(lib, fn, arrays):
    xs = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = _special(fn, lib, *xs) if isinstance(fn, str) else fn(*xs)
    upstream = np.linspace(-1, 1, int(np.prod(out.shape))).reshape(tuple(out.shape))
    (out * lib.tensor(upstream)).sum().backward()
    return out, xs


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_pytorch(case):
    shapes, fn = CASES[case]
    arrays = [_distinct(*s) for s in shapes]
    ours, our_inputs = _run(tg, fn, arrays)
    ref, ref_inputs = _run(torch, fn, arrays)
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(our_inputs, ref_inputs):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_max_with_dim_returns_pytorch_indices_and_routes_gradient_to_them():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, i = x.max(dim=1)
    tv, ti = t.max(dim=1)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    v.sum().backward()
    tv.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_full_max_and_amax_share_ties_evenly_like_pytorch():
    a = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]])
    for name in ("max", "amax"):
        x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        getattr(x, name)().backward()
        getattr(t, name)().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_maximum_ties_split_the_gradient_like_pytorch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    x.maximum(y).sum().backward()
    tx.maximum(ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())


def test_prod_gradient_with_zeros_matches_pytorch():
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 4.0]])
    x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    x.prod(dim=1).sum().backward()
    t.prod(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_pytorch(mode):
    a = _distinct(1, 2, 4, 5)
    pad = (1, 2, 2, 1)
    x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    tf = torch.nn.functional
    out, ref = tg.pad(x, pad, mode=mode), tf.pad(t, pad, mode=mode)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    up = np.arange(out.numel(), dtype=float).reshape(out.shape)
    (out * tg.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_pad_negative_crops_like_pytorch():
    a = _distinct(3, 6)
    out = tg.pad(tg.tensor(a), (-1, 2, 1, -1), value=0.5)
    ref = torch.nn.functional.pad(torch.tensor(a), (-1, 2, 1, -1), value=0.5)
    np.testing.assert_allclose(out.numpy(), ref.numpy())


def test_softmax_is_stable_for_logits_of_1e4():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]])
    out = tg.tensor(logits).softmax(dim=1)
    np.testing.assert_allclose(out.numpy(), torch.tensor(logits).softmax(dim=1).numpy())
    out = tg.tensor(logits).log_softmax(dim=1)
    np.testing.assert_allclose(out.numpy(), torch.tensor(logits).log_softmax(dim=1).numpy())
    assert np.isfinite(out.numpy()).all()
