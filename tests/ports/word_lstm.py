"""A word-level LSTM language model, written as PyTorch code (the shape of PyTorch's
``word_language_model`` example).

Idioms: ``batchify`` with ``narrow`` / ``view(bsz, -1).t().contiguous()``, ``weight.new_zeros``
for the hidden state, ``repackage_hidden`` with ``detach``, hand-written SGD
``p.data.add_(p.grad, alpha=-lr)`` after ``clip_grad_norm_``, ``nn.init.uniform_`` /
``zeros_``, ``F.log_softmax`` with ``nn.NLLLoss``, evaluation under ``torch.no_grad``. Every
parameter is set from numpy, so PyTorch and the port follow the same trajectory.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = """the engine records every operation as a node of a graph and walks the graph
backwards to compute gradients the graph is a program that a person can read and the
backward pass is a program too each node knows its inputs and the function that made it
""" * 6


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.ntoken = ntoken
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def main():
    torch.manual_seed(0)
    words = TEXT.split()
    vocab = sorted(set(words))
    ids = torch.tensor([vocab.index(w) for w in words]).type(torch.int64)
    train_data = batchify(ids, 4)
    model = RNNModel(len(vocab), 16, 24, 2)
    nn.init.uniform_(model.encoder.weight, -0.1, 0.1)
    nn.init.zeros_(model.decoder.bias)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, tuple(p.shape)).astype(np.float32)))
    criterion = nn.NLLLoss()
    lr, bptt, losses = 5.0, 8, []
    for epoch in range(8):
        model.train()
        hidden = model.init_hidden(4)
        for i in range(0, train_data.size(0) - 1, bptt):
            seq_len = min(bptt, len(train_data) - 1 - i)
            data, targets = train_data[i:i + seq_len], train_data[i + 1:i + 1 + seq_len].view(-1)
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        output, _ = model(train_data[:-1], model.init_hidden(4))
        final = criterion(output, train_data[1:].reshape(-1)).item()
    return {"losses": losses, "final": final, "ppl": math.exp(final),
            "names": [n for n, _ in model.named_parameters()]}
