"""scikit-learn's bundled data sets (installed with it, never downloaded): digits, iris, wine.

scikit-learn is an optional extra (``pip install -e '.[data]'``); it is imported only here, and
only when one of these sets is loaded.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SKLEARN_SETS", "load_sklearn"]

SKLEARN_SETS = ("digits", "iris", "wine")


def load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(X float32, y int64, class names)`` of a bundled set.

    * ``digits``: X (1797, 1, 8, 8), pixel counts 0..16 divided by 16, classes "0".."9";
    * ``iris``: X (150, 4), 3 classes; ``wine``: X (178, 13), 3 classes (raw features).
    """
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(f"the {name!r} data set comes with scikit-learn, which is not "
                          f"installed: pip install -e '.[data]' (or pip install "
                          f"scikit-learn)") from None
    if name not in SKLEARN_SETS:
        raise ValueError(f"load_sklearn: unknown set {name!r}; known: {', '.join(SKLEARN_SETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    if name == "digits":
        X = X.reshape(-1, 1, 8, 8) / np.float32(16)
    return X, y, tuple(str(c) for c in bunch.target_names)
