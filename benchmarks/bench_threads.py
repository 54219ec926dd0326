"""Thread pools: a Numba parallel kernel and a BLAS matmul alternating in a loop.

Numba's OpenMP pool and OpenBLAS's pthread pool each busy-wait after a job; on this
2-core machine a kernel followed by a matmul, in a loop, ran 33x slower than the two
alone. The engine's fix (``tinygrad_cs/kernels/_threads.py``) tells OpenBLAS's idle
threads to sleep at once, before numpy loads or, when the user imported numpy first, by
restarting the loaded OpenBLAS pool. This benchmark shows both import orders, with the fix
and without it (``TINYGRAD_CS_THREAD_FIX=0``), each in a fresh ``spawn``-ed interpreter.

Per process, with fixed buffers (no allocation in the loop):

* kernel: ``kernels.lstm.lstm_forward`` (parallel, ``prange`` over rows);
* BLAS: ``np.matmul(a, b, out=c)`` (OpenBLAS, 2 threads);
* alternating: kernel, matmul, kernel, matmul, ... (an LSTM's or a CNN's steady state).

The figure is t(alternating) / (t(kernel alone) + t(BLAS alone)): 1 means no fight.
Three sizes: an LSTM step (gates 32 x 1024, 32x256 @ 256x1024), a larger one (gates
512 x 1024, 256x256 @ 256x256) and a long kernel (gates 2048 x 1024, same matmul).
Each timing is the median of single calls (the scheduler's stalls on a busy machine
only hit a few of them). Processes run round-robin over the configurations, several
rounds, medians; the table also reports the machine's load (other jobs distort 2-thread
figures). ``--variants`` adds the alternatives weighed against the fix (the same
measurement under OMP_WAIT_POLICY=PASSIVE, the workqueue or TBB threading layer (TBB needs
``pip install tbb``), single-threaded BLAS, without the fix; and the fix combined with
libgomp settings).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

SIZES = {"LSTM step": (32, 256, 32, 256, 1024), "large": (512, 256, 256, 256, 256),
         "long kernel": (2048, 256, 256, 256, 256)}
QUICK_SIZES = {"small (smoke)": (4, 8, 4, 8, 8)}
CONFIGS = {  # name: (import order, environment)
    "numpy first, fix on": ("numpy-first", {}),
    "numpy first, fix off": ("numpy-first", {"TINYGRAD_CS_THREAD_FIX": "0"}),
    "tinygrad_cs first, fix on": ("tinygrad-first", {}),
    "tinygrad_cs first, fix off": ("tinygrad-first", {"TINYGRAD_CS_THREAD_FIX": "0"}),
}
VARIANTS = {
    "no fix, OMP_WAIT_POLICY=PASSIVE": ("tinygrad-first", {"TINYGRAD_CS_THREAD_FIX": "0",
                                                           "OMP_WAIT_POLICY": "PASSIVE"}),
    "no fix, workqueue layer": ("tinygrad-first", {"TINYGRAD_CS_THREAD_FIX": "0",
                                                   "NUMBA_THREADING_LAYER": "workqueue"}),
    "no fix, tbb layer": ("tinygrad-first", {"TINYGRAD_CS_THREAD_FIX": "0",
                                             "NUMBA_THREADING_LAYER": "tbb"}),
    "no fix, OPENBLAS_NUM_THREADS=1": ("tinygrad-first", {"TINYGRAD_CS_THREAD_FIX": "0",
                                                          "OPENBLAS_NUM_THREADS": "1"}),
    "fix on + OMP_WAIT_POLICY=PASSIVE": ("tinygrad-first", {"OMP_WAIT_POLICY": "PASSIVE"}),
    "fix on + GOMP_SPINCOUNT=10000": ("tinygrad-first", {"GOMP_SPINCOUNT": "10000"}),
}
GOAL = 1.25  # alternating within 25% of the two alone (with the fix)


def _sample(fn, budget: float) -> float:
    """Median seconds of one call of ``fn``, over calls timed one by one for ``budget``
    seconds (the median ignores the scheduler's occasional milliseconds-long stalls)."""
    times, clock = [], time.perf_counter
    end = clock() + budget
    while True:
        t0 = clock()
        fn()
        t1 = clock()
        times.append(t1 - t0)
        if t1 >= end:
            return statistics.median(times)


def child(order: str, sizes: dict, rounds: int, budget: float) -> dict:
    """One process: the three timings per size (imports happen here, in ``order``), and
    the share of the machine's CPU time that other processes took meanwhile."""
    if order == "numpy-first":
        import numpy  # noqa: F401 - OpenBLAS loads with its default spin timeout
    from tinygrad_cs.kernels import _threads
    before = _cpu_seconds()
    result = {name: _time_size(*shape, rounds, budget) for name, shape in sizes.items()}
    result["others"] = _others_share(before, _cpu_seconds())
    result["info"] = _threads.info()
    return result


def _cpu_seconds() -> tuple:
    """(wall clock, busy CPU seconds of the whole machine, CPU seconds of this process)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        busy = float("nan")
    t = os.times()
    return time.perf_counter(), busy, t.user + t.system


def _others_share(before: tuple, after: tuple) -> float:
    """Fraction of all cores' time used by other processes between the two readings."""
    wall, busy, ours = (a - b for a, b in zip(after, before))
    return max(0.0, (busy - ours) / (wall * (os.cpu_count() or 1)))


def _time_size(n, hidden, m, k, cols, rounds: int, budget: float) -> dict:
    """Median seconds of kernel alone, matmul alone, and the two alternating."""
    import numpy as np

    from tinygrad_cs.kernels import lstm
    rng = np.random.default_rng(0)
    gates = rng.standard_normal((n, 4 * hidden), dtype=np.float32)
    c_prev = rng.standard_normal((n, hidden), dtype=np.float32)
    out, acts = lstm.forward(gates, c_prev)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, cols), dtype=np.float32)
    c = a @ b

    def kernel():
        lstm.lstm_forward(gates, c_prev, out, acts)

    def blas():
        np.matmul(a, b, out=c)

    def both():
        kernel()
        blas()

    times = {"kernel": [], "blas": [], "both": []}
    for _ in range(rounds):
        time.sleep(0.15)  # every pool idle: "alone" means no other pool spinning
        times["kernel"].append(_sample(kernel, budget))
        time.sleep(0.15)
        times["blas"].append(_sample(blas, budget))
        times["both"].append(_sample(both, budget))
    return {key: statistics.median(v) for key, v in times.items()}


def _spawn(order: str, env: dict, quick: bool) -> dict:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_THREAD_TIMEOUT", "TINYGRAD_CS_THREAD_FIX")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_threads", "--child", order]
                          + (["--quick"] if quick else []), env={**environ, **env}, cwd=root,
                          capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_threads child ({order}, {env}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> str:
    """The load averages (1, 5, 15 min) and runnable tasks, from /proc/loadavg."""
    try:
        with open("/proc/loadavg") as f:
            one, five, fifteen, running = f.read().split()[:4]
        return f"load {one} {five} {fifteen}, runnable {running}"
    except OSError:
        return "load: unknown"


def measure(configs: dict, quick: bool = False, processes: int = 3) -> dict:
    """``{config: {size: {kernel, blas, both}}}``: medians over ``processes`` spawned runs
    per configuration, run round-robin (rotating the order each round)."""
    runs: dict = {name: [] for name in configs}
    names = list(configs)
    for r in range(1 if quick else processes):
        for name in names[r % len(names):] + names[:r % len(names)]:
            order, env = configs[name]
            try:
                runs[name].append(_spawn(order, env, quick))
            except RuntimeError as e:  # e.g. the TBB layer without ``pip install tbb``
                print(f"bench_threads: {name} skipped: {str(e).strip().splitlines()[-1]}")
                names.remove(name)
    out = {}
    for name, results in runs.items():
        if not results:
            continue
        sizes = [k for k in results[0] if k not in ("info", "others")]
        out[name] = {size: {key: statistics.median(r[size][key] for r in results)
                            for key in ("kernel", "blas", "both")} for size in sizes}
        out[name]["info"] = results[-1]["info"]
        out[name]["others"] = statistics.median(r["others"] for r in results)
    return out


def rows(results: dict, quick: bool) -> list:
    """Table rows: alternating vs the two alone, and fix on vs off for each alone."""
    Row = _common().Row
    table = []
    for name, by_size in results.items():
        for size, t in by_size.items():
            if size in ("info", "others"):
                continue
            goal = GOAL if ("fix on" in name and "+" not in name) else None
            table.append(Row(f"threads, {size}, {name}: kernel+matmul alternating vs the two "
                             f"alone", t["both"], t["kernel"] + t["blas"], goal, "alone"))
    for order in ("numpy first", "tinygrad_cs first"):
        on, off = results.get(f"{order}, fix on"), results.get(f"{order}, fix off")
        if not on or not off:
            continue
        for size in (s for s in on if s not in ("info", "others")):
            for key, what in (("kernel", "kernel alone"), ("blas", "matmul alone")):
                table.append(Row(f"threads, {size}, {order}: {what}, fix on vs off",
                                 on[size][key], off[size][key], None if quick else 1.1,
                                 "fix off"))
    return table


def run(quick: bool = False, variants: bool = False) -> list:
    """Spawn the configurations, print the load, return the table rows."""
    configs = {**CONFIGS, **(VARIANTS if variants else {})}
    before = load()
    results = measure(configs, quick)
    shares = ", ".join(f"{name} {r['others']:.0%}" for name, r in results.items())
    print(f"bench_threads: {before} before, {load()} after; CPU share taken by other "
          f"processes during each configuration: {shares} (2-thread figures mean something "
          f"only near 0%)")
    return rows(results, quick)


def main(argv: list[str]) -> None:
    if "--child" in argv:
        quick = "--quick" in argv
        print(json.dumps(child(argv[argv.index("--child") + 1], QUICK_SIZES if quick else SIZES,
                               rounds=2 if quick else 7, budget=0.002 if quick else 0.03)))
        return
    quick = "--quick" in argv
    print(_common().markdown_table(run(quick, "--variants" in argv), verdicts=not quick))


def _common():
    """The shared harness, imported late: a child process must import nothing before the
    import order it measures (``common`` imports PyTorch, which imports numpy)."""
    if __package__:
        from . import common
    else:  # run as a script: python benchmarks/bench_threads.py
        import common
    return common


if __name__ == "__main__":
    main(sys.argv[1:])
