"""tinygrad_cs.vision.utils against torchvision's documented semantics (grid shape formula,
tile positions, padding, channel expansion, normalisation, save_image's rounding), PNG files
checked by a minimal decoder written here (chunk CRCs, header, filter bytes) and read back
with Pillow and matplotlib where installed; and how ``tg.vision`` is reached."""
from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.vision import utils
from tinygrad_cs.vision._png import encode_png

CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


def _decode_png(data: bytes) -> np.ndarray:
    """A PNG written with filter type 0 as a uint8 array (H, W, C); checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, *methods = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and methods == [0, 0, 0]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()                            # filter type 0 on every row
    return rows[:, 1:].reshape(height, width, CHANNELS[color])


def _batch(n: int = 10, c: int = 3, h: int = 4, w: int = 5) -> np.ndarray:
    return np.random.default_rng(0).random((n, c, h, w)).astype(np.float32)


# -- make_grid ----------------------------------------------------------------------------------
def test_grid_shape_and_tile_positions_follow_the_formula():
    x = _batch()
    grid = utils.make_grid(tg.tensor(x), nrow=4, padding=2, pad_value=0.25)
    # xmaps = min(4, 10) = 4, ymaps = ceil(10 / 4) = 3: (3, 3 (4 + 2) + 2, 4 (5 + 2) + 2)
    assert isinstance(grid, tg.Tensor) and grid.shape == (3, 20, 30) and grid.dtype == tg.float32
    g = grid.numpy()
    mask = np.ones(g.shape[1:], bool)
    for k in range(10):
        top, left = 2 + (k // 4) * 6, 2 + (k % 4) * 7
        np.testing.assert_array_equal(g[:, top:top + 4, left:left + 5], x[k])
        mask[top:top + 4, left:left + 5] = False
    assert (g[:, mask] == 0.25).all()                          # padding and the 2 empty tiles
    assert utils.make_grid(tg.tensor(x[:3]), nrow=8, padding=0).shape == (3, 4, 15)


def test_single_channel_images_become_three_and_one_image_is_not_padded():
    x = _batch(4, 1)
    grid = utils.make_grid(tg.tensor(x), nrow=2, padding=1).numpy()
    assert grid.shape == (3, 11, 13)
    np.testing.assert_array_equal(grid[0], grid[2])
    np.testing.assert_array_equal(grid[1, 1:5, 7:12], x[1, 0])
    one = utils.make_grid(tg.tensor(x[0]))                      # (1, H, W) -> (3, H, W)
    np.testing.assert_array_equal(one.numpy(), np.concatenate([x[0]] * 3))
    assert utils.make_grid(tg.tensor(x[0, 0])).shape == (3, 4, 5)   # (H, W)
    assert utils.make_grid(tg.tensor(_batch(1, 2))).shape == (2, 4, 5)
    listed = utils.make_grid([tg.tensor(a) for a in _batch(3)], nrow=3, padding=0)
    np.testing.assert_array_equal(listed.numpy()[:, :, 5:10], _batch(3)[1])


def test_normalize_by_min_max_value_range_and_each_image():
    x = _batch(2, 3) * 10 - 3
    before = x.copy()
    t = tg.tensor(x)
    whole = utils.make_grid(t, padding=0, normalize=True).numpy()
    np.testing.assert_allclose(whole[:, :, :5], (x[0] - x.min()) / (x.max() - x.min()),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(t.numpy(), before)           # the input is left alone
    each = utils.make_grid(t, padding=0, normalize=True, scale_each=True).numpy()
    np.testing.assert_allclose(each[:, :, 5:], (x[1] - x[1].min()) / np.ptp(x[1]),
                               rtol=1e-6, atol=1e-6)
    ranged = utils.make_grid(t, padding=0, normalize=True, value_range=(0.0, 2.0)).numpy()
    np.testing.assert_allclose(ranged[:, :, :5], np.clip(x[0], 0, 2) / 2, rtol=1e-6)
    flat = utils.make_grid(tg.ones(2, 3, 2, 2), normalize=True).numpy()  # max - min -> 1e-5
    assert flat.max() == 0
    raw = utils.make_grid(t, padding=0).numpy()                # no normalize: no clamping
    assert raw.min() == x.min() and raw.max() == x.max()
    with pytest.raises(TypeError, match=r"value_range has to be a tuple \(min, max\), got \[0, 1\]"):
        utils.make_grid(t, normalize=True, value_range=[0, 1])


def test_make_grid_errors():
    with pytest.raises(TypeError, match="Tensor or a non-empty list of Tensors, got ndarray"):
        utils.make_grid(_batch())
    with pytest.raises(ValueError, match=r"one shape, got \[\(3, 4, 5\), \(3, 4, 6\)\]"):
        utils.make_grid([tg.zeros(3, 4, 5), tg.zeros(3, 4, 6)])
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 3, 4, 5\)"):
        utils.make_grid(tg.zeros(1, 2, 3, 4, 5))
    with pytest.raises(ValueError, match="need nrow >= 1"):
        utils.make_grid(tg.zeros(2, 3, 4, 5), nrow=0)


# -- save_image and the PNG writer ---------------------------------------------------------------
def test_save_image_writes_the_grid_as_png(tmp_path):
    x = _batch(5, 3, 3, 4)
    x[0, 0, 0, 0], x[0, 1, 0, 0], x[0, 2, 0, 0] = -0.5, 1.7, np.nan
    utils.save_image(tg.tensor(x), tmp_path / "grid.png", nrow=3, padding=1, pad_value=1.0)
    pixels = _decode_png((tmp_path / "grid.png").read_bytes())
    grid = utils.make_grid(tg.tensor(x), nrow=3, padding=1, pad_value=1.0).numpy()
    expect = np.clip(np.nan_to_num(grid) * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    assert pixels.shape == (9, 16, 3)                         # 2 rows x 3 columns of tiles
    np.testing.assert_array_equal(pixels, expect)
    assert pixels[1, 1].tolist() == [0, 255, 0]                 # clamped; NaN -> 0
    assert pixels[0, 0].tolist() == [255, 255, 255]
    buffer = io.BytesIO()
    utils.save_image(tg.tensor(x), buffer, nrow=3, padding=1, pad_value=1.0)   # a file object
    assert buffer.getvalue() == (tmp_path / "grid.png").read_bytes()


def test_saved_png_reads_back_in_pillow_and_matplotlib(tmp_path):
    x = _batch(3, 1, 6, 7)
    utils.save_image(tg.tensor(x), tmp_path / "g.png", normalize=True)
    ours = _decode_png((tmp_path / "g.png").read_bytes())
    readers = 0
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        np.testing.assert_array_equal(np.array(Image.open(tmp_path / "g.png")), ours)
        readers += 1
    try:
        import matplotlib.image as mpimg
    except ImportError:
        pass
    else:
        np.testing.assert_allclose(mpimg.imread(tmp_path / "g.png") * 255, ours, atol=1e-3)
        readers += 1
    if not readers:
        pytest.skip("neither Pillow nor matplotlib is installed")


def test_other_formats_go_through_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    utils.save_image(tg.rand(2, 3, 8, 8), tmp_path / "g.jpg")
    with Image.open(tmp_path / "g.jpg") as img:
        assert img.format == "JPEG" and img.size == (22, 12)
    buffer = io.BytesIO()
    utils.save_image(tg.rand(2, 3, 8, 8), buffer, format="BMP")
    assert buffer.getvalue()[:2] == b"BM"


def test_save_image_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the format of .*noext"):
        utils.save_image(tg.rand(1, 3, 2, 2), tmp_path / "noext")
    with pytest.raises(TypeError, match=r"expected float images in \[0, 1\], got uint8"):
        utils.save_image(tg.zeros(1, 3, 2, 2, dtype=tg.uint8), tmp_path / "u.png")
    assert not (tmp_path / "u.png").exists()
    with pytest.raises(ValueError, match=r"C in 1\.\.4, got dtype uint8 and shape \(2, 2, 5\)"):
        utils.save_image(tg.rand(5, 2, 2), tmp_path / "five.png")


@pytest.mark.parametrize("shape, color", [((3, 4), 0), ((3, 4, 1), 0), ((3, 4, 2), 4),
                                          ((3, 4, 3), 2), ((2, 5, 4), 6)])
def test_png_colour_types(shape, color):
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    data = encode_png(pixels)
    assert data[25] == color                                   # IHDR's colour type byte
    np.testing.assert_array_equal(_decode_png(data).reshape(shape), pixels)
    with pytest.raises(ValueError, match="encode_png: expected a non-empty uint8 image"):
        encode_png(pixels.astype(np.float32))


# -- tg.vision ----------------------------------------------------------------------------------
def test_tg_vision_loads_lazily_and_the_core_never_imports_it():
    code = ("import sys\n"
            "import tinygrad_cs as tg\n"
            "import tinygrad_cs.nn, tinygrad_cs.data, tinygrad_cs.optim\n"
            "print('tinygrad_cs.vision' in sys.modules)\n"
            "print(tg.vision.transforms.ToTensor.__name__)\n"
            "import tinygrad_cs.vision as torchvision\n"
            "from tinygrad_cs.vision import datasets, transforms, utils\n"
            "print(torchvision.datasets is datasets, utils.make_grid.__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "ToTensor", "True", "make_grid"]
