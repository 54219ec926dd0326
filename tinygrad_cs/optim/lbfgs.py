"""``LBFGS``: limited-memory BFGS, as ``torch.optim.LBFGS`` (Nocedal & Wright, Alg. 7.4, 7.5).

A quasi-Newton method on all parameters taken as one flat vector ``x`` (gradient ``g``).
Each iteration moves along ``d = -H g``, where ``H`` approximates the inverse Hessian from
the last ``history_size`` pairs (newest last)::

    s_k = x_{k+1} - x_k,    y_k = g_{k+1} - g_k,    rho_k = 1 / (y_k . s_k)

without ever forming ``H``, by the two-loop recursion (N&W Alg. 7.4)::

    q = -g
    for k = newest ... oldest:   a_k = rho_k (s_k . q);   q = q - a_k y_k
    r = gamma q                  gamma = (s . y) / (y . y) of the newest pair (H0 = gamma I)
    for k = oldest ... newest:   b = rho_k (y_k . r);     r = r + (a_k - b) s_k
    d = r

A pair is kept only when ``y . s > 1e-10``: positive curvature keeps ``H`` positive
definite, so ``d`` goes downhill.

The step length: the first iteration ever has no history, so ``d = -g`` and the trial step
is ``t = min(1, 1 / |g|_1) * lr``; after it ``t = lr``. With ``line_search_fn=None``,
``x = x + t d`` and the closure runs once more; with ``"strong_wolfe"``, ``t`` is chosen
from that trial by a strong-Wolfe line search (``_line_search``). One ``step(closure)``
runs iterations until one of: ``max_iter`` iterations, ``max_eval`` closure calls
(default ``max_iter * 5 // 4``), ``max|g| <= tolerance_grad`` (also checked before the
first), ``d . g > -tolerance_change`` (not downhill), ``max|t d| <= tolerance_change``,
``|f - f_prev| < tolerance_change``. These are ``torch.optim.LBFGS``'s choices, so the two
follow the same trajectory (up to rounding).

The state, in ``optimizer.state[params[0]]`` under PyTorch's keys, carries the history
from one ``step`` to the next and through ``state_dict`` / ``load_state_dict``:
``func_evals`` and ``n_iter`` (closure calls and iterations over all steps), ``d``, ``t``,
``old_dirs`` (the ``y_k``), ``old_stps`` (the ``s_k``), ``ro``, ``H_diag`` (``gamma``),
``prev_flat_grad``, ``prev_loss``. A ``step`` that raises (in the closure, or on a bad
gradient) puts the parameters back and leaves the state as it was.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import versions
from ..grad_mode import enable_grad
from ..tensor import Tensor
from ._line_search import strong_wolfe
from .optimizer import Optimizer, Params, check


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)``, as
    ``torch.optim.LBFGS``: one parameter group, floating-point parameters of one dtype,
    and ``step(closure)``, where the closure clears the gradients, computes the loss,
    calls ``backward`` and returns the loss."""

    def __init__(self, params: Params, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        check("LBFGS", lr >= 0.0, f"Invalid learning rate: {lr}")
        check("LBFGS", isinstance(max_iter, int) and max_iter >= 1,
              f"Invalid max_iter: {max_iter!r} (a positive int)")
        check("LBFGS", isinstance(history_size, int) and history_size >= 1,
              f"Invalid history_size: {history_size!r} (a positive int)")
        check("LBFGS", line_search_fn in (None, "strong_wolfe"),
              f"only 'strong_wolfe' is supported as line_search_fn, got {line_search_fn!r}")
        super().__init__(params, {
            "lr": lr, "max_iter": max_iter,
            "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn})

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """The one group of parameters; a second is refused, as in PyTorch."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)
        params = self.param_groups[0]["params"]
        dtypes = [p.dtype for p in params]
        bad = [i for i, dt in enumerate(dtypes) if dt.kind != "f" or dt != dtypes[0]]
        if bad:
            self.param_groups.clear()
            i = bad[0]
            raise TypeError(f"LBFGS: all parameters must share one floating-point dtype (they "
                            f"form one flat vector); parameter 0 is {dtypes[0]}, parameter {i} "
                            f"(shape {params[i].shape}) is {dtypes[i]}")

    # -- the flat vector ------------------------------------------------------------------
    @property
    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        """All gradients as one new vector (zeros for a parameter without one), checked."""
        for index, p in enumerate(self._params):
            if p.grad is not None:
                self._check_grad(p, index)
        return np.concatenate([p.grad.numpy().reshape(-1) if p.grad is not None
                               else np.zeros(p.numel(), p.dtype) for p in self._params])

    def _move(self, t: float, d: np.ndarray, start: np.ndarray | None = None) -> None:
        """``x = x + t d``, or ``x = start + t d``, in place in every parameter."""
        offset = 0
        for p in self._params:
            array = p.numpy()
            part = d[offset:offset + array.size].reshape(array.shape)
            if start is None:
                array += t * part
            else:
                np.add(start[offset:offset + array.size].reshape(array.shape), t * part,
                       out=array)
            versions.bump(p)
            offset += array.size

    def _evaluate(self, closure: Callable[[], Any]) -> tuple[Any, float, np.ndarray]:
        """The closure's loss (as returned, and as a float) and the flat gradient."""
        with enable_grad():
            loss = closure()
        if isinstance(loss, Tensor) and loss.numel() == 1:
            value = float(loss.item())
        elif isinstance(loss, (int, float, np.number)) and not isinstance(loss, bool):
            value = float(loss)
        else:
            shape = f" of shape {loss.shape}" if isinstance(loss, Tensor) else ""
            raise TypeError(f"LBFGS.step: the closure must return the loss, a one-element "
                            f"tensor or a number; it returned {type(loss).__name__}{shape}")
        return loss, value, self._flat_grad()

    # -- the step ---------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call.

        ``closure()`` must clear the gradients, compute the loss, call ``loss.backward()``
        and return the loss: L-BFGS evaluates it several times per step.
        """
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model: "
                               "optimizer.step(closure), where closure() calls "
                               "optimizer.zero_grad(), computes the loss, calls "
                               "loss.backward() and returns the loss")
        saved = [p.numpy().copy() for p in self._params]
        try:
            return self._iterate(closure)
        except BaseException:
            for p, array in zip(self._params, saved):
                np.copyto(p.numpy(), array)
                versions.bump(p)
            raise

    def _iterate(self, closure: Callable[[], Any]) -> Any:
        group, state = self.param_groups[0], self.state[self._params[0]]
        lr, history_size = group["lr"], group["history_size"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        first_loss, f, g = self._evaluate(closure)
        evals, func_evals, n_iter = 1, state.get("func_evals", 0) + 1, state.get("n_iter", 0)
        if np.abs(g).max(initial=0.0) <= tolerance_grad:  # already at a stationary point
            state.update(func_evals=func_evals, n_iter=n_iter)
            return first_loss
        d, t, gamma = state.get("d"), state.get("t"), state.get("H_diag", 1.0)
        dirs, steps, ro = (list(state.get(k, [])) for k in ("old_dirs", "old_stps", "ro"))
        g_prev, f_prev = state.get("prev_flat_grad"), state.get("prev_loss")
        for iteration in range(1, group["max_iter"] + 1):
            n_iter += 1
            if n_iter == 1:
                d, dirs, steps, ro, gamma = -g, [], [], [], 1.0
            else:
                y, s = g - g_prev, d * t
                ys = float(y @ s)
                if ys > 1e-10:  # positive curvature: keep the pair
                    if len(dirs) == history_size:
                        del dirs[0], steps[0], ro[0]
                    dirs.append(y)
                    steps.append(s)
                    ro.append(1.0 / ys)
                    gamma = ys / float(y @ y)
                d = _two_loop(g, dirs, steps, ro, gamma)
            g_prev, f_prev = g, f
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if n_iter == 1 else lr
            gtd = float(g @ d)
            if gtd > -tolerance_change:  # not a descent direction: nothing more to gain
                break
            if group["line_search_fn"] == "strong_wolfe":
                start = np.concatenate([p.numpy().reshape(-1) for p in self._params])

                def along(step: float, start: np.ndarray = start,
                          d: np.ndarray = d) -> tuple[float, np.ndarray]:
                    self._move(step, d, start)
                    _, value, grad = self._evaluate(closure)
                    return value, grad

                f, g, t, used = strong_wolfe(along, d, t, f, g, gtd,
                                             tolerance_change=tolerance_change)
                self._move(t, d, start)
            else:
                self._move(t, d)
                used = 0
                if iteration != group["max_iter"]:
                    _, f, g = self._evaluate(closure)
                    used = 1
            evals += used
            func_evals += used
            if (iteration == group["max_iter"] or evals >= group["max_eval"]
                    or np.abs(g).max(initial=0.0) <= tolerance_grad
                    or np.abs(d * t).max(initial=0.0) <= tolerance_change
                    or abs(f - f_prev) < tolerance_change):
                break
        state.update(func_evals=func_evals, n_iter=n_iter, d=d, t=t, old_dirs=dirs,
                     old_stps=steps, ro=ro, H_diag=gamma, prev_flat_grad=g_prev,
                     prev_loss=f_prev)
        return first_loss

    # -- state dicts --------------------------------------------------------------------------
    def _restore_entry(self, key: str, value: Any, p: Tensor, where: str) -> Any:
        """A loaded state entry: vectors are flat, of all parameters' elements (not shaped
        like ``p``); 0-d arrays and tensors become numbers; lists stay lists."""
        if isinstance(value, (list, tuple)):
            return [self._restore_entry(key, v, p, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Tensor):
            value = value.numpy()
        if isinstance(value, (np.ndarray, np.generic)):
            if np.ndim(value) == 0:
                return value.item()
            size = sum(q.numel() for q in self._params)
            if value.shape != (size,):
                raise ValueError(f"{where} has shape {value.shape}, but LBFGS keeps flat "
                                 f"vectors of all {size} parameter elements")
            return value.astype(p.dtype, copy=True)
        return value


def _two_loop(g: np.ndarray, dirs: list[np.ndarray], steps: list[np.ndarray],
              ro: list[float], gamma: float) -> np.ndarray:
    """``d = -H g`` by the two-loop recursion over the (s, y) history (module docstring)."""
    q = -g
    alphas = [0.0] * len(dirs)
    for k in reversed(range(len(dirs))):
        alphas[k] = float(steps[k] @ q) * ro[k]
        q -= alphas[k] * dirs[k]
    r = q * gamma
    for k in range(len(dirs)):
        beta = float(dirs[k] @ r) * ro[k]
        r += (alphas[k] - beta) * steps[k]
    return r
