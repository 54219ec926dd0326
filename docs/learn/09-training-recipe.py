"""The training recipe: initial loss, overfitting a sample, LR finder, random search.

Run it as a script (``python docs/learn/09-training-recipe.py``) or open it as a notebook (the
``# %%`` cells). It prints its numbers and writes ``docs/learn/figures/09-*.png``;
``TGCS_LEARN_QUICK=1`` makes every step shorter. The search runs its trials in this process
(``workers=0``), so the script needs no ``__main__`` guard.
"""
# %% [markdown]
# # 09 · The training recipe
#
# The notes' recipe, in order: (1) check the initial loss, (2) overfit a small sample,
# (3) find a learning rate that makes the loss go down, (4) a coarse search of short runs,
# (5) a finer search of longer runs, (6) look at the loss and accuracy curves. Each step is
# a function of `tinygrad_cs.train`.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim, train
from tinygrad_cs.data import DataLoader, load_dataset
from tinygrad_cs.learn import QUICK, save

splits = load_dataset("digits", seed=0)
loss_fn = nn.CrossEntropyLoss()


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))


# %% [markdown]
# ## 1. The initial loss
#
# With small random weights all ten scores are about equal, so softmax gives p = 1/10 to
# the true class and the loss is -ln(1/10) = ln 10 = 2.303. A very different first loss
# means a bug or a bad initialisation: here, weights ten times too large.

# %%
tg.manual_seed(0)
model = mlp()
batch = splits.train.tensors[0][:256], splits.train.tensors[1][:256]
print(train.check_initial_loss(model, batch, loss_fn, num_classes=10))
with tg.no_grad():
    for p in model.parameters():
        p.data.mul_(10)                        # the classic mistake: far too large a scale
print(train.check_initial_loss(model, batch, loss_fn, num_classes=10))

# %% [markdown]
# ## 2. Overfit a small sample
#
# Without regularisation, a correct model and loop reach 100% training accuracy on 20
# examples within a few hundred steps. If they do not, no amount of data will help.

# %%
tg.manual_seed(0)
print(train.check_overfit(mlp, splits.train, n=20, steps=200, lr=1e-3))

# %% [markdown]
# ## 3. The learning-rate range test
#
# `lr_find` trains for a short while with a learning rate growing exponentially from 1e-6
# to 10 and records the (smoothed) loss. Too small a rate barely moves it, too large a rate
# makes it explode; the suggestion is the steepest descent in between. The model and
# optimizer are restored afterwards: the sweep is a measurement, not training.

# %%
tg.manual_seed(0)
model = mlp()
loader = DataLoader(splits.train, batch_size=64, shuffle=True, seed=0)
found = train.lr_find(model, loader, loss_fn, optim.SGD(model.parameters(), lr=1e-3,
                                                        momentum=0.9),
                      start_lr=1e-6, end_lr=10.0, num_iter=40 if QUICK else 120)
print(f"suggested lr {found.suggestion:.2g}; the lowest smoothed loss is at lr "
      f"{10 * found.lr_min:.2g}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(found.lrs, found.raw_losses, color="0.75", linewidth=0.8, label="batch loss")
ax.plot(found.lrs, found.losses, label="smoothed loss")
ax.axvline(found.suggestion, color="C3", linestyle="--", label=f"suggestion {found.suggestion:.2g}")
ax.set(xscale="log", xlabel="learning rate", ylabel="loss", ylim=(0, 4),
       title="learning-rate range test, SGD + momentum")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "09-lr-finder.png")

# %% [markdown]
# ## 4. Why random search beats a grid
#
# Usually only a few hyper-parameters matter, and we do not know which. Take a score that
# depends on one of two parameters only, with a peak at an unknown place. A 3x3 grid spends
# nine trials on **three** values of the one that matters; nine random trials try **nine**.
# We draw the peak's position 1000 times and compare the best score each search finds.

# %%
def score(important: np.ndarray, unimportant: np.ndarray, peak: float = 0.62) -> np.ndarray:
    """A narrow peak at ``important = peak``, whatever the other parameter (each in [0, 1])."""
    return np.exp(-((important - peak) / 0.08) ** 2) + 0 * unimportant


side = (np.arange(3) + 0.5) / 3                # the grid's three values per dimension
grid_a, grid_b = np.meshgrid(side, side)
rng = np.random.default_rng(0)
peaks = rng.random(1000)
grid_best = np.array([score(grid_a, grid_b, peak).max() for peak in peaks])
random_best = np.array([score(*rng.random((2, 9)), peak).max() for peak in peaks])
print("distinct values of the important parameter: grid 3, random 9")
print(f"best of 9 trials, median over 1000 peak positions: grid {np.median(grid_best):.3f}, "
      f"random {np.median(random_best):.3f}; random is better in "
      f"{np.mean(random_best > grid_best):.0%} of them")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
curve = np.linspace(0, 1, 200)
points = {"grid": (grid_a.ravel(), grid_b.ravel()), "random": tuple(rng.random((2, 9)))}
for ax, (name, (a, b)) in zip(axes, points.items()):
    ax.scatter(a, b, color="C0")
    ax.plot(curve, 1.05 + 0.25 * score(curve, 0), color="C1")   # the score, drawn on top
    ax.vlines(a, 1.0, 1.05 + 0.25 * score(a, 0), color="C3", linewidth=0.8)
    ax.set(title=f"{name}: {len(set(np.round(a, 6)))} values tried", xlabel="important",
           xlim=(0, 1), ylim=(0, 1.35))
axes[0].set_ylabel("unimportant")
fig.tight_layout()
save(fig, "09-random-vs-grid.png")

# %% [markdown]
# ## 5. Coarse to fine
#
# `coarse_to_fine` runs a random search of short trials, narrows the space around the best
# few, and runs longer trials there. The trial is CS231n's softmax classifier on the digits
# (`train.softmax_trial`); learning rate and weight decay are drawn log-uniformly, since
# their effect is about the same per decade.

# %%
space = {"lr": train.LogUniform(1e-4, 10.0), "weight_decay": train.LogUniform(1e-6, 1e-1)}
search = train.coarse_to_fine(train.softmax_trial, space, n_coarse=6 if QUICK else 24,
                              n_fine=4 if QUICK else 12, workers=0,
                              fixed={"steps": 20 if QUICK else 50},
                              fine_fixed={"steps": 60 if QUICK else 300})
for stage, result in (("coarse", search.coarse), ("fine", search.fine)):
    best = result.best
    print(f"{stage:6s} best val acc {best.metrics['val_acc']:.1%} at lr {best.config['lr']:.3g}, "
          f"weight decay {best.config['weight_decay']:.2g}")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for stage, result, marker in (("coarse", search.coarse, "o"), ("fine", search.fine, "^")):
    ok = [t for t in result.trials if t.status == "ok"]
    dots = ax.scatter([t.config["lr"] for t in ok], [t.config["weight_decay"] for t in ok],
                      c=[t.metrics["val_acc"] for t in ok], vmin=0, vmax=1, marker=marker,
                      cmap="viridis", label=stage, edgecolors="k", linewidths=0.3)
    bad = [t for t in result.trials if t.status != "ok"]
    ax.scatter([t.config["lr"] for t in bad], [t.config["weight_decay"] for t in bad],
               marker="x", color="0.5")
fig.colorbar(dots, label="validation accuracy")
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="weight decay",
       title="coarse trials (circles), fine trials (triangles)")
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "09-search.png")

# %% [markdown]
# ## 6. Reading the curves
#
# Three runs of the MLP with `train.fit`, at a learning rate far too small, at the range
# test's suggestion, and far too large. The training loss says whether the optimisation
# works (flat: too small; jumping or rising: too large); the gap between training and
# validation accuracy says whether the model overfits (a wide gap: regularise or get more
# data) or underfits (no gap and low accuracy: a bigger model, a longer run).

# %%
EPOCHS = 3 if QUICK else 10
val_loader = DataLoader(splits.test, batch_size=256)
histories = {}
for label, lr in (("too small", found.suggestion / 100), ("suggested", found.suggestion),
                  ("too large", found.suggestion * 30)):
    tg.manual_seed(0)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    try:
        histories[f"{label} ({lr:.2g})"] = train.fit(
            model, DataLoader(splits.train, batch_size=64, shuffle=True, seed=0), val_loader,
            loss_fn=loss_fn, optimizer=opt, epochs=EPOCHS, progress=False)
    except train.TrainingDiverged as error:     # a too-large rate can blow up: that is a result
        print(f"{label}: diverged ({str(error).splitlines()[0]})")
for label, history in histories.items():
    last = history[-1]
    print(f"{label:18s} train loss {last['train_loss']:.3f} acc {last['train_acc']:.1%}   "
          f"val acc {last['val_acc']:.1%}")

# %%
def plot_histories(histories: dict, size: tuple, full: bool = True) -> plt.Figure:
    fig, axes = plt.subplots(1, 2 if full else 1, figsize=size, squeeze=False)
    for i, (label, history) in enumerate(histories.items()):
        axes[0, 0].plot(history["epoch"], history["train_loss"], color=f"C{i}", label=label)
        if full:
            axes[0, 1].plot(history["epoch"], history["train_acc"], color=f"C{i}", label="train")
            axes[0, 1].plot(history["epoch"], history["val_acc"], color=f"C{i}",
                            linestyle="--", label="validation")
    axes[0, 0].set(yscale="log", xlabel="epoch")
    if full:
        axes[0, 0].set(ylabel="training loss", title="loss: is it optimising?")
        axes[0, 1].set(xlabel="epoch", ylabel="accuracy (dashed: validation)",
                       title="accuracy: does it generalise?")
        axes[0, 0].legend(fontsize=8)
        for ax in axes[0]:
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


save(plot_histories(histories, (10, 3.8)), "09-curves.png")
save(plot_histories(histories, (4, 2.2), full=False), "09-thumb.png", dpi=60)
