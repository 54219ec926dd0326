"""Whole-sequence RNN and GRU ops: one graph node per layer and direction, BPTT inside.

``nn.RNN`` and ``nn.GRU`` run each layer (and direction) as one ``Function`` over the
whole sequence, not as a chain of per-step cells, because that is where the time goes:
with per-step ops the engine pays its bookkeeping ~10 times per step, and the weight
gradients come out as T small outer products (K = batch) summed one by one. Here:

* the input projection of every step is one GEMM:  X (T*N, I) @ W_ih^T -> (T, N, G*H);
* each step adds the recurrent GEMM  h_{t-1} @ W_hh^T  and runs the cell's pointwise math;
* backward walks the steps in reverse for the gradients of the gate pre-activations dA_t
  (T, N, G*H) and of the state, then gets every weight gradient with one GEMM each:
  dW_ih = dA^T X,  dW_hh = dA^T H_prev,  db = sum_t,n dA,  dX = dA W_ih.

``nn.LSTM`` does the same with the engine's LSTM layer op (``tinygrad_cs.ops.rnn.lstm``,
whose pointwise step is a fused Numba kernel).

Shapes (time-major, as PyTorch's default): x (T, N, I), h0 (N, H), W_ih (G*H, I),
W_hh (G*H, H), biases (G*H,), with G = 3 (GRU, gates r, z, n) or 1 (RNN). ``reverse=True``
runs the steps from t = T-1 down to 0 (the backward direction of a bidirectional layer).

An op has one output, so each returns all its states, states (T+1, N, H), in processing
order (step p is time p, or T-1-p when reversed), with the initial state in front:
states[0] = h0 and states[p+1] = h after step p. The layer's output sequence and h_n are
views of it (``states[1:]``, ``states[T]``); their gradients meet again in the gradient of
``states``. The backward is plain numpy, so these ops have no double backward
(``once_differentiable``); the cells of ``rnn_cells`` (composed of differentiable ops) do.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function


def _dtype(op: str, *arrays) -> np.dtype:
    """The common float dtype of the arguments (float32 or float64), or a TypeError."""
    dtype = np.result_type(*[a for a in arrays if a is not None])
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected float32 or float64 arrays, got {dtype}")
    return dtype


def _check(op: str, x, h0, w_ih, w_hh, gates: int) -> tuple[int, int, int]:
    """(T, N, H) after checking every shape against x (T, N, I); errors name them all."""
    xs, hs, wi, wh = (np.shape(a) for a in (x, h0, w_ih, w_hh))
    ok = len(xs) == 3 and len(wi) == 2 and len(wh) == 2 and wh[0] == gates * wh[1]
    ok = ok and xs[0] > 0 and wi == (wh[0], xs[2]) and hs == (xs[1], wh[1])
    if not ok:
        raise RuntimeError(f"{op}: x {xs}, h0 {hs}, w_ih {wi} and w_hh {wh} do not fit: "
                           f"expected x (T, N, I) with T >= 1, h0 (N, H), w_ih ({gates}H, I), "
                           f"w_hh ({gates}H, H)")
    return xs[0], xs[1], wh[1]


def _in_order(x: np.ndarray, reverse: bool, dtype) -> np.ndarray:
    """x (T, N, I) as a (T*N, I) matrix in processing order (a copy only when needed)."""
    seq, n, n_in = x.shape
    return np.reshape(x[::-1] if reverse else x, (seq * n, n_in)).astype(dtype, copy=False)


def _project(xs: np.ndarray, w_ih, bias, seq: int) -> np.ndarray:
    """All steps' input products in one GEMM: (T*N, I) @ W_ih^T + bias -> (T, N, G*H)."""
    out = xs @ w_ih.T
    if bias is not None:
        out += bias
    # N spelled out, not -1: an empty batch (N = 0) has no size to infer it from
    return out.reshape(seq, xs.shape[0] // seq, w_ih.shape[0])


def _transposed(w: np.ndarray) -> np.ndarray:
    """W^T as a contiguous copy: the per-step GEMM h @ W^T then runs as a plain (NN) product,
    measured ~15% faster than BLAS reading W transposed at batch 32, hidden 256."""
    return np.ascontiguousarray(w.T)


def _sum_biases(b_ih, b_hh, dtype):
    if b_ih is None:
        return None
    return np.asarray(b_ih, dtype) + np.asarray(b_hh, dtype)


def _weight_grads(ctx, d_in: np.ndarray, xs: np.ndarray, w_ih, d_rec: np.ndarray,
                  h_prev: np.ndarray, first: int) -> list:
    """[dx, dW_ih, dW_hh, db_ih, db_hh] from the per-step gradients, one GEMM each.

    d_in (T, N, G*H): gradient of the input pre-activations (of x W_ih^T + b_ih);
    d_rec: the same for h W_hh^T + b_hh (the same array in the RNN, not in the GRU);
    h_prev (T*N, H): the state each step started from. ``first`` is the position of
    W_ih among the op's arguments (dx is computed only when x needs a gradient).
    """
    seq, n, width = d_in.shape
    needs = ctx.needs_input_grad
    flat_in = d_in.reshape(seq * n, width)
    flat_rec = d_rec.reshape(seq * n, width)
    dx = None
    if needs[0]:
        dx = (flat_in @ w_ih).reshape(seq, n, w_ih.shape[1])
        dx = dx[::-1] if ctx.reverse else dx
    dw_ih = flat_in.T @ xs if needs[first] else None
    dw_hh = flat_rec.T @ h_prev if needs[first + 1] else None
    has_bias = len(needs) > first + 2
    db_ih = flat_in.sum(axis=0) if has_bias and needs[first + 2] else None
    db_hh = None
    if has_bias and needs[first + 3]:
        # the same sum when the two parts share one gradient (RNN): copy, not redo
        same = d_rec is d_in and db_ih is not None
        db_hh = db_ih.copy() if same else flat_rec.sum(axis=0)
    return [dx, dw_ih, dw_hh, db_ih, db_hh]


class RNNSequence(Function):
    """Elman RNN over a sequence:  h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    (x (T, N, I), h0 (N, H), W_ih (H, I), W_hh (H, H)[, b_ih, b_hh (H,)]) -> states
    (T+1, N, H); act is tanh or relu. Backward, with dh_t the total gradient reaching h_t:
    da_t = dh_t (1 - h_t^2) (tanh) or dh_t [h_t > 0] (relu);  dh_{t-1} += da_t W_hh.
    """
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
                nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn: unknown nonlinearity {nonlinearity!r} (tanh or relu)")
        seq, n, hidden = _check("rnn", x, h0, w_ih, w_hh, 1)
        dtype = _dtype("rnn", x, h0, w_ih, w_hh, b_ih, b_hh)
        w_ih, w_hh = np.asarray(w_ih, dtype), np.asarray(w_hh, dtype)
        xs = _in_order(x, reverse, dtype)
        pre = _project(xs, w_ih, _sum_biases(b_ih, b_hh, dtype), seq)
        states = np.empty((seq + 1, n, hidden), dtype)
        states[0] = h0
        w_hh_t = _transposed(w_hh)
        for t in range(seq):
            a = pre[t]
            a += states[t] @ w_hh_t
            if nonlinearity == "tanh":
                np.tanh(a, out=states[t + 1])
            else:
                np.maximum(a, 0, out=states[t + 1])
        ctx.reverse, ctx.tanh = reverse, nonlinearity == "tanh"
        ctx.save_for_backward(xs, states, w_ih, w_hh)
        return states

    @staticmethod
    def backward(ctx, grad):
        xs, states, w_ih, w_hh = ctx.saved_tensors
        seq = states.shape[0] - 1
        d_pre = np.empty_like(states[1:])
        dh = np.empty_like(states[0])
        d_rec = None
        for t in range(seq - 1, -1, -1):
            h = states[t + 1]
            if d_rec is None:
                dh[...] = grad[t + 1]
            else:
                np.add(grad[t + 1], d_rec, out=dh)
            if ctx.tanh:
                np.multiply(dh, 1 - h * h, out=d_pre[t])
            else:
                np.multiply(dh, h > 0, out=d_pre[t])
            d_rec = d_pre[t] @ w_hh
        dh0 = d_rec + grad[0] if ctx.needs_input_grad[1] else None
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, d_pre, xs, w_ih, d_pre, states[:seq].reshape(-1, states.shape[2]), 2)
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


class GRUSequence(Function):
    """GRU over a sequence (PyTorch's equations, gate order r, z, n)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h' = (1 - z) * n + z * h

    (x (T, N, I), h0 (N, H), W_ih (3H, I), W_hh (3H, H)[, b_ih, b_hh (3H,)]) -> states
    (T+1, N, H). Backward of one step from dh' (hn = W_hn h + b_hn)::

        dn = dh' (1 - z)         dz = dh' (h - n)         da_n = dn (1 - n^2)
        da_r = da_n hn r (1 - r)  da_z = dz z (1 - z)
        d(input part) = [da_r, da_z, da_n]      d(recurrent part) = [da_r, da_z, da_n r]
        dh = dh' z + d(recurrent part) W_hh
    """
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        seq, n, hidden = _check("gru", x, h0, w_ih, w_hh, 3)
        dtype = _dtype("gru", x, h0, w_ih, w_hh, b_ih, b_hh)
        w_ih, w_hh = np.asarray(w_ih, dtype), np.asarray(w_hh, dtype)
        b_hh = None if b_hh is None else np.asarray(b_hh, dtype)
        xs = _in_order(x, reverse, dtype)
        pre = _project(xs, w_ih, None if b_ih is None else np.asarray(b_ih, dtype), seq)
        states = np.empty((seq + 1, n, hidden), dtype)
        states[0] = h0
        acts = np.empty((seq, n, 4 * hidden), dtype)  # r, z, n, hn per step
        w_hh_t, two = _transposed(w_hh), 2 * hidden
        for t in range(seq):
            h, a, act = states[t], pre[t], acts[t]
            rec = h @ w_hh_t
            if b_hh is not None:
                rec += b_hh
            rz, hn = act[:, :two], act[:, 3 * hidden:]
            np.add(a[:, :two], rec[:, :two], out=rz)
            _sigmoid_(rz)
            hn[...] = rec[:, two:]
            new = act[:, two:3 * hidden]
            np.multiply(act[:, :hidden], hn, out=new)
            new += a[:, two:]
            np.tanh(new, out=new)
            out = states[t + 1]
            np.subtract(h, new, out=out)   # h' = n + z (h - n)
            out *= act[:, hidden:two]
            out += new
        ctx.reverse = reverse
        ctx.save_for_backward(xs, states, acts, w_ih, w_hh)
        return states

    @staticmethod
    def backward(ctx, grad):
        xs, states, acts, w_ih, w_hh = ctx.saved_tensors
        seq, hidden = states.shape[0] - 1, states.shape[2]
        two = 2 * hidden
        d_in = np.empty((seq,) + acts.shape[1:2] + (3 * hidden,), acts.dtype)
        d_rec = np.empty_like(d_in)
        dh = np.empty_like(states[0])
        back = None
        for t in range(seq - 1, -1, -1):
            if back is None:
                dh[...] = grad[t + 1]
            else:
                np.add(grad[t + 1], back, out=dh)
            act, h = acts[t], states[t]
            r, z, n, hn = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
            di, dr = d_in[t], d_rec[t]
            da_n = di[:, two:]
            np.multiply(dh * (1 - z), 1 - n * n, out=da_n)
            np.multiply(da_n * hn, r * (1 - r), out=di[:, :hidden])
            np.multiply(dh * (h - n), z * (1 - z), out=di[:, hidden:two])
            dr[:, :two] = di[:, :two]
            np.multiply(da_n, r, out=dr[:, two:])
            back = dh * z + dr @ w_hh
        dh0 = back + grad[0] if ctx.needs_input_grad[1] else None
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, d_in, xs, w_ih, d_rec, states[:seq].reshape(-1, hidden), 2)
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


def _sigmoid_(a: np.ndarray) -> None:
    """In place: a = sigmoid(a) = (1 + tanh(a / 2)) / 2 (no overflow for large |a|)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
