"""Results depend only on inputs and seeds (issue 10, section 5).

A short training run (``_determinism_run.py``: convolution, batch norm, pooling, an LSTM,
layer norm, dropout, a shuffled loader, Adam) in fresh processes gives bit-identical
parameters with an empty Numba cache, a warm one, a CPU-burning process beside it, and
when it is interrupted after one epoch and resumed by a new process.
"""
from __future__ import annotations

import os
import subprocess
import sys

RUN = os.path.join(os.path.dirname(__file__), "_determinism_run.py")


def _train(run_dir, epochs, cache_dir, resume=False):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    cmd = [sys.executable, RUN, str(run_dir), str(epochs)] + (["--resume"] if resume else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_training_is_bit_identical_across_processes_caches_load_and_resume(tmp_path):
    cache = tmp_path / "numba-cache"  # empty: the first run compiles every kernel
    cold = _train(tmp_path / "cold", 2, cache)
    assert any(cache.rglob("*.nbi")), "the first run should have filled the Numba cache"
    warm = _train(tmp_path / "warm", 2, cache)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = _train(tmp_path / "busy", 2, cache)
    finally:
        burner.kill()
        burner.wait()
    _train(tmp_path / "split", 1, cache)
    resumed = _train(tmp_path / "split", 2, cache, resume=True)
    assert len(cold) == 64
    assert warm == cold, "a warm Numba cache changed the result"
    assert busy == cold, "a busy machine changed the result"
    assert resumed == cold, "resuming in a new process changed the result"
