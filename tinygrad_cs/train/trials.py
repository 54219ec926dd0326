"""Trial functions for ``random_search``: ``config -> {"val_acc": ..., "val_loss": ..., ...}``.

Module-level and importable, so worker processes (spawn, Dask) can run them by name.

* ``softmax_trial``: CS231n assignment 1's softmax classifier on scikit-learn's digits, a
  linear layer trained by mini-batch SGD with L2 weight decay: a real trial in well under a
  second, for trying out the search machinery.
* ``classifier_trial``: what ``tgcs search`` runs: a zoo model on a named data set, trained
  with ``tinygrad_cs.train.fit``.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim

__all__ = ["classifier_trial", "softmax_trial"]

SOFTMAX_DEFAULTS = {"lr": 0.1, "weight_decay": 0.0, "steps": 300, "batch_size": 200,
                    "momentum": 0.0, "seed": 0, "data_seed": 0}



def _settings(config: dict[str, Any], defaults: dict[str, Any], trial: str) -> dict[str, Any]:
    unknown = sorted(set(config) - set(defaults))
    if unknown:  # a misspelt key would otherwise silently search nothing
        raise KeyError(f"{trial}: unknown config keys {unknown}; known: {sorted(defaults)}")
    return {**defaults, **config}


@lru_cache(maxsize=4)
def _digits(data_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits as (X_train (N, 64) float32, y_train int64, X_val, y_val): ``load_dataset``'s
    seeded stratified 80/20 split, standardised with the training statistics, flattened.
    Cached: a worker process runs many trials on the same data."""
    from tinygrad_cs.data import load_dataset

    splits = load_dataset("digits", seed=data_seed)
    (x_train, y_train), (x_val, y_val) = splits.train.tensors, splits.test.tensors
    return x_train.reshape(len(x_train), -1), y_train, x_val.reshape(len(x_val), -1), y_val


def softmax_trial(config: dict[str, Any]) -> dict[str, float]:
    """Softmax classifier ``scores = X W^T + b`` on digits ((N, 64) -> (N, 10) scores).

    Loss: mean cross-entropy ``-log softmax(scores)[y]``; ``weight_decay`` adds the L2
    penalty ``(weight_decay / 2) |W|^2`` through SGD (bias included, as ``torch.optim.SGD``).
    Config keys (defaults in ``SOFTMAX_DEFAULTS``): ``lr``, ``weight_decay``, ``steps``
    (mini-batch SGD steps), ``batch_size``, ``momentum``, ``seed`` (init and batch order),
    ``data_seed`` (the train/validation split). Returns ``val_acc``, ``val_loss``,
    ``train_loss`` (of the last step; NaN once the loss overflows) and ``seconds``.
    """
    c = _settings(config, SOFTMAX_DEFAULTS, "softmax_trial")
    start = time.perf_counter()
    X_train, y_train, X_val, y_val = _digits(int(c["data_seed"]))
    tg.manual_seed(int(c["seed"]))
    model = nn.Linear(X_train.shape[1], 10)
    opt = optim.SGD(model.parameters(), lr=c["lr"], momentum=c["momentum"],
                    weight_decay=c["weight_decay"])
    order = np.random.default_rng(int(c["seed"]))
    batch = min(int(c["batch_size"]), len(X_train))
    train_loss = float("nan")
    with np.errstate(over="ignore", invalid="ignore"):  # a too-large lr diverges: reported
        for _ in range(int(c["steps"])):
            idx = order.choice(len(X_train), size=batch, replace=False)
            loss = nn.functional.cross_entropy(model(tg.tensor(X_train[idx])),
                                               tg.tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_loss = float(loss.item())
            if not np.isfinite(train_loss):
                break
        with tg.no_grad():
            scores = model(tg.tensor(X_val))
            val_loss = float(nn.functional.cross_entropy(scores, tg.tensor(y_val)).item())
            val_acc = float((scores.numpy().argmax(axis=1) == y_val).mean())
    return {"val_acc": val_acc, "val_loss": val_loss, "train_loss": train_loss,
            "seconds": time.perf_counter() - start}


def classifier_trial(config: dict[str, Any]) -> dict[str, float]:
    """Train the run ``config`` describes and return its last epoch's validation metrics.

    ``config`` holds ``Recipe`` fields (``model``, ``data``, ``epochs``, ``optimizer``, ``lr``,
    ``weight_decay``, ``batch_size``, ``lr_schedule``, ``augment``, ``seed``, ...; the others
    take the ``Recipe`` defaults), so a trial trains exactly what ``tgcs train`` with the
    same options would. A run that diverges (``TrainingDiverged``) returns NaN metrics,
    which the search records as diverged. Returns ``val_acc``, ``val_loss``, ``train_loss``,
    ``seconds``.
    """
    from .divergence import TrainingDiverged
    from .fit import fit
    from .recipe import Recipe, prepare

    unknown = sorted(set(config) - set(Recipe().to_dict()))
    if unknown:  # a misspelt key would otherwise silently search nothing
        raise KeyError(f"classifier_trial: unknown config keys {unknown}; known: "
                       f"{sorted(Recipe().to_dict())}")
    start = time.perf_counter()
    run = prepare(Recipe.from_dict(config))
    try:
        history = fit(run.model, run.train_loader, run.val_loader, loss_fn=run.loss_fn,
                      optimizer=run.optimizer, scheduler=run.scheduler,
                      scheduler_interval=run.scheduler_interval, epochs=run.recipe.epochs,
                      progress=False)
    except TrainingDiverged:  # a result of the search (lr too large), not a broken trial
        nan = float("nan")
        return {"val_acc": nan, "val_loss": nan, "train_loss": nan,
                "seconds": time.perf_counter() - start}
    last = history[-1]
    return {"val_acc": float(last["val_acc"]), "val_loss": float(last["val_loss"]),
            "train_loss": float(last["train_loss"]), "seconds": time.perf_counter() - start}
