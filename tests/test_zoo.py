"""Every model the zoo registers: a described entry, a finite forward pass of its tiny
configuration, and float64 gradients that match central differences along random directions
(``tg.testing.fuzz.fuzz_model``; the element-by-element gradchecks of each family live in
the family's own test file). A new zoo entry is checked here without further work."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.nn import models
from tinygrad_cs.testing.fuzz import flatten_outputs, fuzz_model

TASKS = {"classify", "binary", "language", "generate", "features", "detect"}
NAMES = models.names()


def test_the_zoo_has_the_cs231n_models():
    expected = {"perceptron", "mlp", "softmax", "svm", "vgg16", "vgg_small", "googlenet",
                "googlenet_small", "mobilenet_v1", "resnet8", "resnet18", "resnet20", "resnet50",
                "resnet56", "resnext50_32x4d", "resnext_cifar", "resnet18_fpn", "char_lstm",
                "char_rnn", "dcgan"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_zoo_entry_runs_and_its_gradients_match_finite_differences(name):
    entry = models.get(name)
    assert entry.name == name and entry.task in TASKS and entry.description
    tg.manual_seed(0)
    model, x = entry.tiny()
    outputs = flatten_outputs(model(x))
    assert outputs and all(np.isfinite(t.numpy()).all() for t in outputs)
    report = fuzz_model(entry.tiny, max_examples=1, name=name)
    assert report.max_rel_error < 1e-4


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="resnet18"):
        models.get("resnet19")
