"""``prepare_detection``: a detection recipe (``tgcs train --model yolo --data shapes``) as
live objects.

The counterpart of ``recipe.prepare`` for the zoo's ``"detect"`` models, which follow
torchvision's detection interface: ``model.train(); model(images, targets)`` -> a dict of
scalar losses (summed for the step), ``model.eval(); model(images)`` -> one dict of
``"boxes"``, ``"scores"``, ``"labels"`` (and ``"masks"``) per image. The data are the
detection sets (``DETECTION_DATASETS``); a batch is ``(images (N, 3, H, W), [target dicts])``
(``detection_collate(..., stack=True)``).

The model is built by its zoo builder with ``num_classes`` = the data's classes counting the
background (torchvision's convention) and, when the builder takes it, ``image_size`` = the
data's image side. Defaults per model (``DETECTION_DEFAULTS``, else ``GENERIC_DEFAULTS``)
are the settings each model was tuned with; ``tgcs train`` options override them.
"""
from __future__ import annotations

import inspect
from functools import partial
from typing import Any, NamedTuple

from .. import manual_seed, nn, optim
from ..data import DataLoader, load_dataset
from ..data.detection import (
    Compose,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScale,
    detection_collate,
)
from ..data.registry import DETECTION_DATASETS
from ..nn.models import registry as zoo
from .recipe import OPTIMIZERS, Recipe, RecipeError, check_sizes, schedule

__all__ = ["DETECTION_DEFAULTS", "GENERIC_DEFAULTS", "PreparedDetection", "augmentation",
           "check_detection_pair", "default_detection_recipe", "is_detection", "prepare_detection"]

#: what a detection model trains with unless told otherwise (``Recipe`` fields)
GENERIC_DEFAULTS: dict[str, Any] = {"data": "shapes", "epochs": 20, "batch_size": 32,
                                    "optimizer": "adamw", "lr": 2e-3, "weight_decay": 5e-4,
                                    "lr_schedule": "onecycle", "augment": True}
#: the two-stage detectors' recipe: torchvision's reference one (momentum SGD, lr 0.02 for
#: batch 16 scaled to what a CPU step holds, weight decay 1e-4), which took a hand-written
#: loop to held-out AP@0.5 0.974 (Faster R-CNN) in 8 epochs of batch 8; here on the
#: one-cycle schedule (its warm-up stands in for torchvision's linear warm-up); through
#: ``tgcs train`` Faster R-CNN reached held-out AP@0.5 0.936 in these 6 epochs (README)
_RCNN: dict[str, Any] = {"epochs": 6, "batch_size": 8, "optimizer": "sgd", "lr": 0.02,
                         "weight_decay": 1e-4}
#: per model, where its tuned settings differ from ``GENERIC_DEFAULTS``
DETECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "yolo": {"epochs": 14, "lr": 5e-3},
    "solo": {"epochs": 5, "batch_size": 16, "weight_decay": 1e-4},
    "faster_rcnn": _RCNN,
    "mask_rcnn": {**_RCNN, "epochs": 4},   # 4 epochs of that loop: mask AP@0.5 0.943
}


def is_detection(model: str | None) -> bool:
    """Whether ``model`` names a zoo ``"detect"`` model (False for unknown names)."""
    return model is not None and model in zoo.names("detect")


def default_detection_recipe(model: str) -> Recipe:
    """``tgcs train --model MODEL``'s defaults for a detection model."""
    return Recipe(model=model, **{**GENERIC_DEFAULTS, **DETECTION_DEFAULTS.get(model, {})})


class PreparedDetection(NamedTuple):
    """The live objects of a detection recipe (see ``prepare_detection``): train with
    ``fit_detection(run.model, run.train_loader, run.val_loader, optimizer=run.optimizer,
    scheduler=run.scheduler, scheduler_interval=run.scheduler_interval, epochs=...)``."""
    recipe: Recipe
    splits: Any
    model: nn.Module
    train_loader: DataLoader
    val_loader: DataLoader
    optimizer: optim.Optimizer
    scheduler: Any
    scheduler_interval: str


def augmentation(image_size: int) -> Compose:
    """Flip left-right (p = 0.5), scale by 0.8-1.25 and cut back to ``image_size`` (padding
    with black when smaller); boxes and masks move with the pixels, objects less than 30%
    visible after the cut are dropped (``data.detection.augment``)."""
    return Compose([RandomHorizontalFlip(), RandomScale((0.8, 1.25)),
                    RandomCrop(image_size, min_visible=0.3)])


def check_detection_pair(model: str, data: str) -> None:
    """``RecipeError`` naming both unless a detection model meets a detection set or a
    non-detection model meets a non-detection set."""
    if model not in zoo.ZOO:
        return                                  # the caller's look-up names the known ones
    detect, boxes = is_detection(model), data in DETECTION_DATASETS
    if detect and not boxes:
        raise RecipeError(f"model {model!r} is a detection model and trains on a detection "
                          f"set ({', '.join(DETECTION_DATASETS)}), not on data {data!r}")
    if boxes and not detect:
        raise RecipeError(f"data {data!r} is a detection set (boxes, labels, masks); model "
                          f"{model!r} ({zoo.get(model).task}) cannot train on it: use a detection model "
                          f"({', '.join(zoo.names('detect'))})")


def _build(recipe: Recipe, splits: Any) -> nn.Module:
    entry = zoo.get(recipe.model)
    shape = tuple(splits.input_shape)
    kwargs: dict[str, Any] = {"num_classes": splits.num_classes}
    if "image_size" in inspect.signature(entry.build).parameters:
        if shape[1] != shape[2]:
            raise RecipeError(f"model {recipe.model!r} takes square images, data "
                              f"{recipe.data!r} has {shape}")
        kwargs["image_size"] = shape[1]
    try:
        return entry.build(**kwargs)
    except ValueError as error:
        raise RecipeError(f"model {recipe.model!r} on data {recipe.data!r}: {error}") from None


def prepare_detection(recipe: Recipe, **data_kwargs: Any) -> PreparedDetection:
    """Seed, load the detection set, build the model, the loaders (training: shuffled, with
    ``augmentation`` when ``recipe.augment``), the optimizer and the schedule.

    ``data_kwargs`` go to ``load_dataset`` (e.g. ``n_train=200`` for a short run).
    """
    check_detection_pair(recipe.model, recipe.data)
    if recipe.optimizer not in OPTIMIZERS:
        raise RecipeError(f"unknown optimizer {recipe.optimizer!r}; one of "
                          f"{', '.join(OPTIMIZERS)}")
    check_sizes(recipe)
    manual_seed(recipe.seed)
    splits = load_dataset(recipe.data, seed=recipe.seed, **data_kwargs)
    model = _build(recipe, splits)
    if recipe.augment:
        splits.train.transforms = augmentation(splits.input_shape[-1])
    collate = partial(detection_collate, stack=True)
    train_loader = DataLoader(splits.train, batch_size=recipe.batch_size, shuffle=True,
                              seed=recipe.seed, collate_fn=collate,
                              num_workers=recipe.num_workers)
    val_loader = DataLoader(splits.test, batch_size=max(recipe.batch_size, 100),
                            collate_fn=collate)
    cls, default_lr, extra = OPTIMIZERS[recipe.optimizer]
    lr = recipe.lr if recipe.lr is not None else default_lr
    opt = cls(model.parameters(), lr=lr, weight_decay=recipe.weight_decay, **extra)
    scheduler, interval = schedule(recipe, opt, lr, len(train_loader))
    return PreparedDetection(recipe, splits, model, train_loader, val_loader, opt, scheduler,
                             interval)
