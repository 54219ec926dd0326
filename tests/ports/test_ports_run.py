"""Programs written as PyTorch code run on tinygrad_cs after their imports are rewritten
(``porting.port_source``), and give PyTorch's results.

Each program in this folder is plain PyTorch code with a ``main()`` that returns its figures.
It runs twice: as written on PyTorch (when installed) and ported on tinygrad_cs. Programs
whose weights come from numpy and whose batches come in a fixed order follow the same
trajectory, compared step by step; the others (their noise comes from each library's own
generator) are compared by their final loss.
"""
from __future__ import annotations

import numpy as np
import pytest
from porting import load_program, port_line, port_source


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("ports")


def _both(name: str, folder):
    pytest.importorskip("torch")
    return (load_program(name, "torch", folder).main(),
            load_program(name, "tinygrad_cs", folder).main())


def test_only_import_lines_change():
    source = ("import torch\nimport torch.nn as nn\nfrom torch.utils.data import DataLoader\n"
              "import torchvision\nfrom torchvision import datasets\nx = torch.zeros(2)  # torch\n"
              "    import torch.nn.functional as F\n")
    assert port_source(source).split("\n") == [
        "import tinygrad_cs as torch", "import tinygrad_cs.nn as nn",
        "from tinygrad_cs.utils.data import DataLoader", "import tinygrad_cs.vision as torchvision",
        "from tinygrad_cs.vision import datasets", "x = torch.zeros(2)  # torch",
        "    import tinygrad_cs.nn.functional as F", ""]
    assert port_line("import torchaudio") == "import torchaudio"


def test_cnn_classifier_follows_pytorchs_trajectory(folder):
    theirs, ours = _both("cnn_digits", folder)
    # 56 SGD steps in float32: the first ones agree closely, the drift stays small
    np.testing.assert_allclose(ours["losses"][:10], theirs["losses"][:10], rtol=1e-4)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-2, atol=2e-3)
    assert abs(ours["accuracy"] - theirs["accuracy"]) <= 0.02 and ours["accuracy"] > 0.75
    for key in ("names", "formatted", "reloaded", "subset", "never_0"):
        assert ours[key] == theirs[key], key
    assert ours["reloaded"] and ours["subset"] and ours["never_0"]
    assert abs(ours["share_of_2"] - 0.75) < 0.03 and abs(theirs["share_of_2"] - 0.75) < 0.03


def test_word_lstm_with_hand_written_sgd_follows_pytorchs_trajectory(folder):
    theirs, ours = _both("word_lstm", folder)
    assert ours["names"] == theirs["names"]
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-3)
    np.testing.assert_allclose(ours["final"], theirs["final"], rtol=1e-3)
    assert ours["final"] < 0.8 * ours["losses"][0]  # it learns (ln 40 words = 3.7 nats)


def test_lbfgs_closure_follows_pytorchs_trajectory(folder):
    theirs, ours = _both("lbfgs_sequence", folder)
    assert ours["evals"] == theirs["evals"] and ours["shape"] == theirs["shape"]
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-6)
    np.testing.assert_allclose(ours["test_loss"], theirs["test_loss"], rtol=1e-6)
    assert ours["losses"][-1] < 0.2 * ours["losses"][0]


def test_vae_reaches_pytorchs_loss(folder):
    theirs, ours = _both("vae_digits", folder)
    # different noise and shuffles: the same loss band, not the same steps
    assert ours["epoch_losses"][-1] < 0.8 * ours["epoch_losses"][0]
    np.testing.assert_allclose(ours["epoch_losses"][-1], theirs["epoch_losses"][-1], rtol=0.05)
    np.testing.assert_allclose(ours["test_loss"], theirs["test_loss"], rtol=0.05)
    assert ours["sample_shape"] == theirs["sample_shape"] == (16, 1, 8, 8)
    assert 0 <= ours["sample_range"][0] <= ours["sample_range"][1] <= 1


def test_transformer_with_masks_follows_pytorchs_trajectory(folder):
    theirs, ours = _both("tiny_transformer", folder)
    np.testing.assert_allclose(ours["losses"][:10], theirs["losses"][:10], rtol=1e-4)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-2)
    assert ours["losses"][-1] < 0.5 * ours["losses"][0]
    np.testing.assert_allclose(ours["weights"], theirs["weights"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ours["causal"], theirs["causal"], rtol=1e-3, atol=1e-5)
    assert abs(ours["accuracy"] - theirs["accuracy"]) <= 0.05
