"""tg.compile never replays a stale value: data made inside the function, Python side
effects and in-place changes through views are graph breaks (eager from then on), while
factory constants are kept. Oracle: the same function run eagerly, call by call."""
import warnings

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn


def _calls(fn, make_args, n=3):
    """fn's results over n calls, and the graph-break warnings they raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [np.array(fn(*make_args(i)).numpy()) for i in range(n)]
    return results, [str(w.message) for w in caught if "graph break" in str(w.message)]


def _same_as_eager(f, make_args, expect_break: str | None):
    compiled = tg.compile(f)
    np.random.seed(0)
    eager, _ = _calls(f, make_args)
    np.random.seed(0)
    got, breaks = _calls(compiled, make_args)
    for a, b in zip(eager, got):
        np.testing.assert_array_equal(a, b)
    if expect_break is None:
        assert breaks == [] and compiled.traces == 1 and compiled.graph_break is None
    else:
        assert len(breaks) == 1 and expect_break in breaks[0], breaks
    return compiled


def _x(i):
    return (tg.tensor(np.arange(3.0) + i),)


def test_tensor_made_from_numpy_inside_is_a_break():
    _same_as_eager(lambda x: x + tg.tensor(np.random.rand(3)), _x, "made inside the function")
    _same_as_eager(lambda x: x * tg.from_numpy(np.random.rand(3)), _x, "made inside the function")


def test_numpy_array_operand_from_user_code_is_a_break():
    _same_as_eager(lambda x: x * np.random.rand(3), _x, "a numpy array of shape (3,)")
    _same_as_eager(lambda x: tg.where(tg.tensor(np.random.rand(3)) > 0.5, x, -x), _x,
                   "made inside the function")


def test_factory_constants_are_kept():
    compiled = _same_as_eager(lambda x: (x + tg.ones(3)) * tg.arange(3) - tg.full((3,), 2.0)
                              + tg.zeros_like(x), _x, None)
    assert "Const" not in str(compiled.program) and "const[3]" in str(compiled.program)


def test_numpy_argument_of_the_compiled_function_is_traced():
    compiled = _same_as_eager(lambda x, m: x * m, lambda i: (tg.tensor(np.ones(3)),
                                                             np.random.rand(3)), None)
    assert len(compiled.program.inputs) == 2


def _model_and_step(inside):
    tg.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        inside(model, opt, sched, loss)
        return model.weight.detach().clone()
    return step


@pytest.mark.parametrize("inside,what", [
    (lambda m, o, s, loss: s.step(), "StepLR.step()"),
    (lambda m, o, s, loss: o.param_groups[0].update(lr=o.param_groups[0]["lr"] * 0.5),
     "param_groups changed"),
    (lambda m, o, s, loss: setattr(m, "last_loss", loss.detach()), "Linear.last_loss"),
])
def test_python_side_effects_are_breaks(inside, what):
    eager, compiled = _model_and_step(inside), tg.compile(_model_and_step(inside))
    make = lambda i: (tg.tensor(np.ones((1, 2), np.float32) * (i + 1)),)
    expected, _ = _calls(eager, make, n=4)
    got, breaks = _calls(compiled, make, n=4)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
    assert len(breaks) == 1 and what in breaks[0], breaks


def test_inplace_change_through_a_view_is_a_break():
    def f(x):
        y = x * 2.0
        y[:2].add_(1.0)         # changes y through a view of it
        return y + 0.0
    _same_as_eager(f, _x, "shares memory")


def test_inplace_through_dot_data_writes_the_parameter():
    w = tg.tensor(np.ones(3), requires_grad=True)

    def f(x):
        w.data.mul_(0.5)        # another Tensor object on w's array
        return (x * w).detach()
    compiled = tg.compile(f)
    outs = [compiled(tg.tensor(np.ones(3))).numpy()[0] for _ in range(3)]
    assert outs == [0.5, 0.25, 0.125] and compiled.traces == 1 and compiled.graph_break is None
    np.testing.assert_array_equal(w.numpy(), np.full(3, 0.125))


def test_values_saved_as_numpy_scalars_and_argmax_indices_follow_the_inputs():
    # amax of a 0-d tensor saves its output as a numpy scalar; max(dim) computes indices:
    # both are program values, recomputed at every replay
    w = tg.tensor(np.array(-0.25), requires_grad=True)

    def f(x):
        values, indices = x.max(1)
        loss = (tg.ops.norm(w, float("inf")) * values).sum()
        loss.backward()
        return values * 1.0, indices

    def check(fn, k):
        w.grad = None
        np.copyto(w._data, -0.25 + 0.01 * k)
        x = tg.tensor(np.random.default_rng(k).standard_normal((2, 3)))
        values, indices = fn(x)
        return values.numpy().copy(), indices.numpy().copy(), w.grad.numpy().copy()
    compiled = tg.compile(f)
    for k in range(3):
        for a, b in zip(check(compiled, k), check(f, k)):
            np.testing.assert_array_equal(a, b)
    assert compiled.traces == 1 and compiled.graph_break is None


def test_mask_computed_by_the_library_in_numpy_is_a_break():
    # PReLU selects with a numpy mask of its input's values: replaying it would reuse the
    # traced call's mask, so the trace stops
    prelu = nn.PReLU()
    _same_as_eager(lambda x: prelu(x * (-1.0) ** x.shape[0]).detach(),
                   lambda i: (tg.tensor(np.array([1.0, -1.0, 2.0]) * (-1) ** i),),
                   "computed by the library from a tensor's values")
