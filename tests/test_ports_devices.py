"""The device idioms and Tensor methods of real PyTorch code, checked against PyTorch itself.

CPU-only PyTorch programs move everything ``.to(device)``, ask ``torch.cuda.is_available()``,
set ``cudnn.benchmark`` and use ``mm``/``t``/``narrow``/``new_zeros``/``f"{loss:.4f}"``;
with ``import tinygrad_cs as torch`` they must behave the same (issue 11).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn


def _torch():
    return pytest.importorskip("torch")


def test_cpu_devices_look_like_pytorchs():
    torch = _torch()
    for spec in ("cpu", "cpu:0"):
        ours, theirs = tg.device(spec), torch.device(spec)
        assert (repr(ours), str(ours), ours.type, ours.index) == (
            repr(theirs), str(theirs), theirs.type, theirs.index)
        assert ours == spec and ours == tg.device(ours)
    assert tg.device("cpu", 0) == tg.device("cpu:0") != tg.device("cpu")
    assert len({tg.device("cpu"), tg.device("cpu")}) == 1
    assert tg.cuda.is_available() is torch.cuda.is_available() is False
    assert tg.cuda.device_count() == 0 and tg.accelerator.is_available() is False


@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "mps"])
def test_any_other_device_is_one_clear_error(spec):
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.device(spec)
    x = tg.zeros(2)
    with pytest.raises(RuntimeError, match="to: .*CPU only"):
        x.to(spec)
    with pytest.raises(RuntimeError, match="zeros: .*CPU only"):
        tg.zeros(2, device=spec)
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()


def test_to_accepts_every_pytorch_spelling():
    torch = _torch()

    def program(lib):
        dev = lib.device("cuda" if lib.cuda.is_available() else "cpu")
        x = lib.ones(2, 3, device=dev, requires_grad=True)
        y = x.to(dev)
        z = x.to(device=dev, dtype=lib.float64)
        w = x.to(lib.zeros(1, dtype=lib.float64))
        v = x.to(dev, lib.float64, non_blocking=True)
        c = x.to(x.dtype, copy=True)
        (z.sum() + w.sum() + v.sum() + c.sum()).backward()
        return (y is x, str(z.dtype).split(".")[-1], str(w.dtype).split(".")[-1],
                c is x, x.cpu() is x, x.is_cuda, str(x.device), x.grad.tolist())
    assert program(tg) == program(torch)


def test_module_to_accepts_every_pytorch_spelling():
    torch = _torch()

    def program(lib):
        dev = lib.device("cuda" if lib.cuda.is_available() else "cpu")
        model = lib.nn.Linear(2, 3)
        same = model.to(dev) is model and model.to("cpu") is model
        model.to(dev, lib.float64)
        as64 = str(model.weight.dtype).split(".")[-1]
        model.to(device=dev, dtype=lib.float32, non_blocking=True)
        as32 = str(model.weight.dtype).split(".")[-1]
        model.to(lib.zeros(1, dtype=lib.float64))
        return same, as64, as32, str(model.bias.dtype).split(".")[-1], str(model.weight.device)
    assert program(tg) == program(torch)
    with pytest.raises(RuntimeError, match="Module.to: .*CPU only"):
        tg.nn.Linear(2, 3).to(tg.device("cpu"), tg.float32).to("cuda")


def test_factories_take_device():
    dev = tg.device("cpu")
    made = [tg.zeros(2, device=dev), tg.ones(2, device="cpu"), tg.full((2,), 3.0, device=dev),
            tg.empty(2, device=dev), tg.arange(2, device=dev), tg.linspace(0, 1, 2, device=dev),
            tg.eye(2, device=dev)[0], tg.rand(2, device=dev), tg.randn(2, device=dev),
            tg.randint(0, 3, (2,), device=dev), tg.tensor([1.0, 2.0], device=dev),
            tg.zeros_like(tg.ones(2), device=dev), tg.randn_like(tg.ones(2), device=dev)]
    assert all(t.shape == (2,) and t.device == "cpu" for t in made)


def test_matrix_methods_match_pytorch_values_and_gradients():
    torch = _torch()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    p, q = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))

    def program(lib):
        leaves = [lib.tensor(v, requires_grad=True) for v in (a, b, p, q)]
        x, y, u, v = leaves
        out = (x.mm(y).sum() + u.bmm(v).sum() + x.t().sum() * 2 + x.narrow(1, 1, 2).sum()
               + x.narrow(0, -2, 1).sum() + lib.tensor(3.0).t())
        out.backward()
        return [float(out)] + [np.asarray(t.grad.tolist()) for t in leaves]
    for ours, theirs in zip(program(tg), program(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(RuntimeError, match="mm: expected 2-D"):
        tg.ones(2, 3, 4).mm(tg.ones(4, 2))
    with pytest.raises(RuntimeError, match="bmm: expected 3-D tensors with the same batch"):
        tg.ones(2, 3, 4).bmm(tg.ones(3, 4, 2))
    with pytest.raises(IndexError, match="narrow: start"):
        tg.ones(3).narrow(0, 2, 2)


def test_narrow_is_a_view_as_in_pytorch():
    x = tg.zeros(2, 4)
    x.narrow(1, 1, 2).fill_(1)
    np.testing.assert_array_equal(x.numpy(), [[0, 1, 1, 0], [0, 1, 1, 0]])
    assert x._version == 1


def test_new_tensors_take_this_dtype_as_pytorchs_do():
    torch = _torch()

    def program(lib):
        base = lib.ones(2, dtype=lib.float64)
        made = [base.new_zeros(2, 3), base.new_ones((1, 2)), base.new_full((2,), 7),
                base.new_empty(3), base.new_tensor([1, 2]),
                base.new_zeros(2, dtype=lib.int64), base.new_ones(2, requires_grad=True)]
        return [(tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad) for t in made]
    assert program(tg) == program(torch)


def test_index_format_and_type_behave_as_in_pytorch():
    torch = _torch()
    classes = ["plane", "car", "bird"]
    for lib in (tg, torch):
        labels = lib.tensor([2, 0])
        assert classes[labels[0]] == "bird"
        assert f"{lib.tensor(0.123456):.4f}" == "0.1235"
        assert f"{lib.tensor(7):03d}" == "007"
        with pytest.raises(TypeError):
            classes[lib.tensor(1.0)]
        with pytest.raises(TypeError):
            f"{lib.ones(2):.2f}"
        assert lib.ones(2).type().split(".")[-1] == "FloatTensor"
        assert lib.ones(2).type(lib.float64).dtype == lib.float64


def test_torch_names_are_reachable_without_importing_them_first():
    code = ("import tinygrad_cs as torch\n"
            "import tinygrad_cs.backends.cudnn as cudnn\n"
            "import tinygrad_cs.nn.parallel\n"
            "cudnn.benchmark = True\n"
            "model = torch.nn.Linear(2, 1)\n"
            "opt = torch.optim.AdamW(model.parameters(), lr=0.1)\n"
            "data = torch.utils.data.TensorDataset(torch.randn(4, 2), torch.zeros(4, 1))\n"
            "for x, y in torch.utils.data.DataLoader(data, batch_size=2):\n"
            "    loss = torch.nn.functional.mse_loss(model(x), y)\n"
            "    opt.zero_grad(); loss.backward(); opt.step()\n"
            "print(type(opt).__name__, f'{loss:.0f}' != '')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["AdamW", "True"]
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        tg.not_a_module  # noqa: B018 - the attribute access is the test


def test_data_parallel_runs_the_module_and_prefixes_its_names_as_pytorch():
    torch = _torch()
    ours, theirs = nn.DataParallel(nn.Linear(3, 2)), torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6,
                               atol=1e-6)  # float32: an output near 0 needs an atol
    with pytest.raises(RuntimeError, match="DataParallel: .*CPU only"):
        nn.DataParallel(nn.Linear(3, 2), device_ids=[0])


def test_more_tensor_methods_match_pytorch_values_and_gradients():
    torch = _torch()
    rng = np.random.default_rng(2)
    a = rng.uniform(0.5, 2.0, (3, 4))
    m1, m2 = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    mask = rng.random((3, 4)) > 0.5

    def program(lib):
        x = lib.tensor(a, requires_grad=True)
        outs = [x.square(), x.reciprocal(), x.rsqrt(), x.lerp(lib.tensor(a[::-1].copy()), 0.3),
                x.addmm(lib.tensor(m1), lib.tensor(m2), beta=0.5, alpha=2.0),
                x.masked_fill(lib.tensor(mask), -1.0), x.index_select(1, lib.tensor([3, 0, 3])),
                x.flip(0), x.flip(0, 1), *x.unbind(1)]
        total = sum((o * (k + 1)).sum() for k, o in enumerate(outs))
        total.backward()
        return [np.asarray(o.tolist()) for o in outs] + [np.asarray(x.grad.tolist())]
    for ours, theirs in zip(program(tg), program(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_boolean_and_layout_methods_match_pytorch():
    torch = _torch()
    values = np.array([[1.0, np.nan, np.inf], [0.0, -np.inf, 2.0]])

    def program(lib):
        x = lib.tensor(values)
        y = lib.zeros(2, 3)
        y.masked_fill_(lib.tensor([True, False, True]), 5.0)
        return [x.isnan().tolist(), x.isinf().tolist(), x.isfinite().tolist(),
                x.isfinite().all().item(), x.isnan().any(dim=1).tolist(),
                x.isfinite().all(1, keepdim=True).tolist(), y.tolist(), x.nelement(),
                x.ndimension(), x.element_size(), x.is_contiguous(), x.t().is_contiguous()]
    assert program(tg) == program(torch)
