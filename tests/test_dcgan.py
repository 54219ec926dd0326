"""DCGAN generator and discriminator.

Oracles: the parameter counts of PyTorch's DCGAN example (64x64 RGB, nz=100, ngf=ndf=64:
3,576,704 and 2,765,568), the same layers built in PyTorch with copied weights (when torch
is installed), the paper's initialisation statistics and float64 central differences. That a
DCGAN learns the digits (a separately trained classifier judging its samples) is tested with
the training loop, in ``tests/test_train_gan.py``; ``benchmarks/proof_gan.py`` is the long
version.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.dcgan import DCGAN, Discriminator, Generator, dcgan, layout
from tinygrad_cs.testing import gradcheck


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
def test_shapes_for_every_supported_image_size(size):
    tg.manual_seed(0)
    gan = DCGAN(nz=6, ngf=4, ndf=4, nc=2, image_size=size)
    images = gan.generator(tg.randn(3, 6))
    assert images.shape == (3, 2, size, size)
    assert np.abs(images.numpy()).max() < 1  # Tanh
    assert gan.discriminator(images).shape == (3,)
    assert gan(tg.randn(3, 6, 1, 1)).shape == (3,)


def test_layout_and_bad_sizes():
    assert layout(64) == (4, 4) and layout(28) == (7, 2) and layout(8) == (4, 1)
    for bad in (4, 7, 12, 6):
        with pytest.raises(ValueError, match=f"image_size {bad} "):
            layout(bad)
    with pytest.raises(ValueError, match=r"Generator: expected noise of shape \(N, 5\)"):
        Generator(nz=5, ngf=2, image_size=8)(tg.randn(2, 4))
    with pytest.raises(ValueError, match=r"Discriminator: expected images \(N, 1, 8, 8\)"):
        Discriminator(ndf=2, image_size=8)(tg.randn(2, 1, 16, 16))


def test_parameter_counts_match_pytorchs_dcgan_example():
    assert _count(Generator(nz=100, ngf=64, nc=3, image_size=64)) == 3_576_704
    assert _count(Discriminator(nc=3, ndf=64, image_size=64)) == 2_765_568


def test_dcgan_initialisation():
    tg.manual_seed(0)
    g = Generator(nz=100, ngf=64, nc=3, image_size=32)
    conv = g.main[0].weight.numpy()  # (100, 256, 4, 4): 409,600 draws
    assert abs(conv.mean()) < 1e-3 and conv.std() == pytest.approx(0.02, rel=0.01)
    bn = np.concatenate([m.weight.numpy() for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn.mean() == pytest.approx(1.0, abs=0.01) and bn.std() == pytest.approx(0.02, rel=0.2)
    assert all(np.all(m.bias.numpy() == 0) for m in g.modules()
               if isinstance(m, nn.BatchNorm2d))


def test_matches_the_same_layers_in_pytorch():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    tg.manual_seed(0)
    gan = DCGAN(nz=5, ngf=4, ndf=4, nc=1, image_size=16, n_extra_layers=1).double()
    theirs_g = tn.Sequential(
        tn.ConvTranspose2d(5, 8, 4, 1, 0, bias=False), tn.BatchNorm2d(8), tn.ReLU(),
        tn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False), tn.BatchNorm2d(4), tn.ReLU(),
        tn.ConvTranspose2d(4, 4, 3, 1, 1, bias=False), tn.BatchNorm2d(4), tn.ReLU(),
        tn.ConvTranspose2d(4, 1, 4, 2, 1, bias=False), tn.Tanh()).double()
    theirs_d = tn.Sequential(
        tn.Conv2d(1, 4, 4, 2, 1, bias=False), tn.LeakyReLU(0.2),
        tn.Conv2d(4, 4, 3, 1, 1, bias=False), tn.BatchNorm2d(4), tn.LeakyReLU(0.2),
        tn.Conv2d(4, 8, 4, 2, 1, bias=False), tn.BatchNorm2d(8), tn.LeakyReLU(0.2),
        tn.Conv2d(8, 1, 4, 1, 0, bias=False)).double()
    for ours, theirs in ((gan.generator.main, theirs_g), (gan.discriminator.main, theirs_d)):
        state = {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
        theirs.load_state_dict(state)
    z = np.random.default_rng(0).standard_normal((4, 5))
    images = gan.generator(tg.tensor(z))
    expected = theirs_g(torch.from_numpy(z).reshape(4, 5, 1, 1))
    np.testing.assert_allclose(images.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    logits = gan.discriminator(images)
    np.testing.assert_allclose(logits.numpy(), theirs_d(expected).reshape(4).detach().numpy(),
                               rtol=1e-9, atol=1e-12)


def test_float64_gradcheck_of_the_tiny_zoo_model():
    """D(G(z)): every parameter of both networks and the noise (BatchNorm in training mode)."""
    entry = registry.get("dcgan")
    assert entry.task == "generate"
    model, z = entry.tiny()
    model = model.double()
    z = z.double().requires_grad_()
    assert gradcheck(lambda z, *_: model(z), (z, *model.parameters())).ok


def test_float64_gradcheck_of_the_discriminator_with_batch_norm():
    tg.manual_seed(1)
    d = Discriminator(nc=1, ndf=2, image_size=8, n_extra_layers=1).double()
    x = tg.tensor(np.random.default_rng(1).standard_normal((3, 1, 8, 8)), requires_grad=True)
    assert gradcheck(lambda x, *_: d(x), (x, *d.parameters())).ok


def test_builder_arguments():
    assert dcgan(in_channels=3, image_size=16, ngf=8, ndf=8).generator.nc == 3
    with pytest.raises(TypeError, match="unexpected arguments"):
        dcgan(num_classes=10)


def test_noise_is_seeded_and_in_the_parameters_dtype():
    g = Generator(nz=7, ngf=2, image_size=8).double()
    a, b = g.noise(4, seed=3), g.noise(4, seed=3)
    assert a.shape == (4, 7) and a.dtype == tg.float64
    assert np.array_equal(a.numpy(), b.numpy())
    assert np.array_equal(a.numpy(), np.random.default_rng(3).standard_normal((4, 7)))
