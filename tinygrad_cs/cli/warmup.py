"""``tgcs warmup``: compile every Numba kernel ahead of the first real run.

A fresh install has no compiled kernels: the first ``tgcs train`` would compile the ones it
meets (tens of seconds on a 2-core machine) before its first batch. This compiles them all,
spread over worker processes (``kernels.warm_parallel``), then runs one training step of a
tiny ResNet-8 in float32 so the exact forms a training run uses are cached too, and marks the
install warm. Later processes load the kernels from the cache in a fraction of a second.
``tgcs train`` on a cold install says so in one line before it starts, and, when it trains
the main job's model, compiles the kernels it will need later in a second process
(``start_background_compile``), so that two cores share the compiling.
"""
from __future__ import annotations

import argparse
import sys
import time

__all__ = ["COLD_NOTICE", "HELPER_NOTICE", "add_warmup_options", "run_warmup",
           "start_background_compile", "warn_if_cold"]

COLD_NOTICE = ("tgcs: compiling kernels, first run only (the next runs load them from the "
               "cache; `tgcs warmup` compiles them all ahead of time)")


def add_warmup_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes compiling in parallel (default: the CPU count)")


HELPER_NOTICE = "tgcs: a second process compiles the kernels this run needs later"


def warn_if_cold(helped: bool = False) -> None:
    """Print ``COLD_NOTICE`` to stderr when this install's kernels are not compiled yet,
    and ``HELPER_NOTICE`` when ``helped`` (a background compile runs)."""
    from .. import kernels
    if kernels.is_cold():
        print(COLD_NOTICE, file=sys.stderr, flush=True)
        if helped:
            print(HELPER_NOTICE, file=sys.stderr, flush=True)


def start_background_compile(model: str):
    """On a cold cache, start compiling the main job's kernels in a helper process
    (``kernels._background``) when ``model`` is the main job's; the helper, or None."""
    from ..kernels import _background
    from ..train.recipe import default_recipe
    if model != default_recipe().model:    # the list holds the main job's kernels only
        return None
    return _background.start()


def _one_training_step() -> None:
    import tinygrad_cs as tg
    from tinygrad_cs import nn
    from tinygrad_cs.nn.models import resnet8

    tg.manual_seed(0)
    model = resnet8(num_classes=10, base_channels=8)
    opt = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = nn.functional.cross_entropy(model(tg.randn(2, 3, 16, 16)), tg.tensor([0, 1]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    model.eval()
    with tg.no_grad():
        model(tg.randn(1, 3, 16, 16))


def run_warmup(args: argparse.Namespace) -> int:
    from .. import kernels
    start = time.perf_counter()
    print(f"compiling the kernels of {len(kernels.kernel_modules())} modules "
          f"(cache: {kernels._jit.cache_dir() or 'none: kernels cannot be cached here'})",
          flush=True)

    def report(module: str, seconds: float) -> None:
        print(f"  {module.rsplit('.', 1)[1]:16s} {seconds:5.1f} s", flush=True)

    kernels.warm_parallel(args.processes, report)
    step = time.perf_counter()
    _one_training_step()
    print(f"  a training step {time.perf_counter() - step:5.1f} s")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
