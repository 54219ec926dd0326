"""A short training run for ``test_determinism.py``, meant to run in a fresh process.

    python tests/_determinism_run.py RUN_DIR EPOCHS [--resume]

Trains a small model that goes through every kernel family with a reduction in it (a
GEMM-path convolution and its weight/bias gradients, batch norm, max pooling, an LSTM,
layer norm), with dropout (RNG), a shuffled loader and Adam, on 256 of scikit-learn's
digits, with ``tinygrad_cs.train.fit`` (checkpoint every epoch in RUN_DIR). Prints one
line: the SHA-256 of every parameter's bytes.
"""
from __future__ import annotations

import hashlib
import sys

import numpy as np
from sklearn.datasets import load_digits

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data.dataset import TensorDataset
from tinygrad_cs.data.loader import DataLoader
from tinygrad_cs.train import fit


class Net(nn.Module):
    """(N, 1, 8, 8) -> conv, batch norm, ReLU, 2x2 max pool -> (N, 4 rows, 32) -> LSTM
    -> last step -> layer norm, dropout, linear -> (N, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.lstm = nn.LSTM(32, 32, batch_first=True)
        self.norm = nn.LayerNorm(32)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        h = self.pool(self.bn(self.conv(x)).relu())        # (N, 8, 4, 4)
        seq = h.permute(0, 2, 1, 3).reshape(x.shape[0], 4, 32)
        out, _ = self.lstm(seq)
        return self.fc(self.drop(self.norm(out[:, -1])))


def main(run_dir: str, epochs: int, resume: bool) -> None:
    digits = load_digits()
    x = (digits.data[:256] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = digits.target[:256].astype(np.int64)
    tg.manual_seed(0)
    model = Net()
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    if resume:  # the resumed process starts from another RNG state: it must not matter
        tg.manual_seed(12345)
    fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
        run_dir=run_dir, resume=resume, progress=False)
    digest = hashlib.sha256()
    for name, p in model.state_dict().items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(p.numpy()).tobytes())
    print(digest.hexdigest())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), "--resume" in sys.argv[3:])
