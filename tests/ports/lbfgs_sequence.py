"""Fitting sine waves with two ``LSTMCell``s and ``optim.LBFGS``, written as PyTorch code (the
shape of PyTorch's ``time_sequence_prediction`` example).

Idioms: ``model.double()``, ``input.split(1, dim=1)`` and ``torch.cat`` over time steps,
``torch.zeros(..., dtype=torch.double)``, an ``optimizer.step(closure)`` whose closure calls
``zero_grad`` / ``backward`` and returns the loss, prediction under ``torch.no_grad`` and
``.detach().numpy()``. Parameters come from numpy; float64 throughout.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Sequence(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def main():
    rng = np.random.default_rng(0)
    x = np.arange(30) + rng.integers(-40, 40, (6, 1))
    data = torch.from_numpy(np.sin(x / 5.0))
    input, target = data[2:, :-1], data[2:, 1:]
    test_input, test_target = data[:2, :-1], data[:2, 1:]
    seq = Sequence()
    seq.double()
    with torch.no_grad():
        for p in seq.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape))))
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=8)
    losses = []
    for i in range(3):
        def closure():
            optimizer.zero_grad()
            loss = criterion(seq(input), target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
    with torch.no_grad():
        pred = seq(test_input, future=5)
        test_loss = criterion(pred[:, :-5], test_target).item()
        y = pred.detach().numpy()
    return {"losses": losses, "test_loss": test_loss, "shape": y.shape,
            "evals": optimizer.state[optimizer.param_groups[0]["params"][0]]["func_evals"]}
