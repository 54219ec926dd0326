"""The fused-kernel generator: axis coalescing, the serial and parallel twins, the caches."""
from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

from tinygrad_cs.compile import codegen
from tinygrad_cs.compile.codegen import PARALLEL_MIN, Step, coalesce, fused_kernel
from tinygrad_cs.kernels._jit import cache_dir

F64 = np.dtype(np.float64)
# t0 = in0 * in1; t1 = tanh(t0) + in2: three inputs, a libm op, one literal-free chain
STEPS = [Step("Mul", (("in", 0), ("in", 1)), (), F64), Step("Tanh", (("step", 0),), (), F64),
         Step("Add", (("step", 1), ("in", 2)), (), F64)]


@pytest.mark.parametrize(("out", "ins", "shape", "views"), [
    ((32, 64, 7, 7), [(32, 64, 7, 7), (64, 1, 1)], (32, 64, 49), [(32, 64, 49), (1, 64, 1)]),
    ((4, 5), [(4, 5), (5,)], (4, 5), [(4, 5), (1, 5)]),
    ((4, 1, 5), [(4, 1, 5), ()], (20,), [(20,), (1,)]),
    ((), [(), ()], (1,), [(1,), (1,)]),
    ((2, 3), [(2, 1), (1, 3)], (2, 3), [(2, 1), (1, 3)]),
])
def test_coalesce_merges_axes_broadcast_alike(out, ins, shape, views):
    assert coalesce(out, ins) == (shape, views)


def test_coalesce_keeps_summed_axes_apart_and_as_one():
    assert coalesce((6, 5, 7), [(6, 5, 7), (5, 7)], reduced=2) == ((6, 35), [(6, 35), (1, 35)])
    assert coalesce((6, 5, 7), [(6, 5, 7)], reduced=3) == ((1, 210), [(1, 210)])
    assert coalesce((6, 5, 7), [(6, 5, 7), (5, 1)], reduced=2) is None   # (5, 7) walks as two


def _inputs(n, rng):
    return [rng.standard_normal((n, 3)), rng.standard_normal((n, 1)), rng.standard_normal(3)]


def test_the_kernel_equals_its_formula_and_the_twins_agree_across_thread_counts():
    """Above ``PARALLEL_MIN`` elements the parallel twin runs; its results equal the serial
    twin's bit for bit with 1 or 2 threads (each element is computed alone)."""
    rng = np.random.default_rng(0)
    n = PARALLEL_MIN // 3 + 5
    x, y, z = _inputs(n, rng)
    kernel = fused_kernel(STEPS, [x.shape, y.shape, z.shape], (n, 3))
    assert kernel._kernel.__name__ == "parallel"
    expected = np.tanh(x * y) + z
    module = codegen._load(kernel.source)
    threads = numba.get_num_threads()
    try:
        results = []
        for count in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(count)
            results.append(kernel(x, y, z))
    finally:
        numba.set_num_threads(threads)
    serial = np.empty((n, 3))
    module.serial(serial, *(np.reshape(a, s) for a, s in zip((x, y, z), kernel._views)))
    for out in results:
        np.testing.assert_array_equal(out, serial)
    np.testing.assert_allclose(serial, expected, rtol=1e-15, atol=1e-15)


def test_small_outputs_run_the_serial_twin_and_inputs_may_be_strided():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).T                   # a transposed (non-contiguous) view
    y, z = rng.standard_normal((4, 1)), rng.standard_normal(3)
    kernel = fused_kernel(STEPS, [x.shape, y.shape, z.shape], (4, 3))
    assert kernel._kernel.__name__ == "serial"
    np.testing.assert_allclose(kernel(x, y, z), np.tanh(x * y) + z, rtol=1e-15, atol=1e-15)
    with pytest.raises(TypeError, match=r"Fused\[Mul, Tanh, Add\]: takes 3 inputs, got 2"):
        kernel(x, y)


def test_the_source_is_cached_on_disk_and_a_cleared_process_cache_loads_machine_code():
    if cache_dir() is None:
        pytest.skip("no writable kernel cache here")
    x, y, z = _inputs(4, np.random.default_rng(2))
    first = fused_kernel(STEPS, [x.shape, y.shape, z.shape], (4, 3))
    first(x, y, z)                                     # compiled, or loaded from an earlier run
    folder = Path(cache_dir(), "fused")
    named = [f.name for f in folder.glob("fused_*.py") if f.read_text("utf-8") == first.source]
    assert len(named) == 1
    assert fused_kernel(STEPS, [x.shape, y.shape, z.shape], (4, 3))._kernel is first._kernel
    codegen.forget()
    again = fused_kernel(STEPS, [x.shape, y.shape, z.shape], (4, 3))
    assert again._kernel is not first._kernel         # a fresh import of the cached file ...
    np.testing.assert_array_equal(again(x, y, z), first(x, y, z))
    stats = again._kernel.stats                        # ... whose machine code came from disk
    assert sum(stats.cache_hits.values()) == 1 and not stats.cache_misses
