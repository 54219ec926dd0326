"""DCGAN (Radford, Metz & Chintala 2016): a convolutional generator and discriminator.

The layouts are PyTorch's DCGAN example for 64x64 images, generalised to any size of the
form ``base * 2**k`` with ``base`` 4 (8, 16, 32, 64, ...) or an odd base >= 5 (28 = 7 * 4):

* ``Generator``: z (N, nz) -> ``ConvTranspose2d(nz, ngf * 2**(k-1), base)`` to base x base,
  then k-1 times ``ConvTranspose2d(C, C/2, 4, stride 2, padding 1) + BatchNorm2d + ReLU``
  (doubling the size), then ``ConvTranspose2d(ngf, nc, 4, 2, 1) + Tanh``: images
  (N, nc, S, S) in (-1, 1).
* ``Discriminator``: images (N, nc, S, S) -> ``Conv2d(nc, ndf, 4, 2, 1) + LeakyReLU(0.2)``,
  then k-1 times ``Conv2d(C, 2C, 4, 2, 1) + BatchNorm2d + LeakyReLU(0.2)`` (halving the
  size), then ``Conv2d(ndf * 2**(k-1), 1, base)``: one real-vs-fake logit per image, (N,).
  Train it with ``BCEWithLogitsLoss`` (the example's final Sigmoid is folded into the loss,
  which is the numerically stable form).

``n_extra_layers`` (as in the DCGAN code of the Wasserstein GAN paper) adds that many
size-preserving ``3x3, stride 1, padding 1`` convolution + BatchNorm + activation layers: in
the generator just before its last layer, in the discriminator just after its first. Small
images need them: at 8x8 (k = 1) the plain layouts have a single hidden layer each and no
BatchNorm in the discriminator, which then learns too slowly to teach the generator
(``benchmarks/proof_gan.py`` uses one extra layer for the 8x8 digits).

Convolutions have no bias (BatchNorm follows); initialisation as the paper: every conv weight
~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02), BatchNorm bias 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from .. import init
from ..activation import LeakyReLU, ReLU, Tanh
from ..containers import Sequential
from ..conv import Conv2d, ConvTranspose2d
from ..module import Module
from ..normalization import BatchNorm2d
from .registry import ZooEntry, register

__all__ = ["DCGAN", "Discriminator", "Generator", "dcgan", "dcgan_init_", "layout"]


def layout(image_size: int) -> tuple[int, int]:
    """``(base, k)`` with ``image_size = base * 2**k``, k >= 1 and base 4 or odd >= 5."""
    base, k = image_size, 0
    while base % 2 == 0 and base > 4:
        base, k = base // 2, k + 1
    if k == 0 or base < 4:
        raise ValueError(f"DCGAN: image_size {image_size} is not base * 2**k with k >= 1 and "
                         "base 4 or an odd number >= 5 (e.g. 8, 16, 28, 32, 64)")
    return base, k


def dcgan_init_(module: Module) -> Module:
    """The paper's initialisation, in place: conv weights ~ N(0, 0.02), BN weight ~ N(1, 0.02),
    BN bias = 0."""
    for m in module.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d)):
            init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, BatchNorm2d):
            init.normal_(m.weight, 1.0, 0.02)
            init.zeros_(m.bias)
    return module


class Generator(Module):
    """z (N, nz) or (N, nz, 1, 1) -> images (N, nc, image_size, image_size) in (-1, 1).

    ``Generator(nz=100, ngf=64, nc=1, image_size=64, n_extra_layers=0)``: PyTorch's DCGAN
    example's defaults except ``nc`` (1: the grey-scale data sets here); layers in the module
    docstring.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 1, image_size: int = 64,
                 n_extra_layers: int = 0) -> None:
        super().__init__()
        base, k = layout(image_size)
        self.nz, self.nc, self.image_size = nz, nc, image_size
        width = ngf * 2 ** (k - 1)
        layers: list[Module] = [ConvTranspose2d(nz, width, base, 1, 0, bias=False),
                                BatchNorm2d(width), ReLU()]
        for _ in range(k - 1):
            layers += [ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       BatchNorm2d(width // 2), ReLU()]
            width //= 2
        for _ in range(n_extra_layers):
            layers += [ConvTranspose2d(width, width, 3, 1, 1, bias=False), BatchNorm2d(width),
                       ReLU()]
        layers += [ConvTranspose2d(width, nc, 4, 2, 1, bias=False), Tanh()]
        self.main = Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: Tensor) -> Tensor:
        shape = tuple(z.shape)
        if shape[1:] not in ((self.nz,), (self.nz, 1, 1)):
            raise ValueError(f"Generator: expected noise of shape (N, {self.nz}) or "
                             f"(N, {self.nz}, 1, 1), got {shape}")
        return self.main(z.reshape(shape[0], self.nz, 1, 1))

    def noise(self, num: int, seed: int | None = None) -> Tensor:
        """``num`` noise vectors z ~ N(0, I), (num, nz), in the parameters' dtype; ``seed``
        seeds a private generator, ``None`` draws from tinygrad_cs' global one."""
        rng = np.random.default_rng(seed) if seed is not None else tg.random.generator()
        dtype = next(iter(self.parameters())).dtype
        return tg.tensor(rng.standard_normal((num, self.nz)).astype(dtype))


class Discriminator(Module):
    """images (N, nc, image_size, image_size) -> real-vs-fake logits (N,).

    ``Discriminator(nc=1, ndf=64, image_size=64, n_extra_layers=0)``; layers in the module
    docstring. The logit is ``log D / (1 - D)`` of the paper's probability D.
    """

    def __init__(self, nc: int = 1, ndf: int = 64, image_size: int = 64,
                 n_extra_layers: int = 0) -> None:
        super().__init__()
        base, k = layout(image_size)
        self.nc, self.image_size = nc, image_size
        layers: list[Module] = [Conv2d(nc, ndf, 4, 2, 1, bias=False), LeakyReLU(0.2)]
        width = ndf
        for _ in range(n_extra_layers):
            layers += [Conv2d(width, width, 3, 1, 1, bias=False), BatchNorm2d(width),
                       LeakyReLU(0.2)]
        for _ in range(k - 1):
            layers += [Conv2d(width, width * 2, 4, 2, 1, bias=False), BatchNorm2d(width * 2),
                       LeakyReLU(0.2)]
            width *= 2
        layers += [Conv2d(width, 1, base, 1, 0, bias=False)]
        self.main = Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        expected = (self.nc, self.image_size, self.image_size)
        if len(shape) != 4 or shape[1:] != expected:
            raise ValueError(f"Discriminator: expected images (N, {', '.join(map(str, expected))}"
                             f"), got {shape}")
        return self.main(x).reshape(shape[0])


class DCGAN(Module):
    """Both networks in one Module (one state_dict, one checkpoint).

    ``forward(z)`` is ``discriminator(generator(z))``: the logits (N,) the discriminator gives
    to generated images, i.e. what the generator's loss ``BCEWithLogits(., 1)`` is taken of.
    Train them with two optimizers, over ``generator.parameters()`` and
    ``discriminator.parameters()``.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 1,
                 image_size: int = 64, n_extra_layers: int = 0) -> None:
        super().__init__()
        self.generator = Generator(nz, ngf, nc, image_size, n_extra_layers)
        self.discriminator = Discriminator(nc, ndf, image_size, n_extra_layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.discriminator(self.generator(z))

    def sample(self, num: int, seed: int | None = None) -> Tensor:
        """``num`` generated images (num, nc, S, S), without a graph; BatchNorm uses running
        statistics in eval mode and the batch's own in training mode, as always."""
        with tg.no_grad():
            return self.generator(self.generator.noise(num, seed))


def dcgan(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 1, image_size: int = 64,
          n_extra_layers: int = 0, **kwargs: Any) -> DCGAN:
    """The zoo's ``"dcgan"``: a ``DCGAN`` pair. ``in_channels`` is accepted as ``nc``."""
    if "in_channels" in kwargs:
        nc = kwargs.pop("in_channels")
    if kwargs:
        raise TypeError(f"dcgan: unexpected arguments {sorted(kwargs)}")
    return DCGAN(nz, ngf, ndf, nc, image_size, n_extra_layers)


def _tiny() -> tuple[DCGAN, Tensor]:
    tg.manual_seed(0)
    model = DCGAN(nz=3, ngf=2, ndf=2, nc=1, image_size=8)
    return model, tg.randn(2, 3)


register(ZooEntry("dcgan", dcgan, task="generate", tiny=_tiny,
                  description="DCGAN generator + discriminator (Radford et al. 2016); "
                              "forward(z) = D(G(z)) logits"))
