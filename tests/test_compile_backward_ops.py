"""Backward formulas written in differentiable ops are recorded as those ops (``Mul``,
``Sub``, ...), marked elementwise so fusion may merge them; raw-kernel and numpy-mask
backwards stay one opaque ``Name.backward``. Oracle: eager values and gradients, and the
closed form d/dx tanh(x) = 1 - tanh(x)^2."""
from __future__ import annotations

import numpy as np

import tinygrad_cs as tg


def _compiled_grad(fn, xs):
    w = tg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def step(x):
        w.grad = None
        loss = fn(x * w).sum()
        loss.backward()
        return loss
    compiled = tg.compile(step)
    grads = []
    for x in xs:
        compiled(tg.tensor(x))
        grads.append(w.grad.numpy().copy())
    return compiled, grads


def test_tanh_backward_is_recorded_as_ordinary_ops():
    xs = [np.array([0.1, 0.2, 0.3]) * (k + 1) for k in range(3)]
    compiled, grads = _compiled_grad(lambda z: z.tanh(), xs)
    for x, g in zip(xs, grads):   # closed form, at fresh inputs (the replays)
        np.testing.assert_allclose(g, x * (1 - np.tanh(x * [0.5, -1.0, 2.0]) ** 2), rtol=1e-14)
    backward = [i for i in compiled.program.instrs if i.phase == "backward"]
    ops = [i.op for i in backward]
    assert "Tanh.backward" not in ops and "Mul.backward" not in ops
    assert ops.count("Mul") >= 2 and "Sub" in ops
    assert all(i.elementwise for i in backward if i.op in ("Mul", "Sub"))
    assert compiled.traces == 2 and compiled.graph_break is None   # .grad appears: retrace once


def test_numpy_mask_backward_stays_opaque():
    xs = [np.array([0.3, -0.2, 0.1]) * (k + 1) for k in range(3)]
    compiled, grads = _compiled_grad(lambda z: z.relu(), xs)
    for x, g in zip(xs, grads):
        np.testing.assert_array_equal(g, x * (x * [0.5, -1.0, 2.0] > 0))
    ops = [i.op for i in compiled.program.instrs if i.phase == "backward"]
    assert "ReLU.backward" in ops and "Mul" in ops   # Mul's own backward is inlined
