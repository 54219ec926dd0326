"""A small Transformer that learns to reverse sequences, written as PyTorch code.

Idioms: ``nn.Transformer`` (``batch_first=True``) with ``generate_square_subsequent_mask``
for the decoder, a boolean ``src_key_padding_mask``, ``nn.MultiheadAttention`` called with
``need_weights=True``, ``F.scaled_dot_product_attention(..., is_causal=True)``,
``nn.Embedding``, ``optim.Adam``, ``loss.item()`` and ``argmax(-1)``. Every parameter comes
from numpy (through ``state_dict`` and ``copy_``) and dropout is off, so PyTorch and the port
follow the same trajectory.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

V, D, T = 8, 16, 6  # vocabulary (0 = padding, 1 = start), model width, sequence length


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.zeros(1, T + 1, D))
        self.transformer = nn.Transformer(d_model=D, nhead=2, num_encoder_layers=1,
                                          num_decoder_layers=1, dim_feedforward=32,
                                          dropout=0.0, batch_first=True)
        self.out = nn.Linear(D, V)

    def forward(self, src, tgt, src_padding):
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        memory_in = self.embed(src) + self.pos[:, :src.size(1)]
        target_in = self.embed(tgt) + self.pos[:, :tgt.size(1)]
        hidden = self.transformer(memory_in, target_in, tgt_mask=causal,
                                  src_key_padding_mask=src_padding,
                                  memory_key_padding_mask=src_padding)
        return self.out(hidden)


def batch(rng, n):
    lengths = rng.integers(3, T + 1, n)
    src = np.zeros((n, T), np.int64)
    for i, k in enumerate(lengths):
        src[i, :k] = rng.integers(2, V, k)
    tgt = np.zeros((n, T + 1), np.int64)
    tgt[:, 0] = 1
    for i, k in enumerate(lengths):
        tgt[i, 1:k + 1] = src[i, :k][::-1]
    return torch.from_numpy(src), torch.from_numpy(tgt)


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Reverser()
    state = model.state_dict()
    for name in sorted(state):
        if state[name].dim() >= 2:  # weights: N(0, 1 / fan_in)
            fan_in = state[name].shape[-1]
            values = rng.normal(0, fan_in ** -0.5, tuple(state[name].shape)).astype(np.float32)
            state[name].copy_(torch.from_numpy(values))
        elif "norm" in name and name.endswith("weight"):
            state[name].fill_(1.0)
        else:  # biases
            state[name].zero_()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(80):
        src, tgt = batch(rng, 16)
        optimizer.zero_grad()
        logits = model(src, tgt[:, :-1], src == 0)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt[:, 1:].reshape(-1), ignore_index=0)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    model.eval()
    src, tgt = batch(rng, 32)
    with torch.no_grad():
        logits = model(src, tgt[:, :-1], src == 0)
        keep = tgt[:, 1:] != 0
        accuracy = (logits.argmax(-1) == tgt[:, 1:])[keep].float().mean().item()
        x = model.embed(src)
        attention = model.transformer.encoder.layers[0].self_attn
        _, weights = attention(x, x, x, key_padding_mask=src == 0, need_weights=True)
        q = x.view(32, T, 2, D // 2).transpose(1, 2)
        causal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    return {"losses": losses, "accuracy": accuracy,
            "weights": weights[:2].numpy(), "causal": causal[:2].numpy()}
