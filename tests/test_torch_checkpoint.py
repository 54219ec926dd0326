"""``tg.load`` reads ``torch.save`` files: values, dtypes, views and models against PyTorch."""
import io
import zipfile

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim

torch = pytest.importorskip("torch")


def _saved(obj, tmp_path, name="ckpt.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _numpy(t):
    """What tg.load should give for a torch tensor (float16/bfloat16 as float32, uint16 and
    uint32 widened to int32/int64)."""
    t = t.detach().resolve_neg().resolve_conj()
    wider = {torch.float16: torch.float32, torch.bfloat16: torch.float32,
             torch.uint16: torch.int32, torch.uint32: torch.int64}
    return t.to(wider.get(t.dtype, t.dtype)).numpy()


def _assert_same_tree(ours, theirs, where="obj"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tg.Tensor), where
        expected = _numpy(theirs)
        assert ours.dtype == expected.dtype, where
        np.testing.assert_array_equal(ours.numpy(), expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), where
        for k in theirs:
            _assert_same_tree(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is (tuple if isinstance(theirs, tuple) else list), where
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same_tree(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), where


# -- models: the state dict loads into the same tinygrad_cs architecture ----------------------
def _torch_cnn():
    t = torch.nn
    return t.Sequential(t.Conv2d(3, 8, 3, padding=1), t.BatchNorm2d(8), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(8, 4, 3, stride=2), t.BatchNorm2d(4), t.ReLU(), t.Flatten(),
                        t.Linear(4 * 1 * 1, 5))


def _tg_cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 4, 3, stride=2), nn.BatchNorm2d(4),
                         nn.ReLU(), nn.Flatten(), nn.Linear(4 * 1 * 1, 5))


def test_a_cnn_with_batch_norm_loads_into_the_same_tg_model(tmp_path):
    torch.manual_seed(0)
    model = _torch_cnn()
    x = torch.randn(6, 3, 8, 8)
    for _ in range(2):  # running statistics and num_batches_tracked move away from their init
        model(x).sum().backward()
    path = _saved(model.state_dict(), tmp_path, "cnn.pt")

    state = tg.load(path)
    _assert_same_tree(state, model.state_dict())
    assert state["1.num_batches_tracked"].dtype == np.int64
    assert state["1.num_batches_tracked"].item() == 2

    ours = _tg_cnn()
    ours.load_state_dict(tg.load(path, map_location="cpu", weights_only=True))
    model.eval()
    ours.eval()
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(ours(tg.tensor(x.numpy())).numpy(), expected, rtol=1e-5,
                               atol=1e-5)


def test_an_lstm_loads_into_the_same_tg_lstm(tmp_path):
    torch.manual_seed(1)
    model = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True)
    path = _saved(model.state_dict(), tmp_path, "lstm.pt")
    ours = nn.LSTM(5, 7, num_layers=2, batch_first=True)
    ours.load_state_dict(tg.load(path))
    x = torch.randn(3, 4, 5)
    with torch.no_grad():
        expected, (h, c) = model(x)
    got, (h2, c2) = ours(tg.tensor(x.numpy()))
    for a, b in ((got, expected), (h2, h), (c2, c)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_optimizer_state_and_nested_containers_round_trip(tmp_path):
    torch.manual_seed(2)
    w = torch.nn.Parameter(torch.randn(3, 2))
    b = torch.nn.Parameter(torch.randn(2))
    opt = torch.optim.Adam([w, b], lr=0.01)
    (w.sum() ** 2 + b.sum()).backward()
    opt.step()
    checkpoint = {"optim": opt.state_dict(), "epoch": 3, "best": 0.25, "tags": ("a", "b"),
                  "history": [1.5, None, True, {"nested": [torch.arange(3)]}], "ok": None}
    path = _saved(checkpoint, tmp_path)
    loaded = tg.load(path)
    assert loaded["optim"]["param_groups"][0]["params"] == [0, 1]
    assert loaded["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    _assert_same_tree(loaded, checkpoint)

    # the loaded state continues the run exactly as torch's optimizer does
    ours_w, ours_b = (tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in (w, b))
    ours = optim.Adam([ours_w, ours_b], lr=0.01)
    ours.load_state_dict(loaded["optim"])
    opt.zero_grad()
    (w.sum() ** 2 + b.sum()).backward()
    opt.step()
    ((ours_w.sum() ** 2) + ours_b.sum()).backward()
    ours.step()
    np.testing.assert_allclose(ours_w.numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours_b.numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


# -- dtypes and layouts ------------------------------------------------------------------------
DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
          "uint8", "bool", "uint16", "uint32"]


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_loads_with_its_values(tmp_path, name):
    dtype = getattr(torch, name)
    g = torch.Generator().manual_seed(3)
    values = torch.randn(4, 5, generator=g) * 50
    if name == "bool":
        t = values > 0
    elif dtype.is_floating_point:
        t = values.to(dtype)
    else:
        t = values.abs().to(torch.int64).to(dtype)
    loaded = tg.load(_saved({"t": t, "row": t[1], "corner": t[1:, 2:]}, tmp_path))
    _assert_same_tree(loaded, {"t": t, "row": t[1], "corner": t[1:, 2:]})


def test_bfloat16_and_float16_keep_their_exact_values_as_float32(tmp_path):
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.0e38, 1e-40, float("inf"), float("-inf")])
    loaded = tg.load(_saved({"bf": special.to(torch.bfloat16), "h": special.to(torch.float16)},
                            tmp_path))
    assert loaded["bf"].dtype == np.float32 and loaded["h"].dtype == np.float32
    np.testing.assert_array_equal(loaded["bf"].numpy(), special.to(torch.bfloat16).float().numpy())
    np.testing.assert_array_equal(loaded["h"].numpy(), special.to(torch.float16).float().numpy())
    nan = tg.load(_saved({"x": torch.tensor([float("nan")], dtype=torch.bfloat16)}, tmp_path))
    assert np.isnan(nan["x"].numpy()).all()


def test_views_offsets_and_shared_storages_come_out_right(tmp_path):
    base = torch.arange(60, dtype=torch.float64).reshape(3, 4, 5)
    views = {
        "base": base,
        "transposed": base.transpose(0, 2),
        "strided": base[:, 1::2, ::3],
        "offset": base[2, 1:3],
        "narrow": base.flatten().narrow(0, 17, 9),
        "expanded": base[0, 0, :1].expand(4, 6),
        "scalar": base[1, 2, 3],
        "empty": base[:, :0],
        "negated": base[0]._neg_view(),
        "tied": base,  # the same tensor twice
    }
    loaded = tg.load(_saved(views, tmp_path))
    _assert_same_tree(loaded, views)
    assert loaded["tied"] is loaded["base"]  # one tensor in the file, one tensor out
    assert loaded["offset"].numpy().flags.writeable  # a copy, not a view of the file's bytes


def test_a_parameter_comes_back_as_a_plain_tensor_that_requires_grad(tmp_path):
    p = torch.nn.Parameter(torch.randn(2, 2))
    loaded = tg.load(_saved({"p": p, "frozen": p.detach()}, tmp_path))
    assert type(loaded["p"]) is tg.Tensor and loaded["p"].requires_grad
    assert not loaded["frozen"].requires_grad
    np.testing.assert_array_equal(loaded["p"].numpy(), p.detach().numpy())


def test_a_file_object_and_a_big_endian_archive(tmp_path):
    t = torch.arange(6, dtype=torch.int32).reshape(2, 3) * 1000
    buf = io.BytesIO()
    torch.save({"t": t, "f": t.double() / 7}, buf)
    buf.seek(0)
    _assert_same_tree(tg.load(buf), {"t": t, "f": t.double() / 7})

    # the same archive as a big-endian machine writes it: every storage byte-swapped
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                width = 4 if data.__len__() == 24 else 8  # int32 t, float64 f
                data = np.frombuffer(data, f"<u{width}").astype(f">u{width}").tobytes()
            dst.writestr(info.filename, data)
    out.seek(0)
    _assert_same_tree(tg.load(out), {"t": t, "f": t.double() / 7})


def test_a_legacy_pickle_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(tg.serialization.CheckpointError, match="legacy torch.save") as e:
        tg.load(path)
    assert str(path) in str(e.value)


def test_a_whole_saved_model_is_refused_with_advice(tmp_path):
    path = _saved(torch.nn.Linear(2, 3), tmp_path, "model.pt")
    with pytest.raises(tg.serialization.CheckpointError,
                       match=r"torch\.nn\.modules\.linear\.Linear.*save model\.state_dict"):
        tg.load(path)
