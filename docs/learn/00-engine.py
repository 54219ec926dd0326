"""The engine: a neuron, its graph, and the backward pass.

Chapter 0 of the learner's path (docs/learn/README.md). Run it as a script
(``python -m tinygrad_cs.learn 00``) or open it as a notebook (jupytext). It writes
``figures/00-*.svg`` (graphs, drawn by ``tg.viz``) and ``figures/00-*.png`` (plots).
"""
# %% [markdown]
# # The engine
#
# Every number the engine computes is a node of one graph: the node knows the op that made
# it and the nodes it came from. `backward()` walks that graph from the output back to the
# inputs, applying the chain rule once per op. We start with micrograd's picture: one
# neuron, made of scalars.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, viz
from tinygrad_cs.learn import QUICK, figures_dir, save
from tinygrad_cs.testing import gradcheck, gradgradcheck

tg.manual_seed(0)

# %% [markdown]
# ## A neuron made of scalars
#
# o = tanh(x1 w1 + x2 w2 + b). The bias is chosen so that n = 0.8814 and o = 1/sqrt(2),
# which makes do/dn = 1 - o^2 = 0.5 easy to check by hand.

# %%
x1, x2 = tg.Value(2.0, label="x1"), tg.Value(0.0, label="x2")
w1, w2 = tg.Value(-3.0, label="w1"), tg.Value(1.0, label="w2")
b = tg.Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
print(f"o = {o.data:.4f}, do/dn = {n.grad:.4f} (1 - o^2 = {1 - o.data**2:.4f})")
print(f"do/dw1 = {w1.grad:.4f} (= x1 * do/dn), do/dx1 = {x1.grad:.4f} (= w1 * do/dn)")

# %% [markdown]
# `viz.draw_graph` draws every value as a record `label | data | grad` and every op as an
# ellipse between its inputs and its output. The gradient of `x2` is 0.5 but that of `w2`
# is 0: the product's gradient with respect to one factor is the *other* factor, and
# x2 = 0.

# %%
neuron = viz.draw_graph(o, rankdir="LR", name="neuron")
viz.render(neuron, figures_dir() / "00-neuron.svg")
viz.render(neuron, figures_dir() / "00-thumb.png")

# %% [markdown]
# ## The same neuron with tensors
#
# A `Tensor` is a node too, holding a whole array. The two weights become one vector and
# the sum of products a matrix product; the gradients are the same numbers.

# %%
x = tg.tensor([2.0, 0.0], dtype=tg.float64)
w = tg.tensor([-3.0, 1.0], dtype=tg.float64, requires_grad=True)
bias = tg.tensor(6.8813735870195432, dtype=tg.float64, requires_grad=True)
out = tg.tanh(x @ w + bias)
out.backward()
print(f"tensor neuron: o = {out.item():.4f}, dw = {np.round(w.grad.numpy(), 4).tolist()}, "
      f"db = {bias.grad.item():.4f}")
assert np.allclose(w.grad.numpy(), [w1.grad, w2.grad])

# %%
w.name, bias.name, out.name = "w", "b", "o"
viz.render(viz.draw_graph(out, rankdir="LR", name="tensor_neuron"),
           figures_dir() / "00-tensor-neuron.svg")

# %% [markdown]
# ## Your own op: a `Function`
#
# Every op is a `Function` with a static `forward` (the inputs' raw numpy arrays in, the
# output's array out; it saves what backward will need) and a static `backward` (the
# gradient of the loss with respect to the output in, one gradient per input out). Backward
# uses the engine's own ops (`tg.sigmoid`), which also accept raw arrays: then the same
# formula is recorded, and differentiable again, under `create_graph=True`.
#
# Softplus, log(1 + e^x), has the sigmoid as its derivative. Forward computes it as
# max(x, 0) + log(1 + e^-|x|) so that large x does not overflow.

# %%
class Softplus(tg.Function):
    """out = log(1 + exp(x));  dx = sigmoid(x) * grad."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return tg.sigmoid(x) * grad


xs = tg.tensor([-30.0, -1.0, 0.0, 1.0, 30.0], dtype=tg.float64, requires_grad=True)
Softplus.apply(xs).sum().backward()
print("softplus'(x) =", np.round(xs.grad.numpy(), 4).tolist())

# %% [markdown]
# ## Checking a gradient: `gradcheck`
#
# `gradcheck` compares the analytic gradient with central differences,
# (f(x + h) - f(x - h)) / 2h, in float64, and reports the CS231n relative error
# |a - n| / max(|a|, |n|) per input. A backward that forgets the chain rule (it returns
# sigmoid(x) without multiplying by the incoming gradient) passes on `y.sum()` where the
# incoming gradient is all ones, and fails as soon as it is not.

# %%
class BrokenSoftplus(Softplus):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return tg.sigmoid(x)                     # the slip: "* grad" is missing


x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
good = gradcheck(lambda t: Softplus.apply(t) * 3.0, (x,))
bad = gradcheck(lambda t: BrokenSoftplus.apply(t) * 3.0, (x,), raise_exception=False)
print(f"Softplus: ok={good.ok}, worst relative error {good.max_rel_error:.1e}, "
      f"second derivatives ok={gradgradcheck(Softplus.apply, (x,)).ok}")
print(f"BrokenSoftplus: ok={bad.ok}, worst relative error {bad.max_rel_error:.2f}")

# %% [markdown]
# Why float64, and why h = 1e-6? The numerical derivative has two errors: truncation,
# which shrinks like h^2, and rounding, which grows like eps_machine / h. In float32
# (eps ~ 1e-7) the best one can do is about 1e-5 at h ~ 1e-2; in float64 (eps ~ 1e-16) it
# is ~1e-10 near h ~ 1e-5. We measure it for tanh at x = 0.5, where the engine's own
# backward gives the exact answer.

# %%
steps = np.logspace(-12, -1, 12 if QUICK else 45)
errors = {}
for dtype in (tg.float32, tg.float64):
    point = tg.tensor(0.5, dtype=dtype, requires_grad=True)
    tg.tanh(point).backward()
    exact = float(point.grad.item())
    errs = []
    for h in steps:
        hi, lo = tg.tanh(tg.tensor(0.5 + h, dtype=dtype)), tg.tanh(tg.tensor(0.5 - h, dtype=dtype))
        numeric = (float(hi.item()) - float(lo.item())) / (2 * h)
        errs.append(max(abs(numeric - exact) / max(abs(numeric), abs(exact)), 1e-17))
    errors[np.dtype(dtype).name] = np.array(errs)
best32, best64 = errors["float32"].min(), errors["float64"].min()
print(f"best relative error: float32 {best32:.1e}, float64 {best64:.1e}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
for name, errs in errors.items():
    ax.loglog(steps, errs, marker="o", ms=3, label=name)
ax.axvline(1e-6, color="gray", ls="--", lw=1)
ax.text(1.3e-6, 3e-5, "gradcheck's h", color="gray")
ax.set(xlabel="step h", ylabel="relative error of (f(x+h) - f(x-h)) / 2h",
       title="Central differences for tanh'(0.5)")
ax.legend()
fig.tight_layout()
save(fig, "00-central-differences.png")

# %% [markdown]
# ## The backward pass, drawn and listed
#
# A two-layer network and its loss. `tg.Graph(loss).order` is the forward program: every
# node after its inputs. Backward runs it in reverse; `viz.capture_grads` records the norm
# of the gradient each node received, and `draw_graph(..., grads=flow)` colours the graph
# by it (one box per module with `depth=1`).

# %%
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
inputs, labels = tg.randn(5, 4), tg.tensor([0, 2, 1, 0, 2])
loss = nn.functional.cross_entropy(model(inputs), labels)
with viz.capture_grads() as flow:
    loss.backward()
graph = tg.Graph(loss)
print(f"{len(graph.order)} nodes; backward visits the ops in this order:")
for node in reversed(graph.order):
    info = graph.info(node)
    if info.op is not None:
        stat = flow.get(node)
        print(f"  {info.op:14s} {info.scope or '-':5s} shape {info.shape!s:8s} "
              f"|grad| {stat.norm:.3f}")

# %%
viz.render(viz.draw_graph(loss, params=model, grads=flow, name="backward"),
           figures_dir() / "00-backward.svg")
