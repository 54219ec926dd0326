"""``tgcs warmup`` and the first-run notice of ``tgcs train`` (``cli/warmup.py``,
``kernels.is_cold`` / ``mark_warm`` / ``warm_parallel``)."""
from __future__ import annotations

import pytest

from tinygrad_cs import kernels
from tinygrad_cs.cli import main
from tinygrad_cs.cli.warmup import COLD_NOTICE, HELPER_NOTICE, warn_if_cold


@pytest.fixture
def stamp(tmp_path, monkeypatch):
    path = tmp_path / "tinygrad_cs-warm-test"
    monkeypatch.setattr(kernels, "_stamp", lambda: str(path))
    return path


def test_a_cold_install_says_so_once_until_marked_warm(stamp, capsys):
    assert kernels.is_cold()
    warn_if_cold()
    assert capsys.readouterr().err.strip() == COLD_NOTICE
    kernels.mark_warm()
    assert stamp.exists() and not kernels.is_cold()
    warn_if_cold()
    assert capsys.readouterr().err == ""


def test_a_cold_run_with_a_background_compile_says_so_too(stamp, capsys):
    warn_if_cold(helped=True)
    assert capsys.readouterr().err.splitlines() == [COLD_NOTICE, HELPER_NOTICE]
    kernels.mark_warm()
    warn_if_cold(helped=True)
    assert capsys.readouterr().err == ""


def test_nothing_to_warn_about_where_nothing_can_be_cached(monkeypatch):
    monkeypatch.setattr(kernels, "_stamp", lambda: None)
    assert not kernels.is_cold()


def test_warmup_compiles_in_worker_processes_and_marks_the_install_warm(stamp, monkeypatch,
                                                                        capsys):
    monkeypatch.setattr(kernels, "kernel_modules", lambda: ["tinygrad_cs.kernels.erf"])
    assert main(["warmup", "--processes", "1"]) == 0
    out = capsys.readouterr().out
    assert "erf" in out and "a training step" in out and out.rstrip().split()[-1] == "s"
    assert not kernels.is_cold()


def test_warm_module_compiles_the_modules_kernels():
    from tinygrad_cs.kernels import nms
    kernels.warm_module("tinygrad_cs.kernels.nms")
    assert nms.suppress_sorted.signatures and nms.soft_suppress.signatures
