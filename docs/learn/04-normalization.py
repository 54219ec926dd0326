"""Normalisation: BatchNorm in training and evaluation, LayerNorm, InstanceNorm, GroupNorm.

Chapter 4 of the learner's path (docs/learn/README.md), the notes' "BN的作用, 原理, 方法,
训练, 和预测". Writes ``figures/04-*.png``.
"""
# %% [markdown]
# # Normalisation
#
# BatchNorm normalises each channel over the batch: in training,
# y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta, with mean_B and var_B the batch's
# statistics of that channel (over N, and H, W for images), and gamma, beta learned
# parameters. It also keeps running averages of the batch statistics, and in evaluation
# mode it uses those instead of the batch's.

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
rng = np.random.default_rng(0)

# %% [markdown]
# ## What BatchNorm outputs in training
#
# A batch of 256 examples with 4 features of very different means and scales.

# %%
x = tg.tensor(rng.normal([5.0, -3.0, 0.0, 100.0], [2.0, 0.1, 1.0, 30.0], size=(256, 4)),
              dtype=tg.float32)
bn = nn.BatchNorm1d(4)
y = bn(x).detach().numpy()
print("per-feature mean", np.round(y.mean(axis=0).astype(float), 4).tolist())
print("per-feature std ", np.round(y.std(axis=0).astype(float), 4).tolist())
print(f"share of outputs outside (-1, 1): {np.mean(np.abs(y) > 1):.1%}")
print("learned parameters:", [name for name, _ in bn.named_parameters()],
      "buffers:", [name for name, _ in bn.named_buffers()])

# %% [markdown]
# Zero mean and unit variance per feature, not values squeezed into (-1, 1): about a third
# of a normal variable lies outside one standard deviation. `weight` (gamma) and `bias`
# (beta) are parameters that the optimizer trains like any weight; `running_mean` and
# `running_var` are buffers, updated in training mode as
# running = (1 - momentum) * running + momentum * batch statistic (momentum 0.1, and the
# unbiased variance, as in PyTorch).

# %%
print(f"after one batch: running_mean {np.round(bn.running_mean.numpy().astype(float), 3).tolist()} "
      f"= 0.9 * 0 + 0.1 * batch mean {np.round(0.1 * x.numpy().mean(axis=0).astype(float), 3).tolist()}")

# %% [markdown]
# ## Training and evaluation
#
# A small network with BatchNorm, trained on the digits.

# %%
digits = load_dataset("digits")
x_train, y_train = (tg.tensor(a) for a in digits.train.tensors)
x_test, y_test = (tg.tensor(a) for a in digits.test.tensors)
x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)

model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))
opt = optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(2 if QUICK else 10):
    order = np.random.default_rng(epoch).permutation(len(x_train))
    for start in range(0, len(order), 64):
        batch = tg.tensor(order[start:start + 64])
        loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
trained = {name: value.clone() for name, value in model.state_dict().items()}

# %% [markdown]
# In evaluation mode (`model.eval()`) each prediction depends only on its own image. If
# `eval()` is forgotten, BatchNorm normalises each test batch with that batch's own
# statistics: the prediction for an image depends on which other images share its batch.
# Small batches give noisy statistics, and a batch that is not a random sample (here, the
# test images sorted by class, as a data set often is on disk) gives wrong ones. And each of
# those test batches also moves the running statistics.

# %%
def accuracy(batch_size: int, train_mode: bool, sort_by_class: bool = False) -> float:
    """Accuracy on the first ``n_eval`` test images in batches of ``batch_size``; the
    trained state is restored after."""
    model.train(train_mode)
    labels = y_test.numpy()[:n_eval]
    order = np.argsort(labels, kind="stable") if sort_by_class else np.arange(n_eval)
    correct = 0
    with tg.no_grad():
        for start in range(0, len(order), batch_size):
            batch = tg.tensor(order[start:start + batch_size])
            correct += int((model(x_test[batch]).argmax(dim=1) == y_test[batch]).sum().item())
    model.load_state_dict(trained)
    return correct / len(order)


n_eval = 128 if QUICK else 256     # every batch size below divides it: no batch of one
sizes = [2, 8, 32, 128] if QUICK else [2, 4, 8, 16, 32, 64, 128]
curves = {
    "eval()": [accuracy(b, False) for b in sizes],
    "eval() forgotten": [accuracy(b, True) for b in sizes],
    "eval() forgotten, batches sorted by class": [accuracy(b, True, True) for b in sizes],
}
for name, values in curves.items():
    print(f"{name:42s}", " ".join(f"{v:.3f}" for v in values))

before = model[1].running_mean.numpy().copy()
model.train()
with tg.no_grad():
    model(x_test[tg.arange(32)])
moved = np.abs(model[1].running_mean.numpy() - before).max()
model.load_state_dict(trained)
print(f"one forgotten-eval test batch moved running_mean by up to {moved:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for name, values in curves.items():
    ax.semilogx(sizes, values, marker="o", label=name, base=2)
ax.set_xticks(sizes, labels=[str(b) for b in sizes])
ax.set(xlabel="test batch size", ylabel="test accuracy", ylim=(0, 1.02),
       title="BatchNorm at test time: running statistics vs. the batch's own")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
save(fig, "04-forgot-eval.png")

# %% [markdown]
# ## Four normalisations on the same batch
#
# They differ only in which elements share a mean and a variance. For a batch of images
# (N, C, H, W): BatchNorm over (N, H, W) per channel; LayerNorm over (C, H, W) per
# example; InstanceNorm over (H, W) per example and channel; GroupNorm over (H, W) and a
# group of channels per example. LayerNorm, InstanceNorm and GroupNorm never look at the
# other examples, so they behave the same in training and evaluation.

# %%
N, C, H, W = 4, 6, 5, 5
images = tg.tensor(rng.normal(size=(N, C, H, W)) * rng.uniform(0.5, 3, (N, C, 1, 1))
                   + rng.uniform(-4, 4, (N, C, 1, 1)), dtype=tg.float32)
norms = {
    "BatchNorm2d": (nn.BatchNorm2d(C), (0, 2, 3)),
    "LayerNorm": (nn.LayerNorm([C, H, W]), (1, 2, 3)),
    "InstanceNorm2d": (nn.InstanceNorm2d(C), (2, 3)),
    "GroupNorm(3 groups)": (nn.GroupNorm(3, C), (2, 3, 4)),
}
for name, (layer, axes) in norms.items():
    out = layer(images).detach().numpy()
    if name.startswith("GroupNorm"):
        out = out.reshape(N, 3, C // 3, H, W)       # the group's channels side by side
    means, stds = out.mean(axis=axes), out.std(axis=axes)
    print(f"{name:20s} statistics over axes {axes}: {means.size:2d} groups, "
          f"max |mean| {np.abs(means).max():.1e}, std in [{stds.min():.4f}, {stds.max():.4f}]")

# %% [markdown]
# The picture: the N x C grid of (example, channel) pairs, coloured by the group of elements
# that share statistics (each pair also spans its H x W pixels).

# %%
groups = {
    "BatchNorm": np.tile(np.arange(C), (N, 1)),
    "LayerNorm": np.repeat(np.arange(N)[:, None], C, axis=1),
    "InstanceNorm": np.arange(N * C).reshape(N, C),
    "GroupNorm (3 groups)": np.arange(N)[:, None] * 3 + np.arange(C)[None, :] // 2,
}


palette = matplotlib.colors.ListedColormap(plt.cm.tab20.colors + plt.cm.tab20b.colors)


def draw_groups(axes, fontsize: int) -> None:
    for ax, (name, ids) in zip(axes, groups.items()):
        ax.imshow(ids, cmap=palette, vmin=0, vmax=palette.N - 1, interpolation="nearest")
        ax.set_title(name, fontsize=fontsize)
        ax.set(xticks=[], yticks=[])


fig, axes = plt.subplots(1, 4, figsize=(11, 2.6))
draw_groups(axes, 10)
axes[0].set(xlabel="channel C", ylabel="example N")
fig.tight_layout()
save(fig, "04-groups.png")

fig, axes = plt.subplots(2, 2, figsize=(2.6, 2.2))
draw_groups(axes.ravel(), 6)
fig.tight_layout()
save(fig, "04-thumb.png")
