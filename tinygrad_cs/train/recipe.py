"""A training run described by names: which zoo model, which data set, which optimizer.

``Recipe`` is what ``tgcs train`` parses its options into and what a hyper-parameter search
trial receives; ``prepare(recipe)`` turns it into live objects::

    run = prepare(Recipe(model="resnet8", data="digits", epochs=15))
    fit(run.model, run.train_loader, run.val_loader, loss_fn=run.loss_fn,
        optimizer=run.optimizer, scheduler=run.scheduler, epochs=run.recipe.epochs)

How the names meet (``prepare``):

* image data ``(C, H, W)`` and a builder taking ``in_channels`` (the CNNs): ``in_channels=C``;
  a builder taking ``in_features`` (MLP, linear classifiers, which flatten their input):
  ``in_features=C*H*W``;
* vector data ``(D,)``: ``in_features=D``; CNNs are refused with a message naming both;
* ``text``: a ``"language"`` model with ``vocab_size``; its ``(N, T, V)`` logits are scored
  by ``CrossEntropyLoss`` per character (the training loops flatten sequence outputs, see
  ``train.steps.batch_loss``). The model keeps the corpus' characters as ``model.vocab``
  (a ``CharVocab``, saved in the checkpoint), so its ``sample`` decodes text by itself.

A ``"generate"`` model (``dcgan``) goes through ``prepare_gan`` instead, and trains with
``fit_gan``; ``default_recipe("dcgan")`` holds its defaults (see there).
A ``"detect"`` model (``yolo``) goes through ``detection_recipe.prepare_detection`` and trains
with ``fit_detection`` on the detection sets, which only detection models take (a wrong pair
is a ``RecipeError`` naming the model and the data).
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from .. import manual_seed, nn, optim
from ..data import DataLoader, load_dataset
from ..data import transforms as T
from ..nn.models import registry as zoo
from ..nn.models.vocab import CharVocab
from ..optim import lr_scheduler

__all__ = ["OPTIMIZERS", "Prepared", "Recipe", "RecipeError", "check_sizes", "default_recipe",
           "is_generative", "prepare", "schedule"]

#: name -> (class, tgcs's default lr, extra keyword arguments); SGD is CS231n's momentum SGD
#: (Nesterov). AdamW's 1e-2 is the peak of the default one-cycle schedule.
OPTIMIZERS: dict[str, tuple[type, float, dict]] = {
    "sgd": (optim.SGD, 0.05, {"momentum": 0.9, "nesterov": True}),
    "adam": (optim.Adam, 1e-3, {}),
    "adamw": (optim.AdamW, 1e-2, {}),
    "rmsprop": (optim.RMSprop, 1e-3, {}),
    "adagrad": (optim.Adagrad, 1e-2, {}),
}
SCHEDULES = ("cosine", "onecycle", "step", "none")


class RecipeError(ValueError):
    """A recipe whose names do not fit together (e.g. a CNN on vector data)."""


@dataclass
class Recipe:
    """Everything a training run needs, by name (the ``tgcs train`` options).

    The defaults are ``tgcs train``'s run: the CIFAR ResNet-8 on scikit-learn digits, AdamW
    (lr 0.01, weight decay 0.05) on a one-cycle schedule, batch 64, 15 epochs, with
    augmentation: 98.9-99.7% held-out accuracy over seeds 0-4.

    ``lr=None`` takes the optimizer's default from ``OPTIMIZERS``. ``augment`` turns on the
    data set's usual augmentation (see ``augmentation``). ``lr_schedule`` is one of
    ``SCHEDULES``: cosine annealing over the epochs (per epoch), one-cycle (per batch),
    step decay by 10x at 50% and 75% of the epochs, or a constant rate.
    """
    model: str = "resnet8"
    data: str = "digits"
    epochs: int = 15
    batch_size: int = 64
    lr: float | None = None
    optimizer: str = "adamw"
    weight_decay: float = 0.05
    lr_schedule: str = "onecycle"
    augment: bool = True
    seed: int = 0
    seq_len: int = 64
    text_file: str | None = None
    num_workers: int = 0

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> Recipe:
        """The recipe of ``config``'s known keys (others, e.g. a search's metrics, ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Recipe:
        """The recipe in a JSON file (a run directory's ``recipe.json``); ``OSError`` /
        ``ValueError`` when it cannot be read."""
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


class Prepared(NamedTuple):
    """The live objects of a recipe (see ``prepare``)."""
    recipe: Recipe
    splits: Any
    model: nn.Module
    train_loader: DataLoader
    val_loader: DataLoader
    loss_fn: Any
    optimizer: optim.Optimizer
    scheduler: Any
    scheduler_interval: str


def augmentation(splits: Any) -> T.Compose | None:
    """The usual augmentation for ``splits``' data set, or None when it has none.

    digits (8x8): small affine jitter (rotation 10 degrees, shift up to 1 pixel, scale
    0.9-1.1) and no flips (a mirrored 2 is not a 2); fashion-mnist: horizontal flips
    (clothes are left-right symmetric; adding random crops under-fitted ResNet-8 in 8 epochs:
    91.3% vs 92.2% test accuracy). The data are already normalised, so pixels shifted in are
    filled with the normalised value of black.
    """
    norm = splits.extra.get("normalize")
    fill = float(-norm.mean[0] / norm.std[0]) if norm is not None else 0.0
    if splits.name == "digits":
        return T.Compose([T.RandomAffine(degrees=10, translate=(0.125, 0.125),
                                         scale=(0.9, 1.1), fill=fill)])
    if splits.name == "fashion-mnist":
        return T.Compose([T.RandomHorizontalFlip()])
    return None


def _build_model(recipe: Recipe, splits: Any) -> tuple[nn.Module, Any]:
    """The zoo model for ``splits`` and its loss: the model's own ``loss`` method when it has
    one (the linear SVM's hinge), else cross-entropy."""
    model = _build_bare_model(recipe, splits)
    if callable(getattr(model, "loss", None)):
        return model, model.loss
    return model, nn.CrossEntropyLoss()


def _build_bare_model(recipe: Recipe, splits: Any) -> nn.Module:
    entry = zoo.get(recipe.model)
    params = inspect.signature(entry.build).parameters
    shape = tuple(splits.input_shape)
    if splits.name == "text" or entry.task == "language":
        if splits.name != "text" or entry.task != "language":
            raise RecipeError(f"model {recipe.model!r} ({entry.task}) and data {recipe.data!r} "
                              f"do not fit: language models train on 'text', and only they do")
        model = entry.build(vocab_size=splits.num_classes)
        model.vocab = CharVocab(splits.classes)   # so model.sample("def ", 100) gives text
        return model
    if entry.task != "classify":
        raise RecipeError(f"model {recipe.model!r} is a {entry.task!r} model; this trains "
                          f"classifiers ({', '.join(zoo.names('classify'))}) and "
                          f"language models ({', '.join(zoo.names('language'))}); "
                          f"'generate' models ({', '.join(zoo.names('generate'))}) train "
                          f"with tgcs train (prepare_gan and fit_gan)")
    if "in_channels" in params:
        if len(shape) != 3:
            raise RecipeError(f"model {recipe.model!r} takes images (C, H, W) but data "
                              f"{recipe.data!r} has samples of shape {shape}")
        return entry.build(num_classes=splits.num_classes, in_channels=shape[0])
    if "in_features" in params:
        features = 1
        for size in shape:
            features *= size
        return entry.build(num_classes=splits.num_classes, in_features=features)
    raise RecipeError(f"zoo builder {recipe.model!r} takes neither in_channels nor in_features")


def schedule(recipe: Recipe, opt: optim.Optimizer, lr: float, steps: int) -> tuple[Any, str]:
    """The learning-rate scheduler of ``recipe.lr_schedule`` over ``opt`` (peak ``lr``,
    ``steps`` batches per epoch) and when to step it (``"epoch"`` or ``"batch"``)."""
    if recipe.lr_schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs), "epoch"
    if recipe.lr_schedule == "onecycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=recipe.epochs,
                                       steps_per_epoch=steps), "batch"
    if recipe.lr_schedule == "step":
        milestones = [max(1, recipe.epochs // 2), max(1, recipe.epochs * 3 // 4)]
        return lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1), "epoch"
    if recipe.lr_schedule == "none":
        return None, "epoch"
    raise RecipeError(f"unknown lr schedule {recipe.lr_schedule!r}; one of {', '.join(SCHEDULES)}")


def check_sizes(recipe: Recipe) -> None:
    """``RecipeError`` unless the epochs and the batch size are positive."""
    if recipe.epochs < 1 or recipe.batch_size < 1:
        raise RecipeError(f"epochs ({recipe.epochs}) and batch size ({recipe.batch_size}) "
                          f"must be positive")


def prepare(recipe: Recipe) -> Prepared:
    """Seed, load the data, build the model, loaders, loss, optimizer and schedule of ``recipe``.

    Everything random (initial weights, shuffling, augmentation, dropout) follows
    ``recipe.seed``, so two runs of one recipe are the same run.
    """
    if recipe.optimizer not in OPTIMIZERS:
        raise RecipeError(f"unknown optimizer {recipe.optimizer!r}; one of "
                          f"{', '.join(OPTIMIZERS)}")
    check_sizes(recipe)
    from .detection_recipe import check_detection_pair  # it builds on this file
    check_detection_pair(recipe.model, recipe.data)
    manual_seed(recipe.seed)
    extra = ({"seq_len": recipe.seq_len, "path": recipe.text_file} if recipe.data == "text"
             else {})
    splits = load_dataset(recipe.data, seed=recipe.seed, **extra)
    model, loss_fn = _build_model(recipe, splits)
    transform = augmentation(splits) if recipe.augment else None
    train_loader = DataLoader(splits.train, batch_size=recipe.batch_size, shuffle=True,
                              seed=recipe.seed, transform=transform,
                              num_workers=recipe.num_workers)
    val_loader = DataLoader(splits.test, batch_size=max(recipe.batch_size, 256))
    cls, default_lr, extra_kwargs = OPTIMIZERS[recipe.optimizer]
    lr = recipe.lr if recipe.lr is not None else default_lr
    opt = cls(model.parameters(), lr=lr, weight_decay=recipe.weight_decay, **extra_kwargs)
    scheduler, interval = schedule(recipe, opt, lr, len(train_loader))
    return Prepared(recipe, splits, model, train_loader, val_loader, loss_fn, opt, scheduler,
                    interval)


# -- generative models (DCGAN): their defaults; ``gan_recipe.prepare_gan`` builds them -------
def is_generative(model: str | None) -> bool:
    """Whether ``model`` names a zoo ``"generate"`` model (False for unknown names)."""
    return model is not None and model in zoo.names("generate")


def default_recipe(model: str | None = None) -> Recipe:
    """The defaults of ``tgcs train --model MODEL``: ``Recipe()``'s, except for detection
    models (``detection_recipe.default_detection_recipe``: the shapes set and each model's
    tuned settings) and for generative models, which take PyTorch's DCGAN example settings (Adam, lr 2e-4, no weight decay, no
    augmentation) with the learning rate cosine-annealed to 0 over 40 epochs: on digits
    about 30-40 s here, after which a digits classifier calls 20% of the samples confidently
    (Inception Score 4.4 of 10; ``benchmarks/proof_gan.py`` is the longer run)."""
    from .detection_recipe import default_detection_recipe, is_detection
    if is_detection(model):
        return default_detection_recipe(model)
    if not is_generative(model):
        return Recipe() if model is None else Recipe(model=model)
    return Recipe(model=model, epochs=40, lr=2e-4, optimizer="adam", weight_decay=0.0,
                  lr_schedule="cosine", augment=False)
