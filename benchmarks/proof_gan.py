"""Proof: a DCGAN learns scikit-learn's 8x8 digits, judged by a separately trained classifier.

Run: ``python -m benchmarks.proof_gan [--epochs 150] [--seed 0] [--png samples.png]
[--run-dir runs/proof-gan]``.

1. A small CNN (``tests/test_cnn_digits.py``'s recipe) is trained on a seeded stratified 80%
   of the real digits; its accuracy on the held-out 20% must be >= 95%.
2. ``DCGAN(nz=32, ngf=64, ndf=64, nc=1, image_size=8, n_extra_layers=2)`` trains on the
   same 80% (pixels scaled to [-1, 1]) with Adam(lr=2e-4, betas=(0.5, 0.999)), both
   learning rates cosine-annealed to 0 over the run, BCE-with-logits and the usual
   alternating updates (D on real + detached fakes, then G with flipped labels), batches
   of 64.
3. 500 generated digits are classified. Reported for the trained generator, the untrained
   one (the same network before step 2) and the real held-out digits:
   * confident: the fraction of images whose max softmax probability is >= 0.9;
   * classes: how many distinct classes hold >= 2% of the confident images (mode collapse
     guard: >= 6 wanted);
   * balanced: the confident fraction counting at most 10% of the images per class,
     ``sum_c min(n_c, N/10) / N`` (n_c confident images of class c): 1 for ten equally
     frequent confident classes, at most 0.1 for a generator stuck on one class (a
     classifier can be confidently wrong about garbage: this is what separates the two);
   * IS: the Inception Score ``exp(E_x KL(p(y|x) || p(y)))`` with the CNN as the Inception
     net: 1 for one class or no confidence, 10 for ten equally frequent confident classes.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import DataLoader, TensorDataset
from tinygrad_cs.nn.models.dcgan import DCGAN
from tinygrad_cs.train.gan import fit_gan, save_image

SAMPLE_SEED = 123  # the fixed noise judged during and after training


def digits(seed: int = 0):
    """Real digits as (N, 1, 8, 8) float32 in [-1, 1]: train and held-out parts, labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 8.0 - 1.0).reshape(-1, 1, 8, 8).astype(np.float32)
    return train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)


def train_classifier(X: np.ndarray, y: np.ndarray, seed: int = 0, epochs: int = 24) -> nn.Module:
    """The CNN of tests/test_cnn_digits.py on images in [-1, 1]; returned in eval mode."""
    tg.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for s in range(0, len(perm), 32):
            batch = perm[s:s + 32]
            loss = loss_fn(model(tg.tensor(X[batch])), tg.tensor(y[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()


def judge(classifier: nn.Module, images: np.ndarray) -> dict:
    """Confident fraction, distinct confident classes, Inception Score (module docstring)."""
    with tg.no_grad():
        p = classifier(tg.tensor(images.astype(np.float32))).softmax(1).numpy().astype(float)
    confident = p.max(1) >= 0.9
    counts = np.bincount(p.argmax(1)[confident], minlength=10)
    classes = int((counts >= 0.02 * max(confident.sum(), 1)).sum()) if confident.any() else 0
    marginal = p.mean(0)
    kl = (p * (np.log(p + 1e-12) - np.log(marginal + 1e-12))).sum(1)
    balanced = float(np.minimum(counts, len(p) / 10).sum() / len(p))
    return {"confident": float(confident.mean()), "classes": classes, "balanced": balanced,
            "IS": float(np.exp(kl.mean())), "counts": counts.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nz", type=int, default=32)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--extra", type=int, default=2, help="n_extra_layers (see dcgan.py)")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--lr-d", type=float, default=None,
                        help="the discriminator's learning rate (default: --lr)")
    parser.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=True,
                        help="cosine-anneal both learning rates to 0 over the run")
    parser.add_argument("--png", default=None, help="write a grid of 100 samples here")
    parser.add_argument("--run-dir", default=None, help="fit_gan's run directory: checkpoint, "
                        "history, curves.png, samples.png (default: none written)")
    args = parser.parse_args()

    X_train, X_test, y_train, y_test = digits(args.seed)
    t = time.perf_counter()
    classifier = train_classifier(X_train, y_train, args.seed)
    with tg.no_grad():
        accuracy = float((classifier(tg.tensor(X_test)).numpy().argmax(1) == y_test).mean())
    print(f"classifier: held-out accuracy {accuracy:.4f} ({time.perf_counter() - t:.1f} s)")
    assert accuracy >= 0.95, accuracy

    tg.manual_seed(args.seed)
    gan = DCGAN(args.nz, args.ngf, args.ndf, nc=1, image_size=8, n_extra_layers=args.extra)
    rows = {"real held-out": judge(classifier, X_test),
            "untrained G": judge(classifier, gan.eval().sample(500, seed=SAMPLE_SEED).numpy())}
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=64, shuffle=True,
                        drop_last=True, seed=args.seed)

    def scalar_judge(images: np.ndarray) -> dict:
        return {k: v for k, v in judge(classifier, images).items() if k != "counts"}

    t = time.perf_counter()
    fit_gan(gan, loader, epochs=args.epochs, lr=args.lr, lr_d=args.lr_d, cosine=args.cosine,
            judge=scalar_judge, judge_samples=500, seed=SAMPLE_SEED, run_dir=args.run_dir)
    seconds = time.perf_counter() - t
    samples = gan.eval().sample(500, seed=SAMPLE_SEED).numpy()
    rows["trained G"] = judge(classifier, samples)
    print(f"GAN: {args.epochs} epochs in {seconds:.1f} s")
    print(f"{'':15s} {'confident':>9s} {'classes':>7s} {'balanced':>8s} {'IS':>6s}  "
          "class counts (confident)")
    for name, s in rows.items():
        print(f"{name:15s} {s['confident']:9.3f} {s['classes']:7d} {s['balanced']:8.3f} "
              f"{s['IS']:6.2f}  {s['counts']}")
    if args.png:
        save_image(samples[:100], args.png, nrow=10)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
