"""A cold first run: the background compile (``kernels/_background.py``), the lock that keeps
two compiling processes from corrupting Numba's cache (``kernels/_cache_lock.py``), the
kernel list it works from (``kernels/_first_run.py``) and ``NUMBA_CACHE_DIR`` as the cache.

Each process-level case runs in a fresh interpreter on a private ``NUMBA_CACHE_DIR`` with a
one-kernel list (``sums.row_sum64``, compiled in a fraction of a second).
"""
from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from numba.core.caching import IndexDataCacheFile
from numba.core.registry import CPUDispatcher

from tinygrad_cs import kernels
from tinygrad_cs.cli.warmup import start_background_compile
from tinygrad_cs.kernels import _background, _cache_lock, _jit
from tinygrad_cs.kernels._first_run import KERNELS

ROW_SUM = ("tinygrad_cs.kernels.sums", "row_sum64", ("Array(float32, 1, 'C', False, aligned=True)",))
WRONG = ("tinygrad_cs.kernels.sums", "row_sum64", ("Array(float32, 2, 'C', False, aligned=True)",))


def _python(code: str, cache, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _gone(pid: int) -> bool:
    """True when process ``pid`` has ended (a zombie waiting for its reaper counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_numba_cache_dir_holds_the_kernels_and_the_warm_stamp(tmp_path):
    done = _python("""
        import json
        import numpy as np
        from tinygrad_cs import kernels
        from tinygrad_cs.kernels import _jit, sums
        sums.row_sum64(np.ones(3, np.float32))
        print(json.dumps([_jit.cache_dir(), kernels._stamp(), kernels.is_cold()]))
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    folder, stamp, cold = json.loads(done.stdout)
    assert folder == str(tmp_path) and os.path.dirname(stamp) == str(tmp_path) and cold
    assert any(p.name.startswith("sums.row_sum64") for p in tmp_path.rglob("*.nbi"))


@pytest.mark.parametrize("numba_type", ["int64", "float32", "bool", "uint8",
                                        "Array(float32, 3, 'C', False, aligned=True)",
                                        "Array(int64, 1, 'A', True, aligned=True)",
                                        "Array(float64, 2, 'F', False, aligned=False)"])
def test_parse_type_reads_back_numbas_repr(numba_type):
    assert repr(_background.parse_type(numba_type)) == numba_type


@pytest.mark.parametrize("text", ["UniTuple(int64, 2)", "array(float32, 3d, C)", "print"])
def test_parse_type_names_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="parse_type: cannot read the Numba type"):
        _background.parse_type(text)


def test_first_run_list_names_kernels_that_take_those_types():
    import importlib
    assert len(KERNELS) >= 10 and len(set(KERNELS)) == len(KERNELS)
    for module, name, arg_types in KERNELS:
        dispatcher = getattr(importlib.import_module(module), name)
        assert isinstance(dispatcher, CPUDispatcher), (module, name)
        assert len(inspect.signature(dispatcher.py_func).parameters) == len(arg_types), name
        for t in arg_types:
            _background.parse_type(t)


@pytest.mark.parametrize("setting", ["disabled", "warm", "unlocked", "other model"])
def test_no_background_compile_where_it_cannot_help(setting, monkeypatch):
    monkeypatch.setattr(kernels, "is_cold", lambda: setting != "warm")
    monkeypatch.setattr(_jit, "LOCKED", setting != "unlocked")
    if setting == "disabled":
        monkeypatch.setenv(_background.ENV, "0")
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
    model = "mlp" if setting == "other model" else None
    if model is None:
        assert _background.start([ROW_SUM]) is None
    else:
        assert start_background_compile(model) is None
    assert started == []


HELPER = """
    import json, sys, time
    from tinygrad_cs.kernels import _background
    kernels = json.loads(sys.argv[1])
    helper = _background.start([tuple(k[:2]) + (tuple(k[2]),) for k in kernels])
    if helper is None:
        print(json.dumps(None)); sys.exit()
    if sys.argv[2] == "orphan":       # exit at once, without stopping it
        print(json.dumps(helper.proc.pid), flush=True); import os; os._exit(0)
    if sys.argv[2] == "finish":
        helper.proc.wait(timeout=60)
    print(json.dumps([helper.proc.pid, helper.stop()]))
"""


def _helper(tmp_path, entries, how, **env) -> tuple[object, str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(HELPER), json.dumps(entries), how],
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), **env},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_a_cold_cache_gets_the_listed_kernels_compiled_for_the_next_process(tmp_path):
    (pid, code), err = _helper(tmp_path, [ROW_SUM], "finish")
    assert code == 0 and err == "" and _gone(pid)
    done = _python("""
        import json
        import numpy as np
        from tinygrad_cs.kernels import sums
        v = np.arange(1, 12, dtype=np.float32)
        stats = sums.row_sum64.stats
        print(json.dumps([float(sums.row_sum64(v)), sum(stats.cache_hits.values()),
                          sum(stats.cache_misses.values())]))
    """, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    total, hits, misses = json.loads(done.stdout)
    assert total == 66.0                   # 1 + 2 + ... + 11
    assert (hits, misses) == (1, 0), "the kernel was compiled again instead of loaded"


def test_disabled_or_warm_starts_nothing_in_a_real_process(tmp_path):
    assert _helper(tmp_path, [ROW_SUM], "finish", TINYGRAD_CS_BACKGROUND_COMPILE="0")[0] is None
    kernels_stamp = _python("from tinygrad_cs import kernels; kernels.mark_warm()",
                            tmp_path / "cache")
    assert kernels_stamp.returncode == 0, kernels_stamp.stderr
    assert _helper(tmp_path, [ROW_SUM], "finish")[0] is None


def test_a_failing_kernel_is_reported_and_the_rest_still_compiled(tmp_path):
    (pid, code), err = _helper(tmp_path, [ROW_SUM, WRONG], "finish")
    assert code == 1 and _gone(pid)
    assert "background compile of tinygrad_cs.kernels.sums.row_sum64(Array(float32, 2" in err
    assert "the background compile failed (exit code 1)" in err
    assert any(p.name.startswith("sums.row_sum64") for p in (tmp_path / "cache").rglob("*.nbi"))


def test_stop_ends_a_running_helper(tmp_path):
    (pid, code), err = _helper(tmp_path, [ROW_SUM] * 50 + list(KERNELS), "stop")
    assert code in (0, -signal.SIGTERM) and _gone(pid) and "failed" not in err
    assert not list((tmp_path / "cache").rglob("*.tmp.*")), "a save was cut in half"


def test_the_helper_does_not_outlive_a_run_that_dies(tmp_path):
    pid, _ = _helper(tmp_path, list(KERNELS), "orphan")
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def test_a_save_waits_for_the_cache_lock(tmp_path):
    assert _jit.LOCKED
    index = IndexDataCacheFile(str(tmp_path), "f-1.py", "stamp")
    with _cache_lock.locked(str(tmp_path)):
        saver = threading.Thread(target=index.save, args=("key", ("data", 1)))
        saver.start()
        saver.join(0.3)
        assert saver.is_alive() and not (tmp_path / "f-1.py.nbi").exists()
    saver.join(10)
    assert index.load("key") == ("data", 1)


WRITER = """
    import sys, time
    import tinygrad_cs.kernels  # installs the lock
    from numba.core.caching import IndexDataCacheFile
    index = IndexDataCacheFile(sys.argv[1], "f-1.py", "stamp")
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))   # both start together
    for i in range(200):
        index.save((sys.argv[2], i), (sys.argv[2], i))
"""


def test_two_processes_saving_one_function_keep_every_entry(tmp_path):
    # without the lock, runs of this lost a quarter to a half of the entries
    go = str(time.time() + 1.5)
    writers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(tmp_path),
                                 who, go]) for who in "ab"]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    index = IndexDataCacheFile(str(tmp_path), "f-1.py", "stamp")
    for who in "ab":
        for i in range(200):
            assert index.load((who, i)) == (who, i)
    assert len(list(tmp_path.glob("*.nbc"))) == 400   # one data file per entry


def test_first_run_list_is_what_the_main_jobs_first_step_compiles():
    """Every listed kernel is compiled, for exactly the listed types, by one training step and
    one held-out forward of the main job (rerun ``python -m tinygrad_cs.cli.first_run`` when
    this fails: a stale entry would make the helper compile code nobody uses)."""
    import importlib

    from tinygrad_cs.grad_mode import no_grad
    from tinygrad_cs.train.recipe import default_recipe, prepare
    from tinygrad_cs.train.steps import batch_loss

    run = prepare(default_recipe())
    x, y = next(iter(run.train_loader))[:2]
    loss = batch_loss(run.loss_fn, run.model(x), y)
    run.optimizer.zero_grad()
    loss.backward()
    run.optimizer.step()
    run.model.eval()
    with no_grad():
        run.model(next(iter(run.val_loader))[0])
    for module, name, arg_types in KERNELS:
        dispatcher = getattr(importlib.import_module(module), name)
        wanted = tuple(_background.parse_type(t) for t in arg_types)
        assert wanted in dispatcher.signatures, (name, wanted, dispatcher.signatures)


def test_first_run_writes_a_list_that_reads_back(tmp_path):
    import runpy

    from tinygrad_cs.cli.first_run import write
    write([ROW_SUM, WRONG], tmp_path / "listed.py")
    assert runpy.run_path(str(tmp_path / "listed.py"))["KERNELS"] == (ROW_SUM, WRONG)


def test_the_lock_is_not_installed_on_a_numba_it_does_not_know(monkeypatch):
    from numba.core import caching

    class Elsewhere:                       # a Numba that keeps its index under another name
        def __init__(self, cache_path, filename_base, source_stamp):
            self.index = os.path.join(cache_path, filename_base)

        def save(self, key, data):
            raise AssertionError("not called")

    monkeypatch.setattr(caching, "IndexDataCacheFile", Elsewhere)
    monkeypatch.setattr(_cache_lock, "_installed", False)
    assert _cache_lock.install() is False
    assert Elsewhere.save.__name__ == "save" and not hasattr(Elsewhere.save, "__wrapped__")


def test_the_whole_main_job_list_compiled_marks_the_cache_warm(tmp_path):
    done = _python(f"""
        from tinygrad_cs import kernels
        from tinygrad_cs.kernels import _background, _first_run
        _first_run.KERNELS = ({ROW_SUM!r},)    # the main job's list, made tiny
        helper = _background.start()
        assert helper is not None and kernels.is_cold()
        helper.proc.wait(timeout=100)
        print(helper.stop(), kernels.is_cold())
    """, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


def test_a_partial_list_leaves_the_cache_cold(tmp_path):
    (_, code), _ = _helper(tmp_path, [ROW_SUM], "finish")
    assert code == 0
    still = _python("from tinygrad_cs import kernels; print(kernels.is_cold())", tmp_path / "cache")
    assert still.stdout.split() == ["True"], still.stderr


def test_a_first_compiled_trace_reaching_a_convolution_starts_the_helper(monkeypatch):
    import tinygrad_cs as tg
    from tinygrad_cs import nn
    started = []
    monkeypatch.setattr(_background, "start", lambda *a, **k: started.append(1))
    conv, mlp = nn.Conv2d(1, 2, 3), nn.Linear(3, 2)
    with tg.no_grad():
        tg.compile(lambda x: conv(x).sum())(tg.zeros(1, 1, 4, 4))
        assert started == [1]
        tg.compile(lambda x: mlp(x).sum())(tg.zeros(2, 3))
    assert started == [1]                      # no convolution: no helper
