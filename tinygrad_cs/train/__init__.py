"""``tinygrad_cs.train``: the CS231n training recipe as code.

* ``fit(model, train_loader, val_loader, loss_fn=..., optimizer=..., epochs=...)``: the loop,
  with tqdm bars, a ``History``, a checkpoint per epoch (``run_dir/checkpoint.npz``), exact
  resume, curves (``curves.png``) and ``TrainingDiverged`` naming the step and layer on a
  NaN/Inf loss; ``evaluate`` for loss and accuracy on a loader;
* sanity checks before a long run: ``check_initial_loss`` (ln C for softmax, (C-1)/C for
  ``MultiMarginLoss``), ``check_overfit`` (20 examples to 100% training accuracy),
  ``run_sanity_checks``, each a ``CheckResult`` that prints as one pass/fail line;
* ``lr_find``: the learning-rate range test (Smith 2015), an ``LRFinderResult`` with a
  suggested learning rate and a plot;
* ``plot_curves(history, path)``: loss and accuracy per epoch as a PNG;
* ``fit_gan``: the DCGAN loop (alternating D and G updates, checkpoints, exact resume, a
  ``samples.png`` grid), what ``tgcs train --model dcgan`` runs;
* ``fit_detection``: the loop of every detection model (torchvision's interface: a dict of
  losses in training mode, boxes/scores/labels in eval mode), with held-out mAP per epoch,
  what ``tgcs train --model yolo --data shapes`` runs (``prepare_detection`` builds it);
  ``evaluate_detector`` scores a model on a loader (COCO/VOC mAP);
* hyper-parameter search: ``random_search`` / ``coarse_to_fine`` over a space of
  ``LogUniform`` / ``Uniform`` / ``Choice`` dimensions, trials in spawned worker processes or
  on a Dask cluster (``dask_client`` connects with a timeout), reports with ``save_search``
  (CSV, markdown, scatter plot);
* ``Recipe`` / ``prepare``: a run described by names (zoo model, data set, optimizer), what
  ``tgcs train`` and ``classifier_trial`` build; ``load_model(run_dir)``: a finished run's
  trained model (a language model with its vocabulary, so its ``sample`` returns text);
* ``TextSamples``: a ``fit`` callback that writes a language model's sample every epoch.
"""
from .curves import plot_columns, plot_curves
from .detection import evaluate_detector, fit_detection
from .detection_recipe import prepare_detection
from .divergence import TrainingDiverged
from .fit import evaluate, fit
from .gan import fit_gan, save_image
from .history import History
from .load import load_model
from .lr_finder import LRFinderResult, lr_find
from .recipe import Recipe, prepare
from .sanity import CheckResult, check_initial_loss, check_overfit, run_sanity_checks
from .search import (CoarseToFine, SearchResult, Trial, coarse_to_fine, dask_client,
                     plot_search, random_search, save_search)
from .search_space import Choice, LogUniform, Uniform, refine, sample_configs
from .text_samples import TextSamples
from .trials import classifier_trial, softmax_trial

__all__ = ["CheckResult", "History", "LRFinderResult", "TrainingDiverged", "check_initial_loss",
           "check_overfit", "evaluate", "fit", "lr_find", "plot_curves", "run_sanity_checks"]
__all__ += ["TextSamples", "fit_gan", "load_model", "plot_columns", "save_image"]
__all__ += ["evaluate_detector", "fit_detection", "prepare_detection"]
__all__ += ["Choice", "CoarseToFine", "LogUniform", "Recipe", "SearchResult", "Trial",
            "Uniform", "classifier_trial", "coarse_to_fine", "dask_client", "plot_search", "prepare",
            "random_search", "refine", "sample_configs", "save_search", "softmax_trial"]
