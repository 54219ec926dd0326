"""The classic CNNs of the zoo: VGG, GoogLeNet (Inception), MobileNet v1.

Oracles: torchvision's published parameter counts, the MobileNet paper's counts per width
multiplier, closed-form block parameter counts, PyTorch with copied weights (Inception block,
depthwise separable block; skipped without torch), and float64 gradient checks of the zoo's
tiny configurations. Big models are only built (no forward at 224x224).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn import init
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.googlenet import GoogLeNet, Inception, googlenet, googlenet_small
from tinygrad_cs.nn.models.mobilenet import DepthwiseSeparable, mobilenet_v1, mobilenet_v1_small
from tinygrad_cs.nn.models.vgg import VGG, vgg11, vgg16, vgg16_bn, vgg_small


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


# -- published parameter counts (1000 classes) ------------------------------------------------
@pytest.mark.parametrize("build, expected", [(vgg11, 132_863_336), (vgg16, 138_357_544),
                                             (vgg16_bn, 138_365_992)])
def test_vgg_parameter_counts_match_torchvision(build, expected, monkeypatch):
    # A count does not depend on the values: skip filling 0.13G weights with random numbers
    # (seconds of RNG and page faults), Linear's and Conv2d's default init included.
    monkeypatch.setattr(init, "kaiming_uniform_", lambda t, *a, **k: t)
    monkeypatch.setattr(init, "uniform_", lambda t, *a, **k: t)
    assert _count(build(init_weights=False)) == expected


def test_googlenet_parameter_counts_match_torchvision():
    assert _count(googlenet(init_weights=False)) == 6_624_904
    assert _count(googlenet(aux_logits=True, init_weights=False)) == 13_004_888


@pytest.mark.parametrize("alpha, millions", [(1.0, 4.2), (0.75, 2.6), (0.5, 1.3), (0.25, 0.5)])
def test_mobilenet_parameter_counts(alpha, millions):
    """The paper's Table 6 (millions, 1000 classes); alpha 1 exactly: conv without bias, BN
    gamma and beta, Linear(1024, 1000)."""
    n = _count(mobilenet_v1(width_mult=alpha))
    assert round(n / 1e6, 1) == millions
    if alpha == 1.0:
        assert n == 4_231_976


def test_depthwise_separable_block_count_and_cost():
    c_in, c_out = 32, 64
    block = DepthwiseSeparable(c_in, c_out, stride=2)
    # 9 c_in (depthwise) + c_in c_out (pointwise) + 2 (c_in + c_out) (BN gamma, beta)
    assert _count(block) == 9 * c_in + c_in * c_out + 2 * (c_in + c_out)
    assert block[0].groups == c_in and block[0].weight.shape == (c_in, 1, 3, 3)
    assert block(tg.randn(2, c_in, 8, 8)).shape == (2, c_out, 4, 4)


# -- forward shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [8, 28, 32])
def test_small_variants_forward_shapes(size):
    x = tg.randn(2, 1, size, size)
    for build in (vgg_small, googlenet_small, mobilenet_v1_small):
        model = build(num_classes=10, in_channels=1, **({"width_mult": 0.25}
                                                         if build is googlenet_small else {}))
        assert model(x).shape == (2, 10), build.__name__


def test_vgg_full_configuration_on_32x32_with_a_small_classifier():
    model = VGG("A", in_channels=3, num_classes=10, avgpool_size=1, classifier_width=None)
    assert model(tg.randn(1, 3, 32, 32)).shape == (1, 10)
    assert len(model.features) == 8 + 8 + 5          # 8 convs, 8 ReLUs, 5 max-pools
    with pytest.raises(ValueError, match=r"VGG: expected input .* H, W >= 32.*\(1, 3, 16, 16\)"):
        model(tg.randn(1, 3, 16, 16))
    with pytest.raises(KeyError, match="unknown configuration 'Z'"):
        VGG("Z")


def test_googlenet_aux_logits_in_training_only():
    model = googlenet(num_classes=5, aux_logits=True, width_mult=0.125)
    out = model(tg.randn(2, 3, 64, 64))
    assert [o.shape for o in out] == [(2, 5), (2, 5), (2, 5)]
    assert model.eval()(tg.randn(2, 3, 64, 64)).shape == (2, 5)
    with pytest.raises(ValueError, match=r"GoogLeNet: expected input \(N, 3, H, W\)"):
        model(tg.randn(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\) is too small.*googlenet_small"):
        model(tg.randn(2, 3, 8, 8))
    with pytest.raises(ValueError, match="aux_logits needs blocks '4a' and '4d'"):
        GoogLeNet(aux_logits=True, blocks={"3a": (1,) * 6})


def test_inception_concatenates_the_four_branches():
    block = Inception(8, 2, 3, 4, 1, 5, 6)
    assert block(tg.randn(2, 8, 5, 5)).shape == (2, 2 + 4 + 5 + 6, 5, 5)
    # torchvision's 3x3 "5x5" branch, and the paper's 5x5 on request
    assert block.branch3[1].conv.weight.shape == (5, 1, 3, 3)
    paper = Inception(8, 2, 3, 4, 1, 5, 6, five_by_five=True)
    assert paper.branch3[1].conv.weight.shape == (5, 1, 5, 5)
    assert paper(tg.randn(2, 8, 5, 5)).shape == (2, 17, 5, 5)


# -- PyTorch parity with copied weights -------------------------------------------------------
def _copy_to_torch(ours, theirs, torch):
    state = ours.state_dict()
    theirs.load_state_dict({k: torch.tensor(np.array(state[k].numpy()))
                            for k in theirs.state_dict()})


def _compare(ours, theirs, x: np.ndarray, torch):
    """Train-mode forward and the input gradient of sum(out * r) in float64."""
    r = np.random.default_rng(1).standard_normal(ours(tg.tensor(x)).shape)
    xt = tg.tensor(x, requires_grad=True)
    out = ours(xt)
    (out * tg.tensor(r)).sum().backward()
    xr = torch.tensor(x, requires_grad=True)
    ref = theirs(xr)
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_inception_block_matches_pytorch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class BasicConv2d(tnn.Module):
        def __init__(self, i, o, **kw):
            super().__init__()
            self.conv = tnn.Conv2d(i, o, bias=False, **kw)
            self.bn = tnn.BatchNorm2d(o, eps=0.001)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)))

    class TorchInception(tnn.Module):          # torchvision's Inception, written out
        def __init__(self, i, c1, c3r, c3, c5r, c5, pp):
            super().__init__()
            self.branch1 = BasicConv2d(i, c1, kernel_size=1)
            self.branch2 = tnn.Sequential(BasicConv2d(i, c3r, kernel_size=1),
                                          BasicConv2d(c3r, c3, kernel_size=3, padding=1))
            self.branch3 = tnn.Sequential(BasicConv2d(i, c5r, kernel_size=1),
                                          BasicConv2d(c5r, c5, kernel_size=3, padding=1))
            self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                          BasicConv2d(i, pp, kernel_size=1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                              self.branch4(x)], 1)

    tg.manual_seed(0)
    ours = Inception(6, 4, 3, 5, 2, 3, 4).double()
    for p in ours.parameters():           # BN gamma/beta away from 1/0: a stronger check
        p.numpy()[...] = np.random.default_rng(p.numel()).uniform(0.5, 1.5, p.shape)
    theirs = TorchInception(6, 4, 3, 5, 2, 3, 4).double()
    _copy_to_torch(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal((3, 6, 7, 7))
    _compare(ours, theirs, x, torch)


def test_depthwise_separable_block_matches_pytorch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    c_in, c_out = 6, 10
    theirs = tnn.Sequential(
        tnn.Conv2d(c_in, c_in, 3, stride=2, padding=1, groups=c_in, bias=False),
        tnn.BatchNorm2d(c_in), tnn.ReLU(),
        tnn.Conv2d(c_in, c_out, 1, bias=False), tnn.BatchNorm2d(c_out), tnn.ReLU()).double()
    tg.manual_seed(0)
    ours = DepthwiseSeparable(c_in, c_out, stride=2).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_to_torch(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal((4, c_in, 9, 9))
    _compare(ours, theirs, x, torch)


# -- the zoo entries: a float64 gradient check of each tiny configuration ---------------------
# vgg13, vgg16 and vgg19 (and their _bn) share their first two stages, so their tiny models,
# two shrunk stages, are one model: vgg16 and vgg16_bn stand for all three
NAMES = ["vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg_small", "googlenet_small",
         "mobilenet_v1", "mobilenet_v1_small"]


def test_vgg_tiny_models_of_b_d_e_coincide():
    for bn in ("", "_bn"):
        cfgs = [registry.get(f"vgg{d}{bn}").tiny()[0].cfg for d in (13, 16, 19)]
        assert cfgs[0] == cfgs[1] == cfgs[2] == [2, 2, "M", 4, 4, "M"]


@pytest.mark.parametrize("name", NAMES)
def test_zoo_tiny_gradcheck(name):
    tg.manual_seed(0)
    model, x = registry.get(name).tiny()
    model.double()
    x = x.double()
    assert model(x).shape == (x.shape[0], 3)
    params = tuple(model.parameters())
    assert 0 < sum(p.numel() for p in params) <= 400
    assert tg.testing.gradcheck(lambda *_: model(x), params)


def test_zoo_tiny_gradcheck_googlenet_stem():
    """The full GoogLeNet's tiny model: its Inception blocks are those of googlenet_small
    (checked above), so only its own parts, the 7x7 stem and the classifier, are checked."""
    tg.manual_seed(0)
    model, x = registry.get("googlenet").tiny()
    model.double()
    x = x.double()
    assert model(x).shape == (2, 3)
    own = tuple(p for n, p in model.named_parameters() if not n.startswith("inception"))
    assert tg.testing.gradcheck(lambda *_: model(x), own)
