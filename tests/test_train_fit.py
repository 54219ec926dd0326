"""``tinygrad_cs.train.fit``: the loop against a hand-written loop, exact resume, the NaN/Inf
stop, schedulers, history files and curves.

The loaders here are a small stand-in that follows the ``DataLoader`` contract (epoch k's
order from ``default_rng([seed, k])``, ``state_dict() -> {"epoch", "seed"}``), so these tests
do not depend on ``tinygrad_cs.data``; one test also runs the real ``DataLoader``.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.train import History, TrainingDiverged, evaluate, fit, plot_curves
from tinygrad_cs.train.history import COLUMNS


class Loader:
    """Shuffled mini-batches of (x, y) numpy arrays as Tensors; resumable like DataLoader."""

    def __init__(self, x, y, batch_size=16, shuffle=True, seed=0):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.seed, self.epoch = seed, 0

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        n = len(self.x)
        order = (np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            yield tg.tensor(self.x[idx]), tg.tensor(self.y[idx])

    def state_dict(self):
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state):
        self.epoch, self.seed = state["epoch"], state["seed"]


def blobs(n=96, d=4, c=3, seed=0):
    """Gaussian blobs: x (n, d) float32, y (n,) int64."""
    centers = np.random.default_rng(100).normal(0, 3, (c, d))  # the same for every seed
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    x = (centers[y] + rng.normal(0, 1, (n, d))).astype(np.float32)
    return x, y.astype(np.int64)


class Net(nn.Module):
    def __init__(self, d=4, c=3, p=0.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Dropout(p))
        self.head = nn.Linear(16, c)

    def forward(self, x):
        return self.head(self.body(x))


def params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def file_hash(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the loop itself ---------------------------------------------------------------------------
@pytest.mark.parametrize("grad_clip", [None, 0.5])
def test_fit_equals_hand_written_loop(grad_clip):
    """Oracle: the textbook loop (CS231n / PyTorch tutorial) with the same seed and batches."""
    x, y = blobs()
    xv, yv = blobs(48, seed=1)

    def setup():
        tg.manual_seed(0)
        model = Net()
        return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    model, opt = setup()
    history = fit(model, Loader(x, y), Loader(xv, yv, shuffle=False),
                  loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=3, progress=False,
                  grad_clip=grad_clip)

    ref, ref_opt = setup()
    loss_fn, loader, losses, accs = nn.CrossEntropyLoss(), Loader(x, y), [], []
    for _ in range(3):
        total = hits = 0
        for xb, yb in loader:
            ref_opt.zero_grad()
            out = ref(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(ref.parameters(), grad_clip)
            ref_opt.step()
            total += loss.item() * len(yb)
            hits += int((out.numpy().argmax(1) == yb.numpy()).sum())
        losses.append(total / len(x))
        accs.append(hits / len(x))
    for k, v in params(ref).items():
        np.testing.assert_array_equal(params(model)[k], v, err_msg=k)
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-12)
    assert history["train_acc"] == accs
    val_pred = ref(tg.tensor(xv)).numpy().argmax(1)
    assert history.last["val_acc"] == pytest.approx(float((val_pred == yv).mean()))
    assert history["epoch"] == [1, 2, 3] and history["lr"] == [0.05] * 3
    assert all(r["seconds"] > 0 and r["images_per_s"] > 0 for r in history)


def test_evaluate_sequence_outputs_against_numpy():
    """(N, T, V) outputs with (N, T) targets: loss over all N*T positions, argmax accuracy."""
    tg.manual_seed(0)
    V, N, T = 7, 6, 5
    model = nn.Sequential(nn.Embedding(V, 8), nn.Linear(8, V))
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    loss, acc = evaluate(model, [(tg.tensor(x), tg.tensor(y))], nn.CrossEntropyLoss())
    logits = model(tg.tensor(x)).numpy().reshape(-1, V).astype(np.float64)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert loss == pytest.approx(-logp[np.arange(N * T), y.ravel()].mean(), rel=1e-5)
    assert acc == pytest.approx(float((logits.argmax(1) == y.ravel()).mean()))
    assert model.training  # evaluate restores the mode


def test_regression_targets_have_no_accuracy():
    tg.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    model = nn.Linear(3, 1)
    h = fit(model, Loader(x, y, 8), Loader(x, y, 32), loss_fn=nn.MSELoss(),
            optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=30, progress=False)
    assert h.last["train_acc"] is None and h.last["val_acc"] is None
    np.testing.assert_allclose(model.weight.numpy(), [[1.0, -2.0, 0.5]], atol=1e-3)


# -- checkpoints and exact resume --------------------------------------------------------------
def _resumable_run(run_dir, epochs, resume=False):
    """Dropout (RNG), a shuffled loader, Adam state and a StepLR schedule: all must resume."""
    x, y = blobs()
    xv, yv = blobs(48, seed=1)
    tg.manual_seed(0)
    model = Net(p=0.3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    if resume:  # a new process would start from a different RNG state: show it does not matter
        tg.manual_seed(12345)
    history = fit(model, Loader(x, y, seed=7), Loader(xv, yv, shuffle=False),
                  loss_fn=nn.CrossEntropyLoss(), optimizer=opt, scheduler=sched, epochs=epochs,
                  run_dir=run_dir, resume=resume, progress=False)
    return model, history


def test_resume_is_bit_for_bit(tmp_path):
    full_model, full = _resumable_run(tmp_path / "full", 5)
    _resumable_run(tmp_path / "split", 3)
    model, resumed = _resumable_run(tmp_path / "split", 5, resume=True)
    for k, v in params(full_model).items():
        np.testing.assert_array_equal(params(model)[k], v, err_msg=k)
    for column in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert resumed[column] == full[column], column
    assert resumed["lr"] == [0.01, 0.01, 0.005, 0.005, 0.0025]  # StepLR(2, 0.5), closed form
    ckpt = tg.load(tmp_path / "split" / "checkpoint.npz")
    assert ckpt["epoch"] == 5 and ckpt["global_step"] == 5 * 6
    saved = json.loads((tmp_path / "split" / "history.json").read_text())
    assert [r["epoch"] for r in saved["rows"]] == [1, 2, 3, 4, 5]
    csv_lines = (tmp_path / "split" / "history.csv").read_text().splitlines()
    assert csv_lines[0] == ",".join(COLUMNS) and len(csv_lines) == 6
    assert (tmp_path / "split" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_into_another_architecture_names_the_key_and_keeps_the_file(tmp_path):
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, run_dir=tmp_path,
        progress=False)
    before = file_hash(tmp_path / "checkpoint.npz")
    other = Net(c=5)  # head.weight (5, 16) instead of (3, 16)
    with pytest.raises(RuntimeError, match=r"head\.weight.*\(3, 16\).*\(5, 16\)"):
        fit(other, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
            optimizer=optim.SGD(other.parameters(), lr=0.1), epochs=3, run_dir=tmp_path,
            resume=True, progress=False)
    assert file_hash(tmp_path / "checkpoint.npz") == before


def test_resume_from_a_checkpoint_path_continues_in_its_folder(tmp_path):
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1,
        run_dir=tmp_path, progress=False)
    h = fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=2,
            resume=tmp_path / "checkpoint.npz", progress=False)
    assert h["epoch"] == [1, 2]
    assert tg.load(tmp_path / "checkpoint.npz")["epoch"] == 2


def test_resume_without_checkpoint_names_the_path(tmp_path):
    model = Net()
    with pytest.raises(FileNotFoundError, match="checkpoint.npz"):
        fit(model, [], loss_fn=nn.CrossEntropyLoss(),
            optimizer=optim.SGD(model.parameters(), lr=0.1), run_dir=tmp_path, resume=True)


# -- NaN / Inf ---------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_inf_output_names_the_first_module():
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    with tg.no_grad():
        model.head.weight.fill_(1e38)  # finite weights, but the products overflow float32
    with pytest.raises(TrainingDiverged) as info:
        fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
            optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.epoch, err.batch, err.global_step, err.module) == (1, 1, 0, "head")
    assert "epoch 1, batch 1/6 (global step 0)" in str(err)
    assert "head (Linear, output shape (16, 3))" in str(err)
    assert "non-finite parameters" not in str(err)


@pytest.mark.filterwarnings("ignore:invalid:RuntimeWarning")
def test_nan_parameter_is_named():
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    model.body[0].bias.numpy()[3] = np.nan
    with pytest.raises(TrainingDiverged, match=r"body\.0 \(Linear.*body\.0\.bias") as info:
        fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
            optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)
    assert info.value.module == "body.0"


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_huge_lr_diverges_and_keeps_the_last_good_checkpoint(tmp_path):
    """Epoch 1 at lr 0.1, then MultiStepLR multiplies it by 1e7: the loss overflows in epoch 2."""
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.MultiStepLR(opt, milestones=[1], gamma=1e7)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch \d+/6") as info:
        fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(), optimizer=opt, scheduler=sched,
            epochs=5, run_dir=tmp_path, progress=False)
    assert info.value.epoch == 2 and info.value.global_step >= 6
    ckpt = tg.load(tmp_path / "checkpoint.npz")
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    assert all(np.isfinite(v.numpy()).all() for v in ckpt["model"].values())
    # the checkpoint is usable: a fresh model loads it and has a finite loss
    fresh = Net()
    fresh.load_state_dict(ckpt["model"])
    assert math.isfinite(nn.CrossEntropyLoss()(fresh(tg.tensor(x)), y).item())
    assert len(History.from_json(tmp_path / "history.json")) == 1
    assert (tmp_path / "curves.png").exists()


# -- schedulers, callbacks, curves -------------------------------------------------------------
def test_reduce_on_plateau_is_stepped_with_the_validation_loss():
    x, y = blobs()
    xv, yv = blobs(48, seed=1)
    yv = (yv + 1) % 3  # wrong labels: the validation loss rises while the training loss falls
    tg.manual_seed(0)
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.5)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    h = fit(model, Loader(x, y), Loader(xv, yv), loss_fn=nn.CrossEntropyLoss(), optimizer=opt,
            scheduler=sched, epochs=5, progress=False)

    def replay(column):
        """The lr sequence a fresh scheduler gives when fed the recorded ``column``."""
        ref_opt = optim.SGD(Net().parameters(), lr=0.5)
        ref = optim.lr_scheduler.ReduceLROnPlateau(ref_opt, factor=0.5, patience=0)
        lrs = []
        for row in h:
            lrs.append(ref_opt.param_groups[0]["lr"])
            ref.step(row[column])
        return lrs

    assert h["lr"] == replay("val_loss") == [0.5, 0.5, 0.25, 0.125, 0.0625]
    assert replay("train_loss") != h["lr"]


def test_one_cycle_steps_per_batch():
    x, y = blobs()
    tg.manual_seed(0)
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = Loader(x, y)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=3, steps_per_epoch=len(loader))
    h = fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, scheduler=sched,
            epochs=3, progress=False, scheduler_interval="batch")
    assert sched.last_epoch == 3 * len(loader)
    # the lr recorded for the last epoch is the lr of its last step: final_div_factor's floor
    assert h.last["lr"] == pytest.approx(0.1 / 25 / 1e4, rel=1e-2)


def test_callback_can_stop_training():
    x, y = blobs()
    model = Net()
    seen = []

    def stop_at_two(row):
        seen.append(row["epoch"])
        return row["epoch"] == 2

    h = fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
            optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=10, progress=False,
            callbacks=[stop_at_two])
    assert seen == [1, 2] and len(h) == 2


def test_progress_prints_one_summary_line_per_epoch(capsys):
    x, y = blobs()
    model = Net()
    fit(model, Loader(x, y), Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  train loss ")


def test_progress_bar_shows_loss_acc_lr_and_speed_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("tinygrad_cs.train.progress._interactive", lambda: True)
    x, y = blobs()
    model = Net()
    fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=True)
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("epoch 1/1: 100%") and "6/6" in final
    for key in ("loss=", "acc=", "lr=0.1", "img/s="):
        assert key in final, final


def test_missing_matplotlib_warns_once_and_skips_the_png(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(sys.modules["tinygrad_cs.train.fit"], "_matplotlib_warned", [False])
    with pytest.raises(ImportError, match=r"pip install -e '\.\[plot\]'"):
        plot_curves([], tmp_path / "c.png")
    x, y = blobs()
    model = Net()
    for run in ("a", "b"):
        with pytest.warns(RuntimeWarning, match="curves.png not written") if run == "a" \
                else _no_warning():
            fit(model, Loader(x, y), loss_fn=nn.CrossEntropyLoss(),
                    optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
                    run_dir=tmp_path / run, progress=False)
        assert (tmp_path / run / "history.csv").exists()
        assert not (tmp_path / run / "curves.png").exists()


class _no_warning:
    def __enter__(self):
        import warnings
        self.catcher = warnings.catch_warnings(record=True)
        self.records = self.catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self.catcher.__exit__(*exc)
        assert not [w for w in self.records if "curves.png" in str(w.message)]


# -- with the real DataLoader ------------------------------------------------------------------
def test_resume_with_the_real_dataloader(tmp_path):
    loader_mod = pytest.importorskip("tinygrad_cs.data.loader")
    dataset_mod = pytest.importorskip("tinygrad_cs.data.dataset")
    x, y = blobs()

    def run(run_dir, epochs, resume=False):
        tg.manual_seed(0)
        model = Net(p=0.2)
        loader = loader_mod.DataLoader(dataset_mod.TensorDataset(x, y), batch_size=16,
                                       shuffle=True)  # seed None: drawn from tg's generator
        opt = optim.Adam(model.parameters(), lr=0.01)
        h = fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                run_dir=run_dir, resume=resume, progress=False)
        return model, h

    full_model, full = run(tmp_path / "full", 4)
    run(tmp_path / "split", 2)
    model, resumed = run(tmp_path / "split", 4, resume=True)
    assert resumed["train_loss"] == full["train_loss"]
    for k, v in params(full_model).items():
        np.testing.assert_array_equal(params(model)[k], v, err_msg=k)
