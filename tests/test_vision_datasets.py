"""tinygrad_cs.vision.datasets on tiny data sets written here in torchvision's layouts (IDX files,
CIFAR's pickles, class folders), on the real Fashion-MNIST when Debian's package is installed,
and through ``DataLoader`` with and without worker processes; hostile pickles are refused."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.data.fashion_mnist import fashion_mnist_dir
from tinygrad_cs.data.idx import read_idx
from tinygrad_cs.utils.data import DataLoader
from tinygrad_cs.vision import datasets, transforms

TO_TENSOR = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


def _write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """MNIST's IDX format: 0, 0, dtype code 0x08 (uint8), ndim, big-endian sizes, the bytes."""
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if compress else raw)


def _mnist(root: Path, folder: str = "MNIST", n: int = (12, 5), compress: bool = False
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    written = {}
    for split, count in zip(("train", "t10k"), n):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        name = ".gz" if compress else ""
        _write_idx(root / folder / "raw" / f"{split}-images-idx3-ubyte{name}", images, compress)
        _write_idx(root / folder / "raw" / f"{split}-labels-idx1-ubyte{name}", labels, compress)
        written[split] = (images, labels)
    return written


def _cifar(root: Path, hundred: bool = False, n: int = 6, protocol: int = 2
           ) -> tuple[np.ndarray, list[int]]:
    """A CIFAR python folder of tiny batches; returns the training images (N, 32, 32, 3) and
    labels as torchvision would load them."""
    rng = np.random.default_rng(1)
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    names = ["train"] if hundred else [f"data_batch_{i}" for i in range(1, 6)]
    label_key = "fine_labels" if hundred else "labels"
    classes = 100 if hundred else 10
    all_data, all_labels = [], []
    for name in names + ["test" if hundred else "test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, classes, n)]
        entry = {"batch_label": name, label_key: labels, "data": data,
                 "filenames": [f"img_{i}.png" for i in range(n)]}
        if hundred:
            entry["coarse_labels"] = [v // 5 for v in labels]
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=protocol)
        if name in names:
            all_data.append(data)
            all_labels += labels
    meta_key = "fine_label_names" if hundred else "label_names"
    with open(folder / ("meta" if hundred else "batches.meta"), "wb") as f:
        pickle.dump({meta_key: [f"class_{i}" for i in range(classes)], "num_vis": 3072}, f,
                    protocol=protocol)
    images = np.vstack(all_data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, all_labels


# -- MNIST, FashionMNIST -----------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_torchvisions_layout(tmp_path, compress):
    written = _mnist(tmp_path, compress=compress)
    train = datasets.MNIST(tmp_path, train=True)
    test = datasets.MNIST(str(tmp_path), train=False)
    assert len(train) == 12 and len(test) == 5
    images, labels = written["train"]
    assert isinstance(train.data, tg.Tensor) and train.data.dtype == tg.uint8
    assert train.data.shape == (12, 28, 28) and train.targets.dtype == tg.int64
    np.testing.assert_array_equal(train.data.numpy(), images)
    np.testing.assert_array_equal(train.targets.numpy(), labels)
    img, target = train[3]
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and img.dtype == np.uint8
    assert type(target) is int and target == labels[3]
    np.testing.assert_array_equal(img, images[3])
    img[:] = 0                                                 # a copy: the set is unchanged
    np.testing.assert_array_equal(train.data.numpy()[3], images[3])
    np.testing.assert_array_equal(test[4][0], written["t10k"][0][4])
    assert train.classes[7] == "7 - seven" and train.class_to_idx["0 - zero"] == 0
    assert repr(test).splitlines()[:4] == ["Dataset MNIST", "    Number of datapoints: 5",
                                           f"    Root location: {tmp_path}", "    Split: Test"]


def test_transform_and_target_transform(tmp_path):
    written = _mnist(tmp_path)
    ds = datasets.MNIST(tmp_path, transform=TO_TENSOR, target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert isinstance(x, tg.Tensor) and x.shape == (1, 28, 28) and x.dtype == tg.float32
    np.testing.assert_allclose(x.numpy()[0], (written["train"][0][0] / 255 - 0.5) / 0.5,
                               atol=1e-6)
    assert y == written["train"][1][0] + 100
    assert "Transform: Compose(" in repr(ds)


def test_missing_files_say_what_to_put_where(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    with pytest.raises(FileNotFoundError, match=(
            rf"MNIST: data set not found\. Put train-images-idx3-ubyte\[\.gz\], "
            rf"train-labels-idx1-ubyte\[\.gz\] \(torchvision's layout\) in {raw}")):
        datasets.MNIST(tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True, but tinygrad_cs never downloads"):
        datasets.MNIST(tmp_path, train=False, download=True)
    _mnist(tmp_path)
    assert len(datasets.MNIST(tmp_path, download=True)) == 12   # present: nothing to download


def test_fashion_mnist_reads_its_folder_then_debians(tmp_path, monkeypatch):
    empty = tmp_path / "nowhere"
    monkeypatch.setenv("FASHION_MNIST_DIR", str(empty))
    with pytest.raises(FileNotFoundError, match=rf"FashionMNIST.* in {tmp_path / 'FashionMNIST'}"
                                                rf"/raw .*dataset-fashion-mnist.* or {empty}"):
        datasets.FashionMNIST(tmp_path)
    written = _mnist(tmp_path / "debian", folder="x", compress=True)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "debian" / "x" / "raw"))
    fallback = datasets.FashionMNIST(tmp_path, train=False)
    np.testing.assert_array_equal(fallback.data.numpy(), written["t10k"][0])
    own = _mnist(tmp_path, folder="FashionMNIST", n=(3, 2))  # the torchvision folder wins
    assert len(datasets.FashionMNIST(tmp_path, train=False)) == 2
    np.testing.assert_array_equal(datasets.FashionMNIST(tmp_path)[2][0], own["train"][0][2])
    assert datasets.FashionMNIST.classes[9] == "Ankle boot"


def test_mismatched_images_and_labels_are_refused(tmp_path):
    _mnist(tmp_path)
    _write_idx(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match=r"MNIST train: images \(12, 28, 28\) .* and labels "
                                         r"\(11,\) .* do not match"):
        datasets.MNIST(tmp_path)


def test_real_fashion_mnist_when_installed(tmp_path, monkeypatch):
    folder = fashion_mnist_dir()
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST is not installed in {folder} (dataset-fashion-mnist)")
    ds = datasets.FashionMNIST(tmp_path, train=False, transform=transforms.ToTensor())
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    x, y = ds[1234]
    np.testing.assert_array_equal(x.numpy()[0], images[1234] / np.float32(255))
    assert y == labels[1234]
    assert np.bincount(ds.targets.numpy()).tolist() == [1000] * 10
    batch_x, batch_y = next(iter(DataLoader(ds, batch_size=64, shuffle=True)))
    assert batch_x.shape == (64, 1, 28, 28) and batch_y.dtype == tg.int64


# -- CIFAR ------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_reads_the_python_batches(tmp_path, protocol):
    images, labels = _cifar(tmp_path, protocol=protocol)
    ds = datasets.CIFAR10(tmp_path, train=True)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8
    assert ds.data.shape == (30, 32, 32, 3) and ds.targets == labels
    assert isinstance(ds.targets, list) and type(ds.targets[0]) is int
    np.testing.assert_array_equal(ds.data, images)
    img, y = ds[7]
    np.testing.assert_array_equal(img, images[7])
    assert y == labels[7] and ds.classes[3] == "class_3" and ds.class_to_idx["class_9"] == 9
    assert len(datasets.CIFAR10(tmp_path, train=False)) == 6


def test_cifar_pickles_written_by_old_numpy_and_with_bytes_keys(tmp_path):
    _cifar(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    entry = {b"data": np.arange(3072 * 2, dtype=np.int64).astype(np.uint8).reshape(2, 3072),
             b"labels": [4, 2]}
    raw = pickle.dumps(entry, protocol=2)
    assert b"cnumpy._core.multiarray\n_reconstruct\n" in raw
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    ds = datasets.CIFAR10(tmp_path)
    assert ds.targets[:2] == [4, 2] and ds.data[1, 0, 0].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(ds.data[0, 0, :3, 0], [0, 1, 2])   # channel 0 = R, row-major


def test_cifar100_uses_the_fine_labels(tmp_path):
    images, labels = _cifar(tmp_path, hundred=True)
    ds = datasets.CIFAR100(tmp_path)
    assert ds.targets == labels and len(ds.classes) == 100
    np.testing.assert_array_equal(ds[5][0], images[5])


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("name", ["data_batch_3", "batches.meta"])
def test_a_hostile_pickle_is_refused_before_it_runs(tmp_path, name):
    _cifar(tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / "cifar-10-batches-py" / name).write_bytes(
        pickle.dumps({"data": _Evil(marker), "labels": [1]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=rf"CIFAR10: .*{name}: refusing to load "
                                                     rf"global '(posix|os)\.system'"):
        datasets.CIFAR10(tmp_path)
    assert not marker.exists()
    (tmp_path / "cifar-10-batches-py" / name).write_bytes(
        pickle.dumps({"data": np.zeros(3, dtype=object)}, protocol=2))
    if name != "batches.meta":
        with pytest.raises(ValueError, match=r"'data' must be a uint8 array \(n, 3072\), found "
                                             r"object array"):
            datasets.CIFAR10(tmp_path)


def test_codecs_in_a_pickle_only_for_latin1(tmp_path):
    _cifar(tmp_path)
    raw = pickle.dumps({"data": b"\x00\x01"}, protocol=2).replace(b"latin1", b"hex___")
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(raw)
    with pytest.raises(pickle.UnpicklingError, match="encoding 'hex___' is not allowed"):
        datasets.CIFAR10(tmp_path)


def test_cifar_missing_and_damaged_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR10: .*Put data_batch_1, .*data_batch_5, "
                                                r"batches.meta .* in .*cifar-10-batches-py"):
        datasets.CIFAR10(tmp_path)
    _cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02}q\x00")
    with pytest.raises(ValueError, match="test_batch is not a readable pickle"):
        datasets.CIFAR10(tmp_path, train=False)


# -- through the DataLoader --------------------------------------------------------------------
def test_dataloader_gives_float_batches_and_int64_labels_with_and_without_workers(tmp_path):
    _mnist(tmp_path, n=(10, 2))
    ds = datasets.MNIST(tmp_path, transform=TO_TENSOR)
    runs = []
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers, seed=3)
        batches = list(loader)
        assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 28, 28)] * 2 + [(2, 1, 28, 28)]
        assert all(x.dtype == tg.float32 and y.dtype == tg.int64 for x, y in batches)
        runs.append(batches)
    for (x0, y0), (x2, y2) in zip(*runs):
        np.testing.assert_array_equal(x0.numpy(), x2.numpy())
        np.testing.assert_array_equal(y0.numpy(), y2.numpy())
    seen = np.concatenate([y.numpy() for _, y in runs[0]])
    assert sorted(seen.tolist()) == sorted(ds.targets.numpy().tolist())


@pytest.mark.filterwarnings("ignore:DataLoader.num_workers=2.:RuntimeWarning")
def test_random_transforms_give_the_same_batches_with_threads_processes_or_none(
        tmp_path, monkeypatch):
    # A data set's own random transforms draw from tg.generator(); the loader gives each
    # batch its own seeded stream, so workers (processes, or threads as the fallback for an
    # unguarded script) build exactly what the main process builds, and the global
    # generator that dropout and initialisation use is left alone.
    from tinygrad_cs.data import loader as loader_module
    from tinygrad_cs.vision import transforms
    _mnist(tmp_path, n=(10, 2))
    augment = transforms.Compose([transforms.RandomCrop(28, padding=4),
                                  transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    ds = datasets.MNIST(tmp_path, transform=augment)

    def epoch(workers: int, threads: bool) -> tuple[list, np.ndarray]:
        monkeypatch.setattr(loader_module, "main_script_is_unguarded", lambda: threads)
        tg.manual_seed(11)
        loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers)
        return [x.numpy() for x, _ in loader], tg.rand(3).numpy()

    serial, after = epoch(0, False)
    for workers, threads in ((2, False), (2, True)):
        batches, global_after = epoch(workers, threads)
        for a, b in zip(serial, batches):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(global_after, after)
    tg.manual_seed(11)
    DataLoader(ds, batch_size=4, shuffle=True)  # draws its seed; iterating draws nothing more
    np.testing.assert_array_equal(tg.rand(3).numpy(), after)
    plain = [x.numpy() for x, _ in DataLoader(datasets.MNIST(tmp_path, transform=TO_TENSOR),
                                               batch_size=4, shuffle=True, seed=0)]
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(serial, plain))


def test_cifar_batches_and_what_a_worker_process_receives(tmp_path):
    _cifar(tmp_path, n=2)
    ds = datasets.CIFAR10(tmp_path, transform=TO_TENSOR)
    (x, y), = list(DataLoader(ds, batch_size=10, shuffle=True, seed=0))
    assert x.shape == (10, 3, 32, 32) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert sorted(y.numpy().tolist()) == sorted(ds.targets)
    copy = pickle.loads(pickle.dumps(ds))                    # spawned workers get a pickle
    np.testing.assert_array_equal(copy[3][0].numpy(), ds[3][0].numpy())


# -- ImageFolder, DatasetFolder, FakeData --------------------------------------------------------
def test_image_folder_reads_one_folder_per_class(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2)
    pictures = {}
    for path in ["dog/b.png", "cat/z.png", "cat/a.png", "cat/sub/c.bmp", "dog/x.PNG"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        pictures[path] = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
        Image.fromarray(pictures[path]).save(tmp_path / path)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    Image.fromarray(pictures["dog/b.png"][:, :, 0]).save(tmp_path / "dog" / "gray.png")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    order = ["cat/a.png", "cat/z.png", "cat/sub/c.bmp", "dog/b.png", "dog/gray.png", "dog/x.PNG"]
    assert [Path(p).relative_to(tmp_path).as_posix() for p, _ in ds.samples] == order
    assert ds.targets == [0, 0, 0, 1, 1, 1] and ds.imgs is ds.samples
    x, y = ds[2]
    assert y == 0
    np.testing.assert_array_equal(x.numpy(),
                                  pictures["cat/sub/c.bmp"].transpose(2, 0, 1) / np.float32(255))
    gray, _ = datasets.ImageFolder(tmp_path)[4]                # converted to RGB, as torchvision
    assert gray.shape == (4, 6, 3) and (gray[:, :, 0] == gray[:, :, 2]).all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no valid file for the classes empty"):
        datasets.ImageFolder(tmp_path)
    assert len(datasets.ImageFolder(tmp_path, allow_empty=True)) == 6


def test_dataset_folder_with_its_own_loader(tmp_path):
    for i, name in enumerate(["a/1.npy", "b/2.npy", "b/3.npy"]):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        np.save(tmp_path / name, np.full((2, 2), i, np.uint8))
    ds = datasets.DatasetFolder(tmp_path, loader=np.load, extensions=(".npy",))
    assert len(ds) == 3 and ds[2][0].tolist() == [[2, 2], [2, 2]] and ds[2][1] == 1
    with pytest.raises(FileNotFoundError, match="root folder .*missing does not exist"):
        datasets.DatasetFolder(tmp_path / "missing", loader=np.load, extensions=(".npy",))


def test_fake_data_is_seeded_per_index_and_leaves_the_global_generator(tmp_path):
    ds = datasets.FakeData(size=5, image_size=(3, 8, 6), num_classes=4)
    state = tg.get_rng_state()
    img, y = ds[2]
    assert tg.get_rng_state() == state
    assert img.shape == (8, 6, 3) and img.dtype == np.uint8 and 0 <= y < 4
    np.testing.assert_array_equal(ds[2][0], img)
    assert not np.array_equal(ds[3][0], img)
    assert datasets.FakeData(2, (1, 4, 4))[0][0].shape == (4, 4)
    with pytest.raises(IndexError, match="index 5 out of range for 5 samples"):
        ds[5]
