"""``kernels/_threads.py``: OpenBLAS's idle threads told to sleep, in either import order,
libgomp's idle spin shortened; ``kernels/_malloc.py``: glibc told to keep freed memory.

Each case runs in a fresh interpreter (the fix acts when libraries load). No timing here
(``benchmarks/bench_threads.py`` measures the effect); the oracles are the settings the
process ends up with, and BLAS results after OpenBLAS's pool was restarted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    if sys.argv[1] == "numpy-first":
        import numpy
    import tinygrad_cs
    import numpy as np
    from tinygrad_cs.kernels import _malloc, _threads, lstm
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    ok = bool(np.allclose(a @ b, np.einsum("ik,kj->ij", a, b)))
    lstm.warm()  # a parallel kernel: starts Numba's threading layer
    ok = ok and bool(np.allclose(a @ b, np.einsum("ik,kj->ij", a, b)))
    print(json.dumps({**_threads.info(), "blas_ok": ok, "malloc": _malloc.info(),
                      "threads": len(os.listdir("/proc/self/task"))}))
""")

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")


def _run(order: str, **env) -> dict:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_THREAD_TIMEOUT", "TINYGRAD_CS_THREAD_FIX", "GOMP_SPINCOUNT",
                            "OMP_WAIT_POLICY", "TINYGRAD_CS_MALLOC_FIX", "GLIBC_TUNABLES")
               and not (k.startswith("MALLOC_") and k.endswith("_"))}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, order], env={**environ, **env},
                          check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@linux
def test_tinygrad_first_sets_the_timeout_before_openblas_loads():
    info = _run("tinygrad-first")
    assert info["OPENBLAS_THREAD_TIMEOUT"] == "4"
    assert info["numpy_was_loaded"] is False and info["restarted"] == []
    assert info["openblas"] and info["blas_ok"]
    assert info["GOMP_SPINCOUNT"] == "30000"
    assert info["malloc"] == {"configured": True, "applied": True, "enabled": True}


@linux
def test_numpy_first_restarts_the_loaded_openblas_pool():
    info = _run("numpy-first")
    assert info["numpy_was_loaded"] is True
    assert info["OPENBLAS_THREAD_TIMEOUT"] == "4"
    # numpy's OpenBLAS was restarted; one loaded later (SciPy's, by Numba) reads the variable
    assert info["restarted"] and set(info["restarted"]) <= set(info["openblas"])
    assert any("numpy" in path for path in info["restarted"])
    assert info["blas_ok"]  # BLAS still computes right after its pool was restarted
    assert info["threading_layer"] in ("omp", "tbb", "workqueue")


@linux
@pytest.mark.parametrize("order", ["numpy-first", "tinygrad-first"])
def test_a_users_own_setting_and_the_opt_out_are_respected(order):
    own = _run(order, OPENBLAS_THREAD_TIMEOUT="12")
    assert own["OPENBLAS_THREAD_TIMEOUT"] == "12" and own["restarted"] == []
    own = _run(order, GOMP_SPINCOUNT="500", MALLOC_TRIM_THRESHOLD_="1000000")
    assert own["GOMP_SPINCOUNT"] == "500" and own["malloc"]["applied"] is False
    assert _run(order, OMP_WAIT_POLICY="PASSIVE")["GOMP_SPINCOUNT"] is None
    off = _run(order, TINYGRAD_CS_THREAD_FIX="0", TINYGRAD_CS_MALLOC_FIX="0")
    assert off["enabled"] is False and off["GOMP_SPINCOUNT"] is None
    assert off["OPENBLAS_THREAD_TIMEOUT"] is None and off["restarted"] == []
    assert off["malloc"] == {"configured": True, "applied": False, "enabled": False}
