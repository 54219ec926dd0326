"""Recurrent layers and cells (``nn/rnn.py``, ``nn/rnn_cells.py``, ``nn/rnn_sequence.py``).

Oracles: ``torch.nn`` (when installed) with its weights copied in by name, in float64:
outputs, final states and every gradient; unrolled cells (the sequence ops against a
Python loop of cells, no torch needed); float64 central differences (``gradcheck``)
through 5 time steps; and the dropout and init rules in closed form.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.testing import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # pragma: no cover - optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
TOL = {"rtol": 1e-10, "atol": 1e-12}

# (kind, constructor arguments, batch_first, give h0 (and c0), unbatched input)
CONFIGS = [
    ({"input_size": 4, "hidden_size": 3}, False, False, False),
    ({"input_size": 4, "hidden_size": 3, "num_layers": 2}, False, True, False),
    ({"input_size": 4, "hidden_size": 3, "bidirectional": True}, True, False, False),
    ({"input_size": 4, "hidden_size": 3, "num_layers": 2, "bidirectional": True}, False, True,
     False),
    ({"input_size": 4, "hidden_size": 3, "num_layers": 2, "bias": False}, True, True, False),
    ({"input_size": 4, "hidden_size": 3, "bidirectional": True}, False, True, True),
    ({"input_size": 4, "hidden_size": 3, "num_layers": 2}, False, False, True),
]
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("LSTM", {})]


def _pair(kind: str, kwargs: dict, batch_first: bool = False):
    """(ours, torch's) in float64 with torch's weights copied into ours by name."""
    theirs = getattr(torch.nn, kind)(**kwargs, batch_first=batch_first).double()
    ours = getattr(nn, kind)(**kwargs, batch_first=batch_first).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _inputs(rng, kind, kwargs, batch_first, with_state, unbatched, length=5, batch=3):
    directions = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    hidden = kwargs["hidden_size"]
    if unbatched:
        x_shape, h_shape = (length, kwargs["input_size"]), (directions * layers, hidden)
    else:
        x_shape = (batch, length) if batch_first else (length, batch)
        x_shape += (kwargs["input_size"],)
        h_shape = (directions * layers, batch, hidden)
    x = rng.standard_normal(x_shape)
    states = [rng.standard_normal(h_shape) for _ in range(2 if kind == "LSTM" else 1)]
    return x, (states if with_state else [])


def _call(module, x, states, kind, lib):
    """module(x[, hx]) -> (output, [final states]) for either library."""
    if not states:
        out, h = module(x)
    else:
        out, h = module(x, tuple(states) if kind == "LSTM" else states[0])
    return out, (list(h) if kind == "LSTM" else [h])


def _loss(out, finals, weights, lib):
    total = (out * lib.tensor(weights[0])).sum()
    for f, w in zip(finals, weights[1:]):
        total = total + (f * lib.tensor(w)).sum()
    return total


@needs_torch
@pytest.mark.parametrize("kind,extra", KINDS, ids=lambda k: str(k))
@pytest.mark.parametrize("kwargs,batch_first,with_state,unbatched", CONFIGS)
def test_layers_match_torch_outputs_states_and_every_gradient(kind, extra, kwargs, batch_first,
                                                              with_state, unbatched):
    rng = np.random.default_rng(0)
    kwargs = {**kwargs, **extra}
    ours, theirs = _pair(kind, kwargs, batch_first)
    x, states = _inputs(rng, kind, kwargs, batch_first, with_state, unbatched)
    xs = [tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)]
    hs = [[tg.tensor(s, requires_grad=True) for s in states],
          [torch.tensor(s, requires_grad=True) for s in states]]
    (out, finals), (t_out, t_finals) = (_call(m, xx, h, kind, None)
                                        for m, xx, h in zip((ours, theirs), xs, hs))
    assert out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), **TOL)
    for f, t in zip(finals, t_finals):
        assert f.shape == tuple(t.shape)
        np.testing.assert_allclose(f.numpy(), t.detach().numpy(), **TOL)
    weights = [rng.standard_normal(tuple(t_out.shape))] + [
        rng.standard_normal(tuple(t.shape)) for t in t_finals]
    _loss(out, finals, weights, tg).backward()
    _loss(t_out, t_finals, weights, torch).backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), **TOL)
    for a, b in zip(*hs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    named = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(named[name].grad.numpy(), p.grad.numpy(), **TOL,
                                   err_msg=name)


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
         ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
         ("GRUCell", {"bias": False})]


@needs_torch
@pytest.mark.parametrize("kind,extra", CELLS, ids=lambda k: str(k))
@pytest.mark.parametrize("state_shape", [None, (2, 3), (3,)], ids=["no-state", "batched",
                                                                   "unbatched"])
def test_cells_match_torch(kind, extra, state_shape):
    rng = np.random.default_rng(1)
    theirs = getattr(torch.nn, kind)(4, 3, **extra).double()
    ours = getattr(nn, kind)(4, 3, **extra).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4,) if state_shape == (3,) else (2, 4))
    n_states = 2 if kind == "LSTMCell" else 1
    states = [] if state_shape is None else [rng.standard_normal(state_shape)
                                             for _ in range(n_states)]
    sides = []
    for lib, module in ((tg, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        ht = [lib.tensor(s, requires_grad=True) for s in states]
        args = (xt,) if not ht else (xt, tuple(ht) if n_states == 2 else ht[0])
        out = module(*args)
        outs = list(out) if n_states == 2 else [out]
        sum((o * lib.tensor(np.cos(np.arange(o.numel()).reshape(tuple(o.shape))))).sum()
            for o in outs).backward()
        grads = [xt.grad] + [h.grad for h in ht] + [p.grad for p in module.parameters()]
        sides.append(([o.detach().numpy() if lib is torch else o.numpy() for o in outs],
                      [g.numpy() for g in grads]))
    (o1, g1), (o2, g2) = sides
    for a, b in zip(o1 + g1, o2 + g2):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("reverse", [False, True])
def test_layer_equals_its_cell_unrolled(kind, reverse):
    """No torch needed: one direction of a layer is its cell applied step by step."""
    tg.manual_seed(2)
    layer = getattr(nn, kind)(3, 4, bidirectional=reverse).double()
    cell = getattr(nn, kind + "Cell")(3, 4).double()
    suffix = "_l0_reverse" if reverse else "_l0"
    cell.load_state_dict({k: layer.state_dict()[k + suffix] for k in cell.state_dict()})
    x = np.random.default_rng(3).standard_normal((6, 2, 3))
    out, finals = layer(tg.tensor(x))
    state = None
    steps = range(5, -1, -1) if reverse else range(6)
    expected = {}
    for t in steps:
        state = cell(tg.tensor(x[t]), state)
        expected[t] = (state[0] if kind == "LSTM" else state).numpy()
    got = out.numpy()[:, :, 4:] if reverse else out.numpy()
    np.testing.assert_allclose(got, np.stack([expected[t] for t in range(6)]), rtol=1e-12,
                               atol=1e-14)
    h_n = (finals[0] if kind == "LSTM" else finals).numpy()[1 if reverse else 0]
    np.testing.assert_allclose(h_n, expected[steps[-1]], rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(finals[1].numpy()[1 if reverse else 0], state[1].numpy(),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_through_five_time_steps(kind, bidirectional):
    """Every input of a 2-layer net over 5 steps: x, the initial states and all weights.

    The module's own parameters are passed to gradcheck, which perturbs them in place."""
    tg.manual_seed(4)
    module = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=bidirectional).double()
    rng = np.random.default_rng(5)
    directions = 2 if bidirectional else 1
    x = tg.tensor(rng.standard_normal((5, 2, 2)), requires_grad=True)
    states = [tg.tensor(rng.standard_normal((2 * directions, 2, 3)), requires_grad=True)
              for _ in range(2 if kind == "LSTM" else 1)]

    def f(x, *args):
        out, finals = module(x, tuple(args[:2]) if kind == "LSTM" else args[0])
        return (out, *(finals if kind == "LSTM" else (finals,)))

    result = gradcheck(f, (x, *states, *module.parameters()))
    assert result.ok and result.max_rel_error < 1e-4  # worst at |grad| ~ atol: rounding


@pytest.mark.parametrize("kind,extra", CELLS, ids=lambda k: str(k))
def test_cell_gradients_match_finite_differences(kind, extra):
    tg.manual_seed(6)
    cell = getattr(nn, kind)(2, 3, **extra).double()
    rng = np.random.default_rng(7)
    x = tg.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = [tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
         for _ in range(2 if kind == "LSTMCell" else 1)]

    def f(x, *args):
        return cell(x, tuple(args[:2]) if kind == "LSTMCell" else args[0])

    inputs = (x, *h, *cell.parameters())
    assert gradcheck(f, inputs).ok
    if kind != "LSTMCell":  # composed of differentiable ops: second derivatives too
        assert gradgradcheck(f, inputs)


def test_the_fused_ops_refuse_double_backward_by_name():
    lstm = nn.LSTM(2, 3).double()
    x = tg.tensor(np.ones((2, 1, 2)), requires_grad=True)
    out, _ = lstm(x)
    with pytest.raises(RuntimeError, match="LSTMLayer.*double backward"):
        tg.grad(out.sum(), x, create_graph=True)


def test_each_layer_and_direction_is_one_op_in_the_module_scope():
    model = nn.Sequential(nn.LSTM(2, 3, num_layers=2, bidirectional=True))
    out, _ = model(tg.randn(4, 1, 2))
    ops = [n for n in tg.Graph(out).nodes if n.op == "LSTMLayer"]
    assert len(ops) == 4 and {n.scope for n in ops} == {"0"}


# -- dropout between layers ---------------------------------------------------------------
def test_dropout_acts_between_layers_in_training_only():
    tg.manual_seed(8)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    x1, x2 = (tg.tensor(np.random.default_rng(s).standard_normal((5, 2, 3))) for s in (0, 1))
    # p = 1 zeroes the first layer's output: the second layer then sees zeros whatever x is,
    # and its own output (not dropped) is the same nonzero sequence for both inputs
    out1, (h1, _) = lstm(x1)
    out2, (h2, _) = lstm(x2)
    np.testing.assert_array_equal(out1.numpy(), out2.numpy())
    assert np.abs(out1.numpy()).min() > 0
    assert not np.allclose(h1.numpy()[0], h2.numpy()[0])  # layer 0 saw different inputs
    lstm.eval()
    assert not np.allclose(lstm(x1)[0].numpy(), lstm(x2)[0].numpy())
    plain = nn.LSTM(3, 4, num_layers=2).double()
    plain.load_state_dict(lstm.state_dict())
    np.testing.assert_array_equal(lstm(x1)[0].numpy(), plain(x1)[0].numpy())


def test_dropout_draws_a_fresh_mask_per_call_and_none_in_eval():
    tg.manual_seed(9)
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = tg.tensor(np.random.default_rng(2).standard_normal((5, 2, 3)))
    a, b = gru(x)[0].numpy(), gru(x)[0].numpy()
    assert not np.allclose(a, b)  # a fresh mask per call
    gru.eval()
    np.testing.assert_array_equal(gru(x)[0].numpy(), gru(x)[0].numpy())


def test_dropout_with_one_layer_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        rnn = nn.RNN(3, 4, dropout=0.5)
    x = tg.randn(5, 2, 3)
    np.testing.assert_array_equal(rnn(x)[0].numpy(), rnn(x)[0].numpy())
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)


# -- parameters, init, shapes --------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_parameter_names_and_shapes_are_torchs(kind):
    kwargs = {"input_size": 5, "hidden_size": 7, "num_layers": 3, "bidirectional": True}
    ours = {k: v.shape for k, v in getattr(nn, kind)(**kwargs).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in getattr(torch.nn, kind)(**kwargs).state_dict().items()}
    assert list(ours.items()) == list(theirs.items())
    module = getattr(nn, kind)(**kwargs)
    module.flatten_parameters()  # ported code calls it; nothing to do here
    assert [[tuple(p.shape) for p in ps] for ps in module.all_weights] == [
        [tuple(p.shape) for p in ps] for ps in getattr(torch.nn, kind)(**kwargs).all_weights]
    cell = {k: v.shape for k, v in getattr(nn, kind + "Cell")(5, 7).state_dict().items()}
    torch_cell = getattr(torch.nn, kind + "Cell")(5, 7).state_dict().items()
    assert list(cell.items()) == [(k, tuple(v.shape)) for k, v in torch_cell]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"])
def test_default_init_is_uniform_within_one_over_sqrt_hidden(kind):
    tg.manual_seed(10)
    module = getattr(nn, kind)(64, 100)
    bound = 1 / math.sqrt(100)
    values = np.concatenate([p.numpy().ravel() for p in module.parameters()])
    assert values.dtype == np.float32 and np.abs(values).max() <= bound
    assert abs(values.mean()) < 0.02 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.02 * bound  # U(-b, b): std b/sqrt(3)


def test_output_shapes_follow_torch():
    lstm = nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
    out, (h, c) = lstm(tg.randn(2, 5, 4))
    assert out.shape == (2, 5, 6) and h.shape == c.shape == (4, 2, 3)
    out, (h, c) = lstm(tg.randn(5, 4))  # unbatched: (L, H_in) whatever batch_first says
    assert out.shape == (5, 6) and h.shape == c.shape == (4, 3)
    out, h = nn.GRU(4, 3)(tg.randn(5, 2, 4))
    assert out.shape == (5, 2, 3) and h.shape == (1, 2, 3)
    assert nn.RNNCell(4, 3)(tg.randn(4)).shape == (3,)


def test_float32_by_default_and_repr():
    gru = nn.GRU(4, 3, num_layers=2, batch_first=True, bidirectional=True)
    out, h = gru(tg.randn(2, 5, 4))
    assert out.dtype == h.dtype == np.float32
    assert repr(gru) == "GRU(4, 3, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.RNNCell(4, 3, nonlinearity="relu")) == "RNNCell(4, 3, nonlinearity=relu)"


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_wrong_input_size_names_the_module_and_shapes(kind):
    module = getattr(nn, kind)(4, 3)
    with pytest.raises(RuntimeError, match=rf"{kind}: input.size\(-1\) must be equal to "
                       r"input_size. Expected 4, got 5 \(input of shape \(6, 2, 5\)\)"):
        module(tg.randn(6, 2, 5))
    with pytest.raises(ValueError, match=rf"{kind}: Expected input to be 2D .* got 4D input "
                       r"of shape \(1, 6, 2, 4\)"):
        module(tg.randn(1, 6, 2, 4))
    with pytest.raises(ValueError, match=rf"{kind}: input dtype float64 does not match"):
        module(tg.tensor(np.zeros((6, 2, 4))))


def test_wrong_state_shapes_name_the_module_and_shapes():
    lstm = nn.LSTM(4, 3, num_layers=2)
    x, good = tg.randn(6, 2, 4), tg.zeros(2, 2, 3)
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hx\[1\] size \(2, 2, 3\), got "
                       r"\(1, 2, 3\)"):
        lstm(x, (good, tg.zeros(1, 2, 3)))
    with pytest.raises(RuntimeError, match=r"LSTM: for batched 3-D input, hx\[0\] should be "
                       r"3-D but got shape \(2, 3\)"):
        lstm(x, (tg.zeros(2, 3), good))
    with pytest.raises(ValueError, match="LSTM: hx must be a pair"):
        lstm(x, good)
    with pytest.raises(RuntimeError, match=r"GRU: Expected hx size \(1, 2, 3\), got "
                       r"\(1, 3, 3\)"):
        nn.GRU(4, 3)(x, tg.zeros(1, 3, 3))


def test_cells_reject_bad_shapes_by_name():
    with pytest.raises(RuntimeError, match=r"GRUCell: input has inconsistent input_size: got 5 "
                       r"expected 4 \(input of shape \(2, 5\)\)"):
        nn.GRUCell(4, 3)(tg.randn(2, 5))
    with pytest.raises(RuntimeError, match=r"LSTMCell: hx\[1\] of shape \(2, 4\) does not fit "
                       r"the input of shape \(2, 4\): expected \(2, 3\)"):
        nn.LSTMCell(4, 3)(tg.randn(2, 4), (tg.zeros(2, 3), tg.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"RNNCell: Expected input to be 1D or 2D, got 3D"):
        nn.RNNCell(4, 3)(tg.randn(1, 2, 4))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(4, 3, nonlinearity="gelu")
