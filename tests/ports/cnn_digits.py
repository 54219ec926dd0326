"""A CNN classifier on scikit-learn's 8x8 digits, written as PyTorch code.

Idioms: ``torch.device`` / ``.to(device)``, ``TensorDataset`` and ``DataLoader`` with two
workers and a ``batch_sampler``, random samplers with a seeded ``torch.Generator``,
``model.apply`` with ``m.weight.data.copy_`` / ``.fill_`` initialisation, ``optim.SGD`` with
momentum and ``StepLR``, ``torch.max(outputs, 1)``, ``classes[labels[j]]``, ``f"{loss:.4f}"``,
and a ``torch.save`` / ``torch.load`` round trip of the ``state_dict``. The weights come from
numpy and the batches in a fixed order, so PyTorch and the port follow the same trajectory.
"""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import (BatchSampler, DataLoader, SequentialSampler, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def numpy_init(seed):
    rng = np.random.default_rng(seed)

    def init(m):
        classname = m.__class__.__name__
        if classname in ("Conv2d", "Linear"):
            w = rng.normal(0.0, 0.2, tuple(m.weight.shape)).astype(np.float32)
            m.weight.data.copy_(torch.from_numpy(w))
            m.bias.data.fill_(0)
        elif classname.find("BatchNorm") != -1:
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
    return init


def main():
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images[:, None] / 16.0, dtype=torch.float32)
    y = torch.from_numpy(digits.target).long()
    train, test = TensorDataset(x[:1400], y[:1400]), TensorDataset(x[1400:], y[1400:])
    loader = DataLoader(train, num_workers=2,
                        batch_sampler=BatchSampler(SequentialSampler(train), 50, False))

    model = Net().to(device)
    model.apply(numpy_init(0))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    losses = []
    for epoch in range(2):
        model.train()
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()

    model.eval()
    correct = total = 0
    with torch.no_grad():
        for data, target in DataLoader(test, batch_size=100):
            _, predicted = torch.max(model(data), 1)
            total += target.size(0)
            correct += (predicted == target).sum().item()
    classes = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    names = " ".join(f"{classes[target[j]]:5s}" for j in range(4))

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = Net()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    clone.eval()
    with torch.no_grad():
        reloaded = bool(torch.equal(clone(x[:5]), model(x[:5])))

    generator = torch.Generator().manual_seed(1)
    evens = list(range(0, 1400, 2))
    subset = sorted(SubsetRandomSampler(evens, generator=generator))
    weights = torch.tensor([0.0, 1.0, 3.0])
    drawn = list(WeightedRandomSampler(weights, 4000, replacement=True, generator=generator))
    share_of_2 = drawn.count(2) / len(drawn)
    return {"losses": losses, "accuracy": correct / total, "names": names,
            "formatted": f"{loss:.4f}", "reloaded": reloaded, "subset": subset == evens,
            "never_0": 0 not in drawn, "share_of_2": share_of_2}
