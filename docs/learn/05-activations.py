"""Activation functions: the five of the notes, their gradients, and dead ReLUs.

Run it as a script (``python docs/learn/05-activations.py``) or open it as a notebook (the
``# %%`` cells). It prints its numbers and writes ``docs/learn/figures/05-*.png``;
``TGCS_LEARN_QUICK=1`` shortens the training runs.
"""
# %% [markdown]
# # 05 · Activation functions
#
# Without a non-linearity between them, two `Linear` layers are one linear map: the
# activation is what lets a network bend its decision boundary. The notes list five:
# sigmoid, tanh, ReLU, LeakyReLU and ELU. What separates them in practice is their
# **gradient**: backpropagation multiplies by it once per layer.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import load_dataset
from tinygrad_cs.learn import QUICK, save

tg.manual_seed(0)

# %% [markdown]
# ## The five functions and their derivatives, by autograd
#
# We do not write the derivatives by hand: each function is applied to a grid of inputs,
# the outputs are summed, and `backward()` leaves f'(x) in `x.grad` (each output depends
# on its own input only, so the gradient of the sum is the elementwise derivative).

# %%
F = nn.functional
ACTIVATIONS = {
    "sigmoid": tg.sigmoid,
    "tanh": tg.tanh,
    "ReLU": F.relu,
    "LeakyReLU(0.1)": lambda x: F.leaky_relu(x, 0.1),
    "ELU": F.elu,
}
curves = {}
for name, f in ACTIVATIONS.items():
    x = tg.linspace(-5, 5, 401, dtype=tg.float64, requires_grad=True)
    y = f(x)
    y.sum().backward()
    curves[name] = (x.detach().numpy(), y.detach().numpy(), x.grad.numpy())

# %% [markdown]
# Check autograd against the closed forms: sigmoid' = s (1 - s) and tanh' = 1 - tanh^2.

# %%
xs, s, ds = curves["sigmoid"]
_, t, dt = curves["tanh"]
print(f"sigmoid': max |autograd - s(1-s)| = {np.abs(ds - s * (1 - s)).max():.1e}")
print(f"tanh':    max |autograd - (1-t^2)| = {np.abs(dt - (1 - t**2)).max():.1e}")
print(f"largest sigmoid' = {ds.max():.3f} (at x=0), largest tanh' = {dt.max():.3f}")
print(f"sigmoid' at x=5: {ds[-1]:.4f}; after 10 such layers: {ds.max() ** 10:.1e} at best")

# %%
def plot_activations(curves: dict, size: tuple) -> plt.Figure:
    fig, (ax_f, ax_g) = plt.subplots(1, 2, figsize=size)
    for name, (x, y, dy) in curves.items():
        ax_f.plot(x, y, label=name)
        ax_g.plot(x, dy, label=name)
    ax_f.set(title="f(x)", xlabel="x", ylim=(-2, 5))
    ax_g.set(title="f'(x) by autograd", xlabel="x", ylim=(-0.05, 1.1))
    for ax in (ax_f, ax_g):
        ax.grid(alpha=0.3)
    ax_f.legend(fontsize=8)
    fig.tight_layout()
    return fig


save(plot_activations(curves, (9, 3.5)), "05-activations.png")
save(plot_activations(curves, (4, 1.8)), "05-thumb.png", dpi=60)

# %% [markdown]
# Sigmoid's gradient is at most 0.25 and vanishes once |x| > 4 (saturation); its output is
# never negative, so all the weights of the next layer get gradients of one sign. Tanh is
# zero-centred but saturates too. ReLU's gradient is exactly 1 for every positive input,
# which is why deep nets train with it, and exactly 0 for every negative one.

# %% [markdown]
# ## Dead ReLUs, counted during training
#
# A ReLU unit whose pre-activation is negative for **every** training example outputs 0
# everywhere and gets a zero gradient everywhere: no step can revive it. A too-large
# learning rate is the usual killer: one big update pushes a unit's bias and weights to
# where it never fires again. We train the same two-layer MLP on the digits with three
# learning rates and count the dead units of the first hidden layer as training goes.

# %%
splits = load_dataset("digits", seed=0)
X, y = splits.train.tensors
X = X.reshape(len(X), -1)                     # (N, 64), standardised with train statistics
X_all = tg.tensor(X)
STEPS = 40 if QUICK else 300
COUNT_EVERY = 10


def mlp(hidden: int = 100) -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def dead_fraction(model: nn.Sequential) -> float:
    """Fraction of first-layer units whose ReLU output is 0 on every training example."""
    with tg.no_grad():
        h = model[:2](X_all).numpy()          # (N, hidden) after the first ReLU
    return float(((h > 0).sum(axis=0) == 0).mean())


def train(lr: float) -> tuple[nn.Sequential, list[float], float]:
    tg.manual_seed(0)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    order = np.random.default_rng(0)
    dead = []
    for step in range(STEPS):
        if step % COUNT_EVERY == 0:
            dead.append(dead_fraction(model))
        idx = order.choice(len(X), 64, replace=False)
        loss = F.cross_entropy(model(tg.tensor(X[idx])), tg.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    dead.append(dead_fraction(model))
    return model, dead, loss.item()


runs = {lr: train(lr) for lr in (0.01, 0.1, 0.4)}
for lr, (_, dead, loss) in runs.items():
    print(f"lr={lr:<5} dead units after {STEPS} steps: {dead[-1]:5.0%}   last loss {loss:.3f}")
print(f"ln(10) = {np.log(10):.3f}: the loss of a net that outputs the same for every input")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for lr, (_, dead, _) in runs.items():
    ax.plot(np.arange(len(dead)) * COUNT_EVERY, dead, marker=".", label=f"lr={lr}")
ax.set(xlabel="SGD step", ylabel="dead units (layer 1)", ylim=(-0.03, 1.03),
       title="ReLU units that never fire on the training set")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
save(fig, "05-dead-relus.png")

# %% [markdown]
# With the largest rate almost every unit dies within a few dozen steps and the loss sits at
# ln 10: the network has become a constant. Their gradient is exactly zero, which we can
# check on the first layer's weights.
#
# LeakyReLU keeps a small slope (0.01 by default) for negative inputs. Put it in place of
# the ReLUs of the *same* dead network and the dead units get a gradient again:

# %%
model = runs[0.4][0]
dead_rows = np.flatnonzero((model[:2](X_all).numpy() > 0).sum(axis=0) == 0)


def first_layer_grad(model: nn.Sequential) -> np.ndarray:
    model.zero_grad()
    F.cross_entropy(model(X_all), tg.tensor(y)).backward()
    return np.abs(model[0].weight.grad.numpy()[dead_rows]).sum(axis=1)


relu_grad = first_layer_grad(model)
model[1], model[3] = nn.LeakyReLU(), nn.LeakyReLU()
leaky_grad = first_layer_grad(model)
print(f"{len(dead_rows)} dead units; their weight-gradient sum with ReLU: {relu_grad.sum():.1e}, "
      f"with LeakyReLU: {leaky_grad.sum():.1e}")

# %% [markdown]
# The notes' advice stands: start with ReLU (with Kaiming initialisation, chapter 02, and a
# learning rate from the range test, chapter 09). If many units die, lower the learning
# rate first; LeakyReLU or ELU keep a gradient on the negative side.
