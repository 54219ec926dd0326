"""Results depend only on inputs and seeds (issue 10, section 5).

* The fixed-order sums of ``kernels/_sums.py`` compute exactly the order they document
  (oracle: the same additions done one by one in Python floats).
* Every kernel family (convolution on each of its three paths, batch / group / instance /
  layer norm on each of their kernels, pooling, the LSTM cell) gives bit-identical
  outputs and gradients with one Numba thread and with two.
* A short training run (``_determinism_run.py``) in fresh processes gives bit-identical
  parameters with an empty Numba cache, a warm one, a CPU-burning process beside it,
  and when it is interrupted after one epoch and resumed by a new process.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
import tinygrad_cs.nn.functional as F
from tinygrad_cs.kernels import _sums, conv_pool

RUN = os.path.join(os.path.dirname(__file__), "_determinism_run.py")


# -- the fixed-order sums ----------------------------------------------------------------------
def _lanes_by_hand(rows, w):
    """lanes[i % w] += float(v[i]), row after row, in Python floats (float64)."""
    lanes = [0.0] * w
    for v in rows:
        for i, value in enumerate(v):
            lanes[i % w] += float(value)
    return lanes


def _fold_by_hand(lanes):
    """The pairwise tree of ``_sums.fold``, one Python float addition at a time."""
    lanes, w = list(lanes), len(lanes)
    while w > 1:
        h = w // 2
        k = w - h
        for j in range(h):
            lanes[j] += lanes[j + k]
        w = k
    return lanes[0] if lanes else 0.0


rows_strategy = st.lists(st.lists(st.floats(-1e3, 1e3, width=32), min_size=0, max_size=80),
                         min_size=1, max_size=4)


@settings(deadline=None, max_examples=40)
@given(rows=rows_strategy, w=st.integers(1, 40))
def test_lane_sums_add_in_the_documented_order(rows, w):
    lanes = np.zeros(w)
    for v in rows:
        _sums.add_rows(np.array(v, np.float32), lanes)
    expected = _lanes_by_hand(rows, w)
    assert lanes.tolist() == expected
    assert _sums.fold(lanes) == _fold_by_hand(expected)


@settings(deadline=None, max_examples=30)
@given(v=st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=100),
       shift=st.floats(-10, 10, width=32), w=st.integers(1, 40))
def test_centred_lane_sums_add_in_the_documented_order(v, shift, w):
    x = np.array(v, np.float32)
    l1, l2 = np.zeros(w), np.zeros(w)
    _sums.add_centred(x, np.float32(shift), l1, l2)
    d = [float(np.float32(a) - np.float32(shift)) for a in x]  # the difference in float32
    assert l1.tolist() == _lanes_by_hand([d], w)
    assert l2.tolist() == _lanes_by_hand([[e * e for e in d]], w)


def test_fold_of_float32_lanes_matches_the_tree_and_handles_empty():
    lanes = np.random.default_rng(0).standard_normal(37).astype(np.float32)
    expected = lanes.copy()
    w = 37
    while w > 1:  # the same tree in float32, numpy one vector add per level
        h = w // 2
        expected[:h] = expected[:h] + expected[w - h:w]
        w -= h
    assert _sums.fold(lanes) == expected[0]
    assert _sums.fold(np.zeros(0)) == 0.0


def test_conv_slices_depend_on_the_batch_alone():
    assert conv_pool.slices(10) == [(0, 3), (3, 3), (6, 2), (8, 2)]
    assert conv_pool.slices(3) == [(0, 1), (1, 1), (2, 1)]
    assert conv_pool.slices(10, small=True) == [(0, 10)]


def test_kernels_refuse_fastmath():
    from tinygrad_cs.kernels._jit import kernel
    with pytest.raises(ValueError, match="fastmath"):
        kernel(fastmath={"reassoc"})


# -- one thread versus two ---------------------------------------------------------------------
def _cases():
    """(name, fn(tensors) -> output, input shapes): every kernel family and path."""
    return [
        ("conv gemm", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
         [(10, 16, 24, 24), (16, 16, 3, 3), (16,)]),
        ("conv winograd", lambda x, w, b: F.conv2d(x, w, b, padding=1),
         [(10, 8, 16, 16), (16, 8, 3, 3), (16,)]),
        ("conv depthwise", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=32),
         [(10, 32, 32, 32), (32, 1, 3, 3), (32,)]),
        ("conv transpose", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2),
         [(10, 16, 12, 12), (16, 8, 3, 3), (8,)]),
        ("batch norm 2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [(32, 16, 9, 9), (16,), (16,)]),
        ("batch norm 1d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [(300, 48), (48,), (48,)]),
        ("group norm", lambda x, w, b: F.group_norm(x, 4, w, b),
         [(6, 16, 10, 10), (16,), (16,)]),
        ("instance norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
         [(6, 16, 10, 10), (16,), (16,)]),
        ("layer norm", lambda x, w, b: F.layer_norm(x, (70,), w, b),
         [(333, 70), (70,), (70,)]),
        ("max pool", lambda x: F.max_pool2d(x, 3, 2, 1), [(8, 6, 15, 15)]),
        ("avg pool", lambda x: F.avg_pool2d(x, 3, 2, 1), [(8, 6, 15, 15)]),
    ]


def _run_case(fn, shapes, threads):
    rng = np.random.default_rng(len(shapes) * 1000 + sum(map(sum, shapes)))
    arrays = [(rng.standard_normal(s) * 2 + 0.5).astype(np.float32) for s in shapes]
    g = None
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*inputs)
        g = np.random.default_rng(7).standard_normal(out.shape).astype(np.float32)
        (out * tg.tensor(g)).sum().backward()
        return [out.numpy().copy()] + [t.grad.numpy().copy() for t in inputs]
    finally:
        numba.set_num_threads(previous)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
@pytest.mark.parametrize("name, fn, shapes", _cases(), ids=[c[0] for c in _cases()])
def test_one_thread_and_two_give_the_same_bits(name, fn, shapes):
    one = _run_case(fn, shapes, 1)
    two = _run_case(fn, shapes, 2)
    for k, (a, b) in enumerate(zip(one, two)):
        assert a.tobytes() == b.tobytes(), f"{name}: result {k} {a.shape} differs"


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_lstm_cell_kernels_give_the_same_bits_serial_and_parallel():
    from tinygrad_cs.kernels import lstm
    rng = np.random.default_rng(1)
    gates = rng.standard_normal((64, 4 * 37)).astype(np.float32)
    c_prev, dh, dc = (rng.standard_normal((64, 37)).astype(np.float32) for _ in range(3))
    outs = []
    for fwd, bwd in ((lstm.lstm_forward, lstm.lstm_backward),
                     (lstm.lstm_forward_serial, lstm.lstm_backward_serial)):
        out, acts = np.empty((2, 64, 37), np.float32), np.empty((64, 5 * 37), np.float32)
        dgates, dc_prev = np.empty_like(gates), np.empty_like(c_prev)
        fwd(gates, c_prev, out, acts)
        bwd(acts, c_prev, dh, dc, dgates, dc_prev)
        outs.append([out, acts, dgates, dc_prev])
    for a, b in zip(*outs):
        assert a.tobytes() == b.tobytes()


# -- fresh processes: cold cache, warm cache, a busy neighbour, resume ------------------------
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


def test_conv_leaves_the_blas_thread_count_alone_and_repeats_its_bits():
    """Regression: the workers' "thread-local" BLAS setting was process-wide, so which
    thread count a slice's GEMMs used depended on what had run before."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas"]

    def conv(x, w):
        return F.conv2d(x, w, stride=2, padding=1)

    shapes = [(64, 16, 16, 16), (32, 16, 3, 3)]
    before = blas_threads()
    runs = [_run_case(conv, shapes, t) for t in (2, 1, 2)]
    assert blas_threads() == before
    for k, (a, b, c) in enumerate(zip(*runs)):
        assert a.tobytes() == b.tobytes() == c.tobytes(), f"result {k} differs"
