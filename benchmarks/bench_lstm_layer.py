"""nn.LSTM: forward + backward of one layer over a sequence, against torch.nn.LSTM.

The case: 1 layer, sequence 50, batch 32, input 64, hidden 256, float32, time-major input
(50, 32, 64) that needs no gradient, zero initial state. Each call clears the weight
gradients, runs the module, and backpropagates a fixed gradient of the whole output
(50, 32, 256), i.e. computes the gradients of the four parameters. Both modules hold the
same weights, and the gradients are checked to agree before timing.

* ours: ``tinygrad_cs.nn.LSTM``, i.e. the engine's layer op ``tinygrad_cs.ops.rnn.lstm``:
  one GEMM for the input products of all 50 steps, then the recurrence as one kernel call
  (``kernels/lstm_sequence.py``: per step the recurrent GEMM, numpy's BLAS called from
  inside the kernel, and the fused cell); backward one kernel call likewise, then one GEMM
  per weight gradient;
* PyTorch: ``torch.nn.LSTM`` on the CPU (its fused implementation).

PyTorch 2.13 CPU on this machine measured 18.2 ms. Goal: ours / PyTorch <= 1.5.
``profile()`` splits our time into its parts (see ``main``).
"""
from __future__ import annotations

import contextlib
import importlib.util
import time

import numba
import numpy as np

if __package__:
    from .bench_lstm import torch_lstm
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_lstm_layer.py
    from bench_lstm import torch_lstm
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.kernels import lstm_sequence as S

GOAL_TORCH = 1.5
CASE = ("nn.LSTM 1 layer, seq 50, batch 32, in 64, hidden 256", 50, 32, 64, 256)
QUICK_CASE = ("nn.LSTM seq 4, batch 2, in 3, hidden 5 (smoke)", 4, 2, 3, 5)
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _data(seq: int, n: int, n_in: int, hidden: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(hidden)  # PyTorch's init range
    weights = [rng.uniform(-k, k, shape).astype(np.float32)
               for shape in ((4 * hidden, n_in), (4 * hidden, hidden), (4 * hidden,),
                             (4 * hidden,))]
    x = rng.standard_normal((seq, n, n_in), dtype=np.float32)
    g = rng.standard_normal((seq, n, hidden), dtype=np.float32)
    return x, weights, g


def _ours(x, weights, g):
    lstm = nn.LSTM(x.shape[2], g.shape[2])
    lstm.load_state_dict(dict(zip(NAMES, weights)))
    params = list(lstm.parameters())
    xt, seed = tg.tensor(x), tg.tensor(g)

    def step():
        for p in params:
            p.grad = None
        out, _ = lstm(xt)
        out.backward(seed)

    return step, lambda: [p.grad.numpy() for p in params]


def _check(got, expected) -> None:
    """Guard against timing a broken path: the weight gradients agree (float32)."""
    for name, a, e in zip(NAMES, got, expected):
        scale = np.abs(e).max() + 1e-6
        if not np.allclose(a, e, rtol=1e-3, atol=1e-3 * scale):
            raise AssertionError(f"LSTM layer benchmark: d{name} differs from PyTorch's "
                                 f"(max abs error {np.abs(a - e).max():.3g})")


@contextlib.contextmanager
def _one_thread():
    """Every thread pool at one thread (OpenBLAS, Numba, PyTorch), restored afterwards."""
    from threadpoolctl import threadpool_limits
    numba_threads = numba.get_num_threads()
    torch_threads = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        numba.set_num_threads(1)
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(numba_threads)
            if torch is not None:
                torch.set_num_threads(torch_threads)


def _time(candidates: dict, quick: bool) -> dict:
    if quick:
        return timeit_round_robin(candidates, repeats=3, min_sample=0.0, warmup=0.0)
    return timeit_round_robin(candidates, repeats=15, min_sample=0.2, warmup=0.3)


def run(quick: bool = False) -> list[Row]:
    """Time the case on both sides, interleaved; return the table rows.

    A second row runs both sides on one thread each: on a shared, loaded machine the
    thread pools of both libraries wait for descheduled workers, and the single-thread
    ratio is the steadier measure of the arithmetic (informational, no goal)."""
    label, seq, n, n_in, hidden = QUICK_CASE if quick else CASE
    data = _data(seq, n, n_in, hidden)
    ours, ours_grads = _ours(*data)
    ours()
    candidates = {"ours": ours}
    if torch is not None:
        ref, ref_grads = torch_lstm(*data)
        ref()
        _check(ours_grads(), ref_grads())
        candidates["torch"] = ref
    t = _time(candidates, quick)
    rows = [Row(f"{label}: fwd+bwd vs PyTorch nn.LSTM", t["ours"], t.get("torch"),
                GOAL_TORCH, "PyTorch")]
    if importlib.util.find_spec("threadpoolctl") is not None:
        with _one_thread():
            t = _time(candidates, quick)
        rows.append(Row(f"{label}: fwd+bwd, one thread each side", t["ours"], t.get("torch"),
                        None, "PyTorch"))
    return rows


def profile(repeats: int = 20) -> dict[str, float]:
    """Median ms per call of each part of our layer, timed on its own with the same
    arrays: the input GEMM, the forward and backward recurrences (one kernel call each,
    ``kernels/lstm_sequence.py``: the 2 x 50 recurrent GEMMs and the cell), the weight
    gradients, and the rest (Python, numpy glue, engine). The recurrences are also timed on
    the per-step Python path (``USE_KERNEL = False``), for comparison. Also the whole
    module on a sequence of 50 steps at sizes 1: its fixed per-call cost (dispatch, thread
    wake-ups), whatever the arithmetic."""
    _, seq, n, n_in, hidden = CASE
    x, (w_ih, w_hh, b_ih, b_hh), g = _data(seq, n, n_in, hidden)
    step, _ = _ours(x, [w_ih, w_hh, b_ih, b_hh], g)
    xs = x.reshape(seq * n, n_in)
    xw = (xs @ w_ih.T + b_ih + b_hh).reshape(seq, n, 4 * hidden)
    state = np.zeros((n, hidden), np.float32)
    grad = np.zeros((seq, 2, n, hidden), np.float32)
    grad[:, 0] = g
    hc, acts = S.forward(xw.copy(), state, state, w_hh)
    dgates = S.backward(grad, acts, hc, state, w_hh)[0].reshape(seq * n, -1)
    h_prev = hc[:, 0].reshape(-1, hidden)

    def input_gemm():
        xs @ w_ih.T

    def weight_gemms():
        dgates @ w_ih
        dgates.T @ xs
        dgates.T @ h_prev
        dgates.sum(axis=0)

    def recurrence(backward: bool, kernel: bool):
        def run():
            S.USE_KERNEL = kernel
            try:
                if backward:
                    S.backward(grad, acts, hc, state, w_hh)
                else:
                    S.forward(xw.copy(), state, state, w_hh)
            finally:
                S.USE_KERNEL = True
        return run

    tiny, _ = _ours(*_data(seq, 1, 1, 1))  # the same 50 steps with next to no arithmetic

    parts = {"total (module fwd+bwd)": step, "input GEMM (fwd)": input_gemm,
             "forward recurrence (one kernel call)": recurrence(False, True),
             "backward recurrence (one kernel call)": recurrence(True, True),
             "weight-gradient GEMMs, dx + bias sum (bwd)": weight_gemms}
    others = {"(forward recurrence, per-step Python path)": recurrence(False, False),
              "(backward recurrence, per-step Python path)": recurrence(True, False),
              "tiny": tiny}
    times = timeit_round_robin({**parts, **others}, repeats=repeats, min_sample=0.05,
                               warmup=0.1)
    ms = {k: v * 1e3 for k, v in times.items()}
    overhead = ms.pop("tiny")
    ms["rest: Python, numpy glue, engine"] = ms["total (module fwd+bwd)"] - sum(
        ms[k] for k in parts if not k.startswith("total"))
    ms["(same module at batch 1, hidden 1, in 1: fixed cost)"] = overhead
    return ms


def main(quick: bool = False) -> None:
    start = time.perf_counter()
    print(markdown_table(run(quick), verdicts=not quick))
    if not quick:
        print("\nwhere our time goes (ms per call, each part timed alone, interleaved):")
        for part, value in profile().items():
            print(f"  {part:52s} {value:7.2f}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
