"""FPN: torchvision's FeaturePyramidNetwork semantics over a ResNet trunk.

Oracles: a numpy reference of the top-down pathway (1x1 laterals, nearest upsampling to the
lateral's exact size with PyTorch's ``floor(dst * in / out)`` rule, 3x3 output convs, the
max-pooled extra level); torchvision's FPN rebuilt with ``torch.nn`` when torch is installed;
the closed-form parameter count; central differences in float64.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.fpn import FeaturePyramidNetwork, LastLevelMaxPool, ResNetFPN, resnet_fpn
from tinygrad_cs.nn.models.resnet import ResNet, resnet18
from tinygrad_cs.nn.models.resnet_blocks import BasicBlock
from tinygrad_cs.testing import gradcheck

CHANNELS = [3, 5, 6, 4]
SIZES = [(13, 11), (7, 6), (4, 3), (2, 2)]   # odd, non-integer ratios between levels


def _features(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.standard_normal((2, c, h, w)) for c, (h, w) in zip(CHANNELS, SIZES)]


def _nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    rows = np.minimum(np.floor(np.arange(size[0]) * x.shape[2] / size[0]).astype(int),
                      x.shape[2] - 1)
    cols = np.minimum(np.floor(np.arange(size[1]) * x.shape[3] / size[1]).astype(int),
                      x.shape[3] - 1)
    return x[:, :, rows][:, :, :, cols]


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    h, wd = x.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], h, wd))
    for i in range(k):
        for j in range(k):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return out + b[None, :, None, None]


def _fpn_numpy(fpn: FeaturePyramidNetwork, features: list[np.ndarray]) -> list[np.ndarray]:
    inner = [(b[0].weight.numpy(), b[0].bias.numpy()) for b in fpn.inner_blocks]
    layer = [(b[0].weight.numpy(), b[0].bias.numpy()) for b in fpn.layer_blocks]
    last = _conv(features[-1], *inner[-1])
    results = [_conv(last, *layer[-1])]
    for i in range(len(features) - 2, -1, -1):
        lateral = _conv(features[i], *inner[i])
        last = lateral + _nearest(last, lateral.shape[2:])
        results.insert(0, _conv(last, *layer[i]))
    results.append(results[-1][:, :, ::2, ::2])   # max_pool2d(kernel 1, stride 2)
    return results


def test_fpn_matches_numpy_top_down_pathway():
    tg.manual_seed(0)
    fpn = FeaturePyramidNetwork(CHANNELS, 8, extra_blocks=LastLevelMaxPool()).double()
    for m in fpn.modules():       # torchvision inits biases to 0: make them matter here
        if getattr(m, "bias", None) is not None:
            m.bias.numpy()[...] = np.random.default_rng(3).standard_normal(m.bias.shape)
    features = _features(np.random.default_rng(0))
    out = fpn(OrderedDict((f"c{i + 2}", tg.tensor(f)) for i, f in enumerate(features)))
    assert list(out) == ["c2", "c3", "c4", "c5", "pool"]
    assert [v.shape for v in out.values()] == [(2, 8, h, w) for h, w in SIZES] + [(2, 8, 1, 1)]
    for got, want in zip(out.values(), _fpn_numpy(fpn, features)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=4),
       channels=st.integers(1, 3))
def test_fpn_matches_numpy_for_any_level_sizes(sizes, channels):
    # torchvision upsamples to the lateral's size whatever the ratio (even downsampling)
    rng = np.random.default_rng(len(sizes))
    features = [rng.standard_normal((1, channels, h, w)) for h, w in sizes]
    fpn = FeaturePyramidNetwork([channels] * len(sizes), 2, LastLevelMaxPool()).double()
    out = fpn([tg.tensor(f) for f in features])
    for got, want in zip(out.values(), _fpn_numpy(fpn, features)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def test_fpn_with_norm_layer_drops_the_conv_bias():
    fpn = FeaturePyramidNetwork([4, 8], 6, norm_layer=nn.BatchNorm2d)
    assert list(fpn.state_dict())[:4] == ["inner_blocks.0.0.weight", "inner_blocks.0.1.weight",
                                          "inner_blocks.0.1.bias",
                                          "inner_blocks.0.1.running_mean"]
    assert fpn.inner_blocks[0][0].bias is None and fpn.layer_blocks[1][0].bias is None
    out = fpn([tg.randn(2, 4, 6, 6), tg.randn(2, 8, 3, 3)])
    # BN in training mode: every output channel has zero mean over (N, H, W)
    np.testing.assert_allclose(out["0"].numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_fpn_list_input_and_no_extra_block():
    fpn = FeaturePyramidNetwork(CHANNELS, 4)
    out = fpn([tg.tensor(f.astype(np.float32)) for f in _features(np.random.default_rng(0))])
    assert list(out) == ["0", "1", "2", "3"]
    assert [v.shape[2:] for v in out.values()] == SIZES


def test_fpn_rejects_mismatched_features():
    fpn = FeaturePyramidNetwork(CHANNELS, 4)
    bad = [tg.randn(1, c + (i == 2), h, w) for i, (c, (h, w)) in enumerate(zip(CHANNELS, SIZES))]
    with pytest.raises(ValueError, match=r"C = \[3, 5, 6, 4\].*'2': \(1, 7, 4, 3\)"):
        fpn(bad)
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        ResNetFPN("vgg")


def test_resnet18_fpn_parameter_count_and_shapes():
    tg.manual_seed(0)
    model = resnet_fpn("resnet18")
    trunk = 11_689_512 - (512 * 1000 + 1000)                   # resnet18 without its fc
    laterals = (64 + 128 + 256 + 512) * 256 + 4 * 256          # 1x1 convs with bias
    outputs = 4 * (256 * 256 * 9 + 256)                        # 3x3 convs with bias
    assert sum(p.numel() for p in model.parameters()) == trunk + laterals + outputs
    assert model.out_channels == 256
    small = resnet_fpn("resnet18", out_channels=16, base_channels=8)
    out = small(tg.randn(2, 3, 50, 50))
    # stem 50 -> 25 -> 13 (maxpool), then /2 per stage (rounding up), pool: /2 again
    assert {k: v.shape for k, v in out.items()} == {
        "0": (2, 16, 13, 13), "1": (2, 16, 7, 7), "2": (2, 16, 4, 4), "3": (2, 16, 2, 2),
        "pool": (2, 16, 1, 1)}


def test_returned_layers_pick_the_stages():
    backbone = ResNet(BasicBlock, [1, 1, 1, 1], in_channels=1, base_channels=4)
    model = ResNetFPN(backbone, out_channels=8, returned_layers=[2, 4])
    assert model.fpn.in_channels_list == [8, 32]
    assert "body.layer3.0.conv1.weight" in model.state_dict()    # layer 3 still runs
    assert not any(k.startswith("body.fc") for k in model.state_dict())
    out = model(tg.randn(2, 1, 64, 64))
    assert {k: v.shape for k, v in out.items()} == {
        "0": (2, 8, 8, 8), "1": (2, 8, 2, 2), "pool": (2, 8, 1, 1)}


def test_body_reuses_the_backbone_weights():
    tg.manual_seed(0)
    backbone = resnet18(in_channels=1, base_channels=4)
    model = ResNetFPN(backbone, out_channels=4)
    x = tg.randn(2, 1, 32, 32)
    features = backbone.forward_features(x)
    for got, want in zip(model.body(x).values(), features):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_registry_entries():
    for name in ("resnet18_fpn", "resnet50_fpn"):
        entry = registry.get(name)
        assert entry.task == "features"
    model, x = registry.get("resnet18_fpn").tiny()
    out = model(x)
    assert list(out) == ["0", "1", "2", "3", "pool"] and out["0"].shape == (2, 2, 8, 8)


def test_gradcheck_fpn_over_a_tiny_resnet():
    tg.manual_seed(0)
    backbone = ResNet(BasicBlock, [1, 1, 1, 1], in_channels=1, base_channels=1)
    model = ResNetFPN(backbone, out_channels=2).double()
    x = tg.randn(2, 1, 48, 48).double()
    rng = np.random.default_rng(0)
    weights = {k: tg.tensor(rng.standard_normal(v.shape)) for k, v in model(x).items()}

    def loss(*_):
        return sum((v * weights[k]).sum() for k, v in model(x).items())

    named = dict(model.named_parameters())
    checked = ["fpn.inner_blocks.0.0.weight", "fpn.inner_blocks.3.0.bias",
               "fpn.layer_blocks.1.0.bias", "body.layer1.0.bn1.weight",
               "body.layer3.0.bn2.bias"]
    assert gradcheck(loss, tuple(named[k] for k in checked), atol=1e-6, rtol=1e-4)
    # the features' gradient through the top-down pathway (upsampling 3 -> 6 -> 12)
    fpn = FeaturePyramidNetwork([2, 3, 2], 2, LastLevelMaxPool()).double()
    feats = tuple(tg.tensor(rng.standard_normal((1, c, s, s)), requires_grad=True)
                  for c, s in ((2, 12), (3, 6), (2, 3)))
    assert gradcheck(lambda *f: sum((v * v).sum() for v in fpn(list(f)).values()), feats)


def test_top_down_step_matches_torchvision():
    torch = pytest.importorskip("torch")
    F, tnn = torch.nn.functional, torch.nn

    class TorchFPN(tnn.Module):          # torchvision.ops.FeaturePyramidNetwork, by hand
        def __init__(self, in_channels_list, out_channels):
            super().__init__()
            self.inner_blocks = tnn.ModuleList(
                tnn.Sequential(tnn.Conv2d(c, out_channels, 1)) for c in in_channels_list)
            self.layer_blocks = tnn.ModuleList(
                tnn.Sequential(tnn.Conv2d(out_channels, out_channels, 3, padding=1))
                for _ in in_channels_list)

        def forward(self, x):
            last_inner = self.inner_blocks[-1](x[-1])
            results = [self.layer_blocks[-1](last_inner)]
            for idx in range(len(x) - 2, -1, -1):
                inner_lateral = self.inner_blocks[idx](x[idx])
                top_down = F.interpolate(last_inner, size=inner_lateral.shape[-2:],
                                         mode="nearest")
                last_inner = inner_lateral + top_down
                results.insert(0, self.layer_blocks[idx](last_inner))
            return results + [F.max_pool2d(results[-1], 1, 2, 0)]      # LastLevelMaxPool

    torch.manual_seed(0)
    theirs = TorchFPN(CHANNELS, 8).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    ours = FeaturePyramidNetwork(CHANNELS, 8, LastLevelMaxPool()).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    features = _features(np.random.default_rng(0))
    fo = [tg.tensor(f, requires_grad=True) for f in features]
    ft = [torch.tensor(f, requires_grad=True) for f in features]
    yo, yt = list(ours(fo).values()), theirs(ft)
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(y.shape) for y in yt]
    for a, b in zip(yo, yt):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-10)
    sum((y * tg.tensor(g)).sum() for y, g in zip(yo, grads)).backward()
    sum((y * torch.tensor(g)).sum() for y, g in zip(yt, grads)).backward()
    for a, b in zip(fo, ft):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)
    theirs_grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_grads[name], rtol=1e-9, atol=1e-10,
                                   err_msg=name)
