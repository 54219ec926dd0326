"""``DataLoader``: mini-batches of a data set as ``tg.Tensor`` s, as ``torch.utils.data``.

Each ``iter(loader)`` is one epoch. Epoch k visits the samples in the order
``np.random.default_rng([seed, k]).permutation(N)`` (``shuffle=True``) or ``0..N-1``, cut into
batches of ``batch_size`` (the last one shorter unless ``drop_last``). A ``transform`` is applied
to the first field of each collated batch with its own generator
``np.random.default_rng([seed, k, batch_index])``. Everything random is therefore a function of
``(seed, epoch, batch_index)``: the same with or without worker processes, and a run resumed
from ``state_dict()`` sees the same orders and augmentations as an uninterrupted one.
"""
from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..random import numpy_generator
from ..tensor import Tensor
from ._workers import (
    ThreadWorkerPool,
    WorkerPool,
    build_batch,
    collate_numpy,
    main_script_is_unguarded,
)

__all__ = ["DataLoader", "default_collate"]

_tags = itertools.count()  # tells the iterators sharing a persistent worker pool apart


def _to_tensor(a: Any) -> Tensor:
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)  # labels and indices: int64, as torch's default
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    return Tensor(np.ascontiguousarray(a))


def to_tensors(batch: Any) -> Any:
    """A collated numpy batch (an array, a tuple of arrays or a dict of them) as Tensors of
    the same layout."""
    if isinstance(batch, dict):
        return {k: _to_tensor(a) for k, a in batch.items()}
    if isinstance(batch, (tuple, list)):
        return tuple(_to_tensor(a) for a in batch)
    return _to_tensor(batch)


def default_collate(samples: list) -> Any:
    """Stack N samples field by field into Tensors: float data keeps its dtype, integers
    become int64. ``[(x_i (C,H,W), y_i)] -> (X (N,C,H,W), Y (N,))``."""
    return to_tensors(collate_numpy(samples))


_fallback_warned: list[bool] = []  # the unguarded-script warning was given in this process


def _check_seed(seed: int) -> int:
    if int(seed) < 0:  # numpy's SeedSequence takes non-negative integers only
        raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed}")
    return int(seed)


class DataLoader:
    """Iterate over ``dataset`` in mini-batches.

    Args:
        dataset: a map-style data set (``__len__``, ``__getitem__``). For ``TensorDataset``
            (and ``Subset`` s of one) batches are sliced with one fancy index per array.
        batch_size: samples per batch.
        shuffle: a new seeded permutation every epoch.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
        collate_fn: ``list of samples -> batch``; returned as is (the default stacks the fields
            and converts them to Tensors).
        num_workers: worker processes (``spawn`` start method) that build the batches; 0 builds
            them in this process. Results are identical either way. Spawned workers re-run
            the main script, so in a script without an ``if __name__ == "__main__":`` guard
            (where PyTorch on Linux forks) the loader warns once and uses threads instead;
            with processes, the data set, ``collate_fn`` and ``transform`` must be
            picklable.
        seed: seed for the shuffle orders and transforms; ``None`` draws one once, here, from
            tg's global generator (so ``tg.manual_seed`` controls it).
        transform: ``transform(x_batch, rng)`` applied to the first field of each collated batch
            (a numpy array, e.g. (N, C, H, W)).
        prefetch_factor: batches requested ahead per worker.
        persistent_workers: keep the worker processes alive between epochs.
        sampler: the sample indices to visit, in order (``samplers.py``; not with
            ``shuffle``), batched by ``batch_size``.
        batch_sampler: the batches' index lists themselves (not with ``batch_size``,
            ``shuffle``, ``sampler`` or ``drop_last``).
        generator: a ``tg.Generator`` the shuffle seed is drawn from when ``seed`` is None.
        pin_memory: accepted for PyTorch code; no effect (there is no GPU to copy to).

    With a sampler the orders are the sampler's own, so ``state_dict`` resumes the epoch
    count and seed but the sampler's random state is the sampler's business.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable | None = None,
                 num_workers: int = 0, seed: int | None = None,
                 transform: Callable | None = None, prefetch_factor: int = 2,
                 persistent_workers: bool = False, *, sampler: Any = None,
                 batch_sampler: Any = None, generator: Any = None,
                 pin_memory: bool = False) -> None:
        if batch_size is None or int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        if int(num_workers) < 0 or int(prefetch_factor) < 1:
            raise ValueError(f"DataLoader: need num_workers >= 0 and prefetch_factor >= 1, "
                             f"got {num_workers} and {prefetch_factor}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers = int(num_workers)
        self.transform = transform
        self.prefetch_factor = int(prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.pin_memory = bool(pin_memory)
        if seed is None:
            seed = int(numpy_generator(generator).integers(2**63))
        self.seed = _check_seed(seed)
        self.epoch = 0  # the epoch the next iter() runs
        self._pool: WorkerPool | None = None

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return self._batch_count(len(self.dataset if self.sampler is None else self.sampler))

    def _batch_count(self, n: int) -> int:
        """Batches of ``batch_size`` in ``n`` samples (the last one short, unless drop_last)."""
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self, epoch: int) -> list[np.ndarray]:
        """The sample indices of every batch of ``epoch`` (from the samplers, if given)."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        return [order[i * self.batch_size:(i + 1) * self.batch_size]
                for i in range(self._batch_count(order.size))]

    def state_dict(self) -> dict:
        """``{"epoch": k, "seed": s}``: the next epoch to run, and the seed."""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        missing = {"epoch", "seed"} - set(state)
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing keys {sorted(missing)} "
                           f"(got {sorted(state)})")
        self.epoch, self.seed = int(state["epoch"]), _check_seed(state["seed"])

    def __iter__(self) -> Iterator:
        epoch, self.epoch = self.epoch, self.epoch + 1
        batches = self.batch_indices(epoch)
        if self.num_workers == 0:
            return self._serial(self.seed, epoch, batches)
        if self.persistent_workers:
            if self._pool is None:
                self._pool = self._new_pool()
            return _WorkerIterator(self, epoch, batches, self._pool, owns_pool=False)
        return _WorkerIterator(self, epoch, batches, self._new_pool(), owns_pool=True)

    def _new_pool(self) -> WorkerPool | ThreadWorkerPool:
        if main_script_is_unguarded():
            if not _fallback_warned:  # once per process, however many loaders and epochs
                _fallback_warned.append(True)
                warnings.warn(f"DataLoader(num_workers={self.num_workers}): this script has no "
                              "`if __name__ == \"__main__\":` guard, which spawn-started "
                              "worker processes need (each would re-run the script), so "
                              f"{self.num_workers} threads build the batches instead",
                              RuntimeWarning, stacklevel=3)
            return ThreadWorkerPool(self.num_workers, self.dataset, self.collate_fn,
                                    self.transform)
        return WorkerPool(self.num_workers, self.dataset, self.collate_fn, self.transform)

    def _finish(self, batch: Any) -> Any:
        return to_tensors(batch) if self.collate_fn is None else batch

    def _serial(self, seed: int, epoch: int, batches: list[np.ndarray]) -> Iterator:
        for b, indices in enumerate(batches):
            yield self._finish(build_batch(self.dataset, indices, self.collate_fn,
                                           self.transform, seed, epoch, b))


class _WorkerIterator:
    """One epoch over a worker pool: ``prefetch_factor * num_workers`` batches in flight,
    results put back in batch order. A pool it owns stops at the end of the epoch, on an
    error, or when the pool is garbage collected with the iterator (``weakref.finalize``)."""

    def __init__(self, loader: DataLoader, epoch: int, batches: list[np.ndarray],
                 pool: WorkerPool, owns_pool: bool) -> None:
        self.loader, self.epoch, self.batches = loader, epoch, batches
        self.pool, self.owns_pool = pool, owns_pool
        self.tag = next(_tags)
        self.seed = loader.seed
        self.sent = self.yielded = 0
        self.ready: dict[int, tuple] = {}
        for _ in range(min(len(batches), loader.prefetch_factor * loader.num_workers)):
            self._send()

    def _send(self) -> None:
        self.pool.submit(self.tag, self.seed, self.epoch, self.sent, self.batches[self.sent])
        self.sent += 1

    def __iter__(self) -> _WorkerIterator:
        return self

    def __next__(self) -> Any:
        if self.yielded == len(self.batches):
            self.close()
            raise StopIteration
        while self.yielded not in self.ready:
            try:
                tag, b, ok, payload = self.pool.get()
            except BaseException:
                self.close()
                raise
            if tag == self.tag:  # else: left over from an abandoned epoch
                self.ready[b] = (ok, payload)
        ok, payload = self.ready.pop(self.yielded)
        if not ok:
            self.close()
            raise payload.exception()
        self.yielded += 1
        if self.sent < len(self.batches):
            self._send()
        return self.loader._finish(payload)

    def close(self) -> None:
        """Stop the workers (unless they persist across epochs)."""
        self.yielded = len(self.batches)
        if self.owns_pool:
            self.pool.shutdown()
