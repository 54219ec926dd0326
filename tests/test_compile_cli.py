"""``tgcs train --compile`` trains exactly as ``tgcs train``: the same history (accuracy
included) and the same final parameters, bit for bit; it prints the wall time and refuses
loops that have no compiled step. Oracle: the eager run of the same recipe."""
from __future__ import annotations

import csv
import warnings

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.cli import main

OPTIONS = ["--model", "mlp", "--data", "spiral", "--epochs", "2", "--batch-size", "32",
           "--no-graph", "--no-progress"]


def _run(tmp_path, name, *extra):
    assert main(["train", "--runs-dir", str(tmp_path), "--name", name, *OPTIONS, *extra]) == 0
    rows = list(csv.DictReader((tmp_path / name / "history.csv").open()))
    state = tg.load(tmp_path / name / "checkpoint.npz")["model"]
    return rows, {k: np.asarray(v) for k, v in state.items()}


def test_train_compile_equals_eager(tmp_path, capsys):
    eager_rows, eager_state = _run(tmp_path, "eager")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, state = _run(tmp_path, "compiled", "--compile")
    assert not [w for w in caught if "graph break" in str(w.message)]   # it really replayed
    assert "wall time" in capsys.readouterr().out
    for a, b in zip(eager_rows, rows):
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert a[key] == b[key], key
    for key in eager_state:
        np.testing.assert_array_equal(state[key], eager_state[key], err_msg=key)


def test_train_compile_refuses_a_loop_without_a_compiled_step(tmp_path, capsys):
    assert main(["train", "--runs-dir", str(tmp_path), "--model", "dcgan", "--compile",
                 "--no-progress"]) == 2
    assert "--compile" in capsys.readouterr().err
