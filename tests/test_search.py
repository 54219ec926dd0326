"""Random hyper-parameter search, coarse to fine (``tinygrad_cs.train.search``).

Oracles: the uniform distribution (a Kolmogorov-Smirnov statistic of log-uniform samples in
log space), the span of the best trials (refine), the inline run (parallel spawn workers
must reproduce it), the trial records themselves (CSV / markdown parse back to them), the
PNG signature, and a known accuracy (softmax on digits reaches >= 90%).
"""
from __future__ import annotations

import csv
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cs.train.search import (
    SearchResult,
    Trial,
    coarse_to_fine,
    plot_search,
    random_search,
    run_trial,
    save_search,
)
from tinygrad_cs.train.search_space import (
    MIN_SPAN_FRACTION,
    Choice,
    LogUniform,
    Uniform,
    refine,
    sample_configs,
)
from tinygrad_cs.train.trials import softmax_trial

pytest.importorskip("sklearn", reason="softmax_trial trains on scikit-learn's digits")

SPACE = {"lr": LogUniform(1e-3, 1.0), "weight_decay": LogUniform(1e-6, 1e-2)}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _ks_uniform(u: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the sample ``u`` and U(0, 1)."""
    u = np.sort(u)
    n = len(u)
    return float(max((np.arange(1, n + 1) / n - u).max(), (u - np.arange(n) / n).max()))


# ----- sampling -----------------------------------------------------------------------------

def test_sampling_is_reproducible_and_seed_dependent():
    space = {**SPACE, "momentum": Uniform(0.5, 0.99), "optimizer": Choice(["sgd", "adam"])}
    a, b = sample_configs(space, 20, seed=3), sample_configs(space, 20, seed=3)
    assert a == b
    assert a != sample_configs(space, 20, seed=4)
    assert all(set(c) == set(space) for c in a)


def test_log_uniform_is_uniform_in_log_space():
    n, dim = 4000, LogUniform(1e-4, 1e-1)
    x = np.array([c["lr"] for c in sample_configs({"lr": dim}, n, seed=0)])
    assert x.min() >= 1e-4 and x.max() <= 1e-1
    u = (np.log(x) - math.log(1e-4)) / (math.log(1e-1) - math.log(1e-4))
    # 1.36 / sqrt(n): the KS test's 5% critical value; the same x is far from uniform in x
    assert _ks_uniform(u) < 1.36 / math.sqrt(n)
    assert _ks_uniform((x - 1e-4) / (1e-1 - 1e-4)) > 0.5
    # one third of the samples per decade
    decades = np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0] / n
    np.testing.assert_allclose(decades, 1 / 3, atol=0.03)


def test_uniform_and_choice_distributions():
    n = 3000
    configs = sample_configs({"m": Uniform(0.5, 0.9), "opt": Choice(["sgd", "adam", None])},
                             n, seed=1)
    m = np.array([c["m"] for c in configs])
    assert _ks_uniform((m - 0.5) / 0.4) < 1.36 / math.sqrt(n)
    counts = [sum(c["opt"] == o for c in configs) / n for o in ("sgd", "adam", None)]
    np.testing.assert_allclose(counts, 1 / 3, atol=0.03)


@settings(deadline=None, max_examples=50)
@given(low=st.floats(-8, 2), width=st.floats(1e-3, 6), seed=st.integers(0, 2**32 - 1))
def test_samples_stay_within_bounds(low, width, seed):
    space = {"a": LogUniform(10.0**low, 10.0**(low + width)),
             "b": Uniform(low, low + width)}
    for c in sample_configs(space, 16, seed):
        assert space["a"].low <= c["a"] <= space["a"].high
        assert space["b"].low <= c["b"] <= space["b"].high


def test_bad_spaces_are_rejected():
    with pytest.raises(ValueError, match="LogUniform"):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        Uniform(2.0, 1.0)
    with pytest.raises(TypeError, match="'lr'"):
        sample_configs({"lr": (1e-3, 1e-1)}, 2)


# ----- refine -------------------------------------------------------------------------------

def _trials(lrs, accs, statuses=None):
    statuses = statuses or ["ok"] * len(lrs)
    return [Trial(i, {"lr": lr, "opt": "sgd" if i % 2 else "adam"}, {"val_acc": acc}, s)
            for i, (lr, acc, s) in enumerate(zip(lrs, accs, statuses, strict=True))]


def test_refine_spans_the_top_k_in_log_space():
    space = {"lr": LogUniform(1e-5, 1.0), "opt": Choice(["sgd", "adam", "rmsprop"])}
    # the best three (by val_acc) have lr 1e-3, 4e-3, 1e-2; trial 4 failed with the top score
    trials = _trials([1e-5, 1e-3, 4e-3, 1e-2, 0.5], [0.1, 0.9, 0.95, 0.92, 0.99],
                     ["ok", "ok", "ok", "ok", "failed"])
    exact = refine(space, trials, top_k=3, widen=1.0)["lr"]
    assert isinstance(exact, LogUniform)
    assert exact.low == pytest.approx(1e-3) and exact.high == pytest.approx(1e-2)
    wide = refine(space, trials, top_k=3, widen=2.0)
    # twice the span about the same centre, in log space: one decade -> two decades
    assert wide["lr"].low == pytest.approx(10**-3.5) and wide["lr"].high == pytest.approx(10**-1.5)
    assert wide["opt"] == Choice(["sgd", "adam"])     # the options the top three used
    best_only = refine(space, trials, top_k=1, widen=2.0)["lr"]
    span = math.log(best_only.high / best_only.low)
    assert span == pytest.approx(MIN_SPAN_FRACTION * math.log(1.0 / 1e-5))
    assert best_only.low < 4e-3 < best_only.high


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.floats(-5, 0), st.floats(0, 1)), min_size=1, max_size=12),
       st.integers(1, 5), st.floats(1, 4))
def test_refine_stays_in_bounds_and_contains_the_best(points, top_k, widen):
    space = {"lr": LogUniform(1e-5, 1.0), "m": Uniform(-5.0, 0.0)}
    trials = [Trial(i, {"lr": 10.0**e, "m": e}, {"val_acc": a}) for i, (e, a) in enumerate(points)]
    narrow = refine(space, trials, top_k=top_k, widen=widen)
    best = sorted(trials, key=lambda t: -t.metrics["val_acc"])[:top_k]
    for name, dim in space.items():
        new = narrow[name]
        assert dim.low <= new.low < new.high <= dim.high
        slack = 1e-9 * (abs(new.low) + abs(new.high))    # exp(log(x)) rounding
        assert all(new.low - slack <= t.config[name] <= new.high + slack for t in best)


def test_refine_needs_a_successful_trial():
    with pytest.raises(ValueError, match="none of the 2 trials"):
        refine(SPACE, _trials([1e-3, 1e-2], [math.nan, 0.5], ["diverged", "failed"]))
    failed = random_search(_nan_or_raise_trial, {"lr": LogUniform(0.2, 1.0)}, 3, workers=0)
    with pytest.raises(ValueError, match="none of the 3 trials"):
        refine(SPACE, failed)                               # a SearchResult works too
    with pytest.raises(ValueError, match=r"among 3 \(\{'failed': 3"):
        _ = failed.best


# ----- running ------------------------------------------------------------------------------

def _nan_or_raise_trial(config: dict) -> dict:
    """Module level, so spawn workers can import it: raises for large lr, NaN for small."""
    if config["lr"] > 0.1:
        raise RuntimeError(f"lr {config['lr']:.3g} too large")
    return {"val_acc": math.nan if config["lr"] < 0.01 else config["lr"], "val_loss": 1.0}


def test_failed_and_diverged_trials_are_recorded():
    result = random_search(_nan_or_raise_trial, SPACE, 12, seed=0, workers=0)
    by_status = {s: [t for t in result.trials if t.status == s] for s in ("ok", "failed",
                                                                            "diverged")}
    assert all(t.config["lr"] > 0.1 for t in by_status["failed"]) and by_status["failed"]
    assert all("RuntimeError: lr" in t.error for t in by_status["failed"])
    assert all(t.config["lr"] < 0.01 for t in by_status["diverged"]) and by_status["diverged"]
    assert all("val_acc=nan" in t.error for t in by_status["diverged"])
    assert result.best.config["lr"] == max(t.config["lr"] for t in by_status["ok"])
    assert run_trial(len, 0, {"lr": 1}).status == "failed"   # returns an int, not metrics


def test_parallel_spawn_workers_reproduce_the_inline_run():
    # momentum -1 makes optim.SGD raise: a failing trial inside a worker process
    space = {**SPACE, "momentum": Choice([0.0, 0.9, -1.0])}
    kwargs = {"seed": 5, "fixed": {"steps": 60}}
    inline = random_search(softmax_trial, space, 4, workers=0, **kwargs)
    parallel = random_search(softmax_trial, space, 4, workers=2, **kwargs)
    assert [t.config for t in parallel.trials] == [t.config for t in inline.trials]
    assert [t.status for t in parallel.trials] == [t.status for t in inline.trials]
    assert "failed" in {t.status for t in inline.trials}
    for a, b in zip(inline.trials, parallel.trials, strict=True):
        assert a.error == b.error
        keys = {"val_acc", "val_loss", "train_loss"} & set(a.metrics)   # none for a failure
        assert keys == {"val_acc", "val_loss", "train_loss"} & set(b.metrics)
        for key in keys:
            assert b.metrics[key] == pytest.approx(a.metrics[key], rel=1e-5, abs=1e-7)


def test_search_arguments_are_checked():
    with pytest.raises(ValueError, match="'lr'"):
        random_search(softmax_trial, SPACE, 2, fixed={"lr": 0.1}, workers=0)
    with pytest.raises(TypeError, match="module level"):
        random_search(lambda c: {"val_acc": 1.0}, SPACE, 2, workers=2)
    with pytest.raises(KeyError, match="unknown config keys"):
        softmax_trial({"lr": 0.1, "epochs": 3})


def test_dask_scheduler_without_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)     # as if not installed
    with pytest.raises(ImportError, match=r"pip install -e '\.\[dask\]'"):
        random_search(softmax_trial, SPACE, 2, scheduler="tcp://127.0.0.1:8786")


# ----- reporting ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_result() -> SearchResult:
    return random_search(_nan_or_raise_trial, SPACE, 10, seed=1, workers=0)


def test_csv_parses_back_to_the_trials(mixed_result, tmp_path):
    mixed_result.to_csv(tmp_path / "s.csv")
    with open(tmp_path / "s.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_index = {t.index: t for t in mixed_result.trials}
    assert sorted(int(r["trial"]) for r in rows) == list(range(10))
    for r in rows:
        t = by_index[int(r["trial"])]
        assert r["status"] == t.status and r["error"] == t.error
        assert float(r["lr"]) == t.config["lr"]               # full precision round trip
        assert float(r["weight_decay"]) == t.config["weight_decay"]
        if t.status != "failed":
            assert float(r["val_acc"]) == t.metrics["val_acc"] or t.status == "diverged"
    ok_rows = [r for r in rows if r["status"] == "ok"]
    accs = [float(r["val_acc"]) for r in ok_rows]
    assert accs == sorted(accs, reverse=True) and rows[:len(ok_rows)] == ok_rows
    assert [int(r["rank"]) for r in ok_rows] == list(range(1, len(ok_rows) + 1))
    assert int(rows[0]["trial"]) == mixed_result.best.index


def test_markdown_table_is_sorted_best_first(mixed_result, tmp_path):
    text = mixed_result.to_markdown(tmp_path / "s.md")
    assert (tmp_path / "s.md").read_text() == text
    table = [line for line in text.splitlines() if line.startswith("|")]
    header = [h.strip() for h in table[0].strip("|").split("|")]
    assert header[:5] == ["rank", "trial", "status", "lr", "weight_decay"]
    assert {"val_acc", "val_loss", "seconds", "error"} <= set(header)
    body = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
            for line in table[2:]]
    assert len(body) == 10
    assert int(body[0]["trial"]) == mixed_result.best.index
    assert float(body[0]["val_acc"]) == pytest.approx(mixed_result.best.metrics["val_acc"],
                                                      rel=1e-3)
    ok = [float(r["val_acc"]) for r in body if r["status"] == "ok"]
    assert ok == sorted(ok, reverse=True)


def test_save_search_writes_csv_markdown_and_png(mixed_result, tmp_path):
    paths = save_search(mixed_result, tmp_path / "run")
    assert {p.name for p in paths.values()} == {"search.csv", "search.md", "search.png"}
    assert paths["png"].read_bytes()[:8] == PNG_MAGIC
    one_axis = plot_search(mixed_result, tmp_path / "lr.png", x="lr", y=None)
    assert one_axis.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="'momentum'"):
        plot_search(mixed_result, tmp_path / "bad.png", x="momentum")


def test_coarse_to_fine_finds_a_good_softmax_on_digits(tmp_path):
    space = {"lr": LogUniform(1e-5, 1e-1), "weight_decay": LogUniform(1e-6, 1e-1)}
    result = coarse_to_fine(softmax_trial, space, n_coarse=8, n_fine=6, seed=0, workers=0,
                            fixed={"steps": 60}, fine_fixed={"steps": 300}, top_k=3)
    assert all(t.config["steps"] == 60 for t in result.coarse.trials)
    assert all(t.config["steps"] == 300 for t in result.fine.trials)
    for name, dim in space.items():       # the fine space lies inside the coarse one ...
        fine = result.fine.space[name]
        assert dim.low <= fine.low < fine.high <= dim.high
        top = [t.config[name] for t in result.coarse.ranked()[:3]]   # ... around the best
        assert fine.low <= min(top) and max(top) <= fine.high
    assert result.best.metrics["val_acc"] >= 0.9
    paths = save_search(result, tmp_path)
    assert paths["fine_png"].read_bytes()[:8] == PNG_MAGIC


def test_classifier_trial_trains_a_zoo_mlp_on_digits():
    import tinygrad_cs.nn.models.mlp  # noqa: F401 - registers "mlp" in the zoo
    from tinygrad_cs.train.trials import classifier_trial

    fixed = {"model": "mlp", "data": "digits", "epochs": 1, "optimizer": "sgd"}
    good = run_trial(classifier_trial, 0, {**fixed, "lr": 0.1})
    # one epoch of SGD (momentum 0.9, batch 64) gave 90.8% held-out accuracy
    assert good.status == "ok" and good.metrics["val_acc"] >= 0.85, good
    assert set(good.metrics) == {"val_acc", "val_loss", "train_loss", "seconds"}
    exploded = run_trial(classifier_trial, 1, {**fixed, "lr": 1e3})   # TrainingDiverged
    assert exploded.status == "diverged" and "val_acc=nan" in exploded.error
