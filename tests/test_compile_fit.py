"""``fit(..., compile=True)`` trains exactly as ``fit()``: the same history, parameters and
optimizer state bit for bit (dropout, momentum, a per-batch schedule), with no graph break;
a divergence still stops it. Oracle: the eager ``fit`` on the same seed and batches."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.train import TrainingDiverged, fit


def _batches(n=40, d=4, c=3, batch=8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    x = (rng.normal(0, 3, (c, d))[y] + rng.normal(0, 1, (n, d))).astype(np.float32)
    return [(tg.tensor(x[i:i + batch]), tg.tensor(y[i:i + batch])) for i in range(0, n, batch)]


def _run(compile_, lr=0.05, epochs=2, grad_clip=None):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, _batches(), _batches(16, seed=1), loss_fn=nn.CrossEntropyLoss(),
                      optimizer=opt, scheduler=sched, scheduler_interval="batch",
                      epochs=epochs, progress=False, compile=compile_, grad_clip=grad_clip)
    breaks = [str(w.message) for w in caught if "graph break" in str(w.message)]
    # clip_grad_norm_ computes its scale in numpy: a graph break (eager steps), said once
    assert len(breaks) == (compile_ and grad_clip is not None), breaks
    return history, model, opt


@pytest.mark.parametrize("grad_clip", [None, 0.5])
def test_fit_compiled_equals_fit(grad_clip):
    eager, compiled = _run(False, grad_clip=grad_clip), _run(True, grad_clip=grad_clip)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert compiled[0][key] == eager[0][key], key
    for (k, a), b in zip(eager[1].state_dict().items(), compiled[1].state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for a, b in zip(eager[1].parameters(), compiled[1].parameters()):
        np.testing.assert_array_equal(eager[2].state[a]["momentum_buffer"],
                                      compiled[2].state[b]["momentum_buffer"])


def test_fit_compiled_stops_on_divergence():
    with pytest.raises(TrainingDiverged):
        _run(True, lr=1e30, epochs=1)
