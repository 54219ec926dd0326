"""A variational autoencoder on scikit-learn's 8x8 digits, written as PyTorch code (the shape
of PyTorch's ``vae`` example).

Idioms: ``torch.utils.data.DataLoader(..., shuffle=True)``, ``x.view(-1, 64)``,
``torch.exp(0.5 * logvar)``, ``torch.randn_like``, ``torch.sigmoid``,
``F.binary_cross_entropy(..., reduction='sum')``, the KL term
``-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())``, ``optim.Adam``, ``loss.item()``,
decoding samples under ``torch.no_grad``. The noise and the shuffles come from each
library's own generator, so the two runs are compared by their loss, not step by step.
"""
import numpy as np
import torch
import torch.utils.data
from sklearn.datasets import load_digits
from torch import nn, optim
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 48)
        self.fc21 = nn.Linear(48, 4)
        self.fc22 = nn.Linear(48, 4)
        self.fc3 = nn.Linear(4, 48)
        self.fc4 = nn.Linear(48, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def main():
    torch.manual_seed(1)
    images = torch.from_numpy((load_digits().images / 16.0).astype(np.float32))
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images[:1500]), batch_size=64, shuffle=True)
    test_images = images[1500:]
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    epoch_losses = []
    for epoch in range(8):
        model.train()
        train_loss = 0
        for (data,) in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_losses.append(train_loss / len(train_loader.dataset))
    model.eval()
    with torch.no_grad():
        recon, mu, logvar = model(test_images)
        test_loss = loss_function(recon, test_images, mu, logvar).item() / len(test_images)
        sample = model.decode(torch.randn(16, 4)).cpu()
    return {"epoch_losses": epoch_losses, "test_loss": test_loss,
            "sample_shape": tuple(sample.view(16, 1, 8, 8).shape),
            "sample_range": (float(sample.min()), float(sample.max()))}
