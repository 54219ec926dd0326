"""LSTM: forward + backward of one layer over a sequence, against PyTorch CPU and numpy.

The case: 1 layer, sequence 50, batch 32, input 64, hidden 256, float32. Every side runs
the whole sequence forward from zero state, then backward from a fixed gradient of all
the outputs (seq, N, H), computing the gradients of the four weights:

* tinygrad_cs, cell loop: a Python loop over time steps of ``tinygrad_cs.ops.rnn.lstm_cell``
  (two ``linear`` ops in BLAS + the fused pointwise kernel per step), the outputs stacked,
  then ``backward``;
* tinygrad_cs, layer op: ``tinygrad_cs.ops.rnn.lstm`` (the whole sequence as one op, input
  products and weight gradients batched over time as PyTorch does);
* PyTorch: ``torch.nn.LSTM`` (its fused CPU implementation, which also batches the input
  products of all time steps into one GEMM);
* numpy: the same per-step algorithm written directly in numpy (GEMMs through BLAS, the
  pointwise math in numpy), i.e. what the engine's bookkeeping costs on top of its math.

PyTorch 2.13 CPU on this machine measured 18.2 ms. Goal: ours / PyTorch <= 1.5 (the
issue's goal is for the cell loop; the layer op is listed beside it).
"""
from __future__ import annotations

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_lstm.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.kernels import lstm_reference as ref
from tinygrad_cs.ops.rnn import lstm, lstm_cell

GOAL_TORCH = 1.5
CASE = ("LSTM 1 layer, seq 50, batch 32, in 64, hidden 256", 50, 32, 64, 256)
QUICK_CASE = ("LSTM seq 4, batch 2, in 3, hidden 5 (smoke)", 4, 2, 3, 5)


def _data(seq, n, n_in, hidden, seed=0):
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(hidden)  # PyTorch's init range
    x = rng.standard_normal((seq, n, n_in), dtype=np.float32)
    weights = [rng.uniform(-k, k, shape).astype(np.float32)
               for shape in ((4 * hidden, n_in), (4 * hidden, hidden), (4 * hidden,),
                             (4 * hidden,))]
    g = rng.standard_normal((seq, n, hidden), dtype=np.float32)
    return x, weights, g


def _ours(x, weights, g):
    params = [tg.Tensor(w.copy(), requires_grad=True) for w in weights]
    seed = tg.Tensor(g)
    seq, n, _ = x.shape
    hidden = g.shape[2]
    zeros = np.zeros((n, hidden), np.float32)

    def step():
        for p in params:
            p.grad = None
        h, c, outs = zeros, zeros, []
        for t in range(seq):
            h, c = lstm_cell(x[t], h, c, *params)
            outs.append(h)
        tg.stack(outs).backward(seed)

    return step, lambda: [p.grad.numpy() for p in params]


def _ours_layer(x, weights, g):
    params = [tg.Tensor(w.copy(), requires_grad=True) for w in weights]
    seed = tg.Tensor(g)
    zeros = np.zeros(g.shape[1:], np.float32)

    def step():
        for p in params:
            p.grad = None
        out, _, _ = lstm(x, zeros, zeros, *params)
        out.backward(seed)

    return step, lambda: [p.grad.numpy() for p in params]


def torch_lstm(x, weights, g):
    """PyTorch's nn.LSTM with ``weights`` (w_ih, w_hh, b_ih, b_hh): (fwd+bwd step, grads)."""
    n_in = x.shape[2]
    lstm = torch.nn.LSTM(n_in, g.shape[2])
    with torch.no_grad():
        for p, w in zip((lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0,
                         lstm.bias_hh_l0), weights):
            p.copy_(torch.from_numpy(w))
    params = list(lstm.parameters())
    xt, seed = torch.from_numpy(x), torch.from_numpy(g)

    def step():
        for p in params:
            p.grad = None
        out, _ = lstm(xt)
        out.backward(seed)

    return step, lambda: [p.grad.numpy() for p in params]


def _numpy(x, weights, g):
    """The per-step algorithm in plain numpy: forward keeps each step's cache, backward
    walks the steps in reverse accumulating the weight gradients."""
    w_ih, w_hh, b_ih, b_hh = weights
    seq, n, _ = x.shape
    hidden = g.shape[2]
    result = {}

    def step():
        h = c = np.zeros((n, hidden), np.float32)
        caches = []
        for t in range(seq):
            gates = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            out, acts = ref.forward(gates, c)
            caches.append((h, c, acts))
            h, c = out[0], out[1]
        d_ih, d_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
        d_b = np.zeros_like(b_ih)
        dh_next = dc = np.zeros((n, hidden), np.float32)
        for t in reversed(range(seq)):
            h_prev, c_prev, acts = caches[t]
            dgates, dc = ref.backward(acts, c_prev, g[t] + dh_next, dc)
            d_ih += dgates.T @ x[t]
            d_hh += dgates.T @ h_prev
            d_b += dgates.sum(axis=0)
            dh_next = dgates @ w_hh
        result["grads"] = [d_ih, d_hh, d_b, d_b]

    return step, lambda: result["grads"]


def _check(name, got, expected):
    """Guard against timing a broken path: the weight gradients agree (float32)."""
    for what, a, e in zip(("w_ih", "w_hh", "b_ih", "b_hh"), got, expected):
        scale = np.abs(e).max() + 1e-6
        if not np.allclose(a, e, rtol=1e-3, atol=1e-3 * scale):
            raise AssertionError(f"LSTM benchmark ({name}): d{what} differs from numpy's "
                                 f"(max abs error {np.abs(a - e).max():.3g})")


def run(quick: bool = False) -> list[Row]:
    """Time the case on every side, interleaved; return the table rows."""
    label, seq, n, n_in, hidden = QUICK_CASE if quick else CASE
    data = _data(seq, n, n_in, hidden)
    sides = {"ours": _ours(*data), "layer": _ours_layer(*data), "numpy": _numpy(*data)}
    if torch is not None:
        sides["torch"] = torch_lstm(*data)
    sides["numpy"][0]()
    for name, (step, grads) in sides.items():
        step()
        _check(name, grads(), sides["numpy"][1]())
    candidates = {name: step for name, (step, _) in sides.items()}
    if quick:
        t = timeit_round_robin(candidates, repeats=3, min_sample=0.0, warmup=0.0)
    else:
        t = timeit_round_robin(candidates, repeats=11, min_sample=0.2, warmup=0.3)
    return [Row(f"{label}: lstm_cell loop, fwd+bwd vs PyTorch nn.LSTM", t["ours"],
                t.get("torch"), GOAL_TORCH, "PyTorch"),
            Row(f"{label}: lstm_cell loop, fwd+bwd vs the same steps in numpy", t["ours"],
                t["numpy"], None, "numpy"),
            Row(f"{label}: lstm layer op, fwd+bwd vs PyTorch nn.LSTM", t["layer"],
                t.get("torch"), GOAL_TORCH, "PyTorch")]


def main(quick: bool = False) -> None:
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
