"""Samplers and the DataLoader options that take them, as ``torch.utils.data``.

Oracles: PyTorch itself where the result is deterministic (sequential and batch samplers,
the loader's batches for a given index order, its option errors), and properties where it
is random (a permutation, reproducible by seed, frequencies that follow the weights).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10)


def test_deterministic_samplers_match_pytorch():
    torch = pytest.importorskip("torch")
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(range(10)), 3, drop_last))
        theirs = list(torch.utils.data.BatchSampler(
            torch.utils.data.SequentialSampler(range(10)), 3, drop_last))
        assert ours == theirs
        assert len(BatchSampler(range(10), 3, drop_last)) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)


def test_random_samplers_are_permutations_reproducible_by_seed():
    data = list(range(7))
    tg.manual_seed(0)
    first = list(RandomSampler(data))
    tg.manual_seed(0)
    assert list(RandomSampler(data)) == first and sorted(first) == data
    gen = tg.Generator().manual_seed(3)
    a = list(SubsetRandomSampler([10, 20, 30, 40], generator=gen))
    b = list(SubsetRandomSampler([10, 20, 30, 40], generator=tg.Generator().manual_seed(3)))
    assert a == b and sorted(a) == [10, 20, 30, 40]
    drawn = list(RandomSampler(data, replacement=True, num_samples=50, generator=gen))
    assert len(drawn) == 50 and set(drawn) <= set(data)
    more = list(RandomSampler(data, num_samples=10, generator=gen))  # more than len(data)
    assert len(more) == 10 and sorted(more[:7]) == data  # whole permutations, then a cut


def test_weighted_sampler_follows_its_weights():
    weights = [0.0, 1.0, 3.0]
    drawn = np.array(list(WeightedRandomSampler(weights, 40_000,
                                                generator=tg.Generator().manual_seed(1))))
    shares = np.bincount(drawn, minlength=3) / drawn.size
    np.testing.assert_allclose(shares, [0.0, 0.25, 0.75], atol=0.01)
    once = list(WeightedRandomSampler(weights, 2, replacement=False))
    assert sorted(once) == [1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler(weights, 3, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([-1.0, 2.0], 3)


def test_loader_batches_a_samplers_indices_as_pytorch():
    torch = pytest.importorskip("torch")
    order = [3, 1, 4, 1, 5, 9, 2, 6]

    class Fixed(tg.utils.data.Sampler):
        def __iter__(self):
            return iter(order)

        def __len__(self):
            return len(order)

    ours = DataLoader(TensorDataset(X, Y), batch_size=3, sampler=Fixed())
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
        batch_size=3, sampler=order)
    assert len(ours) == len(theirs) == 3
    for (xo, yo), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xo.numpy(), xt.numpy())
        assert yo.tolist() == yt.tolist()
    batches = [[0, 1], [5], [9, 8, 7]]
    by_batch = DataLoader(TensorDataset(X, Y), batch_sampler=batches)
    assert [y.tolist() for _, y in by_batch] == batches and len(by_batch) == 3


def test_loader_refuses_what_pytorch_refuses():
    data = TensorDataset(X, Y)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(data, shuffle=True, sampler=SequentialSampler(data))
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(data, batch_size=2, batch_sampler=[[0, 1]])


def test_dict_samples_collate_into_a_dict_of_tensors_as_pytorch():
    torch = pytest.importorskip("torch")

    class Pairs:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"image": np.full((2,), i, np.float32), "label": i}

    ours = next(iter(DataLoader(Pairs(), batch_size=3)))
    theirs = next(iter(torch.utils.data.DataLoader(Pairs(), batch_size=3)))
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].tolist() == theirs[key].tolist()
        assert str(ours[key].dtype).split(".")[-1] == str(theirs[key].dtype).split(".")[-1]


def test_random_split_takes_a_generator_as_pytorch_code_passes_it():
    data = TensorDataset(X, Y)
    a = random_split(data, [0.7, 0.3], generator=tg.Generator().manual_seed(42))
    b = random_split(data, [0.7, 0.3], generator=tg.Generator().manual_seed(42))
    assert [len(s) for s in a] == [7, 3]
    assert [list(s.indices) for s in a] == [list(s.indices) for s in b]
    assert sorted(np.concatenate([s.indices for s in a]).tolist()) == list(range(10))
