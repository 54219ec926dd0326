"""ResNet / ResNeXt zoo: published parameter counts, shapes, gradients, PyTorch parity, digits.

Oracles: torchvision's parameter counts (resnet18/34/50, resnext50_32x4d), He et al.'s 0.27M
(ResNet-20) and 0.85M (ResNet-56), Xie et al.'s 34.4M (ResNeXt-29 8x64d); a numpy reference of
the option-A shortcut; central differences (float64 gradcheck); torchvision's BasicBlock and
Bottleneck rebuilt with ``torch.nn`` (torchvision is not needed); a known digits accuracy.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.resnet import (
    ResNet,
    resnet8,
    resnet18,
    resnet20,
    resnet34,
    resnet50,
    resnet56,
)
from tinygrad_cs.nn.models.resnet_blocks import BasicBlock, Bottleneck, PadShortcut
from tinygrad_cs.nn.models.resnext import cifar_resnext, resnext29_8x64d, resnext50_32x4d
from tinygrad_cs.testing import gradcheck


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- parameter counts and shapes

@pytest.fixture(scope="module")
def imagenet18() -> ResNet:
    tg.manual_seed(0)
    return resnet18()


def test_imagenet_layouts_have_torchvisions_parameter_counts(imagenet18):
    assert _count(imagenet18) == 11_689_512
    assert _count(resnet34()) == 21_797_672
    assert _count(resnet50()) == 25_557_032
    assert _count(resnext50_32x4d()) == 25_028_904


def test_resnet18_forward_shapes(imagenet18):
    x = tg.randn(2, 3, 64, 64)
    features = imagenet18.forward_features(x)
    # stem: stride 4; stages: strides 4, 8, 16, 32 with 64 * 2^i channels
    assert [f.shape for f in features] == [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4),
                                           (2, 512, 2, 2)]
    assert imagenet18(x).shape == (2, 1000)


def test_bottleneck_and_grouped_layouts_forward_shapes():
    x = tg.randn(2, 1, 32, 32)
    r50 = resnet50(num_classes=7, in_channels=1, base_channels=8)
    assert [f.shape[1:] for f in r50.forward_features(x)] == [(32, 8, 8), (64, 4, 4),
                                                              (128, 2, 2), (256, 1, 1)]
    assert r50(x).shape == (2, 7)
    # DeepLab-style: stages 3 and 4 keep stride 8, their 3x3 convs dilate by 2 and 4 instead
    dilated = resnet50(in_channels=1, base_channels=8, replace_stride_with_dilation=[False,
                                                                                    True, True])
    assert [f.shape[2:] for f in dilated.forward_features(x)] == [(8, 8), (4, 4), (4, 4), (4, 4)]
    assert dilated.layer4[1].conv2.dilation == (4, 4)
    rx = resnext50_32x4d(num_classes=5, in_channels=1, base_channels=32)
    assert rx.layer1[0].conv2.groups == 32 and rx.layer1[0].conv2.weight.shape == (64, 2, 3, 3)
    assert rx(x).shape == (2, 5)


def test_cifar_parameter_counts_match_the_papers():
    r20 = resnet20()
    assert _count(r20) == 269_722 and round(_count(r20) / 1e6, 2) == 0.27   # option A
    assert _count(resnet20(shortcut="B")) == 272_474
    assert round(_count(resnet56()) / 1e6, 2) == 0.85
    # option A has no shortcut parameters: 3x3 convs c_in * c_out * 9 (the stem 3 -> 16, the
    # first convs of stages 2 and 3 16 -> 32 and 32 -> 64, all others square), BN 2 per
    # channel, fc 64 * 10 + 10
    n = 1
    convs = 3 * 16 * 9 + (2 * n * (16**2 + 32**2 + 64**2) - 16 * 32 - 32 * 64) * 9
    bns = 2 * (16 + 2 * n * (16 + 32 + 64))
    assert _count(resnet8()) == convs + bns + 64 * 10 + 10 == 75_290


def test_resnext29_8x64d_matches_the_papers_count():
    assert round(_count(resnext29_8x64d()) / 1e6, 1) == 34.4


@pytest.mark.parametrize("shortcut", ["A", "B"])
@pytest.mark.parametrize("size", [32, 28, 8])
def test_cifar_resnets_on_small_images(size, shortcut):
    model = resnet20(num_classes=10, in_channels=1, shortcut=shortcut, base_channels=4)
    x = tg.randn(2, 1, size, size)
    out = model.layer3(model.layer2(model.layer1(model.bn1(model.conv1(x)))))
    stride4 = -(-size // 4)  # two stride-2 stages, rounding up
    assert out.shape == (2, 16, stride4, stride4)
    assert model(x).shape == (2, 10)


def test_cifar_resnext_on_small_images():
    model = cifar_resnext(11, 4, 16, num_classes=3, in_channels=1, base_channels=8)
    assert model.layer1[0].conv2.weight.shape == (8, 2, 3, 3)     # width = 8 * 16/64 * 4
    assert model(tg.randn(2, 1, 28, 28)).shape == (2, 3)
    assert model(tg.randn(2, 1, 8, 8)).shape == (2, 3)


@settings(max_examples=15, deadline=None)
@given(c=st.integers(1, 6), extra=st.integers(0, 5), stride=st.integers(1, 3),
       h=st.integers(1, 9), w=st.integers(1, 9))
def test_option_a_shortcut_matches_numpy(c, extra, stride, h, w):
    x = np.random.default_rng(0).standard_normal((2, c, h, w))
    got = PadShortcut(c, c + extra, stride)(tg.tensor(x)).numpy()
    sub = x[:, :, ::stride, ::stride]
    want = np.zeros((2, c + extra) + sub.shape[2:])
    want[:, extra // 2:extra // 2 + c] = sub      # extra // 2 zero channels in front
    np.testing.assert_array_equal(got, want)


@settings(max_examples=10, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), shortcut=st.sampled_from("AB"))
def test_cifar_resnet_output_sizes_property(h, w, shortcut):
    model = resnet8(num_classes=4, in_channels=1, shortcut=shortcut, base_channels=2)
    x = tg.randn(2, 1, h, w)
    stage3 = model.layer3(model.layer2(model.layer1(model.bn1(model.conv1(x)))))
    def half(n: int) -> int:  # a 3x3 conv, padding 1, stride 2: ceil(n / 2)
        return (n + 1) // 2

    assert stage3.shape == (2, 8, half(half(h)), half(half(w)))
    assert model(x).shape == (2, 4)


def test_zero_init_residual_blocks_start_as_identity():
    model = resnet20(base_channels=4, zero_init_residual=True)
    assert all(float(abs(b.bn2.weight).sum().item()) == 0 for layer in
               (model.layer1, model.layer2, model.layer3) for b in layer)
    x = tg.randn(2, 4, 4, 4)
    # a block without downsample: relu(0 + x)
    np.testing.assert_array_equal(model.layer1[1](x).numpy(), x.relu().numpy())
    bottleneck = resnet50(base_channels=2, zero_init_residual=True).layer1[1]
    x = tg.randn(2, 8, 3, 3)
    np.testing.assert_array_equal(bottleneck(x).numpy(), x.relu().numpy())


def test_bad_configurations_name_the_problem():
    with pytest.raises(ValueError, match="shortcut must be 'A' or 'B'"):
        resnet20(shortcut="C")
    with pytest.raises(ValueError, match="groups=1 and base_width=64"):
        BasicBlock(4, 4, groups=2)
    with pytest.raises(ValueError, match=r"residual branch gives \(1, 8, 2, 2\).*\(1, 4, 4, 4\)"):
        BasicBlock(4, 8, stride=2)(tg.randn(1, 4, 4, 4))
    with pytest.raises(ValueError, match="9n \\+ 2"):
        cifar_resnext(depth=21)


def test_registry_entries_build_tiny_models():
    names = {"resnet8", "resnet20", "resnet56", "resnet18", "resnet34", "resnet50",
             "resnext50_32x4d", "resnext29_8x64d", "resnext_cifar"}
    for name in names:
        entry = registry.get(name)
        assert entry.task == "classify"
        model, x = entry.tiny()
        assert model(x).shape == (x.shape[0], 3), name


# ------------------------------------------------------------------ float64 gradient checks

def _gradcheck_model(model: nn.Module, x: tg.Tensor, params: list[str]) -> None:
    """float64 central differences, two ways, cheap enough for a test:

    * ``tg.testing.gradcheck`` element by element for a sample of parameters of each kind;
    * along random directions ``v`` of the input and of *all* parameters at once (PyTorch's
      gradcheck ``fast_mode`` idea): ``(L(theta + eps v) - L(theta - eps v)) / 2 eps`` must
      equal ``<grad L, v>``, which a wrong gradient anywhere fails with probability 1.
    """
    model.double()
    x = x.double().requires_grad_()
    named = dict(model.named_parameters())
    rng = np.random.default_rng(1)
    weights = tg.tensor(rng.standard_normal((x.shape[0], 3)))

    def loss(*_):
        return (model(x) * weights).sum()

    assert gradcheck(loss, tuple(named[p] for p in params), atol=1e-6, rtol=1e-4)
    leaves = [x, *named.values()]
    model.zero_grad()
    x.grad = None
    loss().backward()
    grads = [leaf.grad.numpy().copy() for leaf in leaves]
    eps = 1e-7  # BN over few values is very curved: keep the O(eps^2) error small
    for _ in range(2):
        directions = [rng.standard_normal(leaf.shape) for leaf in leaves]
        values = []
        for sign in (1, -1):
            for leaf, v in zip(leaves, directions):
                leaf.data += sign * eps * v
            with tg.no_grad():
                values.append(float(loss().item()))
            for leaf, v in zip(leaves, directions):
                leaf.data -= sign * eps * v
        numeric = (values[0] - values[1]) / (2 * eps)
        analytic = sum(float((g * v).sum()) for g, v in zip(grads, directions))
        assert abs(analytic - numeric) <= 1e-6 + 1e-5 * abs(numeric), (analytic, numeric)


def test_gradcheck_cifar_resnet_option_a_and_b():
    tg.manual_seed(0)
    for shortcut, extra in (("A", []), ("B", ["layer2.0.downsample.0.weight"])):
        model = resnet8(num_classes=3, in_channels=1, base_channels=2, shortcut=shortcut)
        _gradcheck_model(model, tg.randn(2, 1, 8, 8),
                         ["conv1.weight", "layer1.0.bn1.weight", "layer2.0.bn1.bias",
                          "layer3.0.bn2.bias", "fc.bias", *extra])


def test_gradcheck_imagenet_basic_and_bottleneck():
    tg.manual_seed(0)
    for block in (BasicBlock, Bottleneck):
        model = ResNet(block, [1, 1, 1, 1], 3, in_channels=1, base_channels=1)
        last = "bn3" if block is Bottleneck else "bn2"
        _gradcheck_model(model, tg.randn(2, 1, 64, 64),
                         ["bn1.weight", "layer2.0.conv1.weight", "layer2.0.downsample.1.weight",
                          f"layer4.0.{last}.weight", "fc.bias"])


def test_gradcheck_resnext_grouped_bottleneck():
    tg.manual_seed(0)
    model = cifar_resnext(11, 2, 64, num_classes=3, in_channels=1, base_channels=1)
    assert model.layer2[0].conv2.groups == 2
    _gradcheck_model(model, tg.randn(2, 1, 8, 8),
                     ["layer1.0.conv2.weight", "layer2.0.bn2.weight", "layer3.0.bn3.bias",
                      "fc.bias"])


# ------------------------------------------------- PyTorch parity (torchvision's blocks by hand)

def _torch_blocks():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def conv3x3(i, o, stride=1, groups=1):
        return tnn.Conv2d(i, o, 3, stride, 1, groups=groups, bias=False)

    class TorchBasicBlock(tnn.Module):      # torchvision.models.resnet.BasicBlock
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1, self.bn1 = conv3x3(inplanes, planes, stride), tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU()
            self.conv2, self.bn2 = conv3x3(planes, planes), tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class TorchBottleneck(tnn.Module):      # torchvision.models.resnet.Bottleneck (v1.5)
        def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1,
                     base_width=64):
            super().__init__()
            width = int(planes * (base_width / 64.0)) * groups
            self.conv1, self.bn1 = tnn.Conv2d(inplanes, width, 1, bias=False), \
                tnn.BatchNorm2d(width)
            self.conv2, self.bn2 = conv3x3(width, width, stride, groups), tnn.BatchNorm2d(width)
            self.conv3 = tnn.Conv2d(width, planes * 4, 1, bias=False)
            self.bn3 = tnn.BatchNorm2d(planes * 4)
            self.relu = tnn.ReLU()
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)) + identity)

    def downsample(i, o, stride):
        return tnn.Sequential(tnn.Conv2d(i, o, 1, stride, bias=False), tnn.BatchNorm2d(o))

    return torch, TorchBasicBlock, TorchBottleneck, downsample


def _check_parity(torch, ours: nn.Module, theirs, shape) -> None:
    theirs.double()
    with torch.no_grad():                   # non-trivial BN affine parameters
        for name, p in theirs.named_parameters():
            if ".bn" in f".{name}" or "downsample.1" in name:
                p.add_(0.5 * torch.randn(p.shape, dtype=torch.float64))
    ours.double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape)
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = np.random.default_rng(1).standard_normal(yo.shape)
    yo.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name], rtol=1e-8, atol=1e-10,
                                   err_msg=name)
    ours.eval()
    theirs.eval()                           # running statistics after one training step
    with torch.no_grad():
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-9, atol=1e-10)


def test_basic_block_matches_torchvision():
    torch, TorchBasic, _, down = _torch_blocks()
    torch.manual_seed(0)
    theirs = TorchBasic(4, 8, 2, down(4, 8, 2))
    ours = BasicBlock(4, 8, 2, nn.Sequential(nn.Conv2d(4, 8, 1, 2, bias=False),
                                             nn.BatchNorm2d(8)))
    _check_parity(torch, ours, theirs, (3, 4, 7, 7))


@pytest.mark.parametrize("groups, base_width", [(1, 64), (4, 16)])
def test_bottleneck_matches_torchvision(groups, base_width):
    torch, _, TorchBottleneck, down = _torch_blocks()
    torch.manual_seed(0)
    theirs = TorchBottleneck(8, 4, 2, down(8, 16, 2), groups, base_width)
    ours = Bottleneck(8, 4, 2, nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False),
                                             nn.BatchNorm2d(16)), groups, base_width)
    assert ours.conv2.weight.shape == theirs.conv2.weight.shape
    _check_parity(torch, ours, theirs, (2, 8, 6, 6))
