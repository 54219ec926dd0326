"""``F.scaled_dot_product_attention``: PyTorch's function as the oracle (float64, outputs and
the gradients of query, key, value and a float mask), a closed form for dropout (with an
identity ``value`` the output *is* the weight matrix), float64 central differences for first
and second derivatives, and the errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn import functional as F
from tinygrad_cs.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def _qkv(batch=(2, 3), L=4, S=5, E=6, Ev=7):
    return (rng.standard_normal((*batch, L, E)), rng.standard_normal((*batch, S, E)),
            rng.standard_normal((*batch, S, Ev)))


def _parity(arrays, torch, **kwargs):
    """Our output and every input gradient against PyTorch's, for one random cotangent."""
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    mask = kwargs.pop("attn_mask", None)
    float_mask = mask is not None and mask.dtype.kind == "f"
    our_mask = None if mask is None else tg.tensor(mask, requires_grad=float_mask)
    their_mask = None if mask is None else torch.tensor(mask, requires_grad=float_mask)
    out = F.scaled_dot_product_attention(*ours, attn_mask=our_mask, **kwargs)
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=their_mask,
                                                           **kwargs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    (out * tg.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    pairs = list(zip(ours, theirs)) + ([(our_mask, their_mask)] if float_mask else [])
    for a, b in pairs:
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    return out


@pytest.mark.parametrize("case", ["plain", "bool_broadcast", "float_per_head", "causal_wide",
                                  "causal_tall", "scale", "unbatched"])
def test_matches_pytorch_with_every_kind_of_mask(case):
    torch = pytest.importorskip("torch")
    arrays, kwargs = _qkv(), {}
    if case == "bool_broadcast":
        kwargs["attn_mask"] = rng.random((4, 5)) > 0.4          # (L, S) for every batch
    elif case == "float_per_head":
        kwargs["attn_mask"] = rng.standard_normal((3, 1, 5))    # (H, 1, S), gets gradients
    elif case == "causal_wide":
        kwargs["is_causal"] = True                               # L=4 < S=5: top-left
    elif case == "causal_tall":
        arrays, kwargs["is_causal"] = _qkv(L=6, S=3), True
    elif case == "scale":
        kwargs["scale"] = 0.37
    elif case == "unbatched":
        arrays = _qkv(batch=())
    _parity(arrays, torch, **kwargs)


def test_batch_dims_broadcast_and_grouped_query_heads_match_pytorch():
    torch = pytest.importorskip("torch")
    q = rng.standard_normal((2, 4, 3, 5))
    kv = rng.standard_normal((1, 4, 6, 5))                       # batch of 1 broadcast
    _parity([q, kv, kv.copy()], torch)
    k, v = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((2, 2, 6, 3))
    _parity([q, k, v], torch, enable_gqa=True)                   # 4 query heads, 2 kv heads


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_a_fully_masked_row_is_zero_with_no_gradient_as_pytorch(kind):
    """PyTorch's safe softmax: a query that may attend to nothing outputs zeros."""
    torch = pytest.importorskip("torch")
    allowed = rng.random((4, 5)) > 0.3
    allowed[2] = False
    allowed[[0, 1, 3], 0] = True
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)
    out = _parity(_qkv(), torch, attn_mask=mask)
    assert np.all(out.numpy()[..., 2, :] == 0) and np.isfinite(out.numpy()).all()


def test_formula_and_default_scale_against_numpy():
    q, k, v = _qkv(batch=(2,))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(6)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    out = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(v))
    np.testing.assert_allclose(out.numpy(), w @ v, rtol=1e-12)
    single = F.scaled_dot_product_attention(*(tg.tensor(a, dtype=tg.float32) for a in (q, k, v)))
    assert single.dtype == np.float32


def test_dropout_zeroes_weights_and_rescales_the_rest():
    """value = identity, so the output is the dropped weight matrix itself."""
    q, k, _ = _qkv(batch=(8,), L=16, S=16)
    eye = np.broadcast_to(np.eye(16), (8, 16, 16))
    exact = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(eye)).numpy()
    tg.manual_seed(0)
    dropped = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(eye),
                                             dropout_p=0.25).numpy()
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], exact[kept] / 0.75, rtol=1e-12)
    assert abs(1 - kept.mean() - 0.25) < 0.03          # 2048 Bernoulli(0.25) draws
    tg.manual_seed(0)
    again = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(eye),
                                           dropout_p=0.25).numpy()
    np.testing.assert_array_equal(again, dropped)


def test_first_and_second_derivatives_match_central_differences():
    q, k, v = (tg.tensor(a, requires_grad=True) for a in _qkv(batch=(2,), L=3, S=4, E=2, Ev=3))
    allowed = tg.tensor(np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=bool))
    bias = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)

    def masked(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)

    def biased(q, k, v, bias):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)

    def causal(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    assert gradcheck(masked, (q, k, v)).ok
    assert gradcheck(biased, (q, k, v, bias)).ok
    assert gradgradcheck(masked, (q, k, v)).ok
    assert gradgradcheck(causal, (q, k, v)).ok


def test_errors_name_the_shapes():
    q, k, v = (tg.tensor(a) for a in _qkv())
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(3, 5\) .*\(2, 3, 4, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(3, 5, dtype=tg.bool_))
    with pytest.raises(RuntimeError, match=r"\(2, 3, 4, 6\), \(2, 3, 5, 4\) and \(2, 3, 5, 7\)"):
        F.scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(4, 5), is_causal=True)
    with pytest.raises(RuntimeError, match=r"bool or float mask, got dtype int64 \(shape"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.zeros(4, 5, dtype=tg.int64))
    with pytest.raises(RuntimeError, match="at least 2-D"):
        F.scaled_dot_product_attention(q[0, 0, 0], k[0, 0, 0], v[0, 0, 0])
    with pytest.raises(RuntimeError, match=r"enable_gqa .*\(2, 3, 4, 6\), \(2, 2, 5, 6\)"):
        F.scaled_dot_product_attention(q, k[:, :2], v[:, :2], enable_gqa=True)
