"""The CS231n sanity checks to run before a long training run.

1. **Initial loss.** With small random weights every class gets about the same score, so
   the first loss has a closed form:

   * softmax / cross-entropy: p_y = 1/C, so L = -ln(1/C) = ln C  (2.303 for C = 10);
   * multiclass SVM with margin Delta and scores ~ 0: every wrong class j contributes
     max(0, s_j - s_y + Delta)^p = Delta^p, so the CS231n sum is (C - 1) Delta^p and
     ``nn.MultiMarginLoss`` (which divides by C, as PyTorch) gives (C - 1) Delta^p / C.

   A loss can state its own value through a method ``expected_initial_loss(num_classes)``,
   on the loss object or, for a bound method such as ``model.loss``, on its owner; it is
   preferred when present. The zoo's ``LinearSVM.loss`` (the CS231n sum, (C - 1) delta) and
   ``SoftmaxClassifier.loss`` (ln C) are recognised as such. The check passes when
   ``|measured - expected| <= rtol * expected`` (``rtol=0.1``: a softmax whose logits have
   standard deviation sigma starts at about ln C + sigma^2/2, so 10% allows sigma ~ 0.7 for
   C = 10 and flags the "weights far too large" mistake, which gives losses several times ln C).

2. **Overfit a tiny sample.** Train on ``n=20`` examples without regularisation; a correct
   model and loop reaches 100% training accuracy (loss near 0) within a few hundred steps.
   Failing means a bug, too little capacity or a bad learning rate.

Both checks leave no trace: parameters, buffers (BatchNorm statistics), the training mode and
the global RNG state are restored afterwards, so a later ``fit`` runs as if they never ran.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor, nn, no_grad

from .steps import as_tensor, batch_loss, correct, split_batch

__all__ = ["CheckResult", "check_initial_loss", "check_overfit", "expected_initial_loss",
           "run_sanity_checks"]


class CheckResult(NamedTuple):
    """Outcome of one sanity check; ``str()`` gives one pass/fail line with the numbers."""
    name: str
    passed: bool
    measured: float
    expected: float
    detail: str = ""

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return (f"[{mark}] {self.name}: measured {self.measured:.4g}, expected "
                f"{self.expected:.4g}" + (f" ({self.detail})" if self.detail else ""))


class _Preserved:
    """Context manager: snapshot a model's state, mode and the RNG; put them back on exit."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __enter__(self) -> None:
        self.state = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}
        self.training, self.rng = self.model.training, tg.get_rng_state()

    def __exit__(self, *exc: object) -> None:
        self.model.load_state_dict(self.state)
        self.model.train(self.training)
        tg.set_rng_state(self.rng)


def expected_initial_loss(loss_fn: Any, num_classes: int) -> tuple[float, str]:
    """(expected first loss, how it was derived) for ``loss_fn`` and C = ``num_classes``."""
    C = int(num_classes)
    if C < 2:
        raise ValueError(f"check_initial_loss: num_classes must be >= 2, got {num_classes}")
    owner = getattr(loss_fn, "__self__", None)  # a bound method such as model.loss
    for source in (loss_fn, owner):
        hook = getattr(source, "expected_initial_loss", None)
        if source is not None and callable(hook):
            return float(hook(C)), f"{type(source).__name__}.expected_initial_loss({C})"
    zoo = _zoo_linear_loss(owner, C) if getattr(loss_fn, "__name__", "") == "loss" else None
    if zoo is not None:
        return zoo
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction != "mean":
        raise ValueError(f"check_initial_loss: {type(loss_fn).__name__} has reduction="
                         f"{reduction!r}; the expected values assume reduction='mean'")
    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        return math.log(C), f"ln({C}) for softmax with near-uniform scores"
    if isinstance(loss_fn, nn.MultiMarginLoss):
        value = loss_fn.margin ** loss_fn.p * (C - 1) / C
        return value, f"(C-1)/C * margin^p = {C - 1}/{C} * {loss_fn.margin}^{loss_fn.p}"
    name = getattr(loss_fn, "__qualname__", type(loss_fn).__name__)
    raise TypeError(f"check_initial_loss: no known initial loss for {name}; supported: "
                    "CrossEntropyLoss, NLLLoss (log-probabilities), MultiMarginLoss, the zoo's "
                    "linear classifiers' model.loss, or a loss (or its owner) with an "
                    "expected_initial_loss(num_classes) method")


def _zoo_linear_loss(owner: Any, C: int) -> tuple[float, str] | None:
    """The zoo's linear classifiers train with ``model.loss``: softmax, or the CS231n SVM
    (sum over the wrong classes, margin ``delta``: (C - 1) * delta)."""
    from tinygrad_cs.nn.models.linear_classifiers import LinearSVM, SoftmaxClassifier

    if isinstance(owner, LinearSVM):
        return (C - 1) * owner.delta, f"(C-1) * delta = {C - 1} * {owner.delta} (CS231n SVM)"
    if isinstance(owner, SoftmaxClassifier):
        return math.log(C), f"ln({C}) for softmax with near-uniform scores"
    return None


def _batches(batch_or_loader: Any) -> Iterable:
    first = batch_or_loader[0] if isinstance(batch_or_loader, (tuple, list)) else None
    if isinstance(first, (Tensor, np.ndarray)):
        return [batch_or_loader]  # one (x, y) batch
    return batch_or_loader


def check_initial_loss(model: Any, batch_or_loader: Any, loss_fn: Any, num_classes: int, *,
                       rtol: float = 0.1, max_batches: int = 10) -> CheckResult:
    """Compare the untrained model's mean loss (training mode, no update) with its closed form.

    ``batch_or_loader`` is one ``(x, y)`` batch or a loader (the first ``max_batches`` are
    averaged, weighted by batch size).
    """
    expected, how = expected_initial_loss(loss_fn, num_classes)
    total, seen = 0.0, 0
    with _Preserved(model), no_grad():
        model.train()  # the loss the first optimizer steps will see (BatchNorm batch stats)
        for i, batch in enumerate(_batches(batch_or_loader)):
            if i == max_batches:
                break
            x, y = split_batch(batch)
            total += float(batch_loss(loss_fn, model(x), y).item()) * x.shape[0]
            seen += x.shape[0]
    if seen == 0:
        raise ValueError("check_initial_loss: no batches to measure the loss on")
    measured = total / seen
    passed = math.isfinite(measured) and abs(measured - expected) <= rtol * expected
    detail = f"{how}; tolerance {rtol:.0%}, over {seen} examples"
    if not passed:
        detail += ("; a loss far above it usually means initial weights that are too large"
                   if measured > expected else "; a loss far below it means a bug (or a model "
                   "that is not freshly initialised)")
    return CheckResult("initial loss", passed, measured, expected, detail)


def _take(data: Any, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """``n`` seeded random examples (all if fewer) of a dataset or an ``(x, y)`` pair."""
    pair = isinstance(data, (tuple, list)) and len(data) >= 2 and \
        isinstance(data[0], (Tensor, np.ndarray))
    size = len(data[0]) if pair else len(data)
    idx = np.sort(np.random.default_rng(seed).choice(size, size=min(n, size), replace=False))
    if pair:
        x, y = (np.asarray(a.numpy() if isinstance(a, Tensor) else a) for a in data[:2])
        return as_tensor(x[idx]), as_tensor(y[idx])
    items = [data[int(i)] for i in idx]
    return (as_tensor(np.stack([np.asarray(it[0]) for it in items])),
            as_tensor(np.stack([np.asarray(it[1]) for it in items])))


def check_overfit(model: Any, data: Any, *, n: int = 20, steps: int = 200, lr: float = 1e-3,
                  loss_fn: Any = None, optimizer: Callable[..., Any] | None = None,
                  seed: int = 0, eval_every: int = 10) -> CheckResult:
    """Train on ``n`` examples of ``data`` (full batch, no regularisation) until 100% accuracy.

    ``model`` is a Module (restored afterwards) or a zero-argument factory returning one;
    ``data`` a dataset (``data[i] -> (x, y)``) or an ``(x, y)`` pair of arrays/Tensors;
    ``optimizer(params, lr=lr)`` defaults to ``tg.optim.Adam``; ``loss_fn`` to
    ``CrossEntropyLoss``. The accuracy that counts is measured in eval mode (dropout off,
    BatchNorm running statistics): every ``eval_every`` steps, at the last step, and whenever
    the training forward pass already classifies every example correctly (so an extra
    forward pass is rarely paid for). The check stops at the first 100% and fails with the
    best accuracy and the final loss otherwise.
    """
    model = model if hasattr(model, "parameters") else model()
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    make_opt = tg.optim.Adam if optimizer is None else optimizer
    x, y = _take(data, n, seed)
    best, best_step, loss_value, step = 0.0, 0, float("nan"), 0
    with _Preserved(model):
        opt = make_opt(model.parameters(), lr=lr)
        for step in range(1, steps + 1):
            model.train()
            opt.zero_grad()
            out = model(x)
            loss = batch_loss(loss_fn, out, y)
            loss_value = float(loss.item())
            if not math.isfinite(loss_value):
                break
            loss.backward()
            opt.step()
            right = _class_counts(out, y)
            if right[0] == right[1] or step % eval_every == 0 or step == steps:
                model.eval()
                with no_grad():
                    right = _class_counts(model(x), y)
                if right[0] / right[1] > best:
                    best, best_step = right[0] / right[1], step
                if best == 1.0:
                    break
    passed = best == 1.0
    where = f"{x.shape[0]} examples, lr={lr:g}"
    if passed:
        detail = f"100% after {best_step} steps, loss {loss_value:.4g}; {where}"
    else:
        detail = (f"best accuracy {best:.1%} at step {best_step}, final loss {loss_value:.4g} "
                  f"after {step} steps; {where}")
    return CheckResult("overfit small sample", passed, best, 1.0, detail)


def _class_counts(out: Tensor, y: Tensor) -> tuple[int, int]:
    right = correct(out, y)
    if right is None:
        raise ValueError(f"check_overfit: targets of shape {y.shape} and dtype {y.dtype} are "
                         f"not class indices for outputs of shape {out.shape}")
    return right


def run_sanity_checks(model: Any, data: Any, loss_fn: Any, num_classes: int, *,
                      batch_size: int = 64, rtol: float = 0.1, n: int = 20, steps: int = 200,
                      lr: float = 1e-3, seed: int = 0, verbose: bool = True) -> list[CheckResult]:
    """Both checks on ``data`` (a dataset or an ``(x, y)`` pair): the initial loss on
    ``batch_size`` seeded random examples, then overfitting ``n`` of them. ``model`` is a
    freshly initialised Module (left unchanged) or a factory (called once). Prints each line
    if ``verbose``."""
    module = model if hasattr(model, "parameters") else model()
    results = [check_initial_loss(module, _take(data, batch_size, seed), loss_fn, num_classes,
                                  rtol=rtol),
               check_overfit(module, data, n=n, steps=steps, lr=lr, loss_fn=loss_fn, seed=seed)]
    if verbose:
        for r in results:
            print(r)
    return results
