"""The character corpus, its windows, and the character-level language model ``CharRNN``.

Oracles: closed forms (the entropy of a known string, the window layout), an independent
re-computation (greedy sampling with the carried state equals argmax decoding that re-reads
the whole history each step), float64 central differences, and a known result: a small
LSTM trained for 100 steps on 50k characters of Python source scores well below the
held-out text's unigram entropy (the best any context-free model can do).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data.text import STDLIB_FILES, CharCorpus, char_splits, windows
from tinygrad_cs.nn.models import registry
from tinygrad_cs.nn.models.char_rnn import CharRNN, char_lstm
from tinygrad_cs.nn.models.vocab import CharVocab
from tinygrad_cs.testing import gradcheck


@pytest.fixture(scope="module")
def small_corpus() -> CharCorpus:
    return CharCorpus(max_chars=60_000)


def _text_file(tmp_path, text: str):
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


# -- the corpus ----------------------------------------------------------------------------
def test_default_corpus_is_the_stdlib_sources_in_order(small_corpus):
    import sysconfig
    from pathlib import Path

    first = (Path(sysconfig.get_paths()["stdlib"]) / STDLIB_FILES[0]).read_text("utf-8")
    assert small_corpus.text.startswith(first[:1000])
    assert len(small_corpus) == 60_000
    assert small_corpus.vocab == tuple(sorted(set(small_corpus.text)))


def test_encode_decode_round_trip(small_corpus):
    text = small_corpus.text[12_345:13_345]
    ids = small_corpus.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (1000,)
    assert small_corpus.decode(ids) == text
    assert np.array_equal(small_corpus.ids[12_345:13_345], ids)


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet="abc \n", min_size=2, max_size=40))
def test_encode_decode_round_trip_on_any_text(tmp_path_factory, text):
    corpus = CharCorpus(_text_file(tmp_path_factory.mktemp("c"), text))
    assert corpus.decode(corpus.encode(text)) == text
    assert [corpus.vocab[i] for i in corpus.ids] == list(text)


def test_unigram_entropy_closed_form(tmp_path):
    corpus = CharCorpus(_text_file(tmp_path, "aaab" "aaab" "cc"))  # a:6 b:2 c:2 of 10
    expected = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))
    assert corpus.unigram_entropy() == pytest.approx(expected, rel=1e-12)
    assert corpus.unigram_entropy(corpus.encode("abab")) == pytest.approx(math.log(2))
    assert corpus.unigram_entropy(corpus.encode("cccc")) == 0.0


def test_windows_shift_by_one():
    ids = np.arange(23, dtype=np.int64)
    x, y = windows(ids, 5, offset=2)
    assert x.shape == y.shape == (4, 5)  # (23 - 2 - 1) // 5 windows
    assert np.array_equal(x.ravel(), np.arange(2, 22)) and np.array_equal(y, x + 1)


def test_char_splits_do_not_overlap_and_targets_are_the_next_character(small_corpus):
    splits = char_splits(16, seed=3, max_chars=60_000, val_fraction=0.25)
    corpus, cut = splits.extra["corpus"], splits.extra["split_at"]
    assert cut == 45_000 and splits.num_classes == len(corpus.vocab) == len(splits.classes)
    assert splits.input_shape == (16,)
    x, y = (np.stack(a) for a in zip(*(splits.train[i] for i in range(len(splits.train)))))
    xv, yv = (np.stack(a) for a in zip(*(splits.test[i] for i in range(len(splits.test)))))
    assert x.dtype == y.dtype == np.int64 and x.shape[1] == 16
    assert np.array_equal(x[:, 1:], y[:, :-1]) and np.array_equal(xv[:, 1:], yv[:, :-1])
    # every training window (targets included) lies before the cut, every validation one after
    start = int(np.flatnonzero(np.all(
        np.lib.stride_tricks.sliding_window_view(corpus.ids, 16) == x[0], axis=1))[0])
    assert start < 16 and start + len(x) * 16 + 1 <= cut
    assert np.array_equal(x.ravel(), corpus.ids[start:start + x.size])
    assert np.array_equal(xv.ravel(), corpus.ids[cut:cut + xv.size])
    assert len(xv) == (60_000 - cut - 1) // 16
    assert splits.extra["unigram_entropy"] == corpus.unigram_entropy(corpus.ids[cut:])


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file"):
        CharCorpus(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="0 characters"):
        CharCorpus(_text_file(tmp_path, ""))
    corpus = CharCorpus(_text_file(tmp_path, "abc"))
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        corpus.encode("abz")
    with pytest.raises(IndexError, match="id 7 is outside"):
        corpus.decode([0, 7])
    with pytest.raises(ValueError, match="fewer than seq_len"):
        char_splits(64, path=_text_file(tmp_path, "abcdefgh" * 10))


# -- the model -----------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_shapes_and_state_continuation(cell):
    tg.manual_seed(0)
    model = CharRNN(7, embed_dim=5, hidden_size=6, num_layers=2, cell=cell)
    ids = np.random.default_rng(0).integers(0, 7, (3, 9))
    logits = model(tg.tensor(ids))
    assert logits.shape == (3, 9, 7)
    # reading 9 characters at once == reading 4, then 5 from the state it stopped in
    first, state = model(tg.tensor(ids[:, :4]), return_state=True)
    rest = model(tg.tensor(ids[:, 4:]), state)
    np.testing.assert_allclose(np.concatenate([first.numpy(), rest.numpy()], axis=1),
                               logits.numpy(), rtol=1e-5, atol=1e-6)
    assert model(tg.tensor(ids[0])).shape == (9, 7)


@pytest.mark.parametrize("name", ["char_lstm", "char_gru", "char_rnn"])
def test_float64_gradcheck_of_the_tiny_zoo_models(name):
    tg.manual_seed(1)
    model, x = registry.get(name).tiny()
    model = model.double()
    params = list(model.parameters())
    y = np.random.default_rng(2).integers(0, model.vocab_size, tuple(x.shape))
    loss_fn = nn.CrossEntropyLoss()

    def f(*_):
        return loss_fn(model(x).reshape(-1, model.vocab_size), tg.tensor(y.reshape(-1)))

    assert gradcheck(f, tuple(params)).ok
    assert registry.get(name).task == "language"
    # generic harnesses cast every example input to float64: whole-number ids still work
    np.testing.assert_array_equal(model(x.double()).numpy(), model(x).numpy())
    with pytest.raises(ValueError, match="not whole numbers"):
        model(x.double() + 0.5)


def test_builder_takes_the_vocabulary_as_num_classes():
    model = char_lstm(num_classes=11, hidden_size=8, embed_dim=4)
    assert model.vocab_size == 11 and model.rnn.hidden_size == 8
    with pytest.raises(ValueError, match="disagree"):
        char_lstm(num_classes=11, vocab_size=12)
    with pytest.raises(ValueError, match="cell must be one of"):
        CharRNN(5, cell="transformer")


def test_sampling_is_deterministic_with_a_seed_and_greedy_at_zero_temperature():
    tg.manual_seed(3)
    model = CharRNN(6, embed_dim=4, hidden_size=8)
    prefix = [1, 4, 2]
    a = model.sample(prefix, 30, seed=7)
    assert np.array_equal(a, model.sample(prefix, 30, seed=7))
    assert not np.array_equal(a, model.sample(prefix, 30, seed=8))
    assert a.shape == (30,) and a.dtype == np.int64 and 0 <= a.min() and a.max() < 6
    tg.manual_seed(11)  # seed=None: the global generator decides
    b = model.sample(prefix, 30)
    tg.manual_seed(11)
    assert np.array_equal(b, model.sample(prefix, 30))
    # greedy with the carried state == argmax decoding that re-reads the whole history
    greedy = model.sample(prefix, 12, temperature=0)
    history = list(prefix)
    for _ in range(12):
        history.append(int(model(tg.tensor(np.array([history]))).numpy()[0, -1].argmax()))
    assert greedy.tolist() == history[len(prefix):]
    assert np.array_equal(model.sample(prefix, 12, temperature=1e-6, seed=5), greedy)
    assert np.array_equal(model.sample(prefix, 12, top_k=1, seed=9), greedy)


def test_sampling_with_a_corpus_returns_text(tmp_path):
    corpus = CharCorpus(_text_file(tmp_path, "hello world\n"))
    model = CharRNN(len(corpus.vocab), embed_dim=4, hidden_size=8)
    text = model.sample("he", 20, seed=0, corpus=corpus)
    assert isinstance(text, str) and len(text) == 20 and set(text) <= set(corpus.vocab)
    with pytest.raises(ValueError, match="needs corpus"):
        model.sample("he", 5)


def test_a_model_that_knows_its_vocabulary_samples_text_without_a_corpus(tmp_path):
    corpus = CharCorpus(_text_file(tmp_path, "hello world\n"))
    tg.manual_seed(0)
    model = CharRNN(len(corpus.vocab), embed_dim=4, hidden_size=8)
    assert model.vocab is None
    model.vocab = CharVocab(corpus.vocab)
    text = model.sample("he", 20, seed=4)
    assert text == model.sample("he", 20, seed=4, corpus=corpus)     # the same decoding
    assert text == corpus.decode(model.sample(corpus.encode("he"), 20, seed=4))
    assert isinstance(model.sample([1, 2], 5, seed=0), np.ndarray)    # ids in, ids out
    other = CharCorpus(_text_file(tmp_path, "HELLO WORLD\n"))         # corpus= still wins
    assert set(model.sample("HE", 20, seed=4, corpus=other)) <= set(other.vocab)
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        model.sample("z", 5)


def test_char_vocab_maps_both_ways_and_a_corpus_is_one(tmp_path):
    vocab = CharVocab("\nab€")
    assert len(vocab) == 4 and vocab.vocab == ("\n", "a", "b", "€")
    assert vocab.encode("b€\na").tolist() == [2, 3, 0, 1]
    assert vocab.decode(np.array([[3, 1], [0, 2]])) == "€a\nb"
    with pytest.raises(IndexError, match="CharVocab.decode: id 4 is outside"):
        vocab.decode([4])
    for bad, words in (("aba", "repeat"), (["ab"], "single characters")):
        with pytest.raises(ValueError, match=words):
            CharVocab(bad)
    corpus = CharCorpus(_text_file(tmp_path, "banana"))
    assert isinstance(corpus, CharVocab) and corpus.vocab == ("a", "b", "n")


def test_prepare_gives_a_language_model_its_corpus_vocabulary(tmp_path):
    from tinygrad_cs.train import Recipe, prepare
    path = _text_file(tmp_path, "the cat sat on the mat. " * 20)
    run = prepare(Recipe(model="char_gru", data="text", text_file=str(path), seq_len=8))
    corpus = run.splits.extra["corpus"]
    assert run.model.vocab.vocab == corpus.vocab == tuple(sorted(set("the cat sat on mat.")))
    assert len(run.model.sample("the ", 30, seed=0)) == 30


# -- it learns -----------------------------------------------------------------------------
def test_small_lstm_beats_the_unigram_entropy_on_held_out_text(small_corpus, one_blas_thread):
    """100 Adam steps of 32 windows x 32 characters on the first 50k characters; held-out
    loss on the next 10k: 2.2 +- 0.05 nats against a unigram entropy of 3.04 (seeds 0-3)."""
    split, vocab = 50_000, len(small_corpus.vocab)
    x, y = windows(small_corpus.ids[:split], 32)
    xv, yv = windows(small_corpus.ids[split:], 32)
    baseline = small_corpus.unigram_entropy(small_corpus.ids[split:])
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = CharRNN(vocab, embed_dim=16, hidden_size=64)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    with one_blas_thread():
        for _ in range(100):
            batch = rng.integers(0, len(x), 32)
            loss = loss_fn(model(tg.tensor(x[batch])).reshape(-1, vocab),
                           tg.tensor(y[batch].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with tg.no_grad(), one_blas_thread():
        held_out = loss_fn(model(tg.tensor(xv)).reshape(-1, vocab),
                           tg.tensor(yv.reshape(-1))).item()
    assert 2.5 < baseline < 3.5  # Python source, in nats per character
    assert held_out < baseline - 0.5, (held_out, baseline)
