"""Random search on a Dask cluster (``scheduler=``): a ``LocalCluster`` of two worker
processes on loopback must reproduce the inline run, failing trial included.

Skips cleanly without the optional ``distributed`` package (``pip install -e '.[dask]'``).
"""
from __future__ import annotations

import pytest

from tinygrad_cs.train.search import random_search
from tinygrad_cs.train.search_space import Choice, LogUniform
from tinygrad_cs.train.trials import softmax_trial

distributed = pytest.importorskip("distributed", reason="the Dask backend is an optional extra")
pytest.importorskip("sklearn", reason="softmax_trial trains on scikit-learn's digits")

# momentum -1 makes optim.SGD raise: a failing trial on a Dask worker
SPACE = {"lr": LogUniform(1e-3, 1.0), "weight_decay": LogUniform(1e-6, 1e-2),
         "momentum": Choice([0.0, 0.9, -1.0])}
KWARGS = {"seed": 7, "fixed": {"steps": 60}}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def inline():
    return random_search(softmax_trial, SPACE, 4, workers=0, **KWARGS)


def _assert_same(a, b):
    assert [t.config for t in a.trials] == [t.config for t in b.trials]
    assert [t.status for t in a.trials] == [t.status for t in b.trials]
    assert [t.error for t in a.trials] == [t.error for t in b.trials]
    for x, y in zip(a.trials, b.trials, strict=True):
        keys = {"val_acc", "val_loss", "train_loss"} & set(x.metrics)   # none for a failure
        assert keys == {"val_acc", "val_loss", "train_loss"} & set(y.metrics)
        for key in keys:
            assert y.metrics[key] == pytest.approx(x.metrics[key], rel=1e-5, abs=1e-7)


def test_dask_cluster_by_address_reproduces_the_inline_run(cluster, inline):
    assert "failed" in {t.status for t in inline.trials}
    on_dask = random_search(softmax_trial, SPACE, 4, scheduler=cluster.scheduler_address,
                            **KWARGS)
    _assert_same(inline, on_dask)


def test_dask_client_is_used_and_left_open(cluster, inline):
    with distributed.Client(cluster) as client:
        on_dask = random_search(softmax_trial, SPACE, 4, scheduler=client, **KWARGS)
        assert client.status == "running"       # the caller's client: not closed by the search
    _assert_same(inline, on_dask)
