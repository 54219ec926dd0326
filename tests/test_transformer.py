"""The Transformer layers, stacks and model against ``torch.nn``'s with copied weights
(float64, eval mode): identical state_dict keys and shapes, outputs, input and parameter
gradients, over post/pre-norm, relu/gelu/callable activations, both layouts, unbatched
inputs and every mask; PyTorch's initialisation; central differences; the errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.testing import gradcheck

# PyTorch's deprecation notes on its own fast paths and mixed mask types
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:torch.*"),
              pytest.mark.usefixtures("one_numba_thread")]  # tiny layer norms: see conftest

rng = np.random.default_rng(0)
D, HEADS, FF = 8, 2, 12


def _load(theirs, ours):
    """Copy PyTorch's weights into ours through numpy, after checking keys and shapes."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    assert {k: v.shape for k, v in state.items()} == \
        {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    ours.load_state_dict(state)
    theirs.eval(), ours.eval()


def _build(torch, name: str, *args, **kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
    ours = getattr(nn, name)(*args, dtype=tg.float64, **kwargs)
    _load(theirs, ours)
    return theirs, ours


def _stack(torch, kind: str, num_layers=2, with_norm=True, **kwargs):
    """``TransformerEncoder`` / ``TransformerDecoder`` of ``kind`` built on both sides."""
    layer_name, stack_name = f"Transformer{kind}Layer", f"Transformer{kind}"
    torch.manual_seed(0)
    args = (D, HEADS, FF)
    t_norm = torch.nn.LayerNorm(D, dtype=torch.float64) if with_norm else None
    o_norm = nn.LayerNorm(D, dtype=tg.float64) if with_norm else None
    theirs = getattr(torch.nn, stack_name)(
        getattr(torch.nn, layer_name)(*args, dtype=torch.float64, **kwargs), num_layers, t_norm)
    ours = getattr(nn, stack_name)(getattr(nn, layer_name)(*args, dtype=tg.float64, **kwargs),
                                   num_layers, o_norm)
    _load(theirs, ours)
    return theirs, ours


def _compare(torch, theirs, ours, arrays, **call):
    """Forward, input gradients and parameter gradients agree (masks passed in ``call``)."""
    mine = [tg.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ours(*mine, **{k: tg.tensor(v) if isinstance(v, np.ndarray) else v
                         for k, v in call.items()})
    ref_out = theirs(*ref, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                              for k, v in call.items()})
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-11)
    g = rng.standard_normal(out.shape)
    (out * tg.tensor(g)).sum().backward()
    (ref_out * torch.tensor(g)).sum().backward()
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)
    reference = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), reference[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-10, err_msg=name)
    return out


def _seq(length, batch_first=False, batched=True):
    if not batched:
        return rng.standard_normal((length, D))
    return rng.standard_normal((3, length, D) if batch_first else (length, 3, D))


def _causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


LAYER_OPTIONS = {
    "post_norm_relu": {},
    "pre_norm_gelu": {"norm_first": True, "activation": "gelu"},
    "batch_first_no_bias": {"batch_first": True, "bias": False},
    "eps_and_callable": {"layer_norm_eps": 1e-3, "activation": "callable"},
}


def _options(torch, name):
    options = dict(LAYER_OPTIONS[name])
    if options.get("activation") == "callable":      # a function of each library's tensors
        return options, {**options, "activation": lambda x: x.tanh()}
    return options, options


@pytest.mark.parametrize("option", list(LAYER_OPTIONS))
def test_encoder_layer_matches_pytorch(option):
    torch = pytest.importorskip("torch")
    options, kwargs = _options(torch, option)
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dtype=torch.float64, **kwargs)
    ours = nn.TransformerEncoderLayer(D, HEADS, FF, dtype=tg.float64, **kwargs)
    _load(theirs, ours)
    batch_first = options.get("batch_first", False)
    padding = np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    _compare(torch, theirs, ours, [_seq(5, batch_first)], src_mask=_causal(5),
             src_key_padding_mask=padding)


@pytest.mark.parametrize("option", list(LAYER_OPTIONS))
def test_decoder_layer_matches_pytorch(option):
    torch = pytest.importorskip("torch")
    options, kwargs = _options(torch, option)
    torch.manual_seed(0)
    theirs = torch.nn.TransformerDecoderLayer(D, HEADS, FF, dtype=torch.float64, **kwargs)
    ours = nn.TransformerDecoderLayer(D, HEADS, FF, dtype=tg.float64, **kwargs)
    _load(theirs, ours)
    batch_first = options.get("batch_first", False)
    _compare(torch, theirs, ours, [_seq(4, batch_first), _seq(6, batch_first)],
             tgt_mask=_causal(4), memory_mask=rng.random((4, 6)) > 0.8,
             memory_key_padding_mask=np.arange(18).reshape(3, 6) % 5 == 4)


@pytest.mark.parametrize("kind", ["Encoder", "Decoder"])
@pytest.mark.parametrize("with_norm", [True, False])
def test_stacks_match_pytorch(kind, with_norm):
    torch = pytest.importorskip("torch")
    theirs, ours = _stack(torch, kind, with_norm=with_norm, batch_first=True)
    assert len(ours.layers) == ours.num_layers == 2
    if kind == "Encoder":
        _compare(torch, theirs, ours, [_seq(5, True)], mask=_causal(5), is_causal=True)
    else:
        _compare(torch, theirs, ours, [_seq(4, True), _seq(5, True)], tgt_mask=_causal(4),
                 tgt_is_causal=True, tgt_key_padding_mask=np.arange(12).reshape(3, 4) == 7)


def test_stack_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    stack = nn.TransformerEncoder(layer, 3)
    first, second = stack.layers[0].linear1.weight, stack.layers[1].linear1.weight
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert first is not second and first is not layer.linear1.weight
    with tg.no_grad():
        first.add_(1.0)
    assert not np.allclose(first.numpy(), second.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_pytorch_with_every_mask(batch_first, norm_first):
    torch = pytest.importorskip("torch")
    theirs, ours = _build(torch, "Transformer", d_model=D, nhead=HEADS, num_encoder_layers=2,
                          num_decoder_layers=1, dim_feedforward=FF, batch_first=batch_first,
                          norm_first=norm_first)
    src_padding = np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    _compare(torch, theirs, ours, [_seq(5, batch_first), _seq(4, batch_first)],
             src_mask=rng.standard_normal((5, 5)),
             tgt_mask=nn.Transformer.generate_square_subsequent_mask(4, dtype=tg.float64)
             .numpy(), memory_mask=rng.random((4, 5)) > 0.85,
             src_key_padding_mask=src_padding, tgt_key_padding_mask=np.zeros((3, 4), bool),
             memory_key_padding_mask=src_padding)


def test_unbatched_transformer_matches_pytorch():
    torch = pytest.importorskip("torch")
    theirs, ours = _build(torch, "Transformer", d_model=D, nhead=HEADS, num_encoder_layers=1,
                          num_decoder_layers=1, dim_feedforward=FF, bias=False)
    _compare(torch, theirs, ours, [_seq(5, batched=False), _seq(3, batched=False)],
             tgt_mask=_causal(3))


def test_causal_mask_and_pytorch_initialisation():
    torch = pytest.importorskip("torch")
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    tg.manual_seed(0)
    model = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=64)
    assert list(model.state_dict()) == list(torch.nn.Transformer(
        d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
        dim_feedforward=64).state_dict())
    # every matrix Xavier-uniform: U(+-sqrt(6 / (fan_in + fan_out))); biases as built
    for name, p in model.named_parameters():
        if p.ndim > 1:
            bound = math.sqrt(6 / sum(p.shape))
            assert 0.9 * bound < np.abs(p.numpy()).max() <= bound, name
    np.testing.assert_array_equal(model.encoder.norm.weight.numpy(), 1.0)
    assert not model.encoder.layers[0].self_attn.in_proj_bias.numpy().any()


def test_dropout_in_training_mode_only():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.3, batch_first=True)
    x = tg.randn(2, 5, D)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_gradients_of_a_tiny_encoder_layer_match_central_differences():
    """The input and one parameter of each kind of block (the attention's own parameters are
    checked in test_multihead_attention.py)."""
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu",
                                       norm_first=True, batch_first=True).double()
    x = tg.tensor(rng.standard_normal((1, 3, 4)), requires_grad=True)
    mask = tg.tensor(_causal(3))
    checked = (x, layer.norm1.weight, layer.linear1.bias, layer.self_attn.out_proj.bias)

    def f(x, *params):
        return layer(x, src_mask=mask)

    assert gradcheck(f, checked).ok


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D, HEADS, activation="tanh")
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerDecoderLayer(10, 3)
    model = nn.Transformer(d_model=D, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=FF)
    with pytest.raises(RuntimeError, match=r"batch number .*src \(5, 3, 8\) and tgt \(4, 2, 8\)"):
        model(tg.randn(5, 3, D), tg.randn(4, 2, D))
    with pytest.raises(RuntimeError, match=r"d_model \(8\), got src \(5, 3, 6\)"):
        model(tg.randn(5, 3, 6), tg.randn(4, 3, 6))
    with pytest.raises(RuntimeError, match=r"attn_mask is \(4, 4\), but should be \(5, 5\)"):
        model.encoder(tg.randn(5, 3, D), mask=tg.zeros(4, 4))
