"""``tgcs train``: train a zoo model, write curves, a checkpoint and its graph to ``runs/<name>/``.

A run directory holds ``recipe.json`` (the options, so ``--resume`` rebuilds the same run),
``checkpoint.npz`` (after every epoch: model, optimizer, schedule, loader and RNG state),
``history.csv`` / ``history.json``, ``curves.png`` (train and validation loss and accuracy)
and ``graph.svg`` (the model's graph on a few validation samples, collapsed by module and
coloured by gradient flow). A language model's run also holds ``samples.txt``: after every
epoch, ``--sample-chars`` characters it wrote after ``--sample-prefix`` (also printed).

A generative model (``--model dcgan``) trains with ``fit_gan`` on the training images (pixels
mapped to [-1, 1]), with the DCGAN example's defaults (``default_recipe``); its run directory
holds ``curves.png`` of the D/G losses and D's outputs, and ``samples.png``, a grid of
generated images, instead of a graph.

A detection model (``--model yolo``, on ``--data shapes`` or ``digits-detection``) trains with
``fit_detection`` (``detection_recipe``'s per-model defaults); its run directory holds
``curves.png`` of the loss terms and the held-out mAP per epoch, ``metrics.json``,
``detections.png`` (test images with their detections, coloured by class, with scores) and
``nms.png`` (one image's detections before and after NMS), and the mAP table is printed at
the end (``tgcs eval RUN_DIR`` prints it again).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..grad_mode import no_grad
from ..kernels import mark_warm
from ..tensor import Tensor
from ..train import fit
from ..train.checkpoint import CHECKPOINT, load_checkpoint
from ..train.detection import LOOP as DETECTION_LOOP
from ..train.detection import fit_detection
from ..train.detection import summary_line as detection_summary_line
from ..train.detection_recipe import is_detection, prepare_detection
from ..train.detection_report import detection_report, draw_detection_pictures
from ..train.gan import fit_gan
from ..train.gan import summary_line as gan_summary_line
from ..train.gan_recipe import prepare_gan
from ..train.progress import summary_line
from ..train.recipe import Prepared, default_recipe, is_generative, prepare
from ..train.steps import batch_loss
from ..train.text_samples import TextSamples, sample_prefix
from .options import (
    UsageError,
    add_recipe_options,
    explicit_options,
    prepare_or_fail,
    read_recipe,
    recipe_from_args,
)
from .warmup import start_background_compile, warn_if_cold

__all__ = ["add_train_options", "run_train", "write_graph"]


def add_train_options(p: argparse.ArgumentParser) -> None:
    add_recipe_options(p, generative=True, detection=True)
    p.add_argument("--name", help="run name: its files go to RUNS_DIR/NAME "
                   "(default MODEL-DATA-TIME)")
    p.add_argument("--runs-dir", default="runs", help="folder of run directories (default runs)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run NAME (default: the newest run in RUNS_DIR) from its "
                   "last checkpoint, exactly as if it had not stopped; options must not change "
                   "(--epochs may, with --lr-schedule none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (one "
                   "summary line at the end instead of one per epoch)")
    p.add_argument("--no-graph", action="store_true", help="do not draw the model's graph")
    p.add_argument("--compile", action="store_true", help="run each training step as a "
                   "tg.compile'd program (classifiers and language models; the same results, "
                   "and the wall time is printed)")
    p.add_argument("--sample-chars", type=_non_negative_int, default=200, metavar="N",
                   help="language models: after each epoch, sample N characters (temperature "
                   "0.8, seeded) into samples.txt and print them (default 200; 0: none)")
    p.add_argument("--sample-prefix", metavar="TEXT", help="language models: the text the "
                   "samples continue (default 'def ', or a letter of the text when it lacks "
                   "one of those)")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _newest_run(runs_dir: Path) -> Path:
    runs = [p for p in runs_dir.glob("*/recipe.json")] if runs_dir.is_dir() else []
    if not runs:
        raise UsageError(f"--resume: no run to resume in {runs_dir}/ (give --name)")
    return max(runs, key=lambda p: p.stat().st_mtime).parent


def _run_dir_and_recipe(args: argparse.Namespace):
    runs_dir = Path(args.runs_dir)
    if not args.resume:
        recipe = recipe_from_args(args, base=default_recipe(args.model))
        name = args.name or f"{recipe.model}-{recipe.data}-{time.strftime('%Y%m%d-%H%M%S')}"
        return runs_dir / name, recipe
    run_dir = runs_dir / args.name if args.name else _newest_run(runs_dir)
    if not (run_dir / "recipe.json").is_file():
        raise UsageError(f"--resume: {run_dir} has no recipe.json (not a tgcs run directory)")
    saved = read_recipe(run_dir / "recipe.json")
    # a schedule planned over the epochs cannot stretch: only a constant rate may run longer
    extendable = {"epochs"} if saved.lr_schedule == "none" else set()
    changed = {k: v for k, v in explicit_options(args).items()
               if k not in extendable and getattr(saved, k) != v}
    if changed:
        raise UsageError(f"--resume: {', '.join(f'{k}={v!r}' for k, v in changed.items())} "
                         f"differ from the run's recipe in {run_dir}/recipe.json")
    return run_dir, recipe_from_args(args, base=saved)


def write_graph(run: Prepared, path: Path, samples: int = 4) -> Path:
    """Draw the model's graph on ``samples`` validation examples, collapsed by module
    (depth 1), coloured by the gradient flowing back from the loss; returns the file."""
    from ..viz import capture_grads, draw_graph, render

    x, y = next(iter(run.val_loader))[:2]
    model = run.model
    was_training = model.training
    model.eval()                       # no BatchNorm statistics update, no dropout noise
    try:
        with capture_grads() as flow:
            loss = batch_loss(run.loss_fn, model(x[:samples]), y[:samples])
            loss.backward()
        dot = draw_graph(loss, params=model, depth=1, grads=flow, name=run.recipe.model)
        return render(dot, path)
    finally:
        model.zero_grad()
        model.train(was_training)


def _write_recipe(run_dir: Path, recipe: Any) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2) + "\n",
                                         encoding="utf-8")


def _check_model_fits_data(run: Prepared) -> None:
    """One forward of two training samples (eval mode, no graph), before anything is
    written: a model that cannot take the data's shape is a one-line usage error, not a
    traceback and a half-made run folder. Changes no state (no statistics, no RNG)."""
    dataset = run.train_loader.dataset
    x = np.stack([np.asarray(dataset[i][0]) for i in range(min(2, len(dataset)))])
    was_training = run.model.training
    run.model.eval()
    try:
        with no_grad():
            run.model(Tensor(x))
    except (ValueError, RuntimeError) as error:
        raise UsageError(f"model {run.recipe.model!r} cannot take data {run.recipe.data!r} "
                         f"(samples of shape {x.shape[1:]}): {error}") from None
    finally:
        run.model.train(was_training)


_SUMMARIES = {"fit": summary_line, "fit_gan": gan_summary_line,
              DETECTION_LOOP: detection_summary_line}


def _loop(model: str) -> str:
    """The training loop of ``model``: ``"fit_gan"``, ``"fit_detection"`` or ``"fit"``."""
    return "fit_gan" if is_generative(model) else DETECTION_LOOP if is_detection(model) \
        else "fit"


def _finished(run_dir: Path, recipe: Any, loop: str) -> str | None:
    """What to tell a ``--resume`` of a run whose checkpoint has all its epochs: its last
    epoch's figures, where its results are and how to train on; None for a run to continue
    (or one without a checkpoint yet, which ``fit`` reports)."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        return None
    ckpt = load_checkpoint(path, loop=loop)
    done = ckpt["epoch"]
    if done < recipe.epochs:
        return None
    rows = ckpt["history"]
    last = _SUMMARIES[loop](rows[-1], done) if rows else ""
    results = ", ".join(f.name for f in sorted(run_dir.iterdir()) if f.is_file())
    more = (f"pass --epochs N (more than {done}) to train on" if recipe.lr_schedule == "none"
            else f"its {recipe.lr_schedule} schedule ends at epoch {done}: train longer in a "
            f"new run (another --name, --epochs N)")
    return (f"run {run_dir.name} has already finished: {done} epoch{'s' * (done != 1)} "
            f"trained, nothing to resume\n"
            f"{last}\nresults in {run_dir}/: {results}\n{more}")


def _text_samples(args: argparse.Namespace, run: Prepared, run_dir: Path) -> TextSamples | None:
    """The per-epoch sampler of a language model into ``samples.txt`` (None for other
    models, or with ``--sample-chars 0``); a prefix the text cannot spell is a usage error."""
    corpus = run.splits.extra.get("corpus")
    if not args.sample_chars or corpus is None or not callable(getattr(run.model, "sample",
                                                                       None)):
        return None
    try:
        prefix = sample_prefix(corpus, args.sample_prefix)
    except ValueError as error:
        raise UsageError(f"--sample-prefix: {error}") from None
    return TextSamples(run.model, run_dir / "samples.txt", prefix=prefix,
                       length=args.sample_chars, seed=run.recipe.seed, corpus=corpus,
                       echo=not args.no_progress)


def run_train(args: argparse.Namespace) -> int:
    run_dir, recipe = _run_dir_and_recipe(args)
    if not args.resume and (run_dir / CHECKPOINT).exists():
        raise UsageError(f"{run_dir} already holds a run: pass --resume to continue it, "
                         f"or another --name")
    loop = _loop(recipe.model)
    if args.compile and loop != "fit":
        raise UsageError(f"--compile: {recipe.model} trains with {loop}, which has no compiled "
                         "step (only classifiers and language models have one)")
    finished = _finished(run_dir, recipe, loop) if args.resume else None
    if finished is not None:
        print(finished)
        return 0
    helper = start_background_compile(recipe.model)   # silent: usage errors stay one line
    try:
        return _train(args, run_dir, recipe, loop, helped=helper is not None)
    finally:
        if helper is not None:
            helper.stop()


def _train(args: argparse.Namespace, run_dir: Path, recipe: Any, loop: str,
           helped: bool) -> int:
    gan, detect = loop == "fit_gan", loop == DETECTION_LOOP
    run = prepare_or_fail(recipe, prepare_gan if gan else prepare_detection if detect
                          else prepare)
    if loop == "fit":
        _check_model_fits_data(run)
    warn_if_cold(helped)
    sampler = None if loop != "fit" else _text_samples(args, run, run_dir)
    _write_recipe(run_dir, recipe)
    n_params = sum(p.numel() for p in run.model.parameters())
    data = (f"the {len(run.train_loader.dataset)} {recipe.data} training images" if gan else
            f"{recipe.data} ({len(run.splits.train)} train / {len(run.splits.test)} held out)")
    print(f"{'resuming' if args.resume else 'training'} {recipe.model} ({n_params:,} "
          f"parameters) on {data} -> {run_dir}/")
    progress = not args.no_progress
    started = time.perf_counter()
    written = ["recipe.json", "checkpoint.npz", "history.csv", "curves.png"]
    try:
        if gan:
            history = fit_gan(run.model, run.train_loader, epochs=recipe.epochs,
                              run_dir=run_dir, resume=args.resume, progress=progress,
                              **run.fit_kwargs)
            written.append("samples.png")
        elif detect:
            history = fit_detection(run.model, run.train_loader, run.val_loader,
                                    optimizer=run.optimizer, scheduler=run.scheduler,
                                    scheduler_interval=run.scheduler_interval,
                                    epochs=recipe.epochs, run_dir=run_dir, resume=args.resume,
                                    progress=progress)
        else:
            history = fit(run.model, run.train_loader, run.val_loader, loss_fn=run.loss_fn,
                          optimizer=run.optimizer, scheduler=run.scheduler,
                          scheduler_interval=run.scheduler_interval, epochs=recipe.epochs,
                          run_dir=run_dir, resume=args.resume, progress=progress,
                          callbacks=[sampler] if sampler is not None else [],
                          compile=args.compile)
            written.append("samples.txt")
    except KeyboardInterrupt:
        print(f"\ntgcs train: interrupted; every finished epoch is saved in {run_dir}/: "
              f"continue with `tgcs train --resume --name {run_dir.name} "
              f"--runs-dir {run_dir.parent}`", file=sys.stderr)
        return 130
    if args.compile:
        print(f"wall time {time.perf_counter() - started:.1f} s (compiled training steps)")
    mark_warm()  # the kernels this run met are cached: no "first run" notice any more
    if loop == "fit" and not args.no_graph:
        written.append(write_graph(run, run_dir / "graph.svg").name)
    if not progress and history.rows:        # with progress, the loop printed every epoch
        print(_SUMMARIES[loop](history.last, recipe.epochs))
        if sampler is not None and sampler.samples:
            print(f"sample: {sampler.prefix}{sampler.samples[-1][1]}")
    if detect:
        classes = run.splits.classes
        written += draw_detection_pictures(run.model, run.splits.test, run_dir, classes)
        table = detection_report(run.model, run.val_loader, run_dir, classes)[1]
        written.append("metrics.json")
        print(table)
    print(f"wrote {', '.join(w for w in written if (run_dir / w).exists())} in {run_dir}/")
    return 0
