"""Three compiled training steps of every zoo classifier (its ``tiny()`` configuration) and
of the char-LSTM equal three eager steps bit for bit: losses, parameters, buffers
(BatchNorm running statistics), ``.grad`` and SGD momentum buffers, with dropout drawing
the same masks from the same seed.

Bit for bit, because a replay calls the same ``Function.forward``/``backward`` code on the
same arrays as the eager step (no pass rewrites the program here). Oracle: an identical
twin model trained eagerly.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.models import registry

CLASSIFIERS = registry.names("classify")
STEPS = 3


def _labels(logits_shape, k: int) -> tg.Tensor:
    n, classes = logits_shape[0], logits_shape[-1]
    return tg.tensor(np.random.default_rng(k).integers(0, classes, n))


def _trainer(model):
    opt = tg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y)
        loss.backward()
        opt.step()
        return loss
    return step, opt


def _inputs(x, k: int):
    """Step k's input: the example input, changed (ids shifted for a language model)."""
    data = x.numpy()
    if data.dtype.kind == "i":
        return tg.tensor((data + k) % 5)
    return tg.tensor(data * (1.0 + 0.1 * k))


@pytest.mark.parametrize("name", [*CLASSIFIERS, "char_lstm"])
def test_compiled_training_steps_equal_eager(name):
    entry = registry.get(name)
    tg.manual_seed(0)
    eager_model, x = entry.tiny()
    tg.manual_seed(0)
    model, _ = entry.tiny()
    eager_step, eager_opt = _trainer(eager_model)
    step, opt = _trainer(model)
    compiled = tg.compile(step)
    with tg.no_grad():   # the output's shape; in train mode, so both twins' BatchNorm stats move
        shape = eager_model(x).shape
        model(x)
    n = int(np.prod(shape[:-1]))
    batches = [(_inputs(x, k), _labels((n, shape[-1]), k)) for k in range(STEPS)]
    tg.manual_seed(1)
    expected = [eager_step(*b).item() for b in batches]
    tg.manual_seed(1)
    got = [compiled(*b).item() for b in batches]
    assert got == expected
    assert compiled.graph_break is None and compiled.traces == 2  # .grad, momentum appear
    for (key, a), b in zip(eager_model.state_dict().items(), model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)
    for a, b in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
        np.testing.assert_array_equal(eager_opt.state[a]["momentum_buffer"],
                                      opt.state[b]["momentum_buffer"])
