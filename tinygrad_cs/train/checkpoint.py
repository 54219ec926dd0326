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

Restoring loads the model first: its ``load_state_dict`` checks every key and shape before
copying anything, so a checkpoint of another architecture raises naming the key, before
any training step could overwrite the file.
"""
from __future__ import annotations

import os
from typing import Any

import tinygrad_cs as tg

__all__ = ["CHECKPOINT", "load_checkpoint", "restore", "save_checkpoint"]

CHECKPOINT = "checkpoint.npz"
FORMAT, VERSION = "tinygrad_cs.train", 1


def _state(obj: Any) -> Any:
    """``obj.state_dict()`` when ``obj`` has one (loaders are duck-typed), else ``None``."""
    get = getattr(obj, "state_dict", None)
    return get() if callable(get) else None


def save_checkpoint(path: str | os.PathLike, *, model: Any, optimizer: Any, scheduler: Any,
                    loaders: dict[str, Any], history: list[dict], epoch: int,
                    global_step: int) -> None:
    """Write the checkpoint dict described above to ``path`` (atomically)."""
    tg.save({"format": FORMAT, "version": VERSION, "epoch": epoch, "global_step": global_step,
             "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": _state(scheduler),
             "loaders": {name: _state(loader) for name, loader in loaders.items()},
             "rng": tg.get_rng_state(), "history": list(history)}, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a training checkpoint; ``FileNotFoundError`` / ``ValueError`` name it."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"fit: cannot resume: no checkpoint at {os.fspath(path)}")
    ckpt = tg.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"fit: {os.fspath(path)} is a tinygrad_cs file but not a training "
                         f"checkpoint written by fit (no format {FORMAT!r})")
    if ckpt.get("version") != VERSION:
        raise ValueError(f"fit: {os.fspath(path)} is training-checkpoint version "
                         f"{ckpt.get('version')!r}; this version reads {VERSION}")
    return ckpt


def restore(ckpt: dict[str, Any], *, model: Any, optimizer: Any, scheduler: Any,
            loaders: dict[str, Any], path: str | os.PathLike = "checkpoint") -> None:
    """Load every state of ``ckpt`` into the live objects (model first: see module doc)."""
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None:
        if ckpt["scheduler"] is None:
            raise ValueError(f"fit: {os.fspath(path)} was saved without a scheduler, but "
                             f"this run has a {type(scheduler).__name__}")
        scheduler.load_state_dict(ckpt["scheduler"])
    for name, loader in loaders.items():
        state = ckpt["loaders"].get(name)
        if state is not None and callable(getattr(loader, "load_state_dict", None)):
            loader.load_state_dict(state)
    tg.set_rng_state(ckpt["rng"])
