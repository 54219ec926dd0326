"""``nn.MultiheadAttention`` against ``torch.nn.MultiheadAttention`` with copied weights
(float64): the state_dict keys and shapes, the outputs, the attention weights and the
gradients of the inputs and of every parameter, over layouts, masks and options; PyTorch's
initialisation (bounds and zeros); float64 central differences; the errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.testing import gradcheck

# PyTorch's deprecation notes on its own fast paths and mixed mask types
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:torch.*")

rng = np.random.default_rng(0)
E, H, L, S, N = 8, 2, 3, 5, 2


def _pair(torch, **kwargs):
    """A PyTorch layer and ours with its weights, both float64."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **kwargs)
    ours = nn.MultiheadAttention(E, H, dtype=tg.float64, **kwargs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    assert all(state[k].shape == ours.state_dict()[k].shape for k in state)
    ours.load_state_dict(state)
    return theirs, ours


def _inputs(batched=True, batch_first=False, kdim=E, vdim=E):
    def shape(length, dim):
        if not batched:
            return (length, dim)
        return (N, length, dim) if batch_first else (length, N, dim)
    return [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim)),
            rng.standard_normal(shape(S, vdim))]


def _compare(torch, theirs, ours, arrays, self_attention=False, **call):
    """Outputs, weights (NaN where PyTorch has NaN) and all gradients agree."""
    mine = [tg.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    if self_attention:
        mine, ref = [mine[0]] * 3, [ref[0]] * 3
    to_torch = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    to_ours = {k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    out, weights = ours(*mine, **to_ours)
    ref_out, ref_weights = theirs(*ref, **to_torch)
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-11, atol=1e-12)
    if ref_weights is None:
        assert weights is None
    else:
        np.testing.assert_allclose(weights.numpy(), ref_weights.detach().numpy(), rtol=1e-11,
                                   atol=1e-12)
    g = rng.standard_normal(out.shape)
    live = np.isfinite(ref_out.detach().numpy())
    (out * tg.tensor(np.where(live, g, 0))).sum().backward()
    (ref_out * torch.tensor(np.where(live, g, 0))).sum().backward()
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    return out, weights


CASES = {
    "seq_first": ({}, {}, {}),
    "batch_first": ({"batch_first": True}, {"batch_first": True}, {}),
    "self_attention": ({}, {}, {"self_attention": True}),
    "per_head_weights": ({}, {}, {"average_attn_weights": False}),
    "no_weights": ({"dropout": 0.5}, {}, {"need_weights": False}),
    "kdim_vdim": ({"kdim": 3, "vdim": 4}, {"kdim": 3, "vdim": 4}, {}),
    "no_bias": ({"bias": False}, {}, {}),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, {}, {}),
    "unbatched": ({}, {"batched": False}, {"average_attn_weights": False}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_pytorch_in_eval_mode(case):
    torch = pytest.importorskip("torch")
    init, layout, call = CASES[case]
    theirs, ours = _pair(torch, **init)
    theirs.eval(), ours.eval()  # dropout off: the "no_weights" case sets p = 0.5
    _compare(torch, theirs, ours, _inputs(**layout), **call)


def _masks(kind: str) -> dict:
    if kind == "bool_2d":
        return {"attn_mask": rng.random((L, S)) > 0.7}
    if kind == "float_3d":
        return {"attn_mask": rng.standard_normal((N * H, L, S))}
    if kind == "bool_3d_no_weights":
        return {"attn_mask": rng.random((N * H, L, S)) > 0.7, "need_weights": False}
    if kind == "padding_bool":
        return {"key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2])}
    if kind == "padding_float_and_mask":
        padding = np.where(rng.random((N, S)) > 0.7, -np.inf, 0.0)
        padding[:, 0] = 0.0
        return {"key_padding_mask": padding, "attn_mask": rng.standard_normal((L, S))}
    causal = np.triu(np.full((L, S), -np.inf), 1)
    return {"attn_mask": causal, "is_causal": True, "need_weights": kind == "causal_weights"}


@pytest.mark.parametrize("kind", ["bool_2d", "float_3d", "bool_3d_no_weights", "padding_bool",
                                  "padding_float_and_mask", "causal_hint", "causal_weights"])
@pytest.mark.parametrize("bias_kv", [False, True])
def test_masks_match_pytorch(kind, bias_kv):
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, add_bias_kv=bias_kv)
    _compare(torch, theirs, ours, _inputs(), **_masks(kind))


def test_unbatched_masks_match_pytorch():
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, batch_first=True)
    _compare(torch, theirs, ours, _inputs(batched=False), key_padding_mask=np.arange(S) > 3,
             attn_mask=rng.random((H, L, S)) > 0.6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's 0/0 in the plain softmax
def test_fully_masked_rows_nan_with_weights_zero_without_as_pytorch():
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch)
    padding = np.array([[True] * S, [False] * S])            # sample 0 sees no key at all
    out, weights = _compare(torch, theirs, ours, _inputs(), key_padding_mask=padding)
    assert np.isnan(out.numpy()[:, 0]).all() and np.isnan(weights.numpy()[0]).all()
    assert np.isfinite(out.numpy()[:, 1]).all()
    out, _ = _compare(torch, theirs, ours, _inputs(), key_padding_mask=padding,
                      need_weights=False)
    np.testing.assert_array_equal(out.numpy()[:, 0], 0.0)    # out_proj.bias starts at 0


def test_pytorch_initialisation():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (64 + 3 * 64))                     # xavier_uniform_ of (3E, E)
    w = m.in_proj_weight.numpy()
    assert w.shape == (192, 64) and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    out_bound = 1 / math.sqrt(64)                            # a Linear's kaiming_uniform_(a=sqrt(5))
    assert 0.95 * out_bound < np.abs(m.out_proj.weight.numpy()).max() <= out_bound
    assert m.bias_k.shape == (1, 1, 64)                      # xavier_normal_: std sqrt(2 / 128)
    assert abs(m.bias_k.numpy().std() - math.sqrt(2 / 128)) < 0.05
    split = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, bias=False)
    assert split.in_proj_weight is None and split.in_proj_bias is None
    assert [tuple(p.shape) for p in (split.q_proj_weight, split.k_proj_weight,
                                     split.v_proj_weight)] == [(6, 6), (6, 4), (6, 5)]
    assert split.out_proj.bias is None and split.head_dim == 2


def test_dropout_acts_in_training_only():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = tg.randn(N, L, E)
    a, b = m(x, x, x)[0].numpy(), m(x, x, x)[0].numpy()
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x, x, x)[0].numpy(), m(x, x, x)[0].numpy())


def test_gradients_of_a_small_layer_match_central_differences():
    tg.manual_seed(1)
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, batch_first=True).double()
    q = tg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = tg.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    v = tg.tensor(rng.standard_normal((2, 4, 4)), requires_grad=True)
    padding = tg.tensor(np.array([[False, False, True, False], [False] * 4]))

    def f(q, k, v, *params):
        return m(q, k, v, key_padding_mask=padding)[0]

    assert gradcheck(f, (q, k, v, *m.parameters())).ok


def test_errors_name_the_module_and_the_shapes():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got "
                                         "embed_dim=10 and num_heads=3"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(E, H)
    q, kv = tg.randn(L, N, E), tg.randn(S, N, E)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(3, 4\), but should be \(3, 5\)"):
        m(q, kv, kv, attn_mask=tg.zeros(L, 4))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \(2, 3, 5\).*\(4, 3, 5\)"):
        m(q, kv, kv, attn_mask=tg.zeros(2, L, S))
    with pytest.raises(RuntimeError, match=r"key_padding_mask of shape \(2, 5\).*got \(5, 2\)"):
        m(q, kv, kv, key_padding_mask=tg.zeros(S, N, dtype=tg.bool_))
    with pytest.raises(RuntimeError, match=r"E=8, .*query \(3, 2, 6\)"):
        m(tg.randn(L, N, 6), kv, kv)
    with pytest.raises(RuntimeError, match=r"\(L, N, E\), \(S, N, kdim\).*key \(5, 1, 8\)"):
        m(q, kv[:, :1], kv[:, :1])                        # one key sequence for two queries
    with pytest.raises(RuntimeError, match=r"3-D .* 2-D .*query \(3, 2, 8\), key \(5, 8\)"):
        m(q, kv[:, 0], kv[:, 0])
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(q, kv, kv, is_causal=True)
    with pytest.raises(RuntimeError, match="must have the same dtype.*float64"):
        m(q.double(), kv, kv)
