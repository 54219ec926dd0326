"""CNN arithmetic: output sizes, parameters, multiply-adds, receptive fields.

Run: ``python docs/learn/10-cnn-arithmetic.py`` (``TGCS_LEARN_QUICK=1`` for a quick run).
"""
# %% [markdown]
# # CNN arithmetic
#
# A convolution layer is four numbers per axis: kernel ``k``, stride ``s``, padding ``p``,
# dilation ``d``. From them follow the output size, the weights, the work, and how much of the
# image one output pixel sees. The notes' claims: two 3x3 convolutions see what one 5x5 sees,
# with fewer parameters. We check both, with numbers the library computes.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.learn import save

tg.manual_seed(0)

# %% [markdown]
# ## Output size
#
# ``out = floor((n + 2p - d(k - 1) - 1) / s) + 1``. Check the formula against a real layer.

# %%
def out_size(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


for k, s, p, d in [(3, 1, 1, 1), (5, 1, 0, 1), (3, 2, 1, 1), (3, 1, 2, 2), (7, 2, 3, 1)]:
    conv = nn.Conv2d(3, 8, k, stride=s, padding=p, dilation=d)
    real = conv(tg.zeros(1, 3, 32, 32)).shape[-1]
    print(f"k={k} s={s} p={p} d={d}: formula {out_size(32, k, s, p, d)}, layer {real}")

# %% [markdown]
# ## The summary: parameters, multiply-adds, receptive field
#
# ``nn.summary(model, input_size)`` runs one batch of zeros through the model and reports, per
# layer, the output shape, the parameters (``C_out * (C_in/groups * k * k + 1)`` for a conv),
# the multiply-adds (``output pixels * C_in/groups * k * k``) and the receptive field.

# %%
C = 64
two_3x3 = nn.Sequential(nn.Conv2d(C, C, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(C, C, 3, padding=1), nn.ReLU())
one_5x5 = nn.Sequential(nn.Conv2d(C, C, 5, padding=2), nn.ReLU())
small = nn.summary(two_3x3, (1, C, 16, 16))
large = nn.summary(one_5x5, (1, C, 16, 16))
print(small)
print(large)

# %%
print(f"receptive field: two 3x3 -> {small['2'].receptive_field}, "
      f"one 5x5 -> {large['0'].receptive_field}")
print(f"parameters: two 3x3 {small.total_params:,} vs one 5x5 {large.total_params:,} "
      f"({small.total_params / large.total_params:.2f}x)")
print(f"multiply-adds: {small.total_mult_adds:,} vs {large.total_mult_adds:,}")
print(f"non-linearities: {sum(r.kind == 'ReLU' for r in small.rows)} vs "
      f"{sum(r.kind == 'ReLU' for r in large.rows)}")

# %% [markdown]
# Weights per output channel: ``2 * 9 C`` against ``25 C``, so the ratio tends to 18/25 = 0.72
# as C grows, and the stack has one more ReLU. Three 3x3 layers see a 7x7 window with
# ``27 C^2`` weights where a 7x7 layer needs ``49 C^2``: that is VGG's argument.
#
# ## The receptive field, seen by backpropagation
#
# Which input pixels can change one output pixel? Exactly those where the gradient of that
# output pixel is non-zero. With all weights set to 1 the gradient also shows *how much*
# each pixel counts: stacked 3x3s weigh the centre more (a triangle), a 5x5 weighs all equally.

# %%
def input_gradient(model, size=11):
    for conv in model:
        conv.weight.data.fill_(1.0)
        conv.bias.data.zero_()
    x = tg.zeros(1, 1, size, size, requires_grad=True)
    y = model(x)
    centre = y.shape[-1] // 2
    y[0, 0, centre, centre].backward()
    return x.grad.numpy()[0, 0]


fields = {"one 3x3": nn.Sequential(nn.Conv2d(1, 1, 3)),
          "two 3x3": nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)),
          "one 5x5": nn.Sequential(nn.Conv2d(1, 1, 5)),
          "3x3, stride 2, 3x3": nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))}
grads = {name: input_gradient(model) for name, model in fields.items()}
for name, g in grads.items():
    rows, cols = np.nonzero(g)
    print(f"{name}: gradient reaches {np.ptp(rows) + 1}x{np.ptp(cols) + 1} input pixels")

# %%
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, (name, g) in zip(axes, grads.items()):
    ax.imshow(g, cmap="viridis")
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("d out[centre] / d input: the receptive field (weights all 1)")
fig.tight_layout()
save(fig, "10-receptive-field.png")

fig, ax = plt.subplots(figsize=(2.4, 2.4))
ax.imshow(grads["two 3x3"], cmap="viridis")
ax.set_axis_off()
save(fig, "10-thumb.png", dpi=50)

# %% [markdown]
# ## Receptive field through a network
#
# ``r_out = r_in + (k - 1) * d * j_in`` and ``j_out = j_in * s``: a stride multiplies how fast
# every later layer grows the field. Read it off a VGG-style stack with two stride-2 pools.

# %%
vgg_like = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())
table = nn.summary(vgg_like, (1, 3, 32, 32))
convs = [r for r in table.rows if r.kind in ("Conv2d", "MaxPool2d")]
for r in convs:
    print(f"{r.name:>2} {r.kind:<9} out {list(r.output_shape)!s:<16} RF {r.receptive_field[0]}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(range(1, len(convs) + 1), [r.receptive_field[0] for r in convs], "o-")
ax.set_xticks(range(1, len(convs) + 1), [r.kind.replace("2d", "") for r in convs], rotation=30)
ax.set_ylabel("receptive field (pixels)")
ax.set_title("each pool doubles how fast the field grows")
fig.tight_layout()
save(fig, "10-rf-growth.png")

# %% [markdown]
# ## The 1x1 bottleneck
#
# A 1x1 convolution mixes channels at each pixel. ResNet-50's bottleneck squeezes 256
# channels to 64, does the 3x3 work there, and expands back: the same input and output shape
# as one 3x3 layer on 256 channels, at a fraction of the cost.

# %%
wide = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1, bias=False))
bottleneck = nn.Sequential(nn.Conv2d(256, 64, 1, bias=False), nn.ReLU(),
                           nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.ReLU(),
                           nn.Conv2d(64, 256, 1, bias=False))
w = nn.summary(wide, (1, 256, 14, 14))
b = nn.summary(bottleneck, (1, 256, 14, 14))
print(b)
print(f"3x3 on 256 channels: {w.total_params:,} weights, {w.total_mult_adds / 1e6:.1f} M mult-adds")
print(f"1x1-3x3-1x1 bottleneck: {b.total_params:,} weights, {b.total_mult_adds / 1e6:.1f} M "
      f"mult-adds ({w.total_mult_adds / b.total_mult_adds:.1f}x less work)")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
names = ["3x3, 256->256", "1x1 256->64", "3x3 64->64", "1x1 64->256"]
costs = [w.total_mult_adds] + [r.mult_adds for r in b.rows if r.kind == "Conv2d"]
ax.barh(names[::-1], [c / 1e6 for c in costs[::-1]],
        color=["tab:blue"] * 3 + ["tab:red"])
ax.set_xlabel("multiply-adds (M) on a 14x14 map")
ax.set_title("the bottleneck's three layers together cost less than one 3x3")
fig.tight_layout()
save(fig, "10-bottleneck.png")
