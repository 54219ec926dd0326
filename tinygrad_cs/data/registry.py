"""``load_dataset(name)``: every data set this package knows, as ``Splits`` of
``TensorDataset(x, y)``, normalised with statistics of the training split; the detection sets
as ``Splits`` of ``DetectionDataset``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .dataset import TensorDataset, stratified_split
from .fashion_mnist import CLASSES as FASHION_CLASSES
from .fashion_mnist import load_fashion_mnist
from .sklearn_sets import load_sklearn
from .spiral import spiral
from .splits import Splits
from .transforms import Normalize

__all__ = ["DATASETS", "DETECTION_DATASETS", "load_dataset"]

# classification and text: what ``tgcs train --data`` can train on
DATASETS = ("digits", "iris", "wine", "fashion-mnist", "spiral", "text")
# images with boxes, labels and instance masks (``tinygrad_cs.data.detection``)
DETECTION_DATASETS = ("shapes", "digits-detection")

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple, dict]


def _split(X: np.ndarray, y: np.ndarray, classes: tuple, seed: int,
           test_size: float) -> Arrays:
    train, test = stratified_split(y, test_size, seed)
    return X[train], y[train], X[test], y[test], classes, {}


def _sklearn(name: str, seed: int, test_size: float = 0.2) -> Arrays:
    return _split(*load_sklearn(name), seed, test_size)


def _fashion_mnist(seed: int, root: str | None = None) -> Arrays:
    # The split is the original fixed 60k/10k one: ``seed`` has nothing to choose.
    x_train, y_train, x_test, y_test = load_fashion_mnist(root)
    def scaled(x: np.ndarray) -> np.ndarray:
        return np.multiply(x[:, None], np.float32(1 / 255), dtype=np.float32)

    return scaled(x_train), y_train, scaled(x_test), y_test, FASHION_CLASSES, {}


def _spiral(seed: int, n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2,
            test_size: float = 0.2) -> Arrays:
    X, y = spiral(n_per_class, n_classes, noise, seed)
    return _split(X, y, tuple(str(j) for j in range(n_classes)), seed, test_size)


_BUILDERS = {
    "digits": lambda seed, **kw: _sklearn("digits", seed, **kw),
    "iris": lambda seed, **kw: _sklearn("iris", seed, **kw),
    "wine": lambda seed, **kw: _sklearn("wine", seed, **kw),
    "fashion-mnist": _fashion_mnist,
    "spiral": _spiral,
}


def _detection(key: str, seed: int, n_train: int = 2000, n_test: int = 500,
               **kwargs: Any) -> Splits:
    """A generated detection set: train images from entropy ``(seed, 0)``, test images from
    ``(seed, 1)``; ``digits-detection`` draws them from disjoint digits (a stratified 80/20
    split of ``load_digits`` by ``seed``)."""
    from . import detection  # generated sets: loaded only when asked for
    if key == "shapes":
        make, classes, own = detection.make_shapes, detection.SHAPE_CLASSES, ({}, {})
    else:
        make, classes = detection.make_digits_detection, detection.DIGIT_CLASSES
        pools = stratified_split(load_sklearn("digits")[1], 0.2, seed)
        own = ({"pool": pools[0]}, {"pool": pools[1]})          # each part's own arguments
    parts = [detection.DetectionDataset(*make(n, seed=(seed, part), **kwargs, **more),
                                        classes=classes)
             for part, (n, more) in enumerate(zip((n_train, n_test), own))]
    return Splits(name=key, train=parts[0], test=parts[1], num_classes=len(classes),
                  input_shape=tuple(parts[0].images.shape[1:]), classes=classes,
                  extra={"task": "detection"})


def load_dataset(name: str, *, seed: int = 0, normalize: bool = True, **kwargs: Any) -> Splits:
    """The named data set's train/test ``Splits``; nothing is ever downloaded.

    ============== ========================== ======================================= =========
    name           x (per sample)             split                                   kwargs
    ============== ========================== ======================================= =========
    digits         (1, 8, 8) float32, /16     stratified 80/20 by ``seed``            test_size
    iris, wine     (4,), (13,) float32        stratified 80/20 by ``seed``            test_size
    fashion-mnist  (1, 28, 28) float32, /255  fixed 60k/10k                           root
    spiral         (2,) float32 (CS231n)      stratified 80/20 by ``seed``            n_per_class,
                                                                                      n_classes,
                                                                                      noise,
                                                                                      test_size
    text           (T,) int64 characters      ``tinygrad_cs.data.text.char_splits``   seq_len, ...
    shapes         (3, 64, 64) float32 image  2,000 / 500 images made from ``seed``  n_train,
                   and a target dict                                                  n_test, ...
    digits-        as shapes                  2,000 / 500 made from ``seed``, of      as shapes
    detection                                 disjoint digits                         + threshold
    ============== ========================== ======================================= =========

    Labels are int64. With ``normalize=True`` (ignored for text) a per-channel (per-feature for
    vectors) ``Normalize`` is fitted on the training split, applied to both, and kept in
    ``splits.extra["normalize"]``.

    The detection sets (``DETECTION_DATASETS``) are ``DetectionDataset`` s of ``(image (3, H,
    W) float32 in [0, 1], target {"boxes", "labels", "masks", "image_id"})``, labels 1..K with
    0 the background, so ``num_classes`` = K + 1 and ``classes[0] == "__background__"`` (as
    torchvision's detection models count); ``normalize`` is ignored (those models normalise
    inside). Other keyword arguments go to ``make_shapes`` / ``make_digits_detection``; set
    ``splits.train.transforms`` for augmentation (``tinygrad_cs.data.detection.augment``).
    """
    key = name.lower().replace("_", "-")
    if key == "text":
        from .text import char_splits  # its own helper module; loaded only when asked for
        return char_splits(seed=seed, **kwargs)
    if key not in _BUILDERS and key not in DETECTION_DATASETS:
        raise ValueError(f"load_dataset: unknown data set {name!r}; "
                         f"available: {', '.join(DATASETS + DETECTION_DATASETS)}")
    try:
        if key in DETECTION_DATASETS:
            return _detection(key, seed, **kwargs)
        x_train, y_train, x_test, y_test, classes, extra = _BUILDERS[key](seed, **kwargs)
    except TypeError as e:
        if "keyword argument" in str(e):
            raise TypeError(f"load_dataset({name!r}): {e}") from None
        raise
    if normalize:
        extra["normalize"] = norm = Normalize.fit(x_train)
        x_train, x_test = norm(x_train), norm(x_test)
    return Splits(name=key, train=TensorDataset(x_train, y_train),
                  test=TensorDataset(x_test, y_test), num_classes=len(classes),
                  input_shape=tuple(x_train.shape[1:]), classes=classes, extra=extra)
