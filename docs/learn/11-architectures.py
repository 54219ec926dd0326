"""Architectures: VGG, GoogLeNet, MobileNet, ResNet, ResNeXt and FPN from the zoo.

Run: ``python docs/learn/11-architectures.py`` (``TGCS_LEARN_QUICK=1`` for a quick run).
"""
# %% [markdown]
# # Architectures
#
# Every model here is in the zoo (``tinygrad_cs.nn.models``), built the way torchvision builds
# it. For each we print ``nn.summary`` and draw the graph with ``tg.viz`` collapsed at module
# depth: one box per block, so the architecture's shape is what you see.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import tinygrad_cs as tg
from tinygrad_cs import nn, viz
from tinygrad_cs.learn import QUICK, figures_dir, save
from tinygrad_cs.nn import models

SIZE = 8 if QUICK else 32  # image side: the small zoo variants take 8x8 to 32x32 images


def draw(model, x, name, depth=1):
    """The graph of ``model(x)``, each module ``depth`` levels deep collapsed into one box."""
    tg.manual_seed(0)
    out = model.eval()(x)
    root = out if isinstance(out, tg.Tensor) else sum(v.mean() for v in out.values())
    return viz.render(viz.draw_graph(root, params=model, depth=depth), figures_dir() / name)


def params(model):
    return sum(p.numel() for p in model.parameters())


tg.manual_seed(0)
x = tg.randn(1, 3, SIZE, SIZE)

# %% [markdown]
# ## VGG: stacks of 3x3 convolutions
#
# Chapter 10's argument made into a network: only 3x3 convolutions, a pool halves the map
# and the channels double. ``vgg_small`` is the three-stage version for small images.

# %%
vgg = models.vgg_small(in_channels=3)
print(nn.summary(vgg, (1, 3, SIZE, SIZE), depth=2))
draw(vgg, x, "11-vgg.png", depth=2)

# %% [markdown]
# ## GoogLeNet: the Inception block
#
# Four branches side by side (1x1; 1x1 then 3x3; 1x1 then 3x3 (5x5 in the paper); a 3x3 pool
# then 1x1), concatenated along channels. The 1x1 convolutions before the expensive branches
# are chapter 10's bottleneck.

# %%
googlenet = models.googlenet_small(in_channels=3)
print(nn.summary(googlenet, (1, 3, SIZE, SIZE), depth=1))
draw(googlenet, x, "11-googlenet.png")
block = googlenet.inception3a
draw(block, tg.randn(1, block.branch1.conv.in_channels, 8, 8), "11-inception.png")

# %% [markdown]
# ## MobileNet: depthwise separable convolutions
#
# A 3x3 convolution from C_in to C_out channels costs ``9 C_in C_out`` per pixel. MobileNet
# splits it: a *depthwise* 3x3 (``groups=C_in``: one filter per channel, ``9 C_in``) then a
# *pointwise* 1x1 (``C_in C_out``). The cost ratio is ``1/C_out + 1/9``.

# %%
mobilenet = models.mobilenet_v1_small(in_channels=3)
print(nn.summary(mobilenet, (1, 3, SIZE, SIZE), depth=2))
draw(mobilenet, x, "11-mobilenet.png", depth=2)

c_in, c_out = 64, 128
standard = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))
separable = nn.Sequential(nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
                          nn.Conv2d(c_in, c_out, 1, bias=False))
cost = {name: nn.summary(m, (1, c_in, 16, 16)).total_mult_adds
        for name, m in [("standard", standard), ("separable", separable)]}
print(f"3x3 conv {c_in}->{c_out}: {cost['standard']:,} mult-adds; depthwise + pointwise: "
      f"{cost['separable']:,} ({cost['separable'] / cost['standard']:.3f} = "
      f"1/{c_out} + 1/9 = {1 / c_out + 1 / 9:.3f})")

# %% [markdown]
# ## ResNet: learn the residual, keep the gradient
#
# A residual block computes ``H(x) = F(x) + x``. In backward the add copies the incoming
# gradient to both branches, so ``dL/dx = dL/dH (dF/dx + I)``: whatever ``F`` does, the
# identity path carries the gradient down unchanged. We compare 20 conv layers stacked plainly
# with the same 20 layers wrapped in skips, at PyTorch's default initialisation and without
# BatchNorm (which would hide the effect): the gradient reaching each layer's weights.

# %%
class Block(nn.Module):
    def __init__(self, channels, skip):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.skip = skip

    def forward(self, x):
        out = self.conv(x).relu()
        return x + out if self.skip else out


def layer_gradients(skip, depth=20, channels=8):
    tg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1),
                        *[Block(channels, skip) for _ in range(depth)])
    loss = net(tg.randn(4, 3, 8, 8)).pow(2).mean()
    loss.backward()
    return [block.conv.weight.grad.norm().item() for block in net[1:]]


plain, residual = layer_gradients(False), layer_gradients(True)
print(f"gradient norm at layer 1 / layer 20: plain {plain[0] / plain[-1]:.1e}, "
      f"residual {residual[0] / residual[-1]:.1e}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(range(1, 21), plain, "o-", label="plain: conv-ReLU x 20")
ax.semilogy(range(1, 21), residual, "s-", label="residual: x + conv-ReLU(x), x 20")
ax.set_xlabel("layer (1 = nearest the input)")
ax.set_ylabel("|dL/dW| of the layer")
ax.set_title("gradients vanish in the plain stack, not through skips")
ax.legend()
fig.tight_layout()
save(fig, "11-skip-gradients.png")

fig, ax = plt.subplots(figsize=(2.4, 2.4))
ax.semilogy(plain, "o-", ms=3)
ax.semilogy(residual, "s-", ms=3)
ax.set_xticks([])
ax.set_yticks([])
save(fig, "11-thumb.png", dpi=50)

# %% [markdown]
# The zoo's ResNet, its blocks drawn and coloured by the gradient norm that reached them:

# %%
resnet = models.resnet8()
print(nn.summary(resnet, (1, 3, SIZE, SIZE), depth=2))
loss = nn.functional.cross_entropy(resnet.eval()(x), tg.tensor([0]))
with viz.capture_grads() as flow:
    loss.backward()
viz.render(viz.draw_graph(loss, params=resnet, depth=3, grads=flow),
           figures_dir() / "11-resnet.png")

# %% [markdown]
# ## ResNeXt: cardinality is grouped convolution
#
# ResNeXt keeps ResNet's bottleneck blocks and their number, and splits the 3x3 convolution of
# each block into ``C`` parallel paths of width ``d`` ("32x4d": 32 paths of 4 channels): the
# paths' outputs are concatenated, which is exactly a convolution with ``groups=C``.

# %%
resnext = models.resnext_cifar()
print(nn.summary(resnext, (1, 3, SIZE, SIZE), depth=2))
draw(resnext.layer1[0], tg.randn(1, 16, 8, 8), "11-resnext-block.png")

cardinality, width = 32, 4
grouped = nn.Conv2d(cardinality * width, cardinality * width, 3, padding=1,
                    groups=cardinality, bias=False)
h = tg.randn(1, cardinality * width, 8, 8)
paths = [tg.nn.functional.conv2d(h[:, i * width:(i + 1) * width],
                                 grouped.weight[i * width:(i + 1) * width], padding=1)
         for i in range(cardinality)]
split_transform_merge = tg.cat(paths, dim=1)
gap = (split_transform_merge - grouped(h)).abs().max().item()
print(f"32 separate 4-channel paths, concatenated, vs one conv with groups=32: "
      f"max difference {gap:.1e}")

# %%
for name in () if QUICK else ("resnet50", "resnext50_32x4d"):  # 0.7 s each to build
    model = getattr(models, name)()
    blocks = sum(type(m).__name__ == "Bottleneck" for m in model.modules())
    print(f"{name}: {blocks} bottleneck blocks, {params(model) / 1e6:.1f}M parameters")

# %% [markdown]
# ## FPN: a pyramid of features
#
# A backbone's deep maps are coarse but semantically strong; its early maps are fine but weak.
# The Feature Pyramid Network adds a top-down path: each coarse map is upsampled and added to a
# 1x1 *lateral* projection of the finer map below it, then smoothed by a 3x3 conv, giving
# strong features at every scale (detection uses them in chapter 13).

# %%
fpn = models.resnet18_fpn().eval()
with tg.no_grad():
    pyramid = fpn(tg.randn(1, 3, 2 * SIZE, 2 * SIZE))
for level, feature in pyramid.items():
    print(f"level {level}: {list(feature.shape)}")
draw(fpn, tg.randn(1, 3, 2 * SIZE, 2 * SIZE), "11-fpn.png", depth=3)
print(f"parameters: vgg_small {params(vgg):,}, googlenet_small {params(googlenet):,}, "
      f"mobilenet_v1_small {params(mobilenet):,}, resnet8 {params(resnet):,}, "
      f"resnext_cifar {params(resnext):,}, resnet18_fpn {params(fpn):,}")
