"""``prepare_gan``: a generative recipe (``tgcs train --model dcgan``) as live objects.

The counterpart of ``recipe.prepare`` for the zoo's ``"generate"`` models: the image data
with pixels in [-1, 1], the GAN, a loader of whole batches, and ``fit_gan``'s settings.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import manual_seed, nn
from ..data import DataLoader, TensorDataset, load_dataset
from ..nn.models import registry as zoo
from .recipe import Recipe, RecipeError, check_sizes

__all__ = ["PreparedGAN", "prepare_gan"]


class PreparedGAN(NamedTuple):
    """The live objects of a generative recipe (see ``prepare_gan``): train with
    ``fit_gan(run.model, run.train_loader, epochs=..., **run.fit_kwargs)``."""
    recipe: Recipe
    splits: Any
    model: nn.Module
    train_loader: DataLoader
    fit_kwargs: dict


def prepare_gan(recipe: Recipe) -> PreparedGAN:
    """Seed, load the image data with pixels in [-1, 1] (the generator's Tanh range), build
    the GAN and a shuffling loader of whole batches (``drop_last``, as the DCGAN example).

    The data are loaded without normalisation (``load_dataset(..., normalize=False)``: pixels
    in [0, 1]) and mapped by ``x -> 2x - 1``; only the training split is used. The model is
    the zoo builder's default size (PyTorch's example: nz 100, ngf = ndf = 64) for the data's
    channels and image size, with one extra 3x3 layer per network at 8x8 (whose plain layout
    has a single hidden layer; see ``nn/models/dcgan.py``).
    """
    entry = zoo.get(recipe.model)
    if entry.task != "generate":
        raise RecipeError(f"prepare_gan: model {recipe.model!r} is a {entry.task!r} model, "
                          f"not a generative one ({', '.join(zoo.names('generate'))})")
    if recipe.optimizer != "adam":
        raise RecipeError(f"model {recipe.model!r} trains with Adam(betas=(0.5, 0.999)) as "
                          f"the DCGAN example; --optimizer {recipe.optimizer} is not supported")
    if recipe.lr_schedule not in ("cosine", "none"):
        raise RecipeError(f"model {recipe.model!r} takes --lr-schedule cosine or none, not "
                          f"{recipe.lr_schedule!r}")
    if recipe.augment:
        raise RecipeError(f"model {recipe.model!r}: --augment is not supported (a GAN learns "
                          f"the distribution of its training images; augmentation would "
                          f"change it)")
    check_sizes(recipe)
    from .detection_recipe import check_detection_pair
    check_detection_pair(recipe.model, recipe.data)
    manual_seed(recipe.seed)
    splits = load_dataset(recipe.data, seed=recipe.seed, normalize=False)
    shape = tuple(splits.input_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise RecipeError(f"model {recipe.model!r} generates square images (C, S, S) but data "
                          f"{recipe.data!r} has samples of shape {shape}")
    x, y = splits.train.tensors[:2]
    if x.min() < 0 or x.max() > 1:
        raise RecipeError(f"model {recipe.model!r}: data {recipe.data!r} has pixels in "
                          f"[{x.min():g}, {x.max():g}], not in [0, 1]")
    extra_layers = 1 if shape[1] <= 8 else 0
    try:
        model = entry.build(in_channels=shape[0], image_size=shape[1],
                            n_extra_layers=extra_layers)
    except ValueError as error:                    # an image size DCGAN cannot build
        raise RecipeError(f"model {recipe.model!r} on data {recipe.data!r}: {error}") from None
    images = TensorDataset((2.0 * x - 1.0).astype(x.dtype), y)
    if len(images) < recipe.batch_size:
        raise RecipeError(f"data {recipe.data!r} has {len(images)} training images, fewer "
                          f"than one batch of {recipe.batch_size}")
    loader = DataLoader(images, batch_size=recipe.batch_size, shuffle=True, drop_last=True,
                        seed=recipe.seed, num_workers=recipe.num_workers)
    fit_kwargs = {"lr": recipe.lr if recipe.lr is not None else 2e-4,
                  "weight_decay": recipe.weight_decay, "cosine": recipe.lr_schedule == "cosine",
                  "seed": recipe.seed}
    return PreparedGAN(recipe, splits, model, loader, fit_kwargs)
