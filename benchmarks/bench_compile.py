"""``tg.compile``: compiled training steps against eager PyTorch, and the MLP step against JAX.

The cases (each written identically for every side, from the same initial weights):

* the MLP step of ``bench_mlp`` (64-128-128-10, batch 64, cross-entropy, SGD momentum):
  ours eager, ours compiled, PyTorch eager and a ``jax.jit`` of the same step (when JAX is
  installed: parameters and momentum buffers are the jitted function's inputs and outputs,
  as JAX has no state). Goal: compiled at least as fast as JAX (ratio <= 1).
* the ResNet-8 step of ``bench_resnet8``: ours compiled against PyTorch eager. Goal <= 1.
* a character LSTM step (embedding 65 -> 64, ``nn.LSTM(64, 256)``, linear 256 -> 65,
  sequence 50, batch 32, cross-entropy over every position, SGD momentum): ours compiled
  against PyTorch eager. Goal <= 1.
* the first call of the compiled ResNet-8 step (trace, passes, kernel generation; the engine's
  own kernels warm), informational.

Each compiled side is checked against its eager twin for 3 steps before timing.
"""
from __future__ import annotations

import time

import numpy as np

if __package__:
    from . import bench_mlp, bench_resnet8
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_compile.py
    import bench_mlp
    import bench_resnet8
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs import nn as _nn  # noqa: F401 - makes tg.nn available
from tinygrad_cs import optim
from tinygrad_cs.compile.passes import DEFAULT

try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover - optional reference
    jax = None

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 50, 32


def _compiled(step):
    """Our step under ``tg.compile`` with every pass, fusion included: the first calls trace
    (and retrace once ``.grad`` and the optimizer's buffers exist), later ones replay."""
    return tg.compile(step, passes=DEFAULT)


def _jax_mlp(x, y, weights):
    """The MLP step as one jitted function of (params, velocity) -> (params, velocity)."""
    lr, momentum = bench_mlp.LR, bench_mlp.MOMENTUM

    def loss(params, xb, yb):
        h = xb
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = jnp.maximum(h, 0)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(logp[jnp.arange(h.shape[0]), yb])

    @jax.jit
    def step(params, velocity, xb, yb):
        grads = jax.grad(loss)(params, xb, yb)
        velocity = [g if v is None else momentum * v + g for v, g in zip(velocity, grads)]
        return [p - lr * v for p, v in zip(params, velocity)], velocity

    state = {"params": [jnp.asarray(w) for w in weights],
             "velocity": [jnp.zeros_like(jnp.asarray(w)) for w in weights]}
    xb, yb = jnp.asarray(x), jnp.asarray(y)

    def run():
        state["params"], state["velocity"] = step(state["params"], state["velocity"], xb, yb)
        jax.block_until_ready(state["params"])

    return run


def _char_lstm(lib, state=None, seed=0):
    """(step, params, state_dict) of the character LSTM in ``lib``."""
    nn_ = lib.nn

    class CharLSTM(nn_.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn_.Embedding(VOCAB, EMBED)
            self.lstm = nn_.LSTM(EMBED, HIDDEN, batch_first=True)
            self.head = nn_.Linear(HIDDEN, VOCAB)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out)

    model = CharLSTM()
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, (BATCH, SEQ + 1))
    if state is not None:
        model.load_state_dict({k: (torch.from_numpy(v.copy()) if lib is torch else v.copy())
                               for k, v in state.items()})
    if lib is torch:
        xb, yb = torch.from_numpy(tokens[:, :-1]), torch.from_numpy(tokens[:, 1:].reshape(-1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        xb, yb = tg.tensor(tokens[:, :-1]), tg.tensor(tokens[:, 1:].reshape(-1))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn_.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(xb).reshape(-1, VOCAB), yb).backward()
        opt.step()

    def params():
        return [np.array(p.detach().numpy() if lib is torch else p.numpy())
                for p in model.parameters()]

    return step, params, {k: np.array(v.numpy()) for k, v in model.state_dict().items()}


def _agree(name, a, b, rtol=1e-4, atol=1e-5):
    for x, y in zip(a, b):
        if not np.allclose(x, y, rtol=rtol, atol=atol):
            raise AssertionError(f"compile benchmark ({name}): parameters after 3 steps "
                                 f"differ (max abs error {np.abs(x - y).max():.3g})")


def _mlp_rows(quick: bool) -> list[Row]:
    data = bench_mlp._data()
    eager, eager_params = bench_mlp._ours(*data)
    x, y, weights = data
    # labels as a tensor: a numpy array read inside a compiled function is a graph break
    step, params = bench_mlp._ours(x, tg.tensor(y), weights)
    compiled = _compiled(step)
    for _ in range(3):
        eager()
        compiled()
    _agree("MLP", params(), eager_params())
    candidates = {"eager": eager, "compiled": compiled}
    if torch is not None:
        candidates["torch"] = bench_mlp._torch(*data)[0]
    if jax is not None:
        candidates["jax"] = _jax_mlp(*data)
        for _ in range(3):
            candidates["jax"]()
    t = timeit_round_robin(candidates, repeats=3 if quick else 21,
                           min_sample=0.002 if quick else 0.05, warmup=0.005 if quick else 0.2)
    label = "MLP 64-128-128-10, batch 64, CE + SGD momentum: train step"
    rows = [Row(f"{label}, compiled vs JAX jit", t["compiled"], t.get("jax"), 1.0, "JAX jit"),
            Row(f"{label}, compiled vs our eager", t["compiled"], t["eager"], None, "eager")]
    if torch is not None:
        rows.append(Row(f"{label}, compiled vs PyTorch eager", t["compiled"], t["torch"], None,
                        "PyTorch"))
    return rows


def _resnet_rows(quick: bool) -> list[Row]:
    x, y = bench_resnet8._data()
    tg.manual_seed(0)
    state = {k: v.numpy().copy() for k, v in bench_resnet8._resnet8(tg).state_dict().items()}
    labels = tg.tensor(y)  # a numpy array read inside a compiled function is a graph break
    eager, eager_params = bench_resnet8._side(tg, state, x, labels)
    step, params = bench_resnet8._side(tg, state, x, labels)
    compiled = _compiled(step)
    start = time.perf_counter()
    compiled()
    first = time.perf_counter() - start
    eager()
    for _ in range(2):
        eager()
        compiled()
    _agree("ResNet-8", params(), eager_params(), rtol=1e-3, atol=1e-4)
    candidates = {"compiled": compiled}
    if torch is not None:
        candidates["torch"] = bench_resnet8._side(torch, state, x, y)[0]
    t = timeit_round_robin(candidates, repeats=3 if quick else 15,
                           min_sample=0.002 if quick else 0.2, warmup=0.005 if quick else 0.5)
    label = "ResNet-8 (16/32/64, BN), batch 32, CE + SGD momentum: train step"
    return [Row(f"{label}, compiled vs PyTorch eager", t["compiled"], t.get("torch"), 1.0,
                "PyTorch"),
            Row(f"{label}: first compiled call (trace + passes + codegen; kernels warm)", first,
                None)]


def _lstm_rows(quick: bool) -> list[Row]:
    tg.manual_seed(0)
    eager, eager_params, state = _char_lstm(tg)
    step, params, _ = _char_lstm(tg, state)
    compiled = _compiled(step)
    for _ in range(3):
        eager()
        compiled()
    _agree("char-LSTM", params(), eager_params())
    candidates = {"compiled": compiled}
    if torch is not None:
        candidates["torch"] = _char_lstm(torch, state)[0]
    t = timeit_round_robin(candidates, repeats=3 if quick else 11,
                           min_sample=0.002 if quick else 0.2, warmup=0.005 if quick else 0.5)
    label = (f"char-LSTM (embed {EMBED}, hidden {HIDDEN}), seq {SEQ}, batch {BATCH}, "
             "CE + SGD momentum: train step")
    return [Row(f"{label}, compiled vs PyTorch eager", t["compiled"], t.get("torch"), 1.0,
                "PyTorch")]


def run(quick: bool = False) -> list[Row]:
    """The compiled-step rows (see the module docstring)."""
    return _mlp_rows(quick) + _resnet_rows(quick) + _lstm_rows(quick)


def main(quick: bool = False) -> None:
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
