"""Building batches, in the main process or in ``spawn``-ed worker processes.

``build_batch`` is the one recipe both paths run, so a loader with workers yields exactly what
it yields without them. Workers use the ``spawn`` start method: a ``fork``-ed child of a
process whose Numba OpenMP pool has run dies, so ``fork`` is never safe here.

Protocol: the parent sends ``(tag, seed, epoch, batch_index, indices)`` to worker
``batch_index % num_workers``; the worker answers ``(tag, batch_index, ok, payload)`` on one
shared result queue, ``payload`` pickled by the worker itself so that an unpicklable batch is
reported as that batch's error instead of being lost in a queue's feeder thread. ``tag`` tells
the parent's iterators apart, so results of an abandoned epoch are dropped.
"""
from __future__ import annotations

import ast
import os
import pickle
import queue
import sys
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from ..random import stream
from .dataset import has_batch_path

__all__ = ["ThreadWorkerPool", "WorkerFailure", "WorkerPool", "build_batch", "collate_numpy",
           "main_script_is_unguarded"]


def collate_numpy(samples: list) -> Any:
    """Stack samples field by field: N tuples ``(x_i, y_i)`` -> ``(X (N, ...), Y (N, ...))``;
    N dicts ``{"image": x_i, ...}`` -> ``{"image": X (N, ...), ...}``."""
    first = samples[0]
    if isinstance(first, dict):
        return {k: np.stack([np.asarray(s[k]) for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
    return np.stack([np.asarray(s) for s in samples])


def _transform_first(batch: Any, transform: Callable, rng: np.random.Generator) -> Any:
    if isinstance(batch, np.ndarray):
        return transform(batch, rng)
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], np.ndarray):
        return (transform(batch[0], rng),) + tuple(batch[1:])
    first = batch[0] if isinstance(batch, (tuple, list)) and batch else batch
    raise TypeError(f"DataLoader transform: the first field of a collated batch must be a "
                    f"numpy array, got {type(first).__name__} (from collate_fn)")


def build_batch(dataset: Any, indices: np.ndarray, collate_fn: Callable | None,
                transform: Callable | None, seed: int, epoch: int, batch_index: int) -> Any:
    """One batch before conversion to Tensors: the samples at ``indices``, collated, with
    ``transform(first_field, default_rng([seed, epoch, batch_index]))`` applied.

    The samples are read inside ``stream(default_rng([seed, epoch, batch_index, 1]))``, so a
    data set's own random transforms (torchvision style, drawing from ``tg.generator()``)
    give the same batch with or without workers, and on resume."""
    with stream(np.random.default_rng([seed, epoch, batch_index, 1])):
        if collate_fn is None and has_batch_path(dataset):
            batch = dataset._get_batch(indices)  # one fancy index per array, no sample loop
        else:
            batch = (collate_fn or collate_numpy)([dataset[int(i)] for i in indices])
    if transform is not None:
        batch = _transform_first(batch, transform, np.random.default_rng([seed, epoch,
                                                                          batch_index]))
    return batch


class WorkerFailure:
    """An exception raised in a worker, carried to the parent as its type and traceback."""

    def __init__(self, exc: BaseException, worker_id: int, batch_index: int, epoch: int,
                 indices: np.ndarray) -> None:
        self.exc_type = type(exc)
        shown = ", ".join(str(i) for i in indices[:8]) + (", ..." if len(indices) > 8 else "")
        self.where = (f"in DataLoader worker {worker_id} while building batch {batch_index} "
                      f"of epoch {epoch} (sample indices [{shown}])")
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def exception(self) -> BaseException:
        """The exception to raise in the parent: same type when it takes one message."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        try:
            return self.exc_type(msg)
        except TypeError:  # exception types with other constructors: keep the message
            return RuntimeError(msg)


def _worker_loop(worker_id: int, dataset: Any, collate_fn: Callable | None,
                 transform: Callable | None, tasks: Any, results: Any) -> None:
    # On shutdown, exit even if the parent never reads our last results.
    results.cancel_join_thread()
    while True:
        task = tasks.get()
        if task is None:
            return
        tag, seed, epoch, batch_index, indices = task
        try:
            payload = pickle.dumps(build_batch(dataset, indices, collate_fn, transform, seed,
                                               epoch, batch_index), protocol=5)
            ok = True
        except Exception as exc:  # noqa: BLE001 -- re-raised in the parent, naming the batch
            failure = WorkerFailure(exc, worker_id, batch_index, epoch, indices)
            payload, ok = pickle.dumps(failure, protocol=5), False
        results.put((tag, batch_index, ok, payload))


def _shutdown(processes: list, tasks: list, results: Any) -> None:
    processes = [p for p in processes if p.pid is not None]  # only those that started
    for q in tasks:
        try:
            q.put(None)
        except (OSError, ValueError):  # queue already closed
            pass
    for p in processes:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
            p.join(timeout=1)
    for q in tasks + [results]:
        q.cancel_join_thread()
        q.close()


class WorkerPool:
    """``num_workers`` spawned processes that build batches; shut down by ``shutdown()`` or
    when the pool is garbage collected."""

    def __init__(self, num_workers: int, dataset: Any, collate_fn: Callable | None,
                 transform: Callable | None) -> None:
        ctx = get_context("spawn")
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(num_workers)]
        self.processes = [
            ctx.Process(target=_worker_loop, daemon=True, name=f"DataLoaderWorker-{w}",
                        args=(w, dataset, collate_fn, transform, self.tasks[w], self.results))
            for w in range(num_workers)]
        self._finalizer = weakref.finalize(self, _shutdown, self.processes, self.tasks,
                                           self.results)
        for p in self.processes:
            try:
                p.start()
            except (pickle.PicklingError, AttributeError, TypeError) as e:
                self.shutdown()
                raise TypeError(
                    f"DataLoader(num_workers={num_workers}): the data set, collate_fn and "
                    f"transform are sent to spawn-ed worker processes, so they must be "
                    f"picklable (module-level classes and functions, no lambdas): {e}") from e

    def submit(self, tag: int, seed: int, epoch: int, batch_index: int,
               indices: np.ndarray) -> None:
        self.tasks[batch_index % len(self.tasks)].put((tag, seed, epoch, batch_index, indices))

    def get(self) -> tuple:
        """The next ``(tag, batch_index, ok, payload)``; raises if a worker died."""
        while True:
            try:
                tag, batch_index, ok, payload = self.results.get(timeout=1.0)
                return tag, batch_index, ok, pickle.loads(payload)
            except queue.Empty:
                dead = [p for p in self.processes if not p.is_alive()]
                if dead:
                    codes = ", ".join(f"{p.name} (pid {p.pid}, exit code {p.exitcode})"
                                      for p in dead)
                    self.shutdown()
                    raise RuntimeError(f"DataLoader worker(s) exited unexpectedly: {codes}"
                                       ) from None

    def shutdown(self) -> None:
        self._finalizer()


class ThreadWorkerPool:
    """``num_workers`` threads that build batches with the same recipe and protocol as
    ``WorkerPool`` (numpy releases the GIL in the heavy parts). The loader uses it where
    spawned processes cannot work: a script without an ``if __name__ == "__main__":`` guard,
    which every spawned worker would run again from the top."""

    def __init__(self, num_workers: int, dataset: Any, collate_fn: Callable | None,
                 transform: Callable | None) -> None:
        self.dataset, self.collate_fn, self.transform = dataset, collate_fn, transform
        self.results: queue.Queue = queue.Queue()
        self.executor = ThreadPoolExecutor(num_workers, thread_name_prefix="DataLoaderThread")
        self.num_workers = num_workers

    def _build(self, tag: int, seed: int, epoch: int, batch_index: int,
               indices: np.ndarray) -> None:
        try:
            batch = build_batch(self.dataset, indices, self.collate_fn, self.transform, seed,
                                epoch, batch_index)
            self.results.put((tag, batch_index, True, batch))
        except Exception as exc:  # noqa: BLE001 -- re-raised by the loader, naming the batch
            worker = batch_index % self.num_workers
            self.results.put((tag, batch_index, False,
                              WorkerFailure(exc, worker, batch_index, epoch, indices)))

    def submit(self, tag: int, seed: int, epoch: int, batch_index: int,
               indices: np.ndarray) -> None:
        self.executor.submit(self._build, tag, seed, epoch, batch_index, indices)

    def get(self) -> tuple:
        """The next ``(tag, batch_index, ok, payload)``."""
        return self.results.get()

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def main_script_is_unguarded() -> bool:
    """True when ``__main__`` is a script file whose top level has no
    ``if __name__ == "__main__":`` block: spawned workers would re-run all of it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not os.path.isfile(path):
        return False  # an interactive session, python -c, a notebook
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return False
    return not any(isinstance(node, ast.If) and _tests_main(node.test) for node in tree.body)


def _tests_main(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either order)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides)
            and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides))
