"""``tg.compile``'s passes on traced programs: the default (``passes.EXACT``) replays bit for
bit what eager execution computes; ``passes.DEFAULT`` adds fused kernels, which agree within
float32 rounding (their exp/tanh come from the C maths library, their sums run in another
order: see ``passes/__init__.py``)."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.compile.passes import DEFAULT, EXACT


def _run(passes, steps=3):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((5, 6), dtype=np.float32))
    y = tg.tensor(rng.integers(0, 3, 5))

    def step(x, y):
        opt.zero_grad()
        h = model(x)
        loss = ((h.sigmoid() - 0.5) * h).mean() + nn.functional.cross_entropy(h, y)
        loss.backward()
        opt.step()
        return loss

    fn = step if passes == "eager" else tg.compile(step, passes=passes)
    losses = [float(fn(x, y)) for _ in range(steps)]
    return losses, [p.numpy().copy() for p in model.parameters()], fn


def test_default_passes_replay_bit_for_bit_and_release_memory():
    eager_losses, eager_params, _ = _run("eager")
    losses, params, compiled = _run(None)
    assert [p.__name__ for p in compiled.passes] == list(EXACT)
    assert losses == eager_losses
    assert all(np.array_equal(a, b) for a, b in zip(params, eager_params))
    assert compiled.program.release is not None  # the memory planner ran


def test_fusion_merges_the_elementwise_chain_and_agrees_within_float32_rounding():
    eager_losses, eager_params, _ = _run("eager")
    losses, params, compiled = _run(DEFAULT)
    fused = [ins for ins in compiled.program.instrs if ins.op == "Fused"]
    assert fused, str(compiled.program)
    assert all(len(ins.fn.ops) >= 2 for ins in fused)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_passes_by_name_and_unknown_names():
    _, _, compiled = _run(("dce", "memory"), steps=2)
    assert [p.__name__ for p in compiled.passes] == ["dce", "memory"]
    with pytest.raises(ValueError, match="unknown pass"):
        tg.compile(lambda: None, passes=("dce", "inline"))
