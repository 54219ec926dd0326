"""The zoo's ``PositionalEncoding`` and character-level ``CharTransformer``.

Oracles: the closed form of the sinusoids (and PyTorch's example computing them), causality
(changing a later character changes no earlier logit), an independent re-computation of
greedy sampling (argmax over a re-read window), float64 central differences, the training
command's history file, and a known result: a one-layer Transformer trained for 100 steps on
50k characters of Python source scores well below the held-out unigram entropy.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.cli import main
from tinygrad_cs.data.text import CharCorpus, windows
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.char_transformer import CharTransformer, char_transformer
from tinygrad_cs.nn.models.positional_encoding import PositionalEncoding
from tinygrad_cs.testing import gradcheck

rng = np.random.default_rng(0)
pytestmark = pytest.mark.usefixtures("one_numba_thread")  # tiny layer norms: see conftest


# -- the positional encoding ---------------------------------------------------------------
@pytest.mark.parametrize("d_model", [6, 7])
def test_positional_encoding_is_the_closed_form(d_model):
    pe = PositionalEncoding(d_model, dropout=0.0, max_len=20)
    assert pe.state_dict()["pe"].shape == (20, 1, d_model)
    table = pe.pe.numpy()[:, 0]
    for p in (0, 3, 19):
        for i in range(d_model):
            angle = p / 10000 ** (2 * (i // 2) / d_model)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert table[p, i] == pytest.approx(expected, abs=1e-6)


def test_positional_encoding_matches_pytorch_examples_table():
    torch = pytest.importorskip("torch")
    d_model, max_len = 8, 30
    pe = torch.zeros(max_len, d_model)
    position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    ours = PositionalEncoding(d_model, max_len=max_len).pe.numpy()
    np.testing.assert_allclose(ours, pe.unsqueeze(0).transpose(0, 1).numpy(), atol=1e-6)


def test_positional_encoding_adds_the_rows_in_every_layout():
    pe = PositionalEncoding(4, dropout=0.0, max_len=10)
    table = pe.pe.numpy()[:, 0]
    seq_first = rng.standard_normal((5, 2, 4)).astype(np.float32)
    np.testing.assert_allclose(pe(tg.tensor(seq_first)).numpy(), seq_first + table[:5, None])
    np.testing.assert_allclose(pe(tg.tensor(seq_first[:, 0])).numpy(), seq_first[:, 0]
                               + table[:5])
    batch_first = PositionalEncoding(4, dropout=0.0, max_len=10, batch_first=True)
    x = seq_first.transpose(1, 0, 2)
    np.testing.assert_allclose(batch_first(tg.tensor(x)).numpy(), x + table[None, :5])
    with pytest.raises(ValueError, match=r"length 11 is longer than max_len=10 .*\(11, 2, 4\)"):
        pe(tg.zeros(11, 2, 4))
    with pytest.raises(ValueError, match=r"\(T, N, 4\).*got \(3, 2, 5\)"):
        pe(tg.zeros(3, 2, 5))


# -- the model -----------------------------------------------------------------------------
def _model(**kwargs) -> CharTransformer:
    tg.manual_seed(0)
    options = {"d_model": 8, "nhead": 2, "num_layers": 2, "dim_feedforward": 16,
               "dropout": 0.0, "max_len": 12, **kwargs}
    return CharTransformer(7, **options)


def test_shapes_and_causality():
    model = _model()
    ids = rng.integers(0, 7, (3, 9))
    logits = model(tg.tensor(ids)).numpy()
    assert logits.shape == (3, 9, 7)
    changed = ids.copy()
    changed[:, 6] = (changed[:, 6] + 1) % 7          # a later character ...
    after = model(tg.tensor(changed)).numpy()
    np.testing.assert_array_equal(after[:, :6], logits[:, :6])   # ... changes nothing before
    assert not np.allclose(after[:, 6:], logits[:, 6:])
    np.testing.assert_allclose(model(tg.tensor(ids[0])).numpy(), logits[0], rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"13 characters exceed the context of max_len=12"):
        model(tg.tensor(rng.integers(0, 7, (1, 13))))


def test_float64_gradcheck_of_the_tiny_zoo_model():
    entry = registry.get("char_transformer")
    assert entry.task == "language" and "Transformer" in entry.description
    tg.manual_seed(1)
    model, x = entry.tiny()
    model = model.double()
    y = np.random.default_rng(2).integers(0, model.vocab_size, tuple(x.shape))
    loss_fn = nn.CrossEntropyLoss()

    def f(*_):
        return loss_fn(model(x).reshape(-1, model.vocab_size), tg.tensor(y.reshape(-1)))

    assert gradcheck(f, tuple(model.parameters())).ok
    np.testing.assert_array_equal(model(x.double()).numpy(), model(x).numpy())
    with pytest.raises(ValueError, match="not whole numbers"):
        model(x.double() + 0.5)


def test_builder_takes_the_vocabulary_as_num_classes():
    model = char_transformer(num_classes=11, d_model=8, nhead=2)
    assert model.vocab_size == 11 and model.decoder.out_features == 11
    assert list(model.state_dict())[:3] == ["embedding.weight", "pos_encoder.pe",
                                            "encoder.layers.0.self_attn.in_proj_weight"]
    with pytest.raises(ValueError, match="disagree"):
        char_transformer(num_classes=11, vocab_size=12)
    with pytest.raises(TypeError, match="num_classes= or vocab_size="):
        char_transformer()


def test_sampling_reads_a_window_of_max_len_and_is_seeded():
    model = _model(max_len=4)
    prefix = [1, 4, 2, 6, 0, 3]                      # longer than the context
    greedy = model.sample(prefix, 10, temperature=0)
    history = list(prefix)
    for _ in range(10):                             # the oracle: argmax over the last 4 ids
        window = np.array([history[-4:]])
        history.append(int(model(tg.tensor(window)).numpy()[0, -1].argmax()))
    assert greedy.tolist() == history[len(prefix):]
    assert np.array_equal(model.sample(prefix, 10, top_k=1, seed=3), greedy)
    a = model.sample(prefix, 30, seed=7)
    assert np.array_equal(a, model.sample(prefix, 30, seed=7))
    assert not np.array_equal(a, model.sample(prefix, 30, seed=8))
    assert a.dtype == np.int64 and a.shape == (30,) and 0 <= a.min() and a.max() < 7
    model.train()
    model.sample(prefix, 2, seed=0)
    assert model.training                            # the mode is restored
    with pytest.raises(ValueError, match=r"CharTransformer.sample: top_k must be in 1..7"):
        model.sample(prefix, 2, top_k=8)


def test_sampling_with_a_corpus_returns_text(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("hello world\n", encoding="utf-8")
    corpus = CharCorpus(path)
    model = CharTransformer(len(corpus.vocab), d_model=8, nhead=2, num_layers=1,
                            dim_feedforward=8)
    text = model.sample("he", 20, seed=0, corpus=corpus)
    assert isinstance(text, str) and len(text) == 20 and set(text) <= set(corpus.vocab)


# -- it learns -----------------------------------------------------------------------------
def test_small_transformer_beats_the_unigram_entropy_on_held_out_text(one_blas_thread):
    """100 Adam steps of 32 windows x 32 characters on the first 50k characters, one layer of
    width 32; held-out loss on the next 10k: 2.23-2.31 nats (seeds 0-2) against a unigram
    entropy of 3.04."""
    corpus = CharCorpus(max_chars=60_000)
    split, vocab = 50_000, len(corpus.vocab)
    x, y = windows(corpus.ids[:split], 32)
    xv, yv = windows(corpus.ids[split:], 32)
    baseline = corpus.unigram_entropy(corpus.ids[split:])
    tg.manual_seed(0)
    batches = np.random.default_rng(0)
    model = CharTransformer(vocab, d_model=32, nhead=2, num_layers=1, dim_feedforward=64,
                            dropout=0.0, max_len=32)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    with one_blas_thread():
        for _ in range(100):
            batch = batches.integers(0, len(x), 32)
            loss = loss_fn(model(tg.tensor(x[batch])).reshape(-1, vocab),
                           tg.tensor(y[batch].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with tg.no_grad():
            held_out = loss_fn(model(tg.tensor(xv)).reshape(-1, vocab),
                               tg.tensor(yv.reshape(-1))).item()
    assert 2.5 < baseline < 3.5
    assert held_out < baseline - 0.5, (held_out, baseline)


def test_tgcs_train_runs_it_on_text_like_char_lstm(tmp_path, one_blas_thread):
    pytest.importorskip("sklearn")  # the CLI's data registry imports it
    from tinygrad_cs.train import load_model
    text = tmp_path / "abc.txt"
    text.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    with one_blas_thread():
        code = main(["train", "--runs-dir", str(tmp_path), "--no-progress", "--model",
                     "char_transformer", "--data", "text", "--text-file", str(text),
                     "--seq-len", "16", "--epochs", "2", "--batch-size", "16", "--name", "lm",
                     "--no-graph", "--sample-chars", "24"])
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "lm" / "history.csv").open()))
    # a repeating 24-character phrase: far below its unigram entropy (~2.2 nats)
    assert float(rows[-1]["val_loss"]) < 1.0 and float(rows[-1]["val_acc"]) > 0.6
    assert (tmp_path / "lm" / "samples.txt").read_text().count("== epoch") == 2
    model = load_model(tmp_path / "lm")            # comes back knowing its characters
    assert isinstance(model, CharTransformer)
    sample = model.sample("the ", 24, seed=0)
    assert isinstance(sample, str) and len(sample) == 24 and set(sample) <= set(text.read_text())
