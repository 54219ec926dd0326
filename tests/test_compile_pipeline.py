"""All default passes on one hand-written training step of a 2-layer MLP (forward, backward as
ordinary ops, SGD update as writes), with the redundancies a tracer leaves: the step computes
what the unoptimised one does (float64, 1e-12 relative), with fewer instructions and less
memory."""
from __future__ import annotations

import numpy as np
from _programs import ProgramBuilder
from test_compile_passes import assert_same, ops

from tinygrad_cs.compile.execute import run
from tinygrad_cs.compile.passes import optimize
from tinygrad_cs.ops.linalg import Matmul


def _mlp_step() -> tuple[ProgramBuilder, object]:
    b = ProgramBuilder(seed=3)
    x, target = b.input((8, 4)), b.input((8, 3))
    w1, b1, w2, b2 = (b.state_var(s) for s in [(4, 16), (16,), (16, 3), (3,)])
    mm = Matmul.apply
    # forward: loss = sum((relu(x w1 + b1) w2 + b2 - target)**2) / 8
    h = b.op("ReLU", b.op("Add", b.op("MatMul", x, w1, fn=mm), b1))
    d = b.op("Sub", b.op("Add", b.op("MatMul", h, w2, fn=mm), b2), target)
    loss = b.op("Mul", b.op("Sum", b.op("Mul", d, d)), 1 / 8)
    # backward, as a tracer records it (redundancies on purpose)
    g = b.op("Mul", b.op("Mul", d, 2 / 8), 1.0)                     # "* 1.0": simplify
    g_w2 = b.op("MatMul", b.op("Permute", h, (1, 0)), g, fn=mm)
    w2_t = b.op("Permute", b.op("Permute", b.op("Permute", w2, (1, 0)), (1, 0)), (1, 0))
    g_h = b.op("MatMul", g, w2_t, fn=mm)                           # permutes: 3 -> 1
    positive = b.op("Greater", h, 0.0, fn=np.greater, elementwise=False)
    g_pre = b.op("Where", positive, g_h, 0.0)
    g_w1 = b.op("MatMul", b.op("Permute", x, (1, 0)), g_pre, fn=mm)
    g_b1 = b.op("Sum", g_pre, dim=0)
    g_b2 = b.op("Sum", g, dim=0)
    b.op("Exp", loss)                                              # dead
    lr = b.op("Mul", 0.05, 2.0)                                    # folds to 0.1
    writes = [(p, b.op("Sub", p, b.op("Mul", gp, lr)))
              for p, gp in [(w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2)]]
    return b, b.program(loss, writes=writes)


def test_the_default_passes_keep_the_step_and_shrink_it():
    b, p = _mlp_step()
    q, log = optimize(p)
    assert_same(p, q, b, rtol=1e-12)
    assert len(q.instrs) < len(p.instrs) - 8
    assert ops(q).count("Permute") == 3 and "Exp" not in ops(q)
    fused = [ins.fn.ops for ins in q.instrs if ins.op == "Fused"]
    assert ("Mul", "Sum") in fused and ("Add", "ReLU") in fused   # sum(d * d); relu(. + b1)
    assert any(line.startswith("fold:") for line in log)
    assert sum(line.startswith("simplify:") for line in log) == 2
    assert log[-1].startswith("memory: peak ")
    assert q.release is not None and p.release is None
    (loss0,), _ = run(p, *b.feed(p))
    assert loss0 > 0
