"""Weight initialisation: activations and gradients through ten layers, and Kaiming's std.

Chapter 2 of the learner's path (docs/learn/README.md), the notes' "Weight Initialization".
Writes ``figures/02-*.png``.
"""
# %% [markdown]
# # Weight initialisation
#
# CS231n's experiment: push a batch of x ~ N(0, 1) through ten fully connected layers and
# look at each layer's activations and at the gradient each weight receives. The only
# thing that changes between the networks is how the weights are drawn.

# %%
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.learn import QUICK, save

DEPTH = 10
WIDTH = 64 if QUICK else 256
BATCH = 128 if QUICK else 512

# %% [markdown]
# ## Five networks
#
# * sigmoid with weights N(0, 0.01^2): each layer's input to the sigmoid is tiny, every
#   unit outputs about 0.5, and the gradient shrinks at each layer (sigmoid' <= 1/4, and
#   the small weights multiply it again): **vanishing**;
# * sigmoid with weights N(0, 1): the inputs to the sigmoid have std ~ sqrt(fan_in), the
#   units sit at 0 or 1 where sigmoid' ~ 0: **saturating**; a saturated unit passes no
#   gradient, and the network computes with what are almost binary units;
# * tanh with Xavier, std = sqrt(1 / fan_in): the variance is kept through depth;
# * ReLU with Kaiming, std = sqrt(2 / fan_in): ReLU zeroes half of its inputs, the factor 2
#   makes up for it;
# * ReLU with the notes' formula, std = 2 / sqrt(fan_in) (see the box below).

# %%
def normal(std: float):
    return lambda w: nn.init.normal_(w, 0.0, std)


def notes_kaiming(w: tg.Tensor) -> tg.Tensor:
    fan_in = w.shape[1]
    return nn.init.normal_(w, 0.0, 2 / math.sqrt(fan_in))    # the notes' "2/sqrt(Din)"


NETWORKS = {
    "sigmoid, N(0, 0.01^2)": (nn.Sigmoid, normal(0.01)),
    "sigmoid, N(0, 1)": (nn.Sigmoid, normal(1.0)),
    "tanh, Xavier": (nn.Tanh, nn.init.xavier_normal_),
    "ReLU, Kaiming": (nn.ReLU, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
    "ReLU, notes' 2/sqrt(fan_in)": (nn.ReLU, notes_kaiming),
}

# %% [markdown]
# Each network: ten `Linear(WIDTH, WIDTH)` layers, each followed by its activation, then a
# classifier to 10 classes and a cross-entropy loss on random labels. We walk the
# `Sequential` by hand to keep every activation, then read each weight's gradient.

# %%
def study(activation, init) -> tuple[list[np.ndarray], list[float]]:
    """(activations after each hidden layer, std of each hidden weight's gradient)."""
    tg.manual_seed(0)
    layers = []
    for _ in range(DEPTH):
        linear = nn.Linear(WIDTH, WIDTH, bias=False)
        init(linear.weight)
        layers += [linear, activation()]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, 10))
    h = tg.randn(BATCH, WIDTH)
    labels = tg.randint(0, 10, (BATCH,))
    activations = []
    for module in model:
        h = module(h)
        if not isinstance(module, nn.Linear):
            activations.append(h.detach().numpy())
    nn.functional.cross_entropy(h, labels).backward()
    grads = [float(m.weight.grad.numpy().std()) for m in list(model)[:-1:2]]
    return activations, grads


results = {title: study(*spec) for title, spec in NETWORKS.items()}
print(f"{'network':28s} {'act std L1':>11s} {'L10':>9s} {'grad std L1':>12s} {'L10':>9s}")
for title, (acts, grads) in results.items():
    print(f"{title:28s} {acts[0].std():11.2e} {acts[-1].std():9.2e} "
          f"{grads[0]:12.2e} {grads[-1]:9.2e}")

# %% [markdown]
# Saturation, measured: the share of sigmoid outputs within 0.01 of 0 or 1 in the last
# hidden layer (sigmoid'(z) < 0.01 there).

# %%
for title in ("sigmoid, N(0, 0.01^2)", "sigmoid, N(0, 1)"):
    last = results[title][0][-1]
    saturated = np.mean((last < 0.01) | (last > 0.99))
    print(f"{title}: {saturated:.0%} of the last layer saturated, outputs std {last.std():.3f}")

# %% [markdown]
# ## The notes' Kaiming formula
#
# The notes write Kaiming's std as 2/sqrt(D_in); He et al. derive sqrt(2/D_in). The two
# differ by a factor sqrt(2) per layer in the std, so 2 in the variance, and through ten
# ReLU layers that compounds to 2^10 in the variance of the last activations.

# %%
layer = nn.Linear(WIDTH, WIDTH, bias=False)
nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
print(f"fan_in {WIDTH}: sqrt(2/fan_in) = {math.sqrt(2 / WIDTH):.4f}, "
      f"2/sqrt(fan_in) = {2 / math.sqrt(WIDTH):.4f}, "
      f"nn.init.kaiming_normal_ draws std {layer.weight.numpy().std():.4f}")
kaiming = results["ReLU, Kaiming"][0]
notes = results["ReLU, notes' 2/sqrt(fan_in)"][0]
growth = (notes[-1].std() / notes[0].std()) / (kaiming[-1].std() / kaiming[0].std())
print(f"layer 10 / layer 1 activation std: Kaiming {kaiming[-1].std() / kaiming[0].std():.2f}, "
      f"notes {notes[-1].std() / notes[0].std():.2f} (ratio {growth:.1f}; "
      f"sqrt(2)^9 = {math.sqrt(2) ** 9:.1f})")

# %% [markdown]
# ## The picture
#
# Left, the standard deviation of each layer's activations; right, of each weight's
# gradient (log scales). Below, histograms of the activations of layers 1, 4, 7 and 10 for
# the two sigmoid networks: a spike at 0.5 (vanishing) against two spikes at 0 and 1
# (saturating).

# %%
fig, (ax_act, ax_grad) = plt.subplots(1, 2, figsize=(11, 4))
for title, (acts, grads) in results.items():
    layers = range(1, DEPTH + 1)
    ax_act.semilogy(layers, [a.std() for a in acts], marker="o", ms=3, label=title)
    ax_grad.semilogy(layers, grads, marker="o", ms=3, label=title)
ax_act.set(xlabel="layer", ylabel="std of activations", title="activations")
ax_grad.set(xlabel="layer", ylabel="std of dL/dW", title="weight gradients")
ax_act.legend(fontsize=8)
fig.tight_layout()
save(fig, "02-layers.png")

# %%
shown = (0, 3, 6, 9)
fig, axes = plt.subplots(2, len(shown), figsize=(11, 4.5), sharex=True)
for row, title in enumerate(("sigmoid, N(0, 0.01^2)", "sigmoid, N(0, 1)")):
    for ax, index in zip(axes[row], shown):
        ax.hist(results[title][0][index].ravel(), bins=40, range=(0, 1))
        ax.set_yticks([])
        ax.set_title(f"{title}: layer {index + 1}", fontsize=8)
fig.tight_layout()
save(fig, "02-sigmoid-histograms.png")

# %%
fig, ax = plt.subplots(figsize=(3.2, 2.2))
for title, (acts, _) in results.items():
    ax.semilogy(range(1, DEPTH + 1), [a.std() for a in acts])
ax.set_xticks([])
ax.set_yticks([])
fig.tight_layout()
save(fig, "02-thumb.png")
