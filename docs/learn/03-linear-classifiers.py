"""Linear classifiers: the SVM and softmax losses, the initial-loss check, the spiral.

Chapter 3 of the learner's path (docs/learn/README.md), the notes' "模型" (SVM and Softmax
linear classifiers). Writes ``figures/03-*.png``.
"""
# %% [markdown]
# # Linear classifiers
#
# A linear classifier scores each class with s = x W + b (x: (N, D), W: (D, C), s: (N, C))
# and predicts the class with the highest score. Two losses turn scores into a number to
# minimise: the multiclass SVM (hinge) loss and the softmax (cross-entropy) loss.

# %%
import math

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
# ## The two losses, by hand
#
# SVM: L_i = sum over j != y_i of max(0, s_j - s_{y_i} + 1): every wrong class whose score
# comes within a margin of 1 of the right one costs. Softmax: p = e^s / sum_j e^{s_j}, and
# L_i = -log p_{y_i}. Both averaged over the batch.

# %%
def svm_loss(scores: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    correct = scores[tg.arange(len(labels)), labels].unsqueeze(1)       # (N, 1)
    margins = (scores - correct + 1.0).relu()                          # (N, C)
    return (margins.sum(dim=1) - 1.0).mean()     # minus the j = y_i term, max(0, 1) = 1


def softmax_loss(scores: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    shifted = scores - scores.max(dim=1, keepdim=True).values          # e^s cannot overflow
    log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_p[tg.arange(len(labels)), labels].mean()


scores = tg.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]], requires_grad=True)
labels = tg.tensor([0, 1, 2])
print(f"SVM loss by hand {svm_loss(scores, labels).item():.4f}, "
      f"nn.MultiMarginLoss x C {nn.MultiMarginLoss()(scores, labels).item() * 3:.4f}")
print(f"softmax loss by hand {softmax_loss(scores, labels).item():.4f}, "
      f"nn.CrossEntropyLoss {nn.CrossEntropyLoss()(scores, labels).item():.4f}")

# %% [markdown]
# These are CS231n's three examples (cat, car, frog): SVM losses 2.9, 0 and 12.9, mean
# 5.27. PyTorch's `MultiMarginLoss` (and ours) divides each example's sum by C, so it is
# the CS231n value / C. The gradient of the softmax loss with respect to the scores is
# (p - onehot(y)) / N, which autograd reproduces:

# %%
softmax_loss(scores, labels).backward()
by_formula = (tg.softmax(scores.detach(), dim=1).numpy() - np.eye(3)[labels.numpy()]) / 3
print("max |autograd - (p - onehot) / N| =", f"{np.abs(scores.grad.numpy() - by_formula).max():.1e}")

# %% [markdown]
# ## The initial-loss check
#
# With small random weights all scores are about 0. Then every one of the C - 1 wrong
# classes costs max(0, 0 - 0 + 1) = 1, so the SVM loss starts at C - 1, and the softmax
# gives every class p = 1/C, so its loss starts at ln C. A first loss far from these means
# a bug in the loss or in the initialisation (CS231n's first sanity check).

# %%
digits = load_dataset("digits")
x_digits, y_digits = digits.train.tensors
x = tg.tensor(x_digits.reshape(len(x_digits), -1))
W = tg.randn(64, 10) * 0.001
s = x @ W
print(f"digits, C = 10: SVM {svm_loss(s, tg.tensor(y_digits)).item():.3f} (C - 1 = 9), "
      f"softmax {softmax_loss(s, tg.tensor(y_digits)).item():.3f} (ln 10 = {math.log(10):.3f})")

# %% [markdown]
# ## Training on the spiral
#
# CS231n's spiral: three classes of 2-D points that no straight line separates. We train a
# linear softmax classifier, a linear SVM (the same model, the hinge loss) and, for
# contrast, a network with one hidden layer of 100 ReLU units, full batch, with plain SGD.

# %%
spiral = load_dataset("spiral")
x_train, y_train = (tg.tensor(a) for a in spiral.train.tensors)
x_test, y_test = (tg.tensor(a) for a in spiral.test.tensors)


def train(model: nn.Module, loss_fn, steps: int, lr: float) -> float:
    opt = optim.SGD(model.parameters(), lr=lr, weight_decay=1e-3)
    for _ in range(steps):
        loss = loss_fn(model(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tg.no_grad():
        return float((model(x_test).argmax(dim=1) == y_test).float().mean().item())


steps = 50 if QUICK else 1000
models = {
    "linear, softmax": (nn.Linear(2, 3), softmax_loss, 1.0),
    "linear, SVM": (nn.Linear(2, 3), svm_loss, 1.0),
    "2 layers, softmax": (nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 3)),
                          softmax_loss, 1.0),
}
accuracy = {name: train(model, loss_fn, steps, lr) for name, (model, loss_fn, lr)
            in models.items()}
for name, acc in accuracy.items():
    print(f"{name:18s} test accuracy {acc:.2f}")

# %%
edge = np.abs(spiral.train.tensors[0]).max() + 0.2
grid = np.linspace(-edge, edge, 200)
xx, yy = np.meshgrid(grid, grid)
points = tg.tensor(np.c_[xx.ravel(), yy.ravel()].astype(np.float32))
colours = np.array(["#d62728", "#1f77b4", "#2ca02c"])
regions_cmap = matplotlib.colors.ListedColormap(["#f4c2c2", "#c6dbef", "#c7e9c0"])


def draw(ax, model: nn.Module, title: str, size: float) -> None:
    """The regions where ``model`` predicts each class, and the training points."""
    with tg.no_grad():
        regions = model(points).argmax(dim=1).numpy().reshape(xx.shape)
    ax.contourf(xx, yy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=regions_cmap)
    ax.scatter(*spiral.train.tensors[0].T, c=colours[spiral.train.tensors[1]], s=size)
    ax.set(title=title, aspect="equal", xticks=[], yticks=[])


fig, axes = plt.subplots(1, 3, figsize=(12, 4.6), layout="constrained")
for ax, (name, (model, _, _)) in zip(axes, models.items()):
    draw(ax, model, f"{name}: {accuracy[name]:.0%} test", 8)
save(fig, "03-spiral-boundaries.png")

fig, ax = plt.subplots(figsize=(2.4, 2.4), layout="constrained")
draw(ax, models["2 layers, softmax"][0], "", 3)
ax.set_axis_off()
save(fig, "03-thumb.png")
