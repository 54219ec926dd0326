"""``fit_gan`` and ``tgcs train --model dcgan``.

Oracles: numpy's sigmoid and binary cross-entropy recomputed on the same batches and noise
(bookkeeping of the history row), an uninterrupted run (bit-exact resume), a hand-built image
grid (``save_image``), and a separately trained digits classifier judging the generated
digits (``benchmarks/proof_gan.py`` is the long version).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.cli import main
from tinygrad_cs.data import DataLoader, TensorDataset
from tinygrad_cs.nn.models.dcgan import DCGAN
from tinygrad_cs.train import TrainingDiverged
from tinygrad_cs.train.checkpoint import load_checkpoint
from tinygrad_cs.train.gan import GAN_COLUMNS, fit_gan, save_image


def _images(n: int = 96, seed: int = 0) -> np.ndarray:
    """Blobs in [-1, 1], (n, 1, 8, 8) float32: enough structure for a few GAN steps."""
    rng = np.random.default_rng(seed)
    return np.tanh(rng.standard_normal((n, 1, 8, 8)) * 2).astype(np.float32)


def _tiny_gan(seed: int) -> DCGAN:
    tg.manual_seed(seed)
    return DCGAN(nz=4, ngf=4, ndf=4, nc=1, image_size=8)


def _loader(shuffle: bool = True) -> DataLoader:
    x = _images()
    return DataLoader(TensorDataset(x, np.zeros(len(x), np.int64)), batch_size=32,
                      shuffle=shuffle, drop_last=True, seed=3)


def _judge(images: np.ndarray) -> dict:
    return {"mean_pixel": float(images.mean()), "spread": float(images.std())}


def test_row_is_the_mean_bce_and_sigmoid_of_the_batches():
    """With lr = 0 nothing changes, so the row can be recomputed with numpy from the same
    batches and the same noise draws."""
    gan = _tiny_gan(0)
    tg.manual_seed(7)
    history = fit_gan(gan, _loader(shuffle=False), epochs=1, lr=0.0, progress=False)
    tg.manual_seed(7)
    totals = np.zeros(4)
    for (x, _) in _loader(shuffle=False):
        z = gan.generator.noise(32)
        with tg.no_grad():
            real = gan.discriminator(x).numpy().astype(np.float64)
            fake = gan.discriminator(gan.generator(z)).numpy().astype(np.float64)
        p_real, p_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
        totals += [-np.log(p_real).mean() - np.log(1 - p_fake).mean(), -np.log(p_fake).mean(),
                   p_real.mean(), p_fake.mean()]
    row = history.last
    expected = totals / 3
    got = [row["d_loss"], row["g_loss"], row["d_real"], row["d_fake"]]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert history.columns == GAN_COLUMNS and row["epoch"] == 1 and row["lr"] == 0.0


def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(tmp_path):
    kwargs = {"lr": 1e-3, "cosine": True, "progress": False, "judge": _judge,
              "judge_samples": 16, "num_samples": 16}
    whole = _tiny_gan(0)
    tg.manual_seed(11)
    full = fit_gan(whole, _loader(), epochs=4, run_dir=tmp_path / "whole", **kwargs)

    first = _tiny_gan(0)
    tg.manual_seed(11)
    stop_after_2 = [lambda row: row["epoch"] == 2]     # the same 4-epoch run, interrupted
    fit_gan(first, _loader(), epochs=4, run_dir=tmp_path / "part", callbacks=stop_after_2,
            **kwargs)
    resumed_gan = _tiny_gan(5)           # other weights: everything must come from the file
    tg.manual_seed(99)                   # another RNG state: restored from the file too
    resumed = fit_gan(resumed_gan, _loader(), epochs=4, run_dir=tmp_path / "part",
                      resume=True, **kwargs)

    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed_gan.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), name
    timing = {"seconds", "images_per_s"}
    assert len(full) == len(resumed) == 4
    for a, b in zip(full, resumed):
        assert {k: v for k, v in a.items() if k not in timing} == \
               {k: v for k, v in b.items() if k not in timing}
    assert resumed.columns == GAN_COLUMNS + ("mean_pixel", "spread")
    a, b = (load_checkpoint(p / "checkpoint.npz", loop="fit_gan")
            for p in (tmp_path / "whole", tmp_path / "part"))
    for net in ("generator", "discriminator"):
        assert a["optimizer"][net]["param_groups"] == b["optimizer"][net]["param_groups"]
        assert a["scheduler"][net] == b["scheduler"][net]
    assert a["global_step"] == b["global_step"] == 4 * 3
    for part in ("whole", "part"):
        header = (tmp_path / part / "history.csv").read_text().splitlines()[0]
        assert header == ",".join(resumed.columns)
        for png in ("curves.png", "samples.png"):
            assert (tmp_path / part / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_classifier_checkpoint_is_refused(tmp_path):
    from tinygrad_cs.train.checkpoint import save_checkpoint

    gan = _tiny_gan(0)
    save_checkpoint(tmp_path / "checkpoint.npz", model=gan, optimizer=tg.optim.SGD(
        gan.parameters(), lr=0.1), scheduler=None, loaders={}, history=[], epoch=1,
        global_step=1)
    with pytest.raises(ValueError, match="checkpoint of fit, not of fit_gan"):
        fit_gan(gan, _loader(), epochs=2, run_dir=tmp_path, resume=True, progress=False)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_stops_naming_the_loss_and_the_layer_and_keeps_the_checkpoint(tmp_path):
    gan = _tiny_gan(0)
    fit_gan(gan, _loader(), epochs=1, run_dir=tmp_path, progress=False, num_samples=4)
    first_conv = gan.generator.main[0].weight
    first_conv.numpy()[...] = np.nan        # in place: the checkpoint keeps the finite weights
    with (pytest.warns(RuntimeWarning, match="samples.png not written"),
          pytest.raises(TrainingDiverged, match=r"discriminator loss.*generator\.main\.0")):
        fit_gan(gan, _loader(), epochs=3, run_dir=tmp_path, progress=False, num_samples=4)
    ckpt = load_checkpoint(tmp_path / "checkpoint.npz", loop="fit_gan")
    first_weight = ckpt["model"]["generator.main.0.weight"].numpy()
    assert ckpt["epoch"] == 1 and np.isfinite(first_weight).all()


def test_save_image_lays_out_a_padded_grid(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    images = np.array([[[[-1.0, 1.0], [0.0, 1.0]]], [[[1.0, 1.0], [1.0, -1.0]]],
                       [[[0.0, 0.0], [-3.0, 3.0]]]])          # (3, 1, 2, 2), one clipped
    path = save_image(images, tmp_path / "grid.png", nrow=2, padding=1, pixels=7)
    expected = np.zeros((7, 7))
    for k, (top, left) in enumerate([(1, 1), (1, 4), (4, 1)]):
        expected[top:top + 2, left:left + 2] = np.clip((images[k, 0] + 1) / 2, 0, 1)
    got = mpimg.imread(path)[..., 0]
    np.testing.assert_allclose(got, expected, atol=1 / 255 + 1e-6)
    with pytest.raises(ValueError, match=r"save_image: expected images .* got \(2, 2, 2\)"):
        save_image(np.zeros((2, 2, 2)), tmp_path / "bad.png")


def test_cli_trains_a_dcgan_on_digits_and_resumes(tmp_path, capsys, one_blas_thread):
    pytest.importorskip("sklearn")
    base = ["train", "--model", "dcgan", "--data", "digits", "--runs-dir", str(tmp_path),
            "--name", "gan", "--no-progress", "--batch-size", "256", "--lr-schedule", "none"]
    with one_blas_thread():
        assert main(base + ["--epochs", "1"]) == 0
        assert main(base[:-2] + ["--resume", "--epochs", "2"]) == 0
    run = tmp_path / "gan"
    recipe = json.loads((run / "recipe.json").read_text())
    assert recipe["optimizer"] == "adam" and recipe["lr"] == 2e-4 and not recipe["augment"]
    rows = json.loads((run / "history.json").read_text())["rows"]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 for r in rows)
    for png in ("curves.png", "samples.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ckpt = load_checkpoint(run / "checkpoint.npz", loop="fit_gan")
    assert ckpt["global_step"] == 2 * (1438 // 256)      # 1,438 training digits, whole batches
    assert "wrote recipe.json, checkpoint.npz" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--data", "iris"], "generates square images"),
    (["--optimizer", "sgd"], "trains with Adam"),
    (["--augment"], "--augment is not supported"),
])
def test_cli_refuses_what_a_gan_cannot_do(tmp_path, capsys, extra, message):
    pytest.importorskip("sklearn")
    args = ["train", "--model", "dcgan", "--runs-dir", str(tmp_path), "--no-progress", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def _digits_judge():
    """A logistic regression trained on a stratified 80% of the digits (>= 95% on the rest),
    and the judge: (fraction with max probability >= 0.9, classes holding >= 2% of those,
    Inception Score exp(E KL(p(y|x) || p(y))))."""
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 8.0 - 1.0).astype(np.float32)  # [-1, 1], the generator's range
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0,
                                                        stratify=y)
    classifier = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    assert classifier.score(X_test, y_test) >= 0.95

    def judge(images: np.ndarray) -> dict:
        p = classifier.predict_proba(images.reshape(len(images), -1))
        confident = p.max(1) >= 0.9
        counts = np.bincount(p.argmax(1)[confident], minlength=10)
        classes = int((counts >= 0.02 * confident.sum()).sum()) if confident.any() else 0
        kl = (p * (np.log(p + 1e-12) - np.log(p.mean(0) + 1e-12))).sum(1)
        return {"confident": float(confident.mean()), "classes": classes,
                "IS": float(np.exp(kl.mean()))}

    return judge, X_train.reshape(-1, 1, 8, 8), y_train


def test_generated_digits_are_recognisable_and_diverse(one_blas_thread):
    """20 epochs of a small DCGAN on 80% of the digits, judged each epoch on 500 samples of
    fixed noise. Measured with fit_gan over seeds 0-3 (tg.manual_seed and the loader's seed):
    Inception Score 3.3-4.6 (seed 0: 4.5), 8-10 classes among the confident samples, 14-26%
    confident (max probability >= 0.9); the untrained generator: 1.0, none, 0%; real
    held-out digits: 8.2, 10, 84%."""
    judge, real, labels = _digits_judge()
    tg.manual_seed(0)
    gan = DCGAN(nz=16, ngf=32, ndf=32, nc=1, image_size=8, n_extra_layers=1)
    untrained = judge(gan.eval().sample(500, seed=1).numpy())
    loader = DataLoader(TensorDataset(real, labels), batch_size=64, shuffle=True, seed=0,
                        drop_last=True)
    with one_blas_thread():
        history = fit_gan(gan, loader, epochs=20, lr=1e-3, judge=judge, seed=1,
                          progress=False)
    trained = history.last
    assert untrained["IS"] < 1.5 and untrained["confident"] < 0.05
    assert trained["IS"] >= 3.0 and trained["classes"] >= 6, (trained, untrained)
    assert trained["confident"] >= 0.08, (trained, untrained)
    assert max(history["IS"][:2]) < trained["IS"]   # it learned during the run
