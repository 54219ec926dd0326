"""Data preprocessing: per-channel statistics from the training split, PCA and whitening.

Chapter 1 of the learner's path (docs/learn/README.md), the notes' "数据预处理" (normalise
the image in each channel of the data set). Writes ``figures/01-*.png``.
"""
# %% [markdown]
# # Data preprocessing
#
# The notes: normalise the image in each channel of the data set. That is
# x'[c] = (x[c] - mean[c]) / std[c], with mean and std taken per channel over all images
# and pixels. The question the notes leave open is *which* images: the answer is the
# training split only, because the statistics are part of the model, fixed before the
# model ever sees a test image.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import load_dataset, transforms
from tinygrad_cs.learn import QUICK, save

tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## Per-channel statistics, from the training split
#
# The bundled digits are 8x8 grey images (one channel). `transforms.Normalize.fit` takes the
# mean and the population standard deviation of each channel over (N, H, W);
# `load_dataset(..., normalize=True)` fits exactly this on the training split and applies
# it to both splits.

# %%
raw = load_dataset("digits", normalize=False)
x_train, y_train = raw.train.tensors
x_test, y_test = raw.test.tensors
norm = transforms.Normalize.fit(x_train)
print(f"train split: mean {norm.mean[0]:.4f}, std {norm.std[0]:.4f}")
assert np.allclose(norm.mean, load_dataset("digits").extra["normalize"].mean)
leaky = transforms.Normalize.fit(np.concatenate([x_train, x_test]))
print(f"all data:    mean {leaky.mean[0]:.4f}, std {leaky.std[0]:.4f}")

# %% [markdown]
# What goes wrong with the second? The statistics are fitted, so they are part of the model,
# and a held-out split that took part in fitting the model is no longer held out: its score
# stops measuring how the model does on data it has never seen. Here the damage is small,
# and it is worth measuring rather than guessing: we train the same softmax classifier
# (same seed, same steps) on pixels normalised both ways and compare the test predictions.

# %%
def train_and_predict(stats: transforms.Normalize) -> np.ndarray:
    """Test-split predictions of a softmax classifier trained on ``stats``-normalised pixels."""
    tg.manual_seed(0)
    model = nn.Linear(64, 10)
    opt = optim.Adam(model.parameters(), lr=0.05)
    inputs, labels = tg.tensor(stats(x_train).reshape(len(x_train), -1)), tg.tensor(y_train)
    for _ in range(30 if QUICK else 200):
        loss = nn.functional.cross_entropy(model(inputs), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tg.no_grad():
        return model(tg.tensor(stats(x_test).reshape(len(x_test), -1))).argmax(dim=1).numpy()


honest, peeked = train_and_predict(norm), train_and_predict(leaky)
print(f"test accuracy, train-split statistics: {np.mean(honest == y_test):.4f}")
print(f"test accuracy, all-data statistics:    {np.mean(peeked == y_test):.4f} "
      f"({np.mean(honest != peeked):.1%} of the test predictions differ)")

# %% [markdown]
# On this i.i.d. split the two pipelines agree almost everywhere: two numbers per channel,
# fitted on 1,438 or on 1,797 images, hardly differ. The rule is not there for this
# number; it is there so that the held-out score means what it claims, and so that the
# deployed model carries its statistics with it (`load_dataset` keeps them in
# `splits.extra["normalize"]`): a single new image has no "data set" to be normalised with.

# %% [markdown]
# ## PCA and whitening, on 2-D data
#
# Centring removes the mean; PCA rotates the data onto the eigenvectors of its covariance
# (decorrelation: the covariance becomes diagonal); whitening divides each rotated axis by
# the square root of its eigenvalue, so the covariance becomes the identity. Like the mean,
# the rotation and the scales are fitted on the training data.

# %%
n = 200 if QUICK else 1000
points = rng.multivariate_normal([3.0, 1.0], [[3.0, 2.4], [2.4, 2.5]], size=n)
centred = points - points.mean(axis=0)
cov = centred.T @ centred / n
eigenvalues, eigenvectors = np.linalg.eigh(cov)
rotated = centred @ eigenvectors
whitened = rotated / np.sqrt(eigenvalues + 1e-8)
print("covariance after PCA:\n", np.round(rotated.T @ rotated / n, 3))
print("covariance after whitening:\n", np.round(whitened.T @ whitened / n, 3))

# %%
def scatter(ax, data: np.ndarray, title: str) -> None:
    ax.scatter(data[:, 0], data[:, 1], s=4, alpha=0.5)
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set(title=title, xlim=(-6, 8), ylim=(-6, 8), aspect="equal")


fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
for ax, data, title in zip(axes, [points, centred, rotated, whitened],
                           ["original", "centred", "decorrelated (PCA)", "whitened"]):
    scatter(ax, data, title)
fig.tight_layout()
save(fig, "01-pca-whitening.png")

fig, axes = plt.subplots(1, 2, figsize=(3.2, 1.6))
for ax, data in zip(axes, [points, whitened]):
    scatter(ax, data, "")
    ax.set_axis_off()
fig.tight_layout()
save(fig, "01-thumb.png")

# %% [markdown]
# ## The statistics, drawn
#
# The per-pixel mean image and standard deviation image of the training split, and the
# histogram of pixel values before and after normalisation (with the training statistics)
# for both splits.

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3))
axes[0].imshow(x_train.mean(axis=0)[0], cmap="gray")
axes[0].set_title("mean image (train)")
axes[1].imshow(x_train.std(axis=0)[0], cmap="gray")
axes[1].set_title("std image (train)")
for x, label in [(x_train, "train"), (x_test, "test")]:
    axes[2].hist(norm(x).ravel(), bins=30, histtype="step", density=True, label=label)
axes[2].set(title="pixels after Normalize", xlabel="value")
axes[2].legend()
for ax in axes[:2]:
    ax.set_axis_off()
fig.tight_layout()
save(fig, "01-statistics.png")
