"""Every op is reachable the way PyTorch users reach it: an op of ``tinygrad_cs.ops`` that
PyTorch has as ``torch.X`` is ``tg.X`` (unless ``unsupported.py`` says why not, e.g.
``torch.batch_norm``: use the ``nn.functional`` form), and one that PyTorch has as a
``Tensor`` method is a ``Tensor`` method here too. A new op that misses an export fails."""
from __future__ import annotations

import inspect

import pytest

import tinygrad_cs as tg
from tinygrad_cs import ops, unsupported


def _op_names() -> list[str]:
    return sorted(name for name, value in vars(ops).items()
                  if not name.startswith("_") and inspect.isfunction(value))


def test_ops_that_pytorch_has_at_the_top_level_are_tg_names():
    torch = pytest.importorskip("torch")
    missing = [n for n in _op_names() if hasattr(torch, n) and not hasattr(tg, n)
               and unsupported.reason("torch", n) is None]
    assert not missing, f"ops that are torch.X but not tg.X: {missing}"


def test_ops_that_pytorch_has_as_tensor_methods_are_tensor_methods():
    torch = pytest.importorskip("torch")
    missing = [n for n in _op_names()
               if hasattr(torch.Tensor, n) and not hasattr(tg.Tensor, n)]
    assert not missing, f"ops that are torch.Tensor.X but not Tensor.X: {missing}"
