"""In-place changes and version counters: a changed saved tensor raises, never a wrong gradient.

Oracles: PyTorch's behaviour on the same program (raise or not, ``_version`` values,
gradients), and closed forms. The Hypothesis property runs random programs in both
engines: whenever PyTorch raises we raise, and whenever we do not raise our gradient
is PyTorch's (we may refuse a few programs PyTorch computes: Mul saves both inputs).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn, optim

MODIFIED = "modified by an inplace operation"


def test_mul_by_a_tensor_changed_afterwards_raises_naming_op_input_and_versions():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([1.0, 1.0])
    y = x * w
    w.mul_(5)
    with pytest.raises(RuntimeError, match=MODIFIED) as error:
        y.sum().backward()
    message = str(error.value)
    assert "input 1 of Mul" in message
    assert "is at version 1; expected version 0" in message
    assert "shape (2,)" in message and "Hint" in message
    assert x.grad is None  # nothing was accumulated before the error


def test_the_message_counts_the_changes_since_the_op_ran():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([1.0, 1.0])
    for _ in range(3):
        w.add_(1)        # version 3 before the op runs
    y = x * w
    w.mul_(2)
    w.sub_(1)
    with pytest.raises(RuntimeError, match="is at version 5; expected version 3 instead"):
        y.sum().backward()
    z = x * w
    for _ in range(40):  # more changes than a counter remembers
        w.add_(0)
    with pytest.raises(RuntimeError, match="is at version 45; expected version 13 or lower"):
        z.sum().backward()


def test_saved_output_changed_through_detach_raises():
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="its output of Exp"):
        y.sum().backward()


@pytest.mark.parametrize("op", ["exp", "sigmoid", "tanh"])
def test_every_op_that_saves_its_output_is_covered(op):
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    y = getattr(x, op)()
    y.detach().add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


def test_optimizer_step_between_forward_and_backward_raises_naming_the_module():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(tg.randn(5, 3)).sum()
    opt.step()  # no gradients yet: nothing changes, nothing is bumped
    loss.backward()
    opt.step()  # the weights change in place: version 1
    opt.zero_grad()
    loss = model(tg.randn(5, 3)).sum()
    loss.backward()
    loss = model(tg.randn(5, 3)).sum()
    opt.step()  # the classic slip: a step between this forward and its backward
    with pytest.raises(RuntimeError, match=MODIFIED) as error:
        loss.backward()
    assert "in module '2'" in str(error.value)


def test_second_backward_after_an_in_place_change_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0])
    y = (x * w).sum()
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    w.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_changes_that_no_backward_needs_are_allowed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0])
    y = (x + w).sum()  # Add saves nothing
    w.mul_(10)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    z = (x * w).sum()
    z.backward()  # changed before the op ran: fine
    np.testing.assert_array_equal(x.grad.numpy(), [31.0, 41.0])


def test_views_share_the_version_counter():
    base = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    views = [base.detach(), base.reshape(4), base.view(-1), base[0], base.T, base.transpose(0, 1)]
    for k, view in enumerate(views):
        view.add_(0)
        assert base._version == k + 1
        assert all(v._version == k + 1 for v in views)
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    y = (x * base[1]).sum()
    base.reshape(4)[3] = 7.0  # through a view of a view
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_writes_through_data_and_numpy_are_not_tracked_as_in_pytorch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([1.0, 1.0])
    y = (x * w).sum()
    w.data.mul_(5)      # untracked: the documented difference between .data and .detach()
    w.numpy()[0] += 1   # untracked too
    assert w._version == 0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 5.0])


def test_version_numbers_follow_pytorch():
    torch = pytest.importorskip("torch")

    def program(lib):
        t = lib.tensor([1.0, 2.0, 3.0])
        seen = [t._version]
        t.add_(1)
        seen.append(t._version)
        t[0] = 5.0
        seen.append(t._version)
        v = t.view(3)
        v.mul_(2)
        seen.append(t._version)
        t.detach().zero_()
        seen.append(t._version)
        t.data.fill_(1)
        seen.append(t._version)
        with lib.no_grad():
            t.copy_(lib.tensor([4.0, 5.0, 6.0]))
        seen.append(t._version)
        return seen
    assert program(tg) == program(torch)


# -- random programs, both engines -----------------------------------------------------------
OPS = {
    "mul": lambda x, c: x * c,
    "div": lambda x, c: x / c,
    "add": lambda x, c: x + c,
    "exp": lambda x, c: x.exp(),
    "tanh": lambda x, c: x.tanh(),
    "sigmoid": lambda x, c: x.sigmoid(),
    "pow": lambda x, c: x**2,
    "matmul": lambda x, c: x @ c.reshape(3, 1),
}
CHANGES = {
    "nothing": lambda lib, x, c, y: None,
    "c in place": lambda lib, x, c, y: c.mul_(2.0),
    "view of c": lambda lib, x, c, y: c.view(3)[1:].add_(1.0),
    "c.data": lambda lib, x, c, y: c.data.mul_(3.0),
    "y detached": lambda lib, x, c, y: y.detach().mul_(0.5),
    "x under no_grad": lambda lib, x, c, y: _no_grad(lib, lambda: x.add_(1.0)),
}


def _no_grad(lib, fn):
    with lib.no_grad():
        fn()


def _run(lib, op, change, xs, cs):
    x = lib.tensor(xs, requires_grad=True)
    c = lib.tensor(cs)
    y = OPS[op](x, c)
    z = (y * y).sum() if op != "matmul" else y.sum()
    CHANGES[change](lib, x, c, y)
    try:
        z.backward()
    except RuntimeError as error:
        assert "inplace" in str(error)
        return None
    return np.array(x.grad.tolist())


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(sorted(OPS)), change=st.sampled_from(sorted(CHANGES)),
       xs=st.lists(st.floats(-2, 2), min_size=3, max_size=3),
       cs=st.lists(st.floats(0.5, 2), min_size=3, max_size=3))
def test_random_programs_raise_or_match_pytorch(op, change, xs, cs):
    torch = pytest.importorskip("torch")
    theirs = _run(torch, op, change, xs, cs)
    ours = _run(tg, op, change, np.float32(xs), np.float32(cs))
    if theirs is None:
        assert ours is None, f"{op} then {change}: PyTorch raises, we returned {ours}"
    elif ours is not None:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
