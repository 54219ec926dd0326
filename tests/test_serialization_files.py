"""Where tg.save writes: file objects, symlinks written through, failed saves that change
nothing, and the temp files of killed writers cleaned up (never a live writer's)."""
from __future__ import annotations

import io
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import serialization

fcntl = pytest.importorskip("fcntl")
TEMP = re.compile(r"\..+\.tgcs-[0-9]+-[0-9a-f]{12}\.tmp")


def temps(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if TEMP.fullmatch(n))


def state() -> dict:
    return {"w": tg.tensor(np.arange(6.0).reshape(2, 3)), "epoch": 3}


def check_state(obj: dict) -> None:
    assert obj["epoch"] == 3 and np.array_equal(obj["w"].numpy(), np.arange(6.0).reshape(2, 3))


# -- file objects ------------------------------------------------------------------------------
def test_bytesio_round_trip_at_the_current_position():
    buf = io.BytesIO()
    buf.write(b"header before the checkpoint")
    tg.save(state(), buf)
    end = buf.tell()
    assert end == len(buf.getvalue())  # left after what was written, as torch.save does
    buf.seek(len(b"header before the checkpoint"))
    check_state(tg.load(buf))


def test_open_binary_files_round_trip(tmp_path):
    with open(tmp_path / "ckpt.npz", "wb") as f:
        tg.save(state(), f)
    with open(tmp_path / "ckpt.npz", "rb") as f:
        check_state(tg.load(f))
    check_state(tg.load(tmp_path / "ckpt.npz"))  # and it is the same format as a path save


class Pipe(io.RawIOBase):
    """A readable stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self.data.readinto(b)


def test_load_from_an_unseekable_stream():
    buf = io.BytesIO()
    tg.save(state(), buf)
    stream = io.BufferedReader(Pipe(buf.getvalue()))
    assert not stream.seekable()
    check_state(tg.load(stream))


def test_file_objects_name_the_file_in_errors_and_text_mode_is_refused(tmp_path):
    with pytest.raises(tg.serialization.CheckpointError, match="<BytesIO>.*empty"):
        tg.load(io.BytesIO())
    (tmp_path / "junk.bin").write_bytes(b"not a checkpoint")
    with (open(tmp_path / "junk.bin", "rb") as f,
          pytest.raises(tg.serialization.CheckpointError, match="junk.bin.*zip")):
        tg.load(f)
    with (open(tmp_path / "t.txt", "w") as f,
          pytest.raises(TypeError, match=r"t\.txt is open in text mode.*'wb'")):
        tg.save(state(), f)
    with pytest.raises(TypeError, match="text mode"):
        tg.load(io.StringIO("PK"))


def test_a_refused_save_leaves_a_file_object_untouched():
    buf = io.BytesIO(b"existing")
    buf.seek(3)
    with pytest.raises(TypeError, match="type set"):
        tg.save({"w": {1, 2}}, buf)
    assert buf.getvalue() == b"existing" and buf.tell() == 3


def test_torch_accepts_the_same_file_object_calls():
    torch = pytest.importorskip("torch")
    for lib, value in ((torch, torch.arange(3.0)), (tg, tg.arange(3.0))):
        buf = io.BytesIO()
        lib.save({"w": value}, buf)
        buf.seek(0)
        assert lib.load(buf)["w"].tolist() == [0.0, 1.0, 2.0]


# -- symlinks ------------------------------------------------------------------------------------
def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ckpt.npz"
    tg.save({"epoch": 0}, target)
    target.chmod(0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.join("real", "ckpt.npz"))  # relative, as `ln -s` usually makes
    tg.save(state(), link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "ckpt.npz")
    check_state(tg.load(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # as open(path, "wb") keeps it
    assert temps(tmp_path) == [] and temps(tmp_path / "real") == []


def test_save_through_a_dangling_symlink_creates_the_target(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "new.npz")
    tg.save(state(), link)
    assert link.is_symlink()
    check_state(tg.load(tmp_path / "new.npz"))


# -- a failing save changes nothing ----------------------------------------------------------
def test_a_save_failing_mid_write_leaves_the_old_checkpoint_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.npz"
    tg.save(state(), target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    before = target.read_bytes()

    def disk_full(file, **members):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", disk_full)
    for dest in (target, link):
        with pytest.raises(OSError, match="No space left"):
            tg.save({"epoch": 4}, dest)
        assert target.read_bytes() == before and link.is_symlink()
        assert sorted(os.listdir(tmp_path)) == ["ckpt.npz", "link.npz"]


def test_saving_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"save: cannot write .*nope.*no directory"):
        tg.save(state(), tmp_path / "nope" / "ckpt.npz")


# -- stale temp files ------------------------------------------------------------------------
def fake_temp(folder, name="ckpt.npz", pid=None) -> str:
    path = os.path.join(folder, f".{name}.tgcs-{pid or os.getpid()}-0123456789ab.tmp")
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04 half of a killed save")
    return path


def test_unlocked_temp_files_are_removed_whatever_their_pid(tmp_path):
    # pid of this (live) process: a reused pid does not keep a dead writer's file alive
    stale = [fake_temp(tmp_path), fake_temp(tmp_path, "other.npz", pid=1)]
    (tmp_path / ".ckpt.npz.1234abcd.tmp").write_bytes(b"not our pattern")
    tg.save(state(), tmp_path / "ckpt.npz")
    assert not any(os.path.exists(p) for p in stale)
    assert sorted(os.listdir(tmp_path)) == [".ckpt.npz.1234abcd.tmp", "ckpt.npz"]


def test_locked_temp_files_are_left_alone(tmp_path):
    held = fake_temp(tmp_path)
    with open(held, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # a writer that is still writing
        tg.save(state(), tmp_path / "ckpt.npz")
        assert os.path.exists(held)
    tg.save(state(), tmp_path / "ckpt.npz")  # once its lock is gone, it is debris
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_a_writer_whose_new_temp_is_removed_before_it_locks_it_starts_again(tmp_path,
                                                                             monkeypatch):
    removed = []
    flock = fcntl.flock

    def cleaner_wins_the_race(fd, op):
        if op == fcntl.LOCK_EX and not removed:  # another save's clean-up got there first
            removed.append(os.readlink(f"/proc/self/fd/{fd}"))
            os.unlink(removed[0])
        return flock(fd, op)
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to name an open file")
    monkeypatch.setattr(serialization.fcntl, "flock", cleaner_wins_the_race)
    tg.save(state(), tmp_path / "ckpt.npz")
    assert len(removed) == 1 and TEMP.fullmatch(os.path.basename(removed[0]))
    check_state(tg.load(tmp_path / "ckpt.npz"))
    assert os.listdir(tmp_path) == ["ckpt.npz"]


# The writer pauses at a fixed point: its temp file is written and flushed, not yet fsync'ed
# nor renamed. It says "writing", then waits for a line on stdin (or for SIGKILL).
WRITER = textwrap.dedent("""
    import os, sys
    import numpy as np
    import tinygrad_cs as tg

    fsync, paused = os.fsync, []
    def pause(fd):
        if not paused:
            paused.append(fd)
            print("writing", flush=True)
            sys.stdin.readline()
        fsync(fd)
    os.fsync = pause
    tg.save({"w": np.full(1_000_000, float(sys.argv[2])), "epoch": int(sys.argv[2])},
            sys.argv[1])
    print("saved", flush=True)
""")


def start_writer(path, epoch: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(epoch)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n"
    return proc


def test_a_killed_save_leaves_the_old_checkpoint_and_debris_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save({"epoch": 0}, path)
    live = start_writer(tmp_path / "other.npz", 2)  # a concurrent writer, mid-write
    try:
        [live_temp] = temps(tmp_path)
        killed = start_writer(path, 1)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=30) == -signal.SIGKILL
        [debris] = [n for n in temps(tmp_path) if n != live_temp]
        assert f"-{killed.pid}-" in debris
        assert (tmp_path / debris).stat().st_size > 8_000_000  # the whole 8 MB array
        assert tg.load(path) == {"epoch": 0}  # the old checkpoint is intact

        tg.save({"epoch": 3}, path)
        assert tg.load(path) == {"epoch": 3}
        assert temps(tmp_path) == [live_temp]  # the debris is gone, the live file is not
        live.stdin.write("\n")
        live.stdin.flush()
        assert live.stdout.readline() == "saved\n" and live.wait(timeout=30) == 0
    finally:
        live.kill()
        live.wait()
    other = tg.load(tmp_path / "other.npz")
    assert other["epoch"] == 2 and np.array_equal(other["w"], np.full(1_000_000, 2.0))
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz", "other.npz"]
