"""``viz.draw_program``: a compiled training step drawn as DOT, forward, backward and
update as three clusters, state and writes visible, a fused kernel as one box listing its
ops. Oracle: the program itself (its instructions, state and writes) and the DOT source."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, viz
from tinygrad_cs.compile import Instr, Program, Var


def _step_program():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    @tg.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    x, y = tg.tensor(np.ones((4, 3), np.float32)), tg.tensor(np.array([0, 1, 0, 1]))
    step(x, y)
    step(x, y)
    return step.program


def test_training_step_draws_forward_backward_update_and_writes():
    program = _step_program()
    source = viz.draw_program(program).source
    for phase in ("forward", "backward", "update"):
        assert f"subgraph cluster_{phase}" in source
    assert source.count("SGD.update") == 4 and "ReLU.backward" in source
    assert source.count("<B>Linear</B>") == 2
    # one box per instruction, and one per input and state value
    assert all(f"\ti{k} [" in source for k in range(len(program.instrs)))
    assert all(f"\tst{k} [" in source for k in range(len(program.state)))
    assert "<B>0.weight</B>" in source and "<B>0.weight.grad</B>" in source
    assert source.count('label=write') == len(program.writes) > 0
    # a value crossing phases (a saved activation read by backward) leaves the layout free
    assert 'constraint=false' in source and "float32[4, 4]" in source


def test_fused_kernel_is_one_box_listing_its_ops():
    a = Var("%1", (2, 3), np.dtype(np.float32))
    b = Var("%2", (2, 3), np.dtype(np.float32), "w")
    out = Var("%3", (2, 3), np.dtype(np.float32))

    def kernel(x, w):
        return np.maximum(x * w + 1.0, 0.0)
    kernel.ops = ("Mul", "Add", "ReLU")
    program = Program([a], [b], [Instr("Fused", kernel, (a, b), (out,), scope="layer1")], [out])
    source = viz.draw_program(program, rankdir="LR").source
    assert "<B>Fused</B>" in source and "Mul -&gt; Add -&gt; ReLU" in source
    assert "<I>layer1</I>" in source and "rankdir=LR" in source
    assert "in0 -> i0" in source and "st0 -> i0" in source and "i0 -> outputs" in source
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_program(program, rankdir="BT")
