"""DataLoader, TensorDataset, Subset and random_split against their contracts (numpy oracles:
the seeded permutations and per-batch generators the loader promises; torch's split rules)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from tinygrad_cs.data.transforms import Compose, RandomCrop, RandomHorizontalFlip


class ListDataset(Dataset):
    """A plain map-style data set (no batch path): samples built one at a time."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __getitem__(self, i: int) -> tuple:
        return self.x[i], int(self.y[i])

    def __len__(self) -> int:
        return len(self.x)


class FailingDataset(ListDataset):
    """Raises on one sample, to test that a worker's error reaches the parent."""

    def __getitem__(self, i: int) -> tuple:
        if i == 13:
            raise KeyError(f"sample {i} is broken")
        return super().__getitem__(i)


class AddNoise:
    """A transform whose output reveals the generator it was given."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x + rng.random(x.shape).astype(x.dtype)


def _data(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 4 * 4, dtype=np.float32).reshape(n, 1, 4, 4)
    return x, np.arange(n) % 7


def _epoch(loader: DataLoader) -> list[tuple[np.ndarray, ...]]:
    return [tuple(t.numpy() for t in batch) for batch in loader]


def test_tensordataset_rows_and_length_mismatch():
    x, y = _data(10)
    ds = TensorDataset(tg.tensor(x), y)  # a Tensor and an array
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == y[3]
    with pytest.raises(ValueError, match=r"\(10, 1, 4, 4\), \(9,\)"):
        TensorDataset(x, y[:9])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_sequential_batches_cover_the_data_in_order(n, batch_size, drop_last):
    x, y = _data(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    batches = _epoch(loader)
    expected_len = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loader) == len(batches) == expected_len
    seen = np.concatenate([b[1] for b in batches]) if batches else np.array([], int)
    np.testing.assert_array_equal(seen, y[:len(seen)])
    sizes = [len(b[0]) for b in batches]
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1)
    if batches:
        assert sizes[-1] == (batch_size if drop_last else n - batch_size * (len(sizes) - 1))


def test_dtypes_float_kept_integers_int64():
    x64 = np.ones((6, 3), np.float64)
    labels = np.arange(6, dtype=np.int32)
    xb, yb = next(iter(DataLoader(TensorDataset(x64, labels), batch_size=4)))
    assert isinstance(xb, tg.Tensor) and xb.dtype == np.float64 and yb.dtype == np.int64
    xb, yb = next(iter(DataLoader(ListDataset(x64.astype(np.float32), labels), batch_size=4)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64


def test_shuffle_follows_the_seeded_permutation_of_each_epoch():
    x, _ = _data(50)
    loader = DataLoader(TensorDataset(x, np.arange(50)), batch_size=8, shuffle=True, seed=5)
    for k in range(3):
        order = np.concatenate([b[1] for b in _epoch(loader)])
        np.testing.assert_array_equal(order, np.random.default_rng([5, k]).permutation(50))
    assert loader.state_dict() == {"epoch": 3, "seed": 5}


def test_seed_none_comes_from_manual_seed():
    ds = TensorDataset(np.arange(30))
    tg.manual_seed(7)
    a = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=4, shuffle=True)])
    tg.manual_seed(7)
    b = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=4, shuffle=True)])
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(30)) and not np.array_equal(a, np.arange(30))


def test_state_dict_resume_sees_the_same_orders_and_augmentations():
    x, y = _data(40)
    ds = TensorDataset(x, y)
    run = DataLoader(ds, batch_size=6, shuffle=True, transform=AddNoise())
    epochs = [_epoch(run) for _ in range(3)]
    first = DataLoader(ds, batch_size=6, shuffle=True, seed=run.seed, transform=AddNoise())
    _epoch(first)
    resumed = DataLoader(ds, batch_size=6, shuffle=True, seed=123, transform=AddNoise())
    resumed.load_state_dict(first.state_dict())
    for expected in epochs[1:]:
        for got, want in zip(_epoch(resumed), expected, strict=True):
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
    with pytest.raises(KeyError, match="seed"):
        resumed.load_state_dict({"epoch": 1})


def test_transform_gets_the_per_batch_generator():
    x, y = _data(20)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, seed=11, transform=AddNoise())
    for epoch in range(2):
        for b, (xb, _) in enumerate(loader):
            noise = np.random.default_rng([11, epoch, b]).random(xb.shape).astype(np.float32)
            np.testing.assert_array_equal(xb.numpy(), x[b * 8:(b + 1) * 8] + noise)


def test_plain_dataset_and_subset_match_the_fast_path():
    x, y = _data(30)
    kwargs = {"batch_size": 7, "shuffle": True, "seed": 2}
    fast = _epoch(DataLoader(TensorDataset(x, y), **kwargs))
    slow = _epoch(DataLoader(ListDataset(x, y), **kwargs))
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(f[0], s[0])
        np.testing.assert_array_equal(f[1], s[1])
    idx = np.array([29, 3, 3, 10, 0])
    (xb, yb), = DataLoader(Subset(TensorDataset(x, y), idx), batch_size=5)
    np.testing.assert_array_equal(xb.numpy(), x[idx])
    np.testing.assert_array_equal(yb.numpy(), y[idx])


def test_custom_collate_fn_is_returned_as_is():
    loader = DataLoader(TensorDataset(np.arange(5)), batch_size=2,
                        collate_fn=lambda samples: [int(s[0]) * 10 for s in samples])
    assert list(loader) == [[0, 10], [20, 30], [40]]


def test_random_split_lengths_fractions_and_disjointness():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    assert sorted(np.concatenate([a.indices, b.indices]).tolist()) == list(range(10))
    np.testing.assert_array_equal(a.indices, np.random.default_rng(0).permutation(10)[:7])
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in parts] == [5, 3, 2]  # torch: floors, remainder round-robin
    assert [len(p) for p in random_split(TensorDataset(np.arange(11)), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [5, 4])


def _compare(a: DataLoader, b: DataLoader, epochs: int) -> None:
    for _ in range(epochs):
        got, want = _epoch(b), _epoch(a)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            for gf, wf in zip(g, w, strict=True):
                assert gf.dtype == wf.dtype
                np.testing.assert_array_equal(gf, wf)


def test_workers_give_exactly_the_serial_batches():
    x, y = _data(45)
    tf = Compose([RandomCrop(4, padding=1), RandomHorizontalFlip()])
    kwargs = {"batch_size": 4, "shuffle": True, "seed": 9, "drop_last": True, "transform": tf}
    serial = DataLoader(TensorDataset(x, y), **kwargs)
    workers = DataLoader(TensorDataset(x, y), num_workers=2, persistent_workers=True,
                         prefetch_factor=1, **kwargs)
    _compare(serial, workers, epochs=2)  # a pool per epoch: see the next test


def test_worker_error_is_raised_in_the_parent_naming_the_batch():
    x, y = _data(20)
    loader = DataLoader(FailingDataset(x, y), batch_size=4, num_workers=1)
    it = iter(loader)
    for _ in range(3):  # batches 0-2 (samples 0-11) are fine
        next(it)
    with pytest.raises(KeyError, match=r"batch 3 of epoch 0.*sample 13 is broken") as info:
        next(it)
    assert "worker 0" in str(info.value) and "12, 13, 14, 15" in str(info.value)
    assert not any(p.is_alive() for p in it.pool.processes)  # the pool was shut down


def test_unpicklable_worker_arguments_are_named_before_any_worker_starts():
    loader = DataLoader(TensorDataset(np.arange(4)), batch_size=2, num_workers=1,
                        collate_fn=lambda samples: samples)
    with pytest.raises(TypeError, match="must be picklable.*no lambdas"):
        iter(loader)
