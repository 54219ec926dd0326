"""Optimizers: SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam side by side.

Run it as a script (``python docs/learn/06-optimizers.py``) or open it as a notebook (the
``# %%`` cells). It prints its numbers and writes ``docs/learn/figures/06-*.png``;
``TGCS_LEARN_QUICK=1`` shortens the training runs. Two slips of the notes are corrected here
with numbers: their "Autograd" (it is AdaGrad, and it must accumulate squared gradients) and
their Adam (it must step with the bias-corrected moments).
"""
# %% [markdown]
# # 06 · Optimizers
#
# Every optimizer here takes the same gradient and differs only in what it does with it:
# SGD steps along it, momentum accumulates a velocity, Nesterov looks ahead, AdaGrad and
# RMSProp scale each coordinate by its gradient history, Adam does both. We use
# `tinygrad_cs.optim`, whose classes follow `torch.optim` (names, arguments, defaults).

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import load_dataset
from tinygrad_cs.learn import QUICK, save

# %% [markdown]
# ## Trajectories on a 2-D loss surface
#
# The surface is an elongated bowl, f(w) = 0.05 w0^2 + w1^2: twenty times steeper across
# than along, the shape that makes plain SGD zig-zag. Each optimizer starts at (-7, 2) and
# takes 80 steps, with a learning rate that suits it.

# %%
COEF = tg.tensor([0.05, 1.0], dtype=tg.float64)


def bowl(w: tg.Tensor) -> tg.Tensor:
    return (COEF * w * w).sum()


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.4),
    "momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=2.0),
    "RMSProp": lambda p: optim.RMSprop(p, lr=0.1),
    "Adam": lambda p: optim.Adam(p, lr=0.5),
}


def trajectory(make_optimizer, steps: int = 80) -> np.ndarray:
    w = tg.tensor([-7.0, 2.0], dtype=tg.float64, requires_grad=True)
    opt = make_optimizer([w])
    path = [w.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        bowl(w).backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)                      # (steps + 1, 2)


paths = {name: trajectory(make) for name, make in OPTIMIZERS.items()}
for name, path in paths.items():
    print(f"{name:9s} f after 80 steps = {bowl(tg.tensor(path[-1])).item():.1e}")

# %%
def plot_paths(paths: dict, size: tuple, legend: bool = True) -> plt.Figure:
    g0, g1 = np.meshgrid(np.linspace(-8, 3, 200), np.linspace(-2.5, 2.5, 120))
    fig, ax = plt.subplots(figsize=size)
    ax.contour(g0, g1, 0.05 * g0**2 + g1**2, levels=np.geomspace(0.01, 8, 12), colors="0.75",
               linewidths=0.7)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, linewidth=1, label=name)
    ax.plot(0, 0, "k*", markersize=10)
    ax.set(xlabel="w0", ylabel="w1", aspect="equal")
    if legend:
        ax.legend(fontsize=8, loc="lower right", ncol=2)
    fig.tight_layout()
    return fig


save(plot_paths(paths, (8, 4)), "06-trajectories.png")
save(plot_paths(paths, (4, 2.2), legend=False), "06-thumb.png", dpi=60)

# %% [markdown]
# SGD's step is limited by the steep direction (lr > 1 would diverge across the valley), so
# it crawls along the flat one. Momentum builds speed along the valley and overshoots;
# Nesterov's look-ahead damps the overshoot. AdaGrad, RMSProp and Adam divide each
# coordinate by the size of its own gradients, so both directions move at a similar pace.

# %% [markdown]
# ## The notes' "Autograd" is AdaGrad, and it must *accumulate*
#
# The notes write the update as `w -= lr * dw / (sqrt(dw * dw) + 1e-7)`. But
# sqrt(dw * dw) = |dw|, so that is `lr * sign(dw)`: every step has the same length, and on a
# bowl it ends up bouncing around the minimum forever. AdaGrad (Duchi et al. 2011) divides
# by the square root of the **sum of all past** squared gradients, so its steps shrink.
# We run both on the bowl, and check `optim.Adagrad` against AdaGrad written out by hand.

# %%
def grad_bowl(w: np.ndarray) -> np.ndarray:
    return 2 * COEF.numpy() * w


STEPS_1D = 200
lr = 1.0
w_notes = np.array([-7.0, 2.0])
w_hand, cache = w_notes.copy(), np.zeros(2)
w_lib = tg.tensor([-7.0, 2.0], dtype=tg.float64, requires_grad=True)
opt = optim.Adagrad([w_lib], lr=lr)
dist = {"notes' update": [], "AdaGrad (optim.Adagrad)": []}
for _ in range(STEPS_1D):
    dw = grad_bowl(w_notes)
    w_notes = w_notes - lr * dw / (np.sqrt(dw * dw) + 1e-7)    # as the notes write it
    dw = grad_bowl(w_hand)
    cache += dw * dw                                           # AdaGrad: the sum grows
    w_hand = w_hand - lr * dw / (np.sqrt(cache) + 1e-10)
    opt.zero_grad()
    bowl(w_lib).backward()
    opt.step()
    dist["notes' update"].append(np.linalg.norm(w_notes))
    dist["AdaGrad (optim.Adagrad)"].append(np.linalg.norm(w_lib.detach().numpy()))
print(f"optim.Adagrad vs AdaGrad by hand: max |difference| = "
      f"{np.abs(w_lib.detach().numpy() - w_hand).max():.1e}")
notes_dist, adagrad_dist = dist["notes' update"][-1], dist["AdaGrad (optim.Adagrad)"][-1]
print(f"distance to the minimum after {STEPS_1D} steps: notes' update {notes_dist:.3f}, "
      f"AdaGrad {adagrad_dist:.1e}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, d in dist.items():
    ax.semilogy(np.arange(1, STEPS_1D + 1), d, label=name)
ax.set(xlabel="step", ylabel="|w - w*|", title="lr * sign(dw) never settles; AdaGrad does")
ax.grid(alpha=0.3, which="both")
ax.legend()
fig.tight_layout()
save(fig, "06-adagrad.png")

# %% [markdown]
# ## Adam must step with the bias-corrected moments
#
# Adam's moments start at zero, so early on m_t and v_t are biased towards zero:
# E[m_t] = (1 - beta1^t) E[g], E[v_t] = (1 - beta2^t) E[g^2]. Dividing by (1 - beta^t)
# removes the bias. The notes compute the corrected moments and then step with the raw
# ones. We feed a constant gradient g = 1 to both and measure each step's length in units
# of lr: the correct Adam steps exactly lr from the first step on.

# %%
def adam_steps(betas: tuple, corrected: bool, steps: int = 300) -> np.ndarray:
    """Step lengths |dw| / lr of Adam written by hand, for the constant gradient g = 1."""
    b1, b2 = betas
    m = v = 0.0
    out = []
    for t in range(1, steps + 1):
        m = b1 * m + (1 - b1) * 1.0
        v = b2 * v + (1 - b2) * 1.0
        if corrected:
            out.append(m / (1 - b1**t) / (np.sqrt(v / (1 - b2**t)) + 1e-8))
        else:
            out.append(m / (np.sqrt(v) + 1e-8))       # the notes' step
    return np.array(out)


def library_adam_steps(betas: tuple, steps: int = 300) -> np.ndarray:
    """The same measured on optim.Adam: loss = w has the gradient 1 everywhere."""
    w = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([w], lr=1e-3, betas=betas)
    out, before = [], 0.0
    for _ in range(steps):
        opt.zero_grad()
        w.sum().backward()
        opt.step()
        now = w.item()
        out.append(abs(now - before) / 1e-3)
        before = now
    return np.array(out)


PYTORCH_BETAS, NOTES_BETAS = (0.9, 0.999), (0.9, 0.99)
library = library_adam_steps(PYTORCH_BETAS)
uncorrected = adam_steps(PYTORCH_BETAS, corrected=False)
print(f"optim.Adam vs corrected Adam by hand: max |difference| of step/lr = "
      f"{np.abs(library - adam_steps(PYTORCH_BETAS, corrected=True)).max():.1e}")
print(f"betas {PYTORCH_BETAS}: first step / lr = {library[0]:.3f} (corrected), "
      f"{uncorrected[0]:.3f} (notes); largest in 300 steps: {library.max():.3f} vs "
      f"{uncorrected.max():.2f}")
print(f"betas {NOTES_BETAS} (the notes'): largest step / lr uncorrected = "
      f"{adam_steps(NOTES_BETAS, corrected=False).max():.2f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
t = np.arange(1, len(library) + 1)
ax.plot(t, library, label="optim.Adam (corrected)")
ax.plot(t, uncorrected, label="notes: raw moments, betas (0.9, 0.999)")
ax.plot(t, adam_steps(NOTES_BETAS, corrected=False), label="notes: raw moments, betas (0.9, 0.99)")
ax.set(xlabel="step t", ylabel="|step| / lr", title="Adam's step under a constant gradient")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "06-adam-bias.png")

# %% [markdown]
# Without the correction the step is 3.2 lr at t = 1 and climbs to over 6 lr before it comes
# back to lr after a few thousand steps: the very first updates, taken from a random
# initialisation, are the largest. With the notes' beta2 = 0.99 the effect is smaller but
# still there (up to 2.1 lr).

# %% [markdown]
# ## Loss curves on a real set
#
# The same MLP (64-100-10, ReLU), the same initial weights, the same mini-batches of the
# digits; only the optimizer changes. Learning rates are each optimizer's usual ones.

# %%
splits = load_dataset("digits", seed=0)
X, y = splits.train.tensors
X = X.reshape(len(X), -1)
X_val, y_val = splits.test.tensors
X_val = tg.tensor(X_val.reshape(len(X_val), -1))
STEPS = 40 if QUICK else 300
REAL = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.02, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=0.05),
    "RMSProp": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=1e-3),
}


def train(make_optimizer) -> tuple[list[float], float]:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = make_optimizer(model.parameters())
    order = np.random.default_rng(0)
    losses = []
    for _ in range(STEPS):
        idx = order.choice(len(X), 32, replace=False)
        loss = nn.functional.cross_entropy(model(tg.tensor(X[idx])), tg.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with tg.no_grad():
        accuracy = float((model(X_val).numpy().argmax(axis=1) == y_val).mean())
    return losses, accuracy


curves = {name: train(make) for name, make in REAL.items()}
for name, (losses, accuracy) in curves.items():
    print(f"{name:9s} last-20 mean loss {np.mean(losses[-20:]):.3f}   val accuracy {accuracy:.1%}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
kernel = np.ones(10) / 10                      # a 10-step moving average: batch losses are noisy
for name, (losses, _) in curves.items():
    ax.plot(np.arange(10, len(losses) + 1), np.convolve(losses, kernel, mode="valid"), label=name)
ax.set(xlabel="step", ylabel="training loss (10-step mean)", yscale="log",
       title="digits MLP, same init and batches")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "06-loss-curves.png")

# %% [markdown]
# Adam at its default lr = 1e-3 is the safe first choice (the notes' favourite too); tuned
# SGD with momentum often generalises as well or better on large vision models, which is
# why the ResNet recipes use it with a schedule (chapter 08).
