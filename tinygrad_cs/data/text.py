"""A character corpus for language models, and its windows as a data set.

``CharCorpus(path=None, max_chars=1_000_000)`` reads a text: a user's file, or by default
the source of a fixed list of pure-Python standard-library modules of the running
interpreter (every Python installation has them, so nothing is ever downloaded). Its
vocabulary is the sorted set of characters that occur in the text; ``encode`` / ``decode``
map between strings and ids ``0 .. V-1``.

``unigram_entropy(ids) = -sum_c p_c ln p_c`` (nats per character), with ``p_c`` the
frequency of character ``c`` in ``ids``: the cross-entropy of the best *context-free*
model of that text, even one fitted to the text itself. A language model that uses context
must get below it.

``char_splits(seq_len=64, ...)`` cuts the text by position into a training part (the first
``1 - val_fraction``) and a validation part (the rest), then each part into windows
``x = t[i : i+T]``, ``y = t[i+1 : i+T+1]`` (the next character at every position), with
step ``T``; no window crosses the split.
"""
from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tinygrad_cs.nn.models.vocab import CharVocab

from .splits import Splits

__all__ = ["STDLIB_FILES", "CharCorpus", "char_splits", "windows"]

# Pure-Python modules present (as these paths) in CPython 3.10 to 3.13, in reading order.
STDLIB_FILES: tuple[str, ...] = (
    "textwrap.py", "string.py", "argparse.py", "functools.py", "random.py", "heapq.py",
    "bisect.py", "fractions.py", "statistics.py", "difflib.py", "pprint.py", "shutil.py",
    "tempfile.py", "inspect.py", "dataclasses.py", "enum.py", "calendar.py", "csv.py",
    "gettext.py", "ast.py", "copy.py", "configparser.py", "contextlib.py", "tokenize.py",
    "traceback.py", "weakref.py", "threading.py", "subprocess.py", "glob.py", "fnmatch.py",
    "operator.py", "queue.py", "shlex.py", "json/decoder.py", "json/encoder.py",
    "collections/__init__.py", "logging/__init__.py",
)
DEFAULT_MAX_CHARS = 1_000_000


def _stdlib_text(max_chars: int | None) -> str:
    """The ``STDLIB_FILES`` that exist, concatenated, cut after ``max_chars`` characters."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for name in STDLIB_FILES:
        file = root / name
        if not file.is_file():  # a trimmed install: use what is there
            continue
        parts.append(file.read_text(encoding="utf-8"))
        total += len(parts[-1])
        if max_chars is not None and total >= max_chars:
            break
    if not parts:
        raise FileNotFoundError(f"CharCorpus: none of the standard-library sources "
                                f"{STDLIB_FILES[:3]}... exist under {root}; pass path=<a text "
                                "file> instead")
    return "".join(parts)


class CharCorpus(CharVocab):
    """A text and its character vocabulary (see the module docstring): a ``CharVocab`` of
    the text's sorted distinct characters, with ``encode`` / ``decode``.

    Args:
        path: a UTF-8 text file; ``None`` for the standard-library sources.
        max_chars: keep only the first ``max_chars`` characters (``None``: all of a user's
            file; the default text is capped at 1,000,000).

    Attributes:
        text: the text (a ``str``); ``vocab``: the sorted tuple of its distinct characters;
        ``ids``: the whole text encoded, int64 array of shape ``(len(text),)``.
    """

    def __init__(self, path: str | os.PathLike | None = None,
                 max_chars: int | None = None) -> None:
        if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 2):
            raise ValueError(f"CharCorpus: max_chars must be an integer >= 2, got {max_chars!r}")
        if path is None:
            max_chars = max_chars or DEFAULT_MAX_CHARS
            text = _stdlib_text(max_chars)
        else:
            file = Path(path)
            if not file.is_file():
                raise FileNotFoundError(f"CharCorpus: no text file at {str(file)!r}")
            text = file.read_text(encoding="utf-8")
        if max_chars is not None:
            text = text[:max_chars]
        if len(text) < 2:
            raise ValueError(f"CharCorpus: the text {str(path or 'stdlib')!r} has "
                             f"{len(text)} characters; a language model needs at least 2")
        super().__init__(sorted(set(text)))
        self.path = None if path is None else str(path)
        self.text = text
        self.ids = self.encode(text)

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        source = self.path or "stdlib sources"
        return f"CharCorpus({source!r}, {len(self.text)} chars, vocab {len(self.vocab)})"

    def unigram_entropy(self, ids: Iterable[int] | np.ndarray | None = None) -> float:
        """``-sum_c p_c ln p_c`` in nats per character, ``p_c`` = frequency of ``c`` in ``ids``
        (default: the whole text)."""
        flat = self.ids if ids is None else np.asarray(ids, dtype=np.int64).ravel()
        if flat.size == 0:
            raise ValueError("CharCorpus.unigram_entropy: no ids given")
        counts = np.bincount(flat, minlength=len(self.vocab))
        p = counts[counts > 0] / flat.size
        return float(-(p * np.log(p)).sum())


def windows(ids: np.ndarray, seq_len: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``ids`` from ``offset`` on, step ``seq_len``: ``x`` (N, T)
    and ``y`` (N, T) with ``y[n, t] = ids[offset + n*T + t + 1] = x[n, t+1]``; N is as many as
    fit (the last window's target must still be inside ``ids``)."""
    n = (len(ids) - offset - 1) // seq_len
    if n <= 0:
        return np.empty((0, seq_len), np.int64), np.empty((0, seq_len), np.int64)
    x = ids[offset:offset + n * seq_len].reshape(n, seq_len)
    y = ids[offset + 1:offset + n * seq_len + 1].reshape(n, seq_len)
    return np.ascontiguousarray(x, np.int64), np.ascontiguousarray(y, np.int64)


def char_splits(seq_len: int = 64, *, seed: int = 0, path: str | os.PathLike | None = None,
                max_chars: int | None = None, val_fraction: float = 0.1) -> Splits:
    """The corpus as ``Splits``: train/test are ``TensorDataset(x, y)`` of windows (N, T) int64.

    The first ``1 - val_fraction`` of the text trains, the rest validates; each part is cut
    into windows separately, so none crosses the split. ``seed`` picks where the training
    windows start (an offset in ``[0, seq_len)``), so different seeds see different window
    boundaries; the validation windows always start at the split (a fixed yardstick).
    ``num_classes`` is the vocabulary size, ``input_shape`` is ``(seq_len,)``, ``classes`` the
    vocabulary, ``extra`` holds ``corpus``, ``split_at`` (the first validation character) and
    ``unigram_entropy`` (of the validation text, the baseline to beat).
    """
    from tinygrad_cs.data import TensorDataset  # lazy: the package's __init__ may import us

    if not isinstance(seq_len, int) or seq_len < 1:
        raise ValueError(f"char_splits: seq_len must be a positive integer, got {seq_len!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"char_splits: val_fraction must be in (0, 1), got {val_fraction!r}")
    corpus = CharCorpus(path, max_chars)
    split_at = round(len(corpus) * (1 - val_fraction))
    train_ids, val_ids = corpus.ids[:split_at], corpus.ids[split_at:]
    for what, part in (("training", train_ids), ("validation", val_ids)):
        if len(part) < seq_len + 1:
            raise ValueError(f"char_splits: the {what} part has {len(part)} characters, fewer "
                             f"than seq_len + 1 = {seq_len + 1} (text of {len(corpus)} chars, "
                             f"val_fraction={val_fraction})")
    offset = int(np.random.default_rng(seed).integers(seq_len)) if seq_len > 1 else 0
    if len(train_ids) - offset < seq_len + 1:
        offset = 0
    train = TensorDataset(*windows(train_ids, seq_len, offset))
    test = TensorDataset(*windows(val_ids, seq_len))
    extra = {"corpus": corpus, "split_at": split_at,
             "unigram_entropy": corpus.unigram_entropy(val_ids)}
    return Splits("text", train, test, len(corpus.vocab), (seq_len,), corpus.vocab, extra)
