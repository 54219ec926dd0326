"""The learning-rate range test: the sweep's closed forms, restoring the model, and a suggestion
that trains well on a problem whose good range is known (linear softmax on separable blobs)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import DataLoader, TensorDataset
from tinygrad_cs.train import LRFinderResult, fit, lr_find
from tinygrad_cs.train.lr_finder import _suggest


def _loader(x, y, batch_size=32, seed=0):
    """Shuffled batches of 32; its ``state_dict`` must be put back by lr_find."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)


def blobs(n=600, noise=1.5, seed=0):
    """Three standardised 2-D blobs; with ``noise=1.5`` they overlap a little (a linear
    classifier gets ~98%), so that too large a learning rate makes the loss blow up."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0.0, 4.0], [-3.5, -2.0], [3.5, -2.0]])
    x = centers[y] + rng.normal(0, noise, (n, 2))
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32), y.astype(np.int64)


def test_sweep_is_exponential_smoothed_and_restores_everything():
    x, y = blobs(200, noise=0.7)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.2), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = _loader(x, y)
    fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, progress=False)
    params = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    opt_state, rng, loader_state = opt.state_dict(), tg.get_rng_state(), loader.state_dict()

    r = lr_find(model, loader, nn.CrossEntropyLoss(), opt, start_lr=1e-4, end_lr=1e-1,
                num_iter=20, smooth_f=0.3)
    # 20 iterations cycle through the 7-batch loader (three epochs), and nothing diverges
    assert len(r.lrs) == 20 and r.diverged_at is None
    np.testing.assert_allclose(r.lrs, 1e-4 * 1000.0 ** (np.arange(20) / 19), rtol=1e-12)
    smooth = [r.raw_losses[0]]
    for loss in r.raw_losses[1:]:
        smooth.append(0.3 * loss + 0.7 * smooth[-1])
    np.testing.assert_allclose(r.losses, smooth, rtol=1e-12)
    assert r.lr_min == pytest.approx(r.lrs[int(np.argmin(r.losses))] / 10)

    for k, v in params.items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v, err_msg=k)
    restored = opt.state_dict()
    assert restored["param_groups"] == opt_state["param_groups"]
    for i, s in opt_state["state"].items():
        np.testing.assert_array_equal(restored["state"][i]["momentum_buffer"],
                                      s["momentum_buffer"])
    assert tg.get_rng_state() == rng and loader.state_dict() == loader_state


def test_suggestion_trains_well_and_sits_far_below_divergence():
    """Oracle: a grid of training runs, 10^-4 .. 10^2. A learning rate within a decade of the
    suggestion trains as well as the best of the grid; the suggestion itself reaches 97% in
    two epochs, and the sweep blew up at least 100x above it."""
    x, y = blobs()
    loss_fn = nn.CrossEntropyLoss()

    def fresh(lr):
        tg.manual_seed(0)
        model = nn.Linear(2, 3)
        return model, optim.SGD(model.parameters(), lr=lr)

    def val_acc(lr):
        model, opt = fresh(lr)
        return fit(model, _loader(x, y), _loader(x, y), loss_fn=loss_fn, optimizer=opt,
                   epochs=2, progress=False).last["val_acc"]

    model, opt = fresh(0.1)
    r = lr_find(model, _loader(x, y), loss_fn, opt, start_lr=1e-5, end_lr=1e4, num_iter=100)
    assert isinstance(r, LRFinderResult) and r.diverged_at is not None
    assert len(r.lrs) < 100  # stopped early, at diverge_th x the best smoothed loss
    assert r.diverged_at >= 100 * r.suggestion, (r.suggestion, r.diverged_at)

    grid = {lr: val_acc(lr) for lr in 10.0 ** np.arange(-4, 3)}
    near = [acc for lr, acc in grid.items() if r.suggestion / 10 <= lr <= r.suggestion * 10]
    assert max(near) >= max(grid.values()) - 0.005, (r.suggestion, grid)
    assert val_acc(r.suggestion) >= 0.97
    assert val_acc(r.suggestion / 100) < 0.9  # and it is not in the flat, too-small range


def test_early_stop_on_a_nonfinite_loss():
    x = np.ones((8, 1), dtype=np.float32) * 1e3
    y = np.ones((8, 1), dtype=np.float32)
    tg.manual_seed(0)
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        r = lr_find(model, [(tg.tensor(x), tg.tensor(y))], nn.MSELoss(), opt, start_lr=1e-3,
                    end_lr=1e6, num_iter=50)
    assert r.diverged_at is not None and len(r.lrs) < 50
    assert all(math.isfinite(v) for v in r.losses)
    assert np.isfinite(model.weight.numpy()).all()


@settings(max_examples=25, deadline=None)
@given(center=st.floats(-4.0, 1.0), width=st.floats(0.2, 1.5))
def test_suggestion_is_the_steepest_descent(center, width):
    """On loss(lr) = 1 - tanh((log10 lr - c) / w), the steepest descent is at lr = 10^c."""
    log_lrs = np.linspace(-7, 3, 201)
    losses = 1 - np.tanh((log_lrs - center) / width)
    suggestion = _suggest(list(10 ** log_lrs), list(losses), skip_start=10, skip_end=5)
    assert abs(math.log10(suggestion) - center) <= 0.05 + 1e-9


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    lrs = list(np.logspace(-5, 0, 30))
    losses = list(1 - np.tanh(np.log10(lrs) + 2))
    r = LRFinderResult(lrs, losses, _suggest(lrs, losses, 10, 5), losses, lrs[20] / 10, None)
    r.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_ranges_are_rejected():
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_find(model, [], nn.CrossEntropyLoss(), opt, start_lr=1.0, end_lr=0.1)
