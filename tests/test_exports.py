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


def test_ops_exports_come_from_the_family_files():
    families = ops._FAMILIES
    listed = [name for family in families for name in family.__all__]
    assert sorted(listed) == sorted(ops.__all__)
    assert len(set(listed)) == len(listed), "two families export the same name"
    defined_here = {n for n in _op_names() if vars(ops)[n].__module__.startswith("tinygrad_cs.ops")}
    assert defined_here <= set(ops.__all__), "an op function that no family's __all__ lists"


def test_top_level_names_are_the_ops_themselves():
    assert set(ops.TOP_LEVEL) | set(ops.NOT_TOP_LEVEL) == set(ops.__all__)
    assert all(getattr(tg, n) is getattr(ops, n) for n in ops.TOP_LEVEL)
    assert not [n for n in ops.NOT_TOP_LEVEL if n in vars(tg)]


def test_tensor_methods_forward_to_the_ops():
    x = tg.tensor([[0.25, -0.5], [1.5, 2.0]], dtype=tg.float64)
    for name in ("exp2", "erf", "cumsum", "atan2", "floor", "msort"):
        args = {"cumsum": (1,), "atan2": (x,)}.get(name, ())
        assert getattr(x, name)(*args).numpy().tolist() == \
            getattr(ops, name)(x, *args).numpy().tolist()


def test_functions_only_ops_are_not_tensor_methods_in_pytorch():
    torch = pytest.importorskip("torch")
    from tinygrad_cs.tensor_ops import FUNCTIONS_ONLY
    assert not [n for n in FUNCTIONS_ONLY if hasattr(torch.Tensor, n)]


def test_ops_left_off_the_top_level_that_pytorch_has_say_why():
    torch = pytest.importorskip("torch")
    silent = [n for n in ops.NOT_TOP_LEVEL if hasattr(torch, n)
              and unsupported.reason("torch", n) is None]
    assert not silent, f"torch.X exists but tg.X neither exists nor says why: {silent}"
