"""JIT start-up: cold compile of every kernel family, and the warm start from the cache.

Each measurement is a fresh interpreter with its own ``NUMBA_CACHE_DIR`` (Numba then
caches there and nowhere else, so "empty" really is empty):

* cold: empty cache. ``import tinygrad_cs``, then each kernel family once, forward and
  backward on tiny inputs in float32 and float64 (each dtype is its own compilation), so
  every kernel the family's paths use is compiled. A family whose op module does not exist
  (yet) is skipped; kernel modules that define ``warm()`` (``kernels.warm_all``) are a row
  of their own.
* warm: the same, in a second process on the now-filled cache (kernels are loaded, not
  compiled).
* warm start: a third process, timing ``import tinygrad_cs`` plus the first conv2d call
  (forward, float32), and the same with its backward. Goal: under 1 s.

The table lists seconds; the warm-start rows compare against the 1 s budget.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

WARM_START_BUDGET = 1.0  # seconds


def _tensors(tg, np, dtype, *shapes):
    rng = np.random.default_rng(0)
    return [tg.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


def _conv(tg, np, dtype):
    from tinygrad_cs.ops.conv import conv2d, conv_transpose2d
    cases = [  # (x, w, kwargs): the im2col, Winograd, direct (depthwise) and strided paths
        ((2, 3, 6, 6), (4, 3, 3, 3), {"padding": 1}),
        ((2, 16, 6, 6), (16, 16, 3, 3), {"padding": 1}),
        ((2, 4, 6, 6), (4, 1, 3, 3), {"padding": 1, "groups": 4}),
        ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 2, "dilation": 2, "padding": 2}),
    ]
    for xs, ws, kw in cases:
        x, w, b = _tensors(tg, np, dtype, xs, ws, (ws[0],))
        conv2d(x, w, b, **kw).sum().backward()
    x, w, b = _tensors(tg, np, dtype, (2, 4, 4, 4), (4, 3, 3, 3), (3,))
    conv_transpose2d(x, w, b, stride=2, padding=1).sum().backward()


def _pool(tg, np, dtype):
    from tinygrad_cs.ops.pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
    (x,) = _tensors(tg, np, dtype, (2, 3, 6, 6))
    for out in (max_pool2d(x, 2), avg_pool2d(x, 3, 2, 1), adaptive_avg_pool2d(x, 4),
                interpolate(x, scale_factor=2)):
        out.sum().backward()


def _norm(tg, np, dtype):
    from tinygrad_cs.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm
    x, w, b = _tensors(tg, np, dtype, (4, 6, 3, 3), (6,), (6,))
    x2 = _tensors(tg, np, dtype, (5, 6))[0]
    mean, var = np.zeros(6), np.ones(6)
    outs = [batch_norm(x, mean, var, w, b, training=True),
            batch_norm(x, mean, var, w, b, training=False),
            batch_norm(x2, mean, var, w, b, training=True),
            layer_norm(x, (3, 3)), group_norm(x, 3, w, b), instance_norm(x)]
    for out in outs:
        out.sum().backward()


def _lstm(tg, np, dtype):
    from tinygrad_cs.ops.rnn import lstm_cell
    args = _tensors(tg, np, dtype, (2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,), (16,))
    h, c = lstm_cell(*args)
    (h.sum() + c.sum()).backward()


FAMILIES = {"conv2d + conv_transpose2d": _conv, "pooling + interpolate": _pool,
            "batch/layer/group/instance norm": _norm, "LSTM cell": _lstm}


def child(mode: str) -> dict:
    """One process: ``full`` times import + every family; ``start`` import + first conv2d."""
    t0 = time.perf_counter()
    import numpy as np

    import tinygrad_cs as tg
    times = {"import tinygrad_cs": time.perf_counter() - t0}
    if mode == "start":
        from tinygrad_cs.ops.conv import conv2d
        x, w, b = _tensors(tg, np, np.float32, (2, 3, 8, 8), (4, 3, 3, 3), (4,))
        out = conv2d(x, w, b, padding=1)
        times["import + first conv2d forward"] = time.perf_counter() - t0
        out.sum().backward()
        times["import + first conv2d forward+backward"] = time.perf_counter() - t0
        return times
    from tinygrad_cs import kernels
    for name, family in FAMILIES.items():
        start = time.perf_counter()
        try:
            for dtype in (np.float32, np.float64):
                family(tg, np, dtype)
        except ImportError:  # the family's op module is not there (yet)
            times[name] = None
            continue
        times[name] = time.perf_counter() - start
    start = time.perf_counter()
    warmed = kernels.warm_all()
    times[f"kernels.warm_all() ({sum(warmed.values())} modules with warm())"] = (
        time.perf_counter() - start)
    return times


def _spawn(mode: str, cache: str) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_jit", "--child", mode],
                          env={**os.environ, "NUMBA_CACHE_DIR": cache}, cwd=root,
                          capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_jit child ({mode}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list:
    """Cold, warm and warm-start processes on one fresh cache; return the table rows."""
    Row = _common().Row
    with tempfile.TemporaryDirectory(prefix="tgcs-jit-") as cache:
        cold = _spawn("full", cache)
        warm = _spawn("full", cache)
        start = _spawn("start", cache)
    rows = []
    for name in cold:
        if cold[name] is None:
            rows.append(Row(f"JIT {name}: not present", None, None))
            continue
        rows.append(Row(f"JIT {name}: cold (empty cache) vs warm (cached)", cold[name],
                        warm[name], None, "warm"))
    total_cold = sum(v for k, v in cold.items() if v is not None and k != "import tinygrad_cs")
    total_warm = sum(v for k, v in warm.items() if v is not None and k != "import tinygrad_cs")
    rows.append(Row("JIT all families: cold compile vs warm load", total_cold, total_warm,
                    None, "warm"))
    for name, seconds in start.items():
        goal = None if quick or name == "import tinygrad_cs" else 1.0
        rows.append(Row(f"warm start: {name} (fresh process, cached kernels)", seconds,
                        WARM_START_BUDGET, goal, "1 s budget"))
    return rows


def main(argv: list[str]) -> None:
    if "--child" in argv:
        print(json.dumps(child(argv[argv.index("--child") + 1])))
        return
    print(_common().markdown_table(run("--quick" in argv), verdicts="--quick" not in argv))


def _common():
    """The shared harness, imported late: it imports PyTorch, which a child must not pay."""
    if __package__:
        from . import common
    else:  # run as a script: python benchmarks/bench_jit.py
        import common
    return common


if __name__ == "__main__":
    main(sys.argv[1:])
