"""The training checkpoint: everything needed to continue a run exactly.

``run_dir/checkpoint.npz`` is written with ``tg.save`` (atomic: temp file + rename) after
every epoch and holds one dict::

    format, version   "tinygrad_cs.train", 1
    epoch             epochs completed (the next epoch to run is epoch + 1)
    global_step       optimizer steps taken
    model             model.state_dict()   (parameters and buffers, e.g. BatchNorm statistics)
    optimizer         optimizer.state_dict()  (momentum / Adam moments, hyper-parameters)
    scheduler         scheduler.state_dict() or None
    loaders           {"train": ..., "val": ...}: each loader's state_dict() or None
                      (a DataLoader's shuffle seed and epoch counter)
    rng               tg.get_rng_state()   (dropout masks, seeds drawn later)
    history           the History rows so far
    loop              "fit", or "fit_gan" (absent in older files: "fit")
    vocab             a language model's characters, in id order (``model.vocab``, a
                      ``CharVocab``), as one string; None (or absent) for other models

``optimizer`` and ``scheduler`` may also be dicts of named objects (``fit_gan``'s
``{"generator": ..., "discriminator": ...}``): their states are then saved and restored
name by name.

Restoring checks the vocabulary first (a model built on other text must not continue, even
with as many characters), then loads the model: its ``load_state_dict`` checks every key and
shape before copying anything, so a checkpoint of another architecture raises naming the
key, before any training step could overwrite the file.
"""
from __future__ import annotations

import os
from typing import Any

import tinygrad_cs as tg
from tinygrad_cs.nn.models.vocab import CharVocab

__all__ = ["CHECKPOINT", "load_checkpoint", "restore", "save_checkpoint", "saved_vocab"]

CHECKPOINT = "checkpoint.npz"
FORMAT, VERSION = "tinygrad_cs.train", 1


def _state(obj: Any) -> Any:
    """``obj.state_dict()`` when ``obj`` has one (loaders are duck-typed), else ``None``; a
    dict of named objects gives the dict of their states."""
    if isinstance(obj, dict):
        return {name: _state(item) for name, item in obj.items()}
    get = getattr(obj, "state_dict", None)
    return get() if callable(get) else None


def _load_state(obj: Any, state: Any, what: str, path: str | os.PathLike) -> None:
    """``obj.load_state_dict(state)``, name by name for a dict of named objects."""
    if isinstance(obj, dict):
        if not isinstance(state, dict) or set(state) != set(obj):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{os.fspath(path)}: the {what} state holds {got}, this run has "
                             f"{sorted(obj)}")
        for name, item in obj.items():
            _load_state(item, state[name], f"{what} {name!r}", path)
    else:
        obj.load_state_dict(state)


def save_checkpoint(path: str | os.PathLike, *, model: Any, optimizer: Any, scheduler: Any,
                    loaders: dict[str, Any], history: list[dict], epoch: int,
                    global_step: int, loop: str = "fit") -> None:
    """Write the checkpoint dict described above to ``path`` (atomically)."""
    tg.save({"format": FORMAT, "version": VERSION, "loop": loop, "epoch": epoch,
             "global_step": global_step, "model": model.state_dict(),
             "optimizer": _state(optimizer), "scheduler": _state(scheduler),
             "loaders": {name: _state(loader) for name, loader in loaders.items()},
             "rng": tg.get_rng_state(), "history": list(history), "vocab": _vocab(model)},
            path)


def _vocab(model: Any) -> str | None:
    """``model.vocab``'s characters as one string (None for a model without one)."""
    vocab = getattr(model, "vocab", None)
    return None if vocab is None else "".join(vocab.vocab)


def saved_vocab(model: Any, ckpt: dict[str, Any], path: str | os.PathLike) -> CharVocab | None:
    """The checkpoint's vocabulary (None when it has none); a ``ValueError`` when ``model``
    already has another (its text changed since the run was trained)."""
    saved = ckpt.get("vocab")
    if saved is None:
        return None
    own = getattr(model, "vocab", None)
    if own is not None and "".join(own.vocab) != saved:
        raise ValueError(f"{os.fspath(path)}: the model was trained on a vocabulary of "
                         f"{len(saved)} characters that differs from this run's "
                         f"{len(own.vocab)} (the text changed since)")
    return CharVocab(saved)


def load_checkpoint(path: str | os.PathLike, loop: str = "fit") -> dict[str, Any]:
    """Read and check a training checkpoint written by ``loop``; ``FileNotFoundError`` /
    ``ValueError`` name it."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{loop}: cannot resume: no checkpoint at {os.fspath(path)}")
    ckpt = tg.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{loop}: {os.fspath(path)} is a tinygrad_cs file but not a training "
                         f"checkpoint written by {loop} (no format {FORMAT!r})")
    if ckpt.get("version") != VERSION:
        raise ValueError(f"{loop}: {os.fspath(path)} is training-checkpoint version "
                         f"{ckpt.get('version')!r}; this version reads {VERSION}")
    if ckpt.get("loop", "fit") != loop:
        raise ValueError(f"{loop}: {os.fspath(path)} is a checkpoint of "
                         f"{ckpt.get('loop')}, not of {loop}")
    return ckpt


def restore(ckpt: dict[str, Any], *, model: Any, optimizer: Any, scheduler: Any,
            loaders: dict[str, Any], path: str | os.PathLike = "checkpoint") -> None:
    """Load every state of ``ckpt`` into the live objects (vocabulary and model first: see
    module doc)."""
    vocab = saved_vocab(model, ckpt, path)
    model.load_state_dict(ckpt["model"])
    _load_state(optimizer, ckpt["optimizer"], "optimizer", path)
    if scheduler is not None:
        if ckpt["scheduler"] is None:
            raise ValueError(f"fit: {os.fspath(path)} was saved without a scheduler, but "
                             f"this run has a {type(scheduler).__name__}")
        _load_state(scheduler, ckpt["scheduler"], "scheduler", path)
    for name, loader in loaders.items():
        state = ckpt["loaders"].get(name)
        if state is not None and callable(getattr(loader, "load_state_dict", None)):
            loader.load_state_dict(state)
    tg.set_rng_state(ckpt["rng"])
    if vocab is not None:
        model.vocab = vocab
