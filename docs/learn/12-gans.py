"""GANs: the minimax objective, the non-saturating loss, a DCGAN on digits.

Run: ``python docs/learn/12-gans.py`` (``TGCS_LEARN_QUICK=1`` for a quick run).
"""
# %% [markdown]
# # Generative adversarial networks
#
# A generator ``G`` turns noise ``z ~ N(0, I)`` into images; a discriminator ``D`` outputs the
# probability that an image is real. They play
#
# ``min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]``.
#
# For a fixed ``G`` the best discriminator is ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``,
# and then ``V(D*, G) = -log 4 + 2 JSD(p_data || p_g)``: the generator minimises a
# Jensen-Shannon divergence, reaching ``-log 4`` exactly when ``p_g = p_data``.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs.data import DataLoader, TensorDataset, load_dataset
from tinygrad_cs.learn import QUICK, save
from tinygrad_cs.nn.models import DCGAN
from tinygrad_cs.train.gan import fit_gan

tg.manual_seed(0)

# %% [markdown]
# ## The optimum, checked on 1-D Gaussians
#
# Real data ``N(0, 1)``, generator ``N(mu, 1)``: compute ``V(D*, G)`` on a grid and compare it
# with ``-log 4 + 2 JSD``.

# %%
grid = np.linspace(-10, 10, 20001)
step = grid[1] - grid[0]


def gauss(mean):
    return np.exp(-0.5 * (grid - mean) ** 2) / np.sqrt(2 * np.pi)


for mu in (0.0, 1.0, 3.0):
    p, q = gauss(0.0), gauss(mu)
    d_star = p / (p + q)  # so 1 - D* = q / (p + q)
    value = np.sum(p * np.log(d_star) + q * np.log(q / (p + q))) * step
    m = (p + q) / 2
    jsd = 0.5 * np.sum(p * np.log(p / m) + q * np.log(q / m)) * step
    print(f"mu={mu}: V(D*, G) = {value:+.4f}, -log 4 + 2 JSD = {-np.log(4) + 2 * jsd:+.4f}")

# %% [markdown]
# ## The generator's loss: saturating or not
#
# Taken literally, the generator minimises ``log(1 - D(G(z)))``. Early in training ``D``
# easily spots the fakes, ``D(G(z))`` is near 0, and there this loss is flat. Write
# ``D = sigmoid(a)`` with ``a`` the discriminator's logit: then
#
# * saturating: ``d/da log(1 - sigmoid(a)) = -sigmoid(a) = -D``, which goes to 0 with ``D``;
# * non-saturating (Goodfellow et al.): maximise ``log D(G(z))``, i.e. minimise
#   ``-log sigmoid(a)``, whose gradient is ``-(1 - D)``: largest exactly when the fakes are bad.
#
# Both have the same fixed point; only the second gives a signal at the start. We let
# autograd compute both gradients over the range of ``D(G(z))``.

# %%
d_values = np.linspace(0.001, 0.999, 400)
logits = tg.tensor(np.log(d_values / (1 - d_values)), requires_grad=True)
(1 - logits.sigmoid()).log().sum().backward()
saturating = logits.grad.numpy().copy()
logits.grad = None
(-logits.sigmoid().log()).sum().backward()
non_saturating = logits.grad.numpy().copy()
start = np.argmin(np.abs(d_values - 0.01))
print(f"at D(G(z)) = 0.01: saturating gradient {saturating[start]:+.3f}, "
      f"non-saturating {non_saturating[start]:+.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(d_values, np.abs(saturating), label="saturating: log(1 - D(G(z)))")
ax.plot(d_values, np.abs(non_saturating), label="non-saturating: -log D(G(z))")
ax.axvspan(0, 0.1, color="grey", alpha=0.2, label="start of training")
ax.set_xlabel("D(G(z)): how real D thinks the fake is")
ax.set_ylabel("|d loss / d logit|")
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "12-generator-gradient.png")

# %% [markdown]
# ## A DCGAN on the digits
#
# The zoo's ``DCGAN``: a generator of transposed convolutions with BatchNorm and ReLU ending in
# ``tanh``, a discriminator of strided convolutions with LeakyReLU, both Adam(2e-4, betas
# (0.5, 0.999)), as in PyTorch's DCGAN example; ``fit_gan`` runs the alternating updates with
# the non-saturating generator loss. The real images are scikit-learn's 8x8 digits, scaled to
# ``[-1, 1]`` like the generator's ``tanh``.

# %%
digits = load_dataset("digits", normalize=False).train.tensors[0] * 2 - 1
if QUICK:
    digits = digits[:64]
loader = DataLoader(TensorDataset(digits.astype(np.float32)), batch_size=64, shuffle=True,
                    drop_last=True)
gan = DCGAN(nz=32, ngf=32, ndf=32, nc=1, image_size=8, n_extra_layers=1)
snapshots = {}


def snapshot(row):
    """The same 16 noise vectors, generated after every epoch (eval mode, then back)."""
    gan.eval()
    snapshots[row["epoch"]] = gan.sample(16, seed=123).numpy()
    gan.train()


epochs = 1 if QUICK else 25
history = fit_gan(gan, loader, epochs=epochs, cosine=True, progress=False,
                  callbacks=[snapshot])
for row in history:
    if row["epoch"] in (1, 2, 5, 10, epochs):
        print(f"epoch {row['epoch']:>2}: D loss {row['d_loss']:.2f}, G loss {row['g_loss']:.2f}, "
              f"D(x) {row['d_real']:.2f}, D(G(z)) {row['d_fake']:.2f}")

# %% [markdown]
# At the game's equilibrium ``D`` outputs 1/2 everywhere: its loss (two cross-entropies) would
# be ``2 ln 2 = 1.39`` and the generator's ``ln 2 = 0.69``. The history drifts towards these
# values while the samples turn from noise into digits.

# %%
shown = sorted({1, min(3, epochs), min(8, epochs), epochs})
fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 2.8))
for ax, epoch in zip(np.atleast_1d(axes), shown):
    framed = np.pad(snapshots[epoch][:, 0], ((0, 0), (1, 1), (1, 1)))  # grey frames
    tiles = framed.reshape(4, 4, 10, 10).transpose(0, 2, 1, 3).reshape(40, 40)
    ax.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(f"epoch {epoch}")
    ax.set_axis_off()
fig.tight_layout()
save(fig, "12-samples.png")

fig, ax = plt.subplots(figsize=(2.4, 2.4))
ax.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1)
ax.set_axis_off()
save(fig, "12-thumb.png", dpi=50)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
epoch_axis = [row["epoch"] for row in history]
left.plot(epoch_axis, history["d_loss"], label="D loss")
left.plot(epoch_axis, history["g_loss"], label="G loss")
left.axhline(2 * np.log(2), color="C0", ls=":")
left.axhline(np.log(2), color="C1", ls=":")
right.plot(epoch_axis, history["d_real"], label="D(x)")
right.plot(epoch_axis, history["d_fake"], label="D(G(z))")
right.axhline(0.5, color="grey", ls=":")
for ax in (left, right):
    ax.set_xlabel("epoch")
    ax.legend()
fig.tight_layout()
save(fig, "12-curves.png")
