"""``tgcs``: each command does its job on small data, and user mistakes end in one-line errors.

Runs go to ``tmp_path``; small models on the spiral set or digits keep each test to seconds.
"""
from __future__ import annotations

import argparse
import csv
import json
import socket
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.cli import _parser, main
from tinygrad_cs.cli import train as cli_train
from tinygrad_cs.cli.commands import COMMANDS
from tinygrad_cs.train import Recipe, fit, load_model, prepare

pytest.importorskip("sklearn", reason="the digits come with scikit-learn")

PNG = b"\x89PNG\r\n\x1a\n"


def _train(tmp_path, *options: str) -> int:
    return main(["train", "--runs-dir", str(tmp_path), "--no-progress", *options])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err


# -- usage errors -----------------------------------------------------------------------------
def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "train" in capsys.readouterr().out


@pytest.mark.parametrize("options", [["--epochs", "zero"], ["--epochs", "0"],
                                     ["--data", "no-such-data"], ["--optimizer", "lbfgs"]])
def test_bad_option_is_a_usage_error_not_a_traceback(capsys, options):
    with pytest.raises(SystemExit) as stop:
        main(["train", *options])
    assert stop.value.code == 2
    err = _one_line_error(capsys)
    assert "usage: tgcs train" in err and options[0] in err


@pytest.mark.parametrize("options, words", [
    (["--model", "no-such-net"], ["no-such-net", "resnet8"]),
    (["--model", "resnet20", "--data", "iris"], ["resnet20", "iris", "(4,)"]),
    (["--model", "char_lstm", "--data", "digits"], ["char_lstm", "digits"]),
    (["--model", "googlenet"], ["googlenet", "digits", "(1, 8, 8)", "too small"]),  # on 8x8
])
def test_names_that_do_not_fit_end_in_one_line(tmp_path, capsys, options, words):
    assert _train(tmp_path, *options) == 2
    err = _one_line_error(capsys)
    assert err.startswith("tgcs train: error:") and len(err.splitlines()) == 1
    for word in words:
        assert word in err
    assert list(tmp_path.iterdir()) == []  # no half-made run folder


def _closed_port() -> int:
    """A local TCP port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed", reason="--scheduler needs the dask extra")
    monkeypatch.chdir(tmp_path)                    # where Dask would leave any scratch folder
    address = f"tcp://127.0.0.1:{_closed_port()}"
    options = ["search", "--model", "softmax", "--scheduler", address, "--connect-timeout",
               "0.5", "-o", str(tmp_path / "search")]
    assert main(options) == 1
    err = _one_line_error(capsys)
    assert len(err.splitlines()) == 1 and err.startswith("tgcs search: error: ")
    assert f"cannot reach the Dask scheduler at {address}" in err and "--debug" in err
    with pytest.raises(ConnectionError, match="cannot reach"):
        main([*options, "--debug"])                # the traceback, for a bug report
    assert list(tmp_path.iterdir()) == []          # no half-made search folder
    assert main(["search", "--scheduler", "no-port", "-o", str(tmp_path / "s")]) == 2
    assert "'no-port'" in _one_line_error(capsys)


def test_any_error_is_one_line_with_status_1_and_a_traceback_under_debug(tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "mlp.svg"
    assert main(["graph", "mlp", "-o", str(out)]) == 1
    err = _one_line_error(capsys)
    assert err.startswith("tgcs graph: error: FileNotFoundError: ") and str(out) in err
    assert len(err.splitlines()) == 1 and "(--debug shows the traceback)" in err
    with pytest.raises(FileNotFoundError):
        main(["graph", "mlp", "-o", str(out), "--debug"])
    assert main(["graph", "no-such-model"]) == 2   # an unknown name is a usage error
    assert "no model named 'no-such-model'" in _one_line_error(capsys)


def _subcommands():
    """(name, parser) of every tgcs command."""
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices.items())


def test_every_option_of_every_command_has_help():
    commands = _subcommands()
    assert {name for name, _ in commands} == set(COMMANDS)
    for name, parser in commands:
        assert parser.prog == f"tgcs {name}"
        for action in parser._actions:
            assert (action.help or "").strip(), f"tgcs {name} {action.option_strings or action.dest}"


def test_help_names_the_command_and_the_models(capsys):
    with pytest.raises(SystemExit):
        main(["graph", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: tgcs graph ") and "tinygrad_cs.viz" not in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("resnet8", "vgg11_bn", "char_lstm", "dcgan"):
        assert name in out
    assert "gradcheck --list" not in out
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default 1e-4 1)" in out and "(default 1e-6 1e-2)" in out


def test_console_script_is_installed_and_reports_errors_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_cs.cli", "train", "--model", "nope",
                           "--runs-dir", str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "nope" in done.stderr


# -- train, resume ----------------------------------------------------------------------------
def test_the_default_run_reaches_98_percent_on_held_out_digits():
    """``tgcs train`` with no options: ResNet-8 (75K parameters) on digits, AdamW (lr 0.01,
    weight decay 0.05) on a one-cycle schedule, batch 64, 15 epochs, affine augmentation.
    Held-out accuracy over seeds 0-2: 99.16, 99.16, 99.44% (about 7 s each on 2 cores)."""
    run = prepare(Recipe(seed=0))
    assert (run.recipe.model, run.recipe.data) == ("resnet8", "digits")
    history = fit(run.model, run.train_loader, run.val_loader, loss_fn=run.loss_fn,
                  optimizer=run.optimizer, scheduler=run.scheduler,
                  scheduler_interval=run.scheduler_interval, epochs=run.recipe.epochs,
                  progress=False)
    assert history[-1]["val_acc"] >= 0.98



def _params(run_dir):
    state = tg.load(run_dir / "checkpoint.npz")["model"]
    return {k: np.asarray(v) for k, v in state.items()}


def _interrupt_after(monkeypatch, epoch: int) -> None:
    """Make the next ``tgcs train`` stop as if Ctrl-C came after ``epoch``'s checkpoint."""
    real_fit = cli_train.fit

    def stop(row):
        if row["epoch"] == epoch:
            raise KeyboardInterrupt

    def fit(*args, callbacks=(), **kwargs):
        monkeypatch.setattr(cli_train, "fit", real_fit)
        return real_fit(*args, callbacks=[*callbacks, stop], **kwargs)

    monkeypatch.setattr(cli_train, "fit", fit)


def test_train_writes_the_run_and_resume_continues_it_exactly(tmp_path, capsys, monkeypatch):
    options = ["--model", "mlp", "--data", "spiral", "--epochs", "6", "--batch-size", "16",
               "--lr", "0.03"]
    _interrupt_after(monkeypatch, 3)
    assert _train(tmp_path, *options, "--name", "split", "--no-graph") == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("tgcs train: interrupted;") and "tgcs train --resume --name split" in err
    assert len(list(csv.DictReader((tmp_path / "split" / "history.csv").open()))) == 3
    assert _train(tmp_path, "--resume", "--name", "split") == 0
    assert _train(tmp_path, *options, "--name", "whole") == 0
    split, whole = tmp_path / "split", tmp_path / "whole"
    rows = list(csv.DictReader((split / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    a, b = _params(split), _params(whole)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert json.loads((split / "recipe.json").read_text())["epochs"] == 6
    assert float(rows[-1]["val_acc"]) > 0.9          # the CS231n spiral: a 2-layer net fits it
    assert (whole / "curves.png").read_bytes().startswith(PNG)
    assert (whole / "graph.svg").read_text().rstrip().endswith("</svg>")


def test_resume_refuses_a_changed_recipe_and_keeps_the_checkpoint(tmp_path, capsys):
    assert _train(tmp_path, "--model", "mlp", "--data", "spiral", "--epochs", "1",
                  "--name", "r", "--no-graph") == 0
    before = (tmp_path / "r" / "checkpoint.npz").read_bytes()
    assert _train(tmp_path, "--resume", "--name", "r", "--lr", "0.5") == 2
    assert "lr=0.5" in _one_line_error(capsys)
    assert _train(tmp_path, "--resume", "--name", "r", "--epochs", "3") == 2
    assert "epochs=3" in _one_line_error(capsys)
    assert (tmp_path / "r" / "checkpoint.npz").read_bytes() == before
    assert _train(tmp_path, "--model", "mlp", "--data", "spiral", "--name", "r") == 2
    assert "--resume" in _one_line_error(capsys)


@pytest.mark.parametrize("schedule, hint", [("onecycle", "new run"), ("none", "--epochs N")])
def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path, capsys, schedule, hint):
    assert _train(tmp_path, "--model", "mlp", "--data", "spiral", "--epochs", "2", "--name",
                  "done", "--no-graph", "--lr-schedule", schedule) == 0
    run = tmp_path / "done"
    before = {f.name: f.read_bytes() for f in run.iterdir()}
    last = list(csv.DictReader((run / "history.csv").open()))[-1]
    capsys.readouterr()
    assert _train(tmp_path, "--resume", "--name", "done") == 0
    out = capsys.readouterr().out
    assert "run done has already finished: 2 epochs trained, nothing to resume" in out
    assert f"epoch 2/2  train loss {float(last['train_loss']):.4f}" in out
    assert f"val loss {float(last['val_loss']):.4f} acc {float(last['val_acc']):.4f}" in out
    assert f"results in {run}/: checkpoint.npz, curves.png, history.csv" in out and hint in out
    assert {f.name: f.read_bytes() for f in run.iterdir()} == before   # nothing rewritten


def test_train_a_character_lstm_on_a_text_file(tmp_path, capsys):
    text = tmp_path / "abc.txt"
    text.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    assert _train(tmp_path, "--model", "char_lstm", "--data", "text", "--text-file", str(text),
                  "--seq-len", "16", "--epochs", "2", "--batch-size", "16", "--name", "lm",
                  "--no-graph") == 0
    rows = list(csv.DictReader((tmp_path / "lm" / "history.csv").open()))
    # a repeating 24-character phrase: far below the unigram entropy (~2.2 nats) quickly
    assert float(rows[-1]["val_loss"]) < 1.0 and float(rows[-1]["val_acc"]) > 0.6
    # a sample per epoch, after a letter of the text ("def " is not in it), seeded
    blocks = (tmp_path / "lm" / "samples.txt").read_text(encoding="utf-8").split("== epoch ")
    assert [b.split(" ", 1)[0] for b in blocks[1:]] == ["1", "2"]
    head, last = blocks[2].split("\n", 1)
    assert head == "2 (prefix 'a', temperature 0.8, seed 0)" and len(last) == 1 + 200 + 2
    assert f"sample: {last[:-2]}" in capsys.readouterr().out
    # the run's model, loaded back, knows its characters: no corpus= needed
    model = load_model(tmp_path / "lm")
    assert "a" + model.sample("a", 200, temperature=0.8, seed=0) == last[:-2]
    assert set(model.sample("the ", 50)) <= set(text.read_text())


# -- the other commands -----------------------------------------------------------------------
def test_sanity_passes_for_a_softmax_classifier(capsys):
    assert main(["sanity", "--model", "softmax", "--data", "digits"]) == 0
    out = capsys.readouterr().out
    assert "initial loss" in out.lower() and "overfit" in out.lower()
    assert "2.30" in out                      # ln 10


def test_lr_find_writes_a_plot_and_suggests_a_rate(tmp_path, capsys):
    out_png = tmp_path / "lr.png"
    assert main(["lr-find", "--model", "mlp", "--data", "spiral", "--iters", "60",
                 "-o", str(out_png)]) == 0
    line = capsys.readouterr().out
    suggestion = float(line.split("suggested lr:")[1].split()[0])
    assert 1e-5 < suggestion < 10
    assert out_png.read_bytes().startswith(PNG)


def test_search_writes_tables_and_plots(tmp_path, capsys):
    assert main(["search", "--model", "softmax", "--data", "digits", "--trials", "3",
                 "--fine-trials", "2", "--workers", "0", "-o", str(tmp_path)]) == 0
    for stage in ("coarse", "fine"):
        rows = list(csv.DictReader((tmp_path / stage / "search.csv").open()))
        assert len(rows) == (3 if stage == "coarse" else 2)
        assert all(1e-4 <= float(r["lr"]) <= 1.0 for r in rows)
        assert (tmp_path / stage / "search.png").read_bytes().startswith(PNG)


def test_search_checks_its_ranges(capsys):
    assert main(["search", "--lr-range", "1", "0.1", "--workers", "0"]) == 2
    assert "--lr-range" in _one_line_error(capsys)


def test_graph_draws_a_zoo_model(tmp_path, capsys):
    assert main(["graph", "--list"]) == 0
    assert "resnet20" in capsys.readouterr().out
    out = tmp_path / "r20.svg"
    assert main(["graph", "resnet20", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.rstrip().endswith("</svg>") and "layer1" in svg


def test_gradcheck_fuzzes_an_op_and_a_model(capsys):
    assert main(["gradcheck", "tanh", "--examples", "5"]) == 0
    assert main(["gradcheck", "mlp", "--examples", "2"]) == 0
    out = capsys.readouterr().out
    assert "tanh: 5 examples passed" in out and "mlp: 2 examples passed" in out
    assert main(["gradcheck", "no-such-op"]) == 2
    assert "no-such-op" in _one_line_error(capsys)
