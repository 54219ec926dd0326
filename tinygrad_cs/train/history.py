"""``History``: one row of numbers per epoch, saved as ``history.csv`` and ``history.json``.

Each row is a plain dict (only ``int`` / ``float`` / ``None``, so it goes into a checkpoint
and into JSON as is)::

    epoch         1, 2, ...  (epochs completed so far, counting from 1)
    train_loss    mean training loss over the epoch's samples (training mode, e.g. dropout on)
    train_acc     fraction of correct argmax predictions on the training batches (None if n/a)
    val_loss      mean validation loss (evaluation mode, no grad); None without a val loader
    val_acc       validation accuracy; None without a val loader or for non-class targets
    lr            param group 0's learning rate at the epoch's last optimizer step
    seconds       wall time of the epoch (training and validation)
    images_per_s  training samples per second (first dim of the inputs)

These are ``fit``'s ``COLUMNS``, the default. Another loop passes its own ``columns`` (e.g.
``fit_gan``'s ``d_loss``, ``g_loss``, ...); with ``columns=None`` they are the keys of the
first row, in order (how a resumed run gets them back from its checkpoint's rows).
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["COLUMNS", "History"]

COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
           "images_per_s")


class History:
    """The rows of a run, in epoch order. ``history["val_acc"]`` gives one column.

    ``columns``: the row keys kept, in order (default ``COLUMNS``, fit's); ``None`` takes them
    from the first row.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = (),
                 columns: Sequence[str] | None = COLUMNS) -> None:
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]
        if columns is None and self.rows:
            columns = tuple(self.rows[0])
        self.columns: tuple[str, ...] | None = None if columns is None else tuple(columns)

    def append(self, row: dict[str, Any]) -> None:
        if self.columns is None:
            self.columns = tuple(row)
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise KeyError(f"History.append: the row lacks {missing}")
        self.rows.append({c: _plain(row[c]) for c in self.columns})

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            if key not in (self.columns or ()):
                raise KeyError(f"History: no column {key!r}; columns: "
                               f"{', '.join(self.columns or ())}")
            return [r[key] for r in self.rows]
        return self.rows[key]

    @property
    def last(self) -> dict[str, Any] | None:
        return self.rows[-1] if self.rows else None

    def best(self, column: str = "val_acc", mode: str = "max") -> dict[str, Any] | None:
        """The row with the highest (``mode="max"``) or lowest value of ``column``."""
        rows = [r for r in self.rows if r[column] is not None]
        if not rows:
            return None
        pick = max if mode == "max" else min
        return pick(rows, key=lambda r: r[column])

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the rows as CSV with a header (``None`` is an empty cell)."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns or ())
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})

    def to_json(self, path: str | os.PathLike) -> None:
        """Write ``{"columns": [...], "rows": [...]}`` (``None`` as null)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"columns": list(self.columns or ()), "rows": self.rows}, f, indent=1)

    def save(self, run_dir: str | os.PathLike) -> None:
        """``history.csv`` and ``history.json`` in ``run_dir``."""
        self.to_csv(os.path.join(run_dir, "history.csv"))
        self.to_json(os.path.join(run_dir, "history.json"))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> History:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        return cls(saved["rows"], columns=saved.get("columns") or None)

    def __repr__(self) -> str:
        return f"History({len(self.rows)} epochs, last={self.last})"


def _plain(value: Any) -> Any:
    """Numpy numbers as Python numbers; non-finite floats are kept (JSON writes NaN/Infinity)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        return int(value)
    return float(value)
