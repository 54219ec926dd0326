"""A run's model loaded back (``train.load_model``), the vocabulary in the checkpoint, and
``TextSamples``, the per-epoch sample of a language model.

Oracles: the checkpoint's own arrays (the loaded parameters equal them bit for bit), the
sample the trained model wrote during training (the loaded model writes it again), and the
state before a call (the global random state, the model's mode and parameters after it).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.data.text import CharCorpus
from tinygrad_cs.nn.models.char_rnn import CharRNN
from tinygrad_cs.nn.models.vocab import CharVocab
from tinygrad_cs.train import Recipe, TextSamples, fit, load_model, prepare
from tinygrad_cs.train.checkpoint import CHECKPOINT, load_checkpoint, restore
from tinygrad_cs.train.text_samples import sample_prefix

TEXT = "for x in range(3):\n    print(x)\n" * 12


def _train(tmp_path, recipe: Recipe, callbacks=()):
    """``recipe`` trained into ``tmp_path/run`` as ``tgcs train`` does; returns (run, dir)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "recipe.json").write_text(json.dumps(recipe.to_dict()), encoding="utf-8")
    run = prepare(recipe)
    fit(run.model, run.train_loader, run.val_loader, loss_fn=run.loss_fn,
        optimizer=run.optimizer, scheduler=run.scheduler,
        scheduler_interval=run.scheduler_interval, epochs=recipe.epochs, run_dir=run_dir,
        progress=False, callbacks=callbacks)
    return run, run_dir


@pytest.fixture
def text_recipe(tmp_path) -> Recipe:
    path = tmp_path / "code.txt"
    path.write_text(TEXT, encoding="utf-8")
    return Recipe(model="char_lstm", data="text", text_file=str(path), seq_len=16,
                  batch_size=8, epochs=2, lr_schedule="none", optimizer="adam", lr=0.01)


def test_a_loaded_language_model_knows_its_characters_and_writes_what_it_wrote(
        tmp_path, text_recipe):
    sampler_path = tmp_path / "samples.txt"
    run, run_dir = _train(tmp_path, text_recipe)
    samples = TextSamples(run.model, sampler_path, prefix="for ", length=40, seed=3,
                          echo=False)                # no corpus=: the model's own vocab
    samples.on_epoch_end({"epoch": 2})
    ckpt = load_checkpoint(run_dir / CHECKPOINT)
    assert ckpt["vocab"] == "".join(sorted(set(TEXT)))
    (run_dir / "code.txt").write_text("", encoding="utf-8")      # not read again
    state = tg.get_rng_state()
    model = load_model(run_dir)
    assert tg.get_rng_state() == state and not model.training
    assert model.vocab.vocab == tuple(sorted(set(TEXT)))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), np.asarray(ckpt["model"][key]), key)
    # no corpus=: the model decodes by itself, and writes what the trained one wrote
    assert model.sample("for ", 40, seed=3, temperature=0.8) == samples.samples[0][1]
    assert sampler_path.read_text(encoding="utf-8") == (
        f"== epoch 2 (prefix 'for ', temperature 0.8, seed 3)\nfor {samples.samples[0][1]}\n\n")


def test_resume_refuses_a_checkpoint_of_other_characters_and_changes_nothing(
        tmp_path, text_recipe):
    run, run_dir = _train(tmp_path, Recipe(**{**text_recipe.to_dict(), "epochs": 1}))
    ckpt = load_checkpoint(run_dir / CHECKPOINT)
    size = len(run.model.vocab)
    shuffled = CharVocab(reversed(run.model.vocab.vocab))    # as many characters, other ids
    fresh = CharRNN(size)
    fresh.vocab = shuffled
    before = {k: v.numpy().copy() for k, v in fresh.state_dict().items()}
    with pytest.raises(ValueError, match=f"vocabulary of {size} characters that differs"):
        restore(ckpt, model=fresh, optimizer=tg.optim.SGD(fresh.parameters(), lr=0.1),
                scheduler=None, loaders={}, path=run_dir / CHECKPOINT)
    assert fresh.vocab is shuffled
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], key)


def test_a_loaded_classifier_equals_its_checkpoint(tmp_path):
    recipe = Recipe(model="mlp", data="spiral", epochs=1, lr_schedule="none")
    _, run_dir = _train(tmp_path, recipe)
    ckpt = load_checkpoint(run_dir / CHECKPOINT)
    assert ckpt["vocab"] is None
    state = tg.get_rng_state()
    model = load_model(run_dir)
    assert tg.get_rng_state() == state and getattr(model, "vocab", None) is None
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), np.asarray(ckpt["model"][key]), key)
    with pytest.raises(FileNotFoundError, match="recipe.json"):
        load_model(tmp_path / "nowhere")


def test_text_samples_leave_training_as_it_was(tmp_path):
    (tmp_path / "t.txt").write_text("abcabd", encoding="utf-8")
    corpus = CharCorpus(tmp_path / "t.txt")
    tg.manual_seed(1)
    model = CharRNN(len(corpus.vocab), embed_dim=3, hidden_size=5, dropout=0.5)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = tg.get_rng_state()
    samples = TextSamples(model, tmp_path / "s.txt", prefix="ab", length=12, corpus=corpus,
                          echo=False)
    for epoch in (1, 2):
        samples.on_epoch_end({"epoch": epoch})
    assert model.training and tg.get_rng_state() == state
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], key)
    # one seed every epoch: unchanged weights give the same text
    assert samples.samples[0][1] == samples.samples[1][1]
    assert len(samples.samples[0][1]) == 12
    assert (tmp_path / "s.txt").read_text(encoding="utf-8").count("== epoch") == 2
    with pytest.raises(TypeError, match="no sample method"):
        TextSamples(tg.nn.Linear(2, 2))


@pytest.mark.parametrize("text, wanted, prefix", [
    ("def f(): pass", None, "def "), ("the cat", None, "a"), ("123 ", None, " "),
    ("the cat", "cat", "cat")])
def test_sample_prefix_takes_what_the_text_can_spell(text, wanted, prefix):
    assert sample_prefix(CharVocab(sorted(set(text))), wanted) == prefix


def test_a_prefix_the_text_cannot_spell_is_refused():
    with pytest.raises(ValueError, match="'z', which the text lacks"):
        sample_prefix(CharVocab("abc"), "abz")
    with pytest.raises(ValueError, match="is empty"):
        sample_prefix(CharVocab("abc"), "")
