"""Shared pytest configuration: the Hypothesis profiles.

* ``ci``: loaded when the ``CI`` environment variable is set; derandomized (the
  same examples on every run), no deadline (Numba kernels compile on first
  call), modest ``max_examples``, failing examples printed as reproduction blobs.
* ``dev``: the default otherwise; random examples, a few more of them.
* ``fuzz``: thousands of examples per property, for deep runs:
  ``python -m pytest --hypothesis-profile=fuzz tests/test_op_registry_fuzz.py``.

``HYPOTHESIS_PROFILE=<name>`` also selects a profile; the command-line option
(handled by Hypothesis' pytest plugin after this file loads) wins over both.
"""
from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=50)
settings.register_profile(
    "fuzz", deadline=None, max_examples=2000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI")
                                                               else "dev"))


def _limit_blas_threads():
    """A context with one BLAS thread (a no-op without threadpoolctl, which scikit-learn brings)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


@pytest.fixture
def one_blas_thread():
    """``with one_blas_thread(): ...`` runs small-GEMM training loops on one BLAS thread: no
    slower on a quiet machine, and on a busy one OpenBLAS' spinning threads make them many
    times slower. Results do not depend on it."""
    return _limit_blas_threads


@pytest.fixture
def one_numba_thread():
    """The test runs Numba's parallel kernels on one thread (restored after). Tiny inputs
    (a layer norm of 32 x 8 rows) cost microseconds of work, but on a busy 2-core machine
    each waits for a descheduled OpenMP worker: a small Transformer's tests ran 5-10x slower
    with the default two threads. Results do not depend on it (fixed partitions)."""
    import numba
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)
