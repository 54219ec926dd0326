"""RNNs and LSTMs: the gates, gradients through time, clipping, a character model.

Run: ``python docs/learn/14-rnns.py`` (``TGCS_LEARN_QUICK=1`` for a quick run).
"""
# %% [markdown]
# # RNNs and LSTMs
#
# A recurrent network applies the same cell at every time step, carrying a hidden state:
# ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``. Backpropagation through time is
# ordinary backpropagation through the unrolled graph, so ``W_hh`` multiplies the gradient
# once per step, and that is the whole story of this chapter.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import DataLoader
from tinygrad_cs.data.text import char_splits
from tinygrad_cs.learn import QUICK, save
from tinygrad_cs.nn import models
from tinygrad_cs.train import fit
from tinygrad_cs.train.text_samples import TextSamples

tg.manual_seed(0)

# %% [markdown]
# ## The vanilla cell, by hand

# %%
cell = nn.RNNCell(3, 4)
x, h = tg.randn(2, 3), tg.randn(2, 4)
by_hand = (x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh).tanh()
print(f"RNNCell vs tanh(W_ih x + b_ih + W_hh h + b_hh): max difference "
      f"{(cell(x, h) - by_hand).abs().max().item():.1e}")

# %% [markdown]
# ## The LSTM's gates
#
# An LSTM carries two states, ``h`` and a *cell* ``c``. Four gates come from one matrix
# product, in PyTorch's order (input, forget, candidate, output):
#
# ``i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)``,
# ``c' = f * c + i * g``, ``h' = o * tanh(c')``.
#
# The forget gate scales the old memory, the input gate admits new content ``g``, the output
# gate decides how much of the memory is shown.

# %%
def lstm_by_hand(cell, x, h, c):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c, {"input i": i, "forget f": f, "candidate g": g, "output o": o}


lstm = nn.LSTMCell(1, 4)
h, c = tg.zeros(1, 4), tg.zeros(1, 4)
h_ref, c_ref = lstm(tg.ones(1, 1), (h, c))
h1, c1, _ = lstm_by_hand(lstm, tg.ones(1, 1), h, c)
print(f"LSTMCell vs the equations: h {(h_ref - h1).abs().max().item():.1e}, "
      f"c {(c_ref - c1).abs().max().item():.1e}")

# %% [markdown]
# A small example: one input channel that is a single pulse at step 2, then silence. Watch
# the gates and the cell state of four units over 12 steps.

# %%
pulse = np.zeros(12, np.float32)
pulse[2] = 3.0
record = {name: [] for name in ("input i", "forget f", "candidate g", "output o")}
record["cell c"], record["hidden h"] = [], []
with tg.no_grad():
    h, c = tg.zeros(1, 4), tg.zeros(1, 4)
    for value in pulse:
        h, c, gates = lstm_by_hand(lstm, tg.full((1, 1), float(value)), h, c)
        for name, gate in gates.items():
            record[name].append(gate.numpy()[0])
        record["cell c"].append(c.numpy()[0])
        record["hidden h"].append(h.numpy()[0])

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 4.5), sharex=True)
for ax, (name, values) in zip(axes.flat, record.items()):
    image = ax.imshow(np.array(values).T, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    ax.axvline(2, color="black", lw=0.8, ls=":")
    ax.set_title(name)
    ax.set_yticks(range(4), [f"unit {u}" for u in range(4)])
for ax in axes[1]:
    ax.set_xlabel("time step (pulse at 2)")
for ax in axes[:, 1:].flat:
    ax.set_yticklabels([])
fig.colorbar(image, ax=axes, shrink=0.8)
save(fig, "14-gates.png")

# %% [markdown]
# ## Gradients through time
#
# How much does the input at step ``t`` affect the last hidden state? We measure
# ``|d h_T / d x_t|`` (the gradient of the sum of the last state) over 50 steps:
#
# * a vanilla RNN with an orthogonal ``W_hh`` (all singular values 1): each step multiplies
#   the gradient by ``W_hh^T diag(tanh')``, and ``tanh' < 1``: it vanishes;
# * the same with ``W_hh`` doubled: now it explodes;
# * an LSTM at PyTorch's initialisation: along the cell, ``d c_t / d c_{t-1} = f_t``, and
#   ``f ~ sigmoid(0) = 1/2`` halves the gradient every step;
# * an LSTM whose forget-gate bias is 3 (``f ~ 0.95``): the additive cell path carries it.

# %%
T, H = 50, 32


def gradient_through_time(kind, scale=None, forget_bias=None):
    tg.manual_seed(0)
    rnn = getattr(nn, kind)(8, H, batch_first=True)
    if scale is not None:
        nn.init.orthogonal_(rnn.weight_hh_l0)
        rnn.weight_hh_l0.data.mul_(scale)
    if forget_bias is not None:  # rows H:2H of the LSTM's biases feed the forget gate
        rnn.bias_ih_l0.data[H:2 * H] = forget_bias
        rnn.bias_hh_l0.data[H:2 * H] = 0.0
    x = tg.randn(1, T, 8, requires_grad=True)
    rnn(x)[0][:, -1].sum().backward()
    return np.linalg.norm(x.grad.numpy()[0], axis=1)


curves = {"RNN, orthogonal W_hh": gradient_through_time("RNN", scale=1.0),
          "RNN, 2 x orthogonal W_hh": gradient_through_time("RNN", scale=2.0),
          "LSTM, PyTorch init": gradient_through_time("LSTM"),
          "LSTM, forget bias 3": gradient_through_time("LSTM", forget_bias=3.0)}
for name, g in curves.items():
    print(f"{name:>26}: |dh_T/dx_1| / |dh_T/dx_T| = {g[0] / g[-1]:.1e}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for name, g in curves.items():
    ax.semilogy(np.arange(T - 1, -1, -1), g, label=name)
ax.set_xlabel("steps back from the last one")
ax.set_ylabel("|d h_T / d x_t|")
ax.set_title("gradient through time")
ax.legend(fontsize=8)
fig.tight_layout()
save(fig, "14-gradient-through-time.png")

fig, ax = plt.subplots(figsize=(2.4, 2.4))
for g in curves.values():
    ax.semilogy(g[::-1])
ax.set_xticks([])
ax.set_yticks([])
save(fig, "14-thumb.png", dpi=50)

# %% [markdown]
# ## Gradient clipping
#
# Exploding gradients are tamed by rescaling: ``nn.utils.clip_grad_norm_(params, max_norm)``
# multiplies all gradients by ``min(1, max_norm / ||g||)`` (the norm over all of them
# together), which keeps the direction and bounds the step. It returns the norm before
# clipping. The same character RNN trained with SGD (learning rate 1, momentum 0.9), without
# and with clipping at 1:

# %%
splits = char_splits(64, max_chars=4_000 if QUICK else 60_000)
vocab = splits.num_classes
xs, ys = splits.train.tensors


def train_char_rnn(max_norm, steps):
    tg.manual_seed(0)
    model = models.char_rnn(vocab_size=vocab, hidden_size=64, embed_dim=16)
    opt = optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    rng = np.random.default_rng(0)
    losses, norms = [], []
    for _ in range(steps):
        batch = rng.integers(0, len(xs), 32)
        logits = model(tg.tensor(xs[batch]))
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                           tg.tensor(ys[batch]).reshape(-1))
        opt.zero_grad()
        loss.backward()
        norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm)))
        opt.step()
        losses.append(loss.item())
    return losses, norms


steps = 6 if QUICK else 60
runs = {"no clipping": train_char_rnn(float("inf"), steps),
        "clip_grad_norm_(1.0)": train_char_rnn(1.0, steps)}
for name, (losses, norms) in runs.items():
    print(f"{name:>20}: largest gradient norm {max(norms):8.1f}, final loss {losses[-1]:.2f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (losses, norms) in runs.items():
    left.plot(losses, label=name)
    right.semilogy(norms, label=name)
left.set_xlabel("step")
left.set_ylabel("training loss (nats/char)")
right.set_xlabel("step")
right.set_ylabel("gradient norm before clipping")
left.legend()
fig.tight_layout()
save(fig, "14-clipping.png")

# %% [markdown]
# ## A character-level language model
#
# The zoo's ``char_lstm`` (Karpathy's char-rnn: Embedding, LSTM, Linear) learns to predict the
# next character of Python's own standard-library source. ``TextSamples`` prints a sample
# after every epoch, always from the same seed, so the epochs differ only by what the model
# learned. The baseline is the unigram entropy: the loss of the best model that ignores
# context.

# %%
tg.manual_seed(0)
model = models.char_lstm(vocab_size=vocab, hidden_size=128, embed_dim=32)
corpus = splits.extra["corpus"]
samples = TextSamples(model, prefix="def ", length=120, temperature=0.8, corpus=corpus)
history = fit(model, DataLoader(splits.train, batch_size=32, shuffle=True),
              DataLoader(splits.test, batch_size=64), loss_fn=nn.CrossEntropyLoss(),
              optimizer=optim.Adam(model.parameters(), lr=3e-3), epochs=1 if QUICK else 6,
              grad_clip=1.0, progress=False, callbacks=[samples])
print(f"validation loss {history['val_loss'][-1]:.2f} nats/char; unigram entropy "
      f"{splits.extra['unigram_entropy']:.2f}")

# %%
for temperature in (0.5, 1.0):
    text = model.sample("for ", 100, temperature=temperature, seed=1, corpus=corpus)
    print(f"--- temperature {temperature}:\nfor {text}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
epochs = range(1, len(history) + 1)
ax.plot(epochs, history["train_loss"], "o-", label="training")
ax.plot(epochs, history["val_loss"], "s-", label="validation")
ax.axhline(splits.extra["unigram_entropy"], color="grey", ls="--",
           label="unigram entropy (no context)")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy (nats/char)")
ax.legend()
fig.tight_layout()
save(fig, "14-char-lstm.png")
