"""``viz.draw_program``: a compiled training step drawn as DOT, forward, backward and
update as three clusters, state and writes visible, a fused kernel as one box listing its
ops. Oracle: the program itself (its instructions, state and writes) and the DOT source."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cs import viz
from tinygrad_cs.compile import Instr, Program, Var
from tinygrad_cs.viz.examples import compiled_step_program


def _step_program():
    return compiled_step_program()  # the README's example step


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
