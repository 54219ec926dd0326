"""tg.save / tg.load: exact round trips, atomic writes, and refusal of unsafe or broken files."""
from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.serialization import CheckpointError


def nested_checkpoint() -> dict:
    return {
        "model": {"fc.weight": tg.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)),
                  "fc.bias": tg.tensor([0.5, -0.5], dtype=tg.float64),
                  "bn.num_batches_tracked": tg.tensor(12)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.full((2, 3), 0.25)},
                                1: {"step": 3, "momentum_buffer": None}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "name": "körper"}]},
        "scheduler": {"last_epoch": 7, "milestones": [80, 120, 150], "gamma": 0.1},
        "rng": {"state": {"state": 2**127 + 12345, "inc": 2**100 + 1}},
        "epoch": 7,
        "metrics": [1.5, float("nan"), float("inf"), -float("inf"), -0.0],
        "flags": (True, False, None),
        "numpy": {"f32": np.float32(1.25), "i64": np.int64(-3), "bool": np.bool_(True),
                  "zero_d": np.array(2.5), "u8": np.arange(4, dtype=np.uint8),
                  "mask": np.array([True, False]), "empty": np.zeros((0, 3))},
        "keys": {1.5: "float key", None: "none key", True: "bool key", "1": "str one"},
        "empty": {"dict": {}, "list": [], "tuple": ()},
    }


def assert_same(a, b, where="obj"):
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, tg.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad, where
        assert np.array_equal(a.numpy(), b.numpy()), where
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.array_equal(a, b), where
    elif isinstance(a, float):
        assert repr(a) == repr(b), where  # exact, and nan == nan, -0.0 kept
    else:
        assert a == b, where


def test_nested_structures_round_trip_exactly(tmp_path):
    obj = nested_checkpoint()
    path = tmp_path / "ckpt.npz"
    tg.save(obj, path)
    assert_same(obj, tg.load(path))
    assert_same(obj, tg.load(str(path)))


def test_tensors_keep_dtype_and_requires_grad_and_come_back_as_tensors(tmp_path):
    p = nn.Parameter(tg.randn(3, dtype=tg.float64))
    tg.save([p, p.detach(), p.numpy()], tmp_path / "t")
    a, b, c = tg.load(tmp_path / "t")
    assert type(a) is tg.Tensor and a.requires_grad and a.is_leaf and a.dtype == np.float64
    assert type(b) is tg.Tensor and not b.requires_grad
    assert type(c) is np.ndarray and np.array_equal(c, p.numpy())


def test_path_is_used_as_given_and_the_file_is_a_plain_npz(tmp_path):
    path = tmp_path / "model.ckpt"
    tg.save({"w": np.ones(2)}, path)
    assert os.listdir(tmp_path) == ["model.ckpt"]  # no ".npz" appended, no temp file left
    with np.load(path, allow_pickle=False) as archive:
        index = json.loads(archive["__index__"].tobytes())
        assert index["format"] == "tinygrad_cs-checkpoint" and index["version"] == 1
        assert np.array_equal(archive[index["root"]["dict"][0][1]["array"]], np.ones(2))


def test_rng_state_round_trip_resumes_the_same_stream(tmp_path):
    tg.manual_seed(2024)
    tg.randn(10)
    tg.save({"rng": tg.get_rng_state()}, tmp_path / "rng")
    expected = tg.randn(5).numpy().copy()
    tg.manual_seed(0)
    tg.set_rng_state(tg.load(tmp_path / "rng")["rng"])
    assert np.array_equal(tg.randn(5).numpy(), expected)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Module()
        self.fc.weight = nn.Parameter(tg.randn(3, 2))
        self.register_buffer("count", tg.tensor(0))


def test_state_dict_saved_and_loaded_into_a_fresh_module(tmp_path):
    src = Tiny()
    with tg.no_grad():
        src.count.fill_(9)
    tg.save({"model": src.state_dict(), "epoch": 4}, tmp_path / "m.npz")
    ckpt = tg.load(tmp_path / "m.npz")
    dst = Tiny()
    dst.load_state_dict(ckpt["model"])
    assert np.array_equal(dst.fc.weight.numpy(), src.fc.weight.numpy())
    assert dst.count.item() == 9 and ckpt["epoch"] == 4


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"version": "old", "w": np.zeros(3)}, path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash before the rename")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        tg.save({"version": "new", "w": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    monkeypatch.undo()
    assert tg.load(path)["version"] == "old"


def test_unsupported_objects_are_refused_with_their_location(tmp_path):
    with pytest.raises(TypeError, match=r"type set at obj\['opt'\]\[1\]"):
        tg.save({"opt": [1, {2, 3}]}, tmp_path / "x")
    with pytest.raises(TypeError, match="dtype object"):
        tg.save([np.array([{}, 1], dtype=object)], tmp_path / "x")
    with pytest.raises(TypeError, match="dict key"):
        tg.save({(1, 2): 3}, tmp_path / "x")
    with pytest.raises(TypeError, match="file path"):
        tg.save({}, 3)
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"whole Linear at obj: .*save its state_dict\(\)"):
        tg.save(model, tmp_path / "x")
    with pytest.raises(TypeError, match=r"whole SGD at obj\['optim'\]"):
        tg.save({"optim": tg.optim.SGD(model.parameters(), lr=0.1)}, tmp_path / "x")
    assert os.listdir(tmp_path) == []


# -- files that must be refused --------------------------------------------------------------
class Evil:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": Evil(str(marker))}))
    with pytest.raises(CheckpointError, match="evil.pt.*pickle"):
        tg.load(path)
    assert not marker.exists()


def test_an_npz_with_pickled_object_arrays_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    index = json.dumps({"format": "tinygrad_cs-checkpoint", "version": 1,
                        "root": {"array": "a0"}}).encode()
    np.savez(path, a0=np.array([Evil(str(marker))], dtype=object),
             __index__=np.frombuffer(index, dtype=np.uint8))
    with pytest.raises(CheckpointError, match="evil.npz.*pickled object arrays"):
        tg.load(path)
    assert not marker.exists()


def test_a_torch_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2), "evil": Evil(str(marker))}, path)
    with pytest.raises(CheckpointError, match="model.pt is refused: it refers to the global "
                                              "io.open, which the restricted reader"):
        tg.load(path)
    assert not marker.exists()


def test_truncated_files_are_reported(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save(nested_checkpoint(), path)
    data = path.read_bytes()
    for size in (0, 3, 10, 200, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match="ckpt.npz"):
            tg.load(path)
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        tg.load(path)


def test_random_bytes_and_foreign_files_are_reported(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.bin"
    path.write_bytes(rng.bytes(4096))
    with pytest.raises(CheckpointError, match="noise.bin.*zip"):
        tg.load(path)
    path.write_bytes(b"PK\x03\x04" + rng.bytes(4096))  # a zip header, then garbage
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        tg.load(path)
    npy = tmp_path / "single.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        tg.load(npy)
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.npz")


def test_a_plain_npz_without_index_is_reported(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.ones(3))
    with pytest.raises(CheckpointError, match=r"plain.npz.*without a tinygrad_cs index.*weight"):
        tg.load(path)


def _write_with_index(path, index, **arrays):
    raw = json.dumps(index).encode()
    np.savez(path, __index__=np.frombuffer(raw, dtype=np.uint8), **arrays)


def test_bad_indexes_are_reported(tmp_path):
    path = tmp_path / "bad.npz"
    _write_with_index(path, {"format": "other", "version": 1, "root": 1})
    with pytest.raises(CheckpointError, match="different format"):
        tg.load(path)
    _write_with_index(path, {"format": "tinygrad_cs-checkpoint", "version": 99, "root": 1})
    with pytest.raises(CheckpointError, match="version 99"):
        tg.load(path)
    _write_with_index(path, {"format": "tinygrad_cs-checkpoint", "version": 1,
                             "root": {"tensor": "a7"}})
    with pytest.raises(CheckpointError, match="missing array 'a7'"):
        tg.load(path)
    _write_with_index(path, {"format": "tinygrad_cs-checkpoint", "version": 1,
                             "root": {"module": "os"}})
    with pytest.raises(CheckpointError, match="unknown index entry"):
        tg.load(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__index__.npy", b"\x93NUMPY garbage")
    with pytest.raises(CheckpointError, match="bad.npz"):
        tg.load(path)


# -- resuming a training run ---------------------------------------------------------------------
class Regressor(nn.Module):
    """A 2-layer net with a random (dropout-like) mask each step, so the RNG matters."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(tg.randn(4, 8) * 0.5)
        self.w2 = nn.Parameter(tg.randn(8, 1) * 0.5)
        self.register_buffer("steps", tg.tensor(0))

    def forward(self, x):
        mask = (tg.rand(x.shape[0], 8) > 0.2) * 1.25  # drawn from the engine's generator
        with tg.no_grad():
            self.steps.add_(1)
        return ((x @ self.w1).tanh() * mask) @ self.w2


def _run(model, opt, sched, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        sched.step()


def test_resumed_training_is_bit_for_bit_the_uninterrupted_run(tmp_path):
    optim = pytest.importorskip("tinygrad_cs.optim")
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = tg.tensor(rng.standard_normal((16, 1)).astype(np.float32))

    def fresh(seed):
        tg.manual_seed(seed)
        model = Regressor()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        return model, opt, optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    full = fresh(0)
    _run(*full, x, y, 10)

    first = fresh(0)
    _run(*first, x, y, 4)
    model, opt, sched = first
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "rng": tg.get_rng_state(), "epoch": 4},
            tmp_path / "ckpt.npz")
    del first, model, opt, sched

    model, opt, sched = fresh(99)  # different weights and RNG until the checkpoint is loaded
    ckpt = tg.load(tmp_path / "ckpt.npz")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    tg.set_rng_state(ckpt["rng"])
    _run(model, opt, sched, x, y, 10 - ckpt["epoch"])

    for (name, a), (_, b) in zip(full[0].state_dict().items(), model.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()) and a.dtype == b.dtype, name
    assert model.steps.item() == 10
