"""Convolutions: kernels against the numpy reference, gradients, PyTorch parity, errors.

The differential tests run every computation path on the same draws: the automatic
choice, and each path forced (im2col + GEMM, Winograd, direct loops, direct 3x3 kernels
for the 'same' 3x3 draws, and one image per chunk so that slices and chunks are cut
everywhere), in float32 and float64, on contiguous and non-contiguous inputs. Gradients are compared with the reference's
closed forms (``conv_reference``), and float64 ones with finite differences.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.kernels import conv_compute, conv_recycle, conv_winograd, conv_workspace
from tinygrad_cs.kernels import conv_reference as R
from tinygrad_cs.ops.conv import conv1d, conv2d, conv_transpose2d
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.testing.entries.conv import (
    conv1d_args,
    conv1d_reference,
    conv2d_args,
    conv2d_reference,
    conv_transpose2d_args,
    conv_transpose2d_reference,
)
from tinygrad_cs.testing.strategies import layouts, relayout

FEW = max(10, settings().max_examples // 3)
_OFF, _ALWAYS = 10 ** 9, 0

# module attribute overrides that force each computation path
_NO_D3 = {(conv_compute, "DIRECT3X3_MAX_PAIRS"): -1}
PATHS = {
    "auto": {},
    "gemm": {(conv_compute, "DIRECT_MAX_CHANNELS"): -1,
             (conv_compute, "WINOGRAD_MIN_CHANNELS"): _OFF, **_NO_D3},
    "winograd": {(conv_compute, "WINOGRAD_MIN_CHANNELS"): _ALWAYS, **_NO_D3},
    "direct": {(conv_compute, "DIRECT_MAX_CHANNELS"): _OFF},
    "direct 3x3": {(conv_compute, "DIRECT3X3_MAX_PAIRS"): _OFF},
    "one image per chunk": {(conv_compute, "CHUNK_BYTES"): 1, (conv_winograd, "CHUNK_BYTES"): 1,
                            (conv_compute, "WINOGRAD_MIN_CHANNELS"): _ALWAYS, **_NO_D3},
}


@contextlib.contextmanager
def forced(path: str):
    saved = {key: getattr(*key) for key in PATHS[path]}
    try:
        for (module, name), value in PATHS[path].items():
            setattr(module, name, value)
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _close(got, expected, dtype, what):
    """float64: to rounding; float32: relative to the largest expected magnitude."""
    expected = np.asarray(expected, np.float64)
    scale = 1.0 + np.abs(expected).max(initial=0.0)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale, err_msg=what)


def _run(op, args, grad_seed, layout_x, layout_w):
    """Forward + backward through the engine: (out, dx, dw, db) as arrays."""
    x, w, b, *rest = args
    leaves = [tg.Tensor(relayout(x, layout_x), requires_grad=True),
              tg.Tensor(relayout(w, layout_w), requires_grad=True),
              None if b is None else tg.Tensor(b, requires_grad=True)]
    out = op(*leaves, *rest)
    g = np.random.default_rng(grad_seed).uniform(-1, 1, out.shape).astype(out.dtype)
    out.backward(tg.Tensor(g))
    grads = [None if t is None else t.grad.numpy() for t in leaves]
    return out.numpy(), g, grads


def _check_conv2d(args, dtype, seed, lx, lw, path):
    args = (args[0].astype(dtype), args[1].astype(dtype),
            None if args[2] is None else args[2].astype(dtype), *args[3:])
    x, w, b, stride, padding, dilation, groups = args
    with forced(path):
        out, g, (dx, dw, db) = _run(conv2d, args, seed, lx, lw)
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    b64 = None if b is None else b.astype(np.float64)
    pads = R.padding4(padding, w.shape[2:], _pair(dilation))
    geometry = (_pair(stride), pads, _pair(dilation), groups)
    _close(out, conv2d_reference(x64, w64, b64, stride, padding, dilation, groups), dtype, "out")
    _close(dx, R.conv2d_input_grad(g64, w64, x.shape, *geometry), dtype, "dx")
    _close(dw, R.conv2d_weight_grad(x64, g64, w.shape, *geometry), dtype, "dw")
    if b is not None:
        _close(db, g64.sum(axis=(0, 2, 3)), dtype, "db")


# -- differential suite: every path, both dtypes, any layout ---------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path", list(PATHS))
@settings(deadline=None, max_examples=FEW)
@given(args=conv2d_args(), seed=st.integers(0, 2 ** 16), lx=layouts(), lw=layouts())
def test_conv2d_matches_reference(path, dtype, args, seed, lx, lw):
    _check_conv2d(args, dtype, seed, lx, lw, path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path", ["winograd", "one image per chunk"])
@settings(deadline=None, max_examples=FEW)
@given(args=conv2d_args(kind="dense", kernel=(3, 3), stride=(1, 1), dilation=(1, 1),
                        max_channels=5, max_extra=6),
       seed=st.integers(0, 2 ** 16), lx=layouts(), lw=layouts())
def test_winograd_3x3_matches_reference(path, dtype, args, seed, lx, lw):
    """Every 3x3 stride-1 shape: odd sizes (partial tiles), padding 0-2, 'same', batch 1."""
    _check_conv2d(args, dtype, seed, lx, lw, path)


@pytest.mark.parametrize("path", ["auto", "gemm", "direct"])
@settings(deadline=None, max_examples=FEW)
@given(args=conv1d_args(), seed=st.integers(0, 2 ** 16), dtype=st.sampled_from(
    [np.float32, np.float64]), lx=layouts())
def test_conv1d_matches_reference(path, args, seed, dtype, lx):
    x, w, b, stride, padding, dilation, groups = args
    cast = (x.astype(dtype), w.astype(dtype), None if b is None else b.astype(dtype))
    with forced(path):
        out, g, (dx, dw, db) = _run(conv1d, (*cast, *args[3:]), seed, lx, "contiguous")
    _close(out, conv1d_reference(*cast, *args[3:]), dtype, "out")
    # d/dx and d/dw through the 2-D reference on (N, C, 1, L) views
    pads = (0, 0, padding, padding) if isinstance(padding, int) else R.padding4(
        padding, (1, w.shape[2]), (1, dilation))
    geometry = ((1, stride), pads, (1, dilation), groups)
    g4, x4, w4 = g[:, :, None].astype(np.float64), cast[0][:, :, None], cast[1][:, :, None]
    _close(dx, R.conv2d_input_grad(g4, w4, x4.shape, *geometry)[:, :, 0], dtype, "dx")
    _close(dw, R.conv2d_weight_grad(x4, g4, w4.shape, *geometry)[:, :, 0], dtype, "dw")
    if b is not None:
        _close(db, g.astype(np.float64).sum(axis=(0, 2)), dtype, "db")


@pytest.mark.parametrize("path", ["auto", "gemm", "direct", "one image per chunk"])
@settings(deadline=None, max_examples=FEW)
@given(args=conv_transpose2d_args(), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from([np.float32, np.float64]), lx=layouts(), lw=layouts())
def test_conv_transpose2d_matches_reference(path, args, seed, dtype, lx, lw):
    x, w, b, stride, padding, _, groups, dilation = args
    cast = (x.astype(dtype), w.astype(dtype), None if b is None else b.astype(dtype))
    with forced(path):
        out, g, (dx, dw, db) = _run(conv_transpose2d, (*cast, *args[3:]), seed, lx, lw)
    x64, w64, g64 = (a.astype(np.float64) for a in (cast[0], cast[1], g))
    _close(out, conv_transpose2d_reference(x64, w64, None if b is None else cast[2].astype(
        np.float64), *args[3:]), dtype, "out")
    # the transposed conv's gradients are conv2d's forward and weight gradient
    ph, pw = _pair(padding)
    geometry = (_pair(stride), (ph, ph, pw, pw), _pair(dilation), groups)
    full = R.conv2d(g64, w64, None, *geometry)  # output_padding >= stride: extra rows
    _close(dx, full[:, :, :x.shape[2], :x.shape[3]], dtype, "dx")
    x_ext = np.zeros(full.shape[:1] + x.shape[1:2] + full.shape[2:])
    x_ext[:, :, :x.shape[2], :x.shape[3]] = x64
    _close(dw, R.conv2d_weight_grad(g64, x_ext, w.shape, *geometry), dtype, "dw")
    if b is not None:
        _close(db, g64.sum(axis=(0, 2, 3)), dtype, "db")


# -- float64 gradients against finite differences -------------------------------------------
@pytest.mark.parametrize("path", ["gemm", "winograd", "direct"])
@settings(deadline=None, max_examples=max(5, FEW // 3))
@given(data=st.data())
def test_gradcheck_float64(path, data):
    if path == "winograd":
        args = data.draw(conv2d_args(kind="dense", kernel=(3, 3), stride=(1, 1),
                                     dilation=(1, 1)))
    else:
        args = data.draw(conv2d_args(kind="grouped" if path == "direct" else None))
    x, w, b, *rest = args
    inputs = tuple(tg.Tensor(a, requires_grad=True) for a in (x, w) + (() if b is None else (b,)))
    with forced(path):
        assert gradcheck(lambda x, w, *b: conv2d(x, w, b[0] if b else None, *rest), inputs)


def test_gradcheck_conv_transpose2d_and_conv1d():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 3, 3)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=3)
    assert gradcheck(lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1,
                                                      output_padding=1, groups=1, dilation=1),
                     tuple(tg.Tensor(a, requires_grad=True) for a in (x, w, b)))
    x, w = rng.normal(size=(2, 4, 7)), rng.normal(size=(6, 2, 3))
    assert gradcheck(lambda x, w: conv1d(x, w, stride=2, padding=2, dilation=2, groups=2),
                     tuple(tg.Tensor(a, requires_grad=True) for a in (x, w)))


# -- PyTorch parity -------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _grads_torch(torch, op, args, tensor_count, g):
    leaves = [None if a is None else torch.tensor(a, requires_grad=True)
              for a in args[:tensor_count]]
    out = op(*leaves, *args[tensor_count:])
    out.backward(torch.tensor(g))
    return out.detach().numpy(), [None if t is None else t.grad.numpy() for t in leaves]


def _parity(op, top, args):
    torch = _torch()
    out, g, ours = _run(op, args, 0, "contiguous", "contiguous")
    t_out, theirs = _grads_torch(torch, top, args, 3, g)
    _close(out, t_out, args[0].dtype, "out")
    for what, a, e in zip(("dx", "dw", "db"), ours, theirs):
        if e is not None:
            _close(a, e, args[0].dtype, what)


@settings(deadline=None, max_examples=FEW)
@given(args=conv2d_args())
def test_conv2d_matches_torch(args):
    torch = _torch()
    _parity(conv2d, torch.nn.functional.conv2d, args)


@settings(deadline=None, max_examples=FEW)
@given(args=conv1d_args())
def test_conv1d_matches_torch(args):
    torch = _torch()
    _parity(conv1d, torch.nn.functional.conv1d, args)


@settings(deadline=None, max_examples=FEW)
@given(args=conv_transpose2d_args())
def test_conv_transpose2d_matches_torch(args):
    torch = _torch()
    _parity(conv_transpose2d, torch.nn.functional.conv_transpose2d, args)


@pytest.mark.parametrize("cin, cout, hw, groups", [(3, 64, 32, 1), (64, 64, 16, 1),
                                                   (128, 128, 8, 1), (64, 64, 16, 64),
                                                   (32, 64, 9, 4)])
def test_float32_network_shapes_match_torch(cin, cout, hw, groups):
    """The benchmark's layer shapes (smaller batch and images): every path at real width."""
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, cin, hw, hw), dtype=np.float32)
    w = (rng.standard_normal((cout, cin // groups, 3, 3), dtype=np.float32)
         / np.sqrt(9 * cin / groups)).astype(np.float32)
    b = rng.standard_normal(cout, dtype=np.float32)
    _parity(conv2d, torch.nn.functional.conv2d, (x, w, b, 1, 1, 1, groups))


# -- behaviour ------------------------------------------------------------------------------
def test_unbatched_and_empty_batch_inputs():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(3, 5, 5)), rng.normal(size=(4, 3, 3, 3))
    np.testing.assert_allclose(conv2d(x, w, padding=1),
                               R.conv2d(x[None], w, None, (1, 1), (1, 1, 1, 1))[0], atol=1e-12)
    t = tg.Tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    out = conv2d(t, tg.Tensor(w, requires_grad=True), padding=1)
    assert out.shape == (0, 4, 5, 5)
    out.sum().backward()
    assert t.grad.shape == (0, 3, 5, 5)


def test_raw_arrays_in_raw_array_out():
    rng = np.random.default_rng(3)
    out = conv2d(rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(2, 2, 3, 3)))
    assert type(out) is np.ndarray and out.shape == (1, 2, 2, 2)


def test_results_are_fresh_arrays_not_scratch():
    """A later call (same shapes, so the same workspaces) leaves earlier results intact."""
    rng = np.random.default_rng(4)
    for path in ("gemm", "winograd", "direct"):
        with forced(path):
            x1, x2 = (tg.Tensor(rng.normal(size=(2, 4, 6, 6)), requires_grad=True)
                      for _ in range(2))
            w = tg.Tensor(rng.normal(size=(4, 1 if path == "direct" else 4, 3, 3)),
                          requires_grad=True)
            groups = 4 if path == "direct" else 1
            y1 = conv2d(x1, w, padding=1, groups=groups)
            y1.sum().backward()
            kept = [y1.numpy().copy(), x1.grad.numpy().copy(), w.grad.numpy().copy()]
            w.grad = None
            y2 = conv2d(x2, w, padding=1, groups=groups)
            (y2 * 3.0).sum().backward()
            for a, b in zip(kept, [y1.numpy(), x1.grad.numpy()]):
                np.testing.assert_array_equal(a, b)


def test_concurrent_calls_from_threads():
    rng = np.random.default_rng(5)
    jobs = [(rng.normal(size=(4, 8, 9, 9)), rng.normal(size=(8, 8, 3, 3))) for _ in range(4)]
    results = [None] * len(jobs)

    def work(i):
        x, w = jobs[i]
        results[i] = conv2d(x, w, padding=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (x, w), got in zip(jobs, results):
        np.testing.assert_allclose(got, R.conv2d(x, w, None, (1, 1), (1, 1, 1, 1)), atol=1e-10)


def test_no_double_backward():
    x = tg.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    w = tg.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    (gx,) = tg.grad(conv2d(x, w).sum(), [x], create_graph=False)
    assert gx.shape == (1, 1, 3, 3)
    with pytest.raises(RuntimeError, match="conv2d"):
        tg.grad(conv2d(x, w).sum(), [x], create_graph=True)


def test_recycled_results_are_reused_only_once_dropped():
    conv_recycle.clear()
    shape = (512, 512)  # 1 MiB of float32: pooled
    a, b = conv_recycle.empty(shape, np.float32), conv_recycle.empty(shape, np.float32)
    first, view = id(a), a[1:]
    del a
    c = conv_recycle.empty(shape, np.float32)  # the first is still seen through ``view``
    assert id(c) != first and c is not b
    del view, c
    assert id(conv_recycle.empty(shape, np.float32)) == first
    assert conv_recycle.empty((3, 3), np.float32) is not conv_recycle.empty((3, 3), np.float32)


def test_workspace_rows_start_on_distinct_cache_sets():
    rows = conv_workspace.rows("test", 16, 1024, np.float32)
    assert rows.shape[1] >= 1024 and (rows.strides[0] // 64) % 2 == 1


# -- errors name the op and the shapes -------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3))),
     r"conv2d: input of shape \(1, 3, 5, 5\) has 3 channels.*\(4, 2, 3, 3\)"),
    (lambda: conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2),
     r"conv2d: groups=2 must divide the output channels"),
    (lambda: conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))),
     r"conv2d: kernel size \(3, 3\).*padded input size \(2, 2\)"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=2, padding="same"),
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding="full"),
     r"conv2d: invalid padding string 'full'"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)),
     r"conv2d: expected bias of shape \(2,\).*got \(3,\)"),
    (lambda: conv2d(np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3))),
     r"conv2d: input \(float32\) and weight \(float64\) must have the same dtype"),
    (lambda: conv2d(np.ones((5, 5)), np.ones((1, 1, 3, 3))),
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(5, 5\)"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0),
     r"conv2d: stride must be positive"),
    (lambda: conv1d(np.ones((1, 2, 5)), np.ones((1, 2, 7))),
     r"conv1d: kernel size \(7,\).*padded input size \(5,\)"),
    (lambda: conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((3, 1, 3, 3))),
     r"conv_transpose2d: input of shape \(1, 2, 3, 3\) has 2 channels.*expects 3"),
    (lambda: conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3)), stride=2,
                              output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride"),
    (lambda: conv_transpose2d(np.ones((1, 3, 3, 3)), np.ones((3, 1, 3, 3)), groups=2),
     r"conv_transpose2d: groups=2 must divide the input channels"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises((RuntimeError, ValueError, TypeError), match=match):
        call()
