"""Map-style data sets, as ``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset`` (also ``a + b``), ``random_split``.

A data set is anything with ``__len__`` and ``__getitem__(i)`` returning one sample (usually a
tuple of fields, e.g. ``(image, label)``). ``TensorDataset`` and ``Subset`` also answer a whole
batch of indices at once (``_get_batch``), which lets ``DataLoader`` slice the arrays with one
numpy fancy index instead of a Python loop over samples: that is what keeps loading cheap next to
a training step.
"""
from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..random import generator as global_generator
from ..random import numpy_generator
from ..tensor import Tensor

__all__ = ["ConcatDataset", "Dataset", "Subset", "TensorDataset", "random_split", "stratified_split"]


class Dataset:
    """Base class: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Any) -> ConcatDataset:
        """``a + b``: the samples of ``a`` followed by those of ``b``."""
        return ConcatDataset([self, other])


class ConcatDataset(Dataset):
    """The samples of several data sets, one after the other (index i of the whole maps to
    the data set whose cumulative length first exceeds i)."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        index %= n
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


def _as_array(a: Any) -> np.ndarray:
    return a.numpy() if isinstance(a, Tensor) else np.asarray(a)


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: ``ds[i] == (a0[i], a1[i], ...)``.

    Args:
        *arrays: numpy arrays or Tensors, all with the same first dimension N (stored as
            numpy arrays, without copying where possible).
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_as_array(a) for a in arrays)
        sizes = [a.shape[0] if a.ndim else None for a in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.tensors)
            raise ValueError(f"TensorDataset: all arrays need the same first dimension, "
                             f"got shapes {shapes}")

    def __getitem__(self, index: int) -> tuple:
        return tuple(a[index] for a in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _get_batch(self, indices: np.ndarray) -> tuple:
        """The batch ``(a0[indices], a1[indices], ...)`` in one fancy index per array."""
        return tuple(a[indices] for a in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices outside [0, {n}) of a data set of length {n}")

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def _get_batch(self, indices: np.ndarray) -> tuple:
        """The wrapped data set's batch path (the loader uses it only when that exists)."""
        return self.dataset._get_batch(self.indices[indices])


def has_batch_path(dataset: Any) -> bool:
    """Whether ``dataset._get_batch(indices)`` can build a whole batch in one step."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return hasattr(dataset, "_get_batch")


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    """Absolute lengths; fractions summing to 1 become floors, the remainder dealt round-robin
    (as ``torch.utils.data.random_split``)."""
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        if sum(lengths) != n:
            raise ValueError(f"random_split: lengths {list(lengths)} sum to {sum(lengths)}, "
                             f"not the data set's length {n}")
        return [int(x) for x in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-9) or min(lengths) < 0:
        raise ValueError(f"random_split: fractions {list(lengths)} must be >= 0 and sum to 1")
    sizes = [math.floor(n * f) for f in lengths]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset: Any, lengths: Sequence[float], seed: int | None = None,
                 generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset`` s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)`` or fractions summing to 1. The
    permutation comes from ``generator`` (a ``tg.Generator``, as PyTorch's
    ``generator=torch.Generator().manual_seed(42)``, or a numpy one), else from
    ``np.random.default_rng(seed)``; with neither, from tg's global generator (so
    ``tg.manual_seed`` controls it).
    """
    n = len(dataset)
    sizes = _split_lengths(n, lengths)
    if generator is not None:
        rng = numpy_generator(generator)
    else:
        rng = global_generator() if seed is None else np.random.default_rng(seed)
    order = rng.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, order[a:b]) for a, b in itertools.pairwise(bounds)]


def stratified_split(y: np.ndarray, test_size: float = 0.2, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(train_indices, test_indices)``, both sorted: ``round(test_size * n_c)`` random samples
    of each class c (n_c samples) go to the test part, drawn with ``default_rng(seed)``."""
    if not 0 < test_size < 1:
        raise ValueError(f"stratified_split: test_size must be in (0, 1), got {test_size}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        test.append(members[:round(test_size * len(members))])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx
