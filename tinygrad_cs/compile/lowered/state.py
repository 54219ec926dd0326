"""State lowered: a leaf's first gradient without its copy, and optimizer updates in place.

* ``AccumulateGrad`` copies a gradient so that ``.grad`` never shares memory with another
  array. The copy is skipped when its input is *fresh* (made by a lowered instruction, a new
  array aliasing nothing), read by nothing else and not handed back by the program, and
  already of the leaf's dtype: that array is then the leaf's own.
* An optimizer update (``calls.Update``) runs on copies of the parameter and its state,
  written back after the run. In place, it runs the optimizer's ``_update`` on the live
  arrays themselves, exactly as ``Optimizer.step`` does, when nothing can see the difference:
  the parameter is read from its ``data`` slot and each state array from its ``optim`` slot
  (their live storage at replay), each is written back as this update's result, none is a
  program output or read after the update, and only updates follow (so no later
  instruction reads a view of the parameter made before it). The slot writes then find the
  arrays already in place (``slots.Slot.write``).
"""
from __future__ import annotations

from typing import Any

from ..ir import Instr, Var
from .base import Facts, Lowered

__all__ = ["accumulate_grad", "update_in_place"]


def _same(grad: Any) -> Any:
    return grad


def accumulate_grad(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``AccumulateGrad(g)`` as ``g`` itself, when g is fresh (see the module docstring)."""
    (value,), (out,) = ins.inputs, ins.outputs
    if (isinstance(value, Var) and id(value) in facts.fresh
            and facts.readers.get(id(value)) == [k] and id(value) not in facts.results
            and value.dtype == out.dtype and value.shape == out.shape):
        return Lowered(_same)
    return None


def update_in_place(ins: Instr, k: int, facts: Facts) -> Lowered | None:
    """``Optimizer._update`` on the parameter's and its state's own arrays (see above)."""
    fn = ins.fn
    p, _, *rest = ins.inputs
    p_new, *outs = ins.outputs
    if (not facts.only_updates_after(k) or not facts.live_state(p, "data", p_new, k)
            or any(id(v) in facts.outputs for v in ins.outputs)):
        return None
    for key, old in zip(fn.state_keys, rest):
        if (key not in fn.out_keys
                or not facts.live_state(old, "optim", outs[fn.out_keys.index(key)], k)):
            return None
    return Lowered(fn.in_place)
