"""Data sets: the IDX reader on hand-written files, Fashion-MNIST where installed, scikit-learn's
sets, the CS231n spiral (its generator copied as the oracle) and ``load_dataset``."""
from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cs.data import load_dataset, read_idx, spiral, stratified_split
from tinygrad_cs.data.fashion_mnist import CLASSES, fashion_mnist_dir, load_fashion_mnist

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


def _write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """The IDX layout written by hand: 0, 0, dtype code, ndim, big-endian sizes and values."""
    header = bytes([0, 0, CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-7, 0, 2**31 - 1, -2**31], np.int32),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
    np.array([[np.pi, -1e300]], np.float64),
    np.array([-128, 127], np.int8),
    np.array([-300, 300], np.int16)], ids=lambda a: a.dtype.name)
def test_read_idx_round_trips_every_dtype(tmp_path, array, gz):
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    _write_idx(path, array, gz)
    got = read_idx(path)
    assert got.shape == array.shape and got.dtype == array.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad-magic.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match=r"bad-magic\.idx is not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    _write_idx(short, np.zeros((4, 5), np.float32))
    short.write_bytes(short.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"short\.idx has 89 bytes.*\(4, 5\) needs 92"):
        read_idx(short)


def _fake_fashion(folder, n_train: int = 12, n_test: int = 5) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz",
                   rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), gz=True)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz",
                   (np.arange(n) % 10).astype(np.uint8), gz=True)


def test_fashion_mnist_folder_override_and_missing_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    assert fashion_mnist_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist.*"
                                                "FASHION_MNIST_DIR"):
        load_fashion_mnist()
    _fake_fashion(tmp_path)
    x_train, _, _, y_test = load_fashion_mnist()
    assert x_train.shape == (12, 28, 28) and y_test.dtype == np.int64
    splits = load_dataset("fashion-mnist", root=tmp_path, normalize=False)
    assert splits.input_shape == (1, 28, 28) and splits.classes == CLASSES
    np.testing.assert_allclose(splits.train.tensors[0][:, 0], x_train / 255, rtol=1e-6)
    np.testing.assert_array_equal(splits.test.tensors[1], y_test)


def test_real_fashion_mnist_when_installed():
    folder = fashion_mnist_dir()
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST is not installed in {folder} "
                    f"(sudo apt-get install dataset-fashion-mnist)")
    x_train, y_train, x_test, y_test = load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    # The published data set: 10 balanced classes, 6,000 / 1,000 images each; pixel mean
    # 0.2860 and std 0.3530 (after /255) are the usual normalisation constants.
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert abs(x_train.mean() / 255 - 0.2860) < 1e-4
    assert len(CLASSES) == 10 and CLASSES[0] == "T-shirt/top" and CLASSES[9] == "Ankle boot"


def test_digits_split_scaling_and_normalisation():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    raw = load_dataset("digits", normalize=False)
    assert raw.input_shape == (1, 8, 8) and raw.num_classes == 10 and len(raw.classes) == 10
    assert (len(raw.train), len(raw.test)) == (1438, 359)
    train_idx, test_idx = stratified_split(y, 0.2, 0)
    np.testing.assert_allclose(raw.test.tensors[0].reshape(-1, 64), X[test_idx] / 16)
    np.testing.assert_array_equal(raw.train.tensors[1], y[train_idx])
    # stratified: each class keeps its share (to one sample) in the held-out split
    share = np.bincount(raw.test.tensors[1]) / np.bincount(y)
    assert np.all(np.abs(share - 0.2) * np.bincount(y) <= 0.5)
    splits = load_dataset("digits")
    norm = splits.extra["normalize"]
    x = splits.train.tensors[0]
    assert x.dtype == np.float32 and splits.train.tensors[1].dtype == np.int64
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-5
    np.testing.assert_allclose(splits.test.tensors[0], norm(raw.test.tensors[0]), rtol=1e-6)
    other = load_dataset("digits", seed=1, normalize=False)
    assert not np.array_equal(other.test.tensors[1], raw.test.tensors[1])


@pytest.mark.parametrize("name, features", [("iris", 4), ("wine", 13)])
def test_vector_sets_are_standardised_per_feature(name, features):
    pytest.importorskip("sklearn")
    splits = load_dataset(name)
    x_train, x_test = splits.train.tensors[0], splits.test.tensors[0]
    assert splits.input_shape == (features,) and splits.num_classes == 3
    np.testing.assert_allclose(x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x_train.std(axis=0), 1, rtol=1e-5)
    assert np.abs(x_test.mean(axis=0)).max() > 1e-3  # test statistics were not used
    y_test = splits.test.tensors[1]
    y_all = np.concatenate([splits.train.tensors[1], y_test])
    np.testing.assert_array_equal(np.bincount(y_test), np.round(0.2 * np.bincount(y_all)))


def test_missing_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[data\]'"):
        load_dataset("digits")


def test_spiral_is_the_cs231n_generator():
    rng = np.random.default_rng(3)  # CS231n's code, with np.random replaced by rng
    N, K = 50, 4
    X = np.zeros((N * K, 2))
    y = np.zeros(N * K, dtype="uint8")
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + rng.standard_normal(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    got_X, got_y = spiral(n_per_class=50, n_classes=4, noise=0.2, seed=3)
    np.testing.assert_allclose(got_X, X, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got_y, y)
    splits = load_dataset("spiral", seed=3, n_per_class=50, n_classes=4, normalize=False)
    assert (len(splits.train), len(splits.test)) == (160, 40)
    np.testing.assert_array_equal(np.bincount(splits.test.tensors[1]), [10] * 4)
    assert splits.input_shape == (2,) and splits.num_classes == 4


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=60), seed=st.integers(0, 99),
       test_size=st.floats(0.05, 0.95))
def test_stratified_split_partitions_each_class(labels, seed, test_size):
    y = np.array(labels)
    train, test = stratified_split(y, test_size, seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    for c in np.unique(y):
        assert np.sum(y[test] == c) == round(test_size * np.sum(y == c))


def test_load_dataset_errors():
    with pytest.raises(ValueError, match="'cifar'.*digits, iris, wine, fashion-mnist, spiral"):
        load_dataset("cifar")
    with pytest.raises(TypeError, match="load_dataset\\('spiral'\\).*colour"):
        load_dataset("spiral", colour=True)


def test_text_delegates_to_char_splits():
    text = pytest.importorskip("tinygrad_cs.data.text")
    a = load_dataset("text", seq_len=16, max_chars=4000, seed=2)
    b = text.char_splits(16, seed=2, max_chars=4000)
    assert a.num_classes == b.num_classes and len(a.train) == len(b.train)
    np.testing.assert_array_equal(a.train.tensors[0], b.train.tensors[0])
