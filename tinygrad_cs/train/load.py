"""``load_model(run_dir)``: the trained model of a ``tgcs train`` run, ready to use.

A run directory holds ``recipe.json`` (which zoo model, on which data) and ``checkpoint.npz``
(its parameters after the last finished epoch, and a language model's vocabulary)::

    model = load_model("runs/char_lstm-text-20260101-120000")
    print(model.sample("def ", 200, temperature=0.8))   # text: the model knows its characters
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tinygrad_cs as tg

from ..nn.models import registry as zoo
from .checkpoint import CHECKPOINT, load_checkpoint, saved_vocab
from .detection import LOOP as DETECTION_LOOP
from .detection_recipe import is_detection, prepare_detection
from .gan_recipe import prepare_gan
from .recipe import Recipe, is_generative, prepare

__all__ = ["load_model"]


def load_model(run_dir: str | os.PathLike) -> Any:
    """The model of the run in ``run_dir`` with its last checkpoint's parameters, in eval mode.

    A language model is built from the checkpoint's vocabulary (``model.vocab``, so
    ``model.sample("def ", 100)`` returns text), without reading its text again; any other
    model is built as ``prepare`` (``prepare_gan``, ``prepare_detection``) builds it from
    ``recipe.json``, which loads its data set for the input shape. The global random state is left as it was.
    Raises ``FileNotFoundError`` / ``ValueError`` naming the file that is missing or wrong.
    """
    folder = Path(run_dir)
    recipe = Recipe.read(folder / "recipe.json")
    gan, detect = is_generative(recipe.model), is_detection(recipe.model)
    ckpt = load_checkpoint(folder / CHECKPOINT,
                           loop="fit_gan" if gan else DETECTION_LOOP if detect else "fit")
    rng = tg.get_rng_state()
    try:
        if ckpt.get("vocab") is not None:
            model = zoo.get(recipe.model).build(vocab_size=len(ckpt["vocab"]))
        elif detect:        # one image of each split tells the image size and the classes
            model = prepare_detection(recipe, n_train=1, n_test=1).model
        else:
            model = (prepare_gan if gan else prepare)(recipe).model
    finally:
        tg.set_rng_state(rng)             # building drew initial weights and reseeded
    vocab = saved_vocab(model, ckpt, folder / CHECKPOINT)
    model.load_state_dict(ckpt["model"])
    if vocab is not None:
        model.vocab = vocab
    return model.eval()
