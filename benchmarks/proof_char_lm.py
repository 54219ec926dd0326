"""Proof: a character LSTM models Python source far better than any context-free model.

Run: ``python -m benchmarks.proof_char_lm [--steps 1500] [--hidden 256] [--seed 0]``.

The default corpus (1,000,000 characters of standard-library source, ``CharCorpus()``) is
split by position, 90% / 10%, into windows of 64 characters (``char_splits``). The baseline is
the unigram entropy of the validation text, ``-sum_c p_c ln p_c``: the cross-entropy of the
best model that ignores context, even one fitted to the validation text itself. A
``CharRNN(V, embed_dim=64, hidden_size=256, cell="lstm")`` trains with Adam (lr 2e-3, cosine
decay to 0 over the run), gradient norm clipped at 5, batches of 64 windows drawn from a
seeded shuffled order, for a fixed number of steps (so the result does not depend on how
busy the machine is; the time is reported); the validation cross-entropy
(nats per character, eval mode, every window) is printed along the way and at the end,
with a 400-character sample (temperature 0.8) from the prefix ``"def "``.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data.text import char_splits
from tinygrad_cs.nn.models.char_rnn import CharRNN


def cross_entropy(model: CharRNN, x: np.ndarray, y: np.ndarray, chunk: int = 256) -> float:
    """Mean next-character cross-entropy over all windows, in nats (eval mode, no graph)."""
    loss_fn, total = nn.CrossEntropyLoss(reduction="sum"), 0.0
    was_training = model.training
    model.eval()
    with tg.no_grad():
        for s in range(0, len(x), chunk):
            logits = model(tg.tensor(x[s:s + chunk]))
            total += loss_fn(logits.reshape(-1, model.vocab_size),
                             tg.tensor(y[s:s + chunk].reshape(-1))).item()
    model.train(was_training)
    return total / y.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=300, help="steps between val checks")
    args = parser.parse_args()

    splits = char_splits(64, seed=args.seed)
    corpus = splits.extra["corpus"]
    (x, y), (xv, yv) = splits.train.tensors, splits.test.tensors  # numpy int64 (N, 64)
    baseline = splits.extra["unigram_entropy"]
    print(f"corpus: {len(corpus):,} chars, vocabulary {len(corpus.vocab)}, train windows "
          f"{len(x):,}, validation windows {len(xv):,} (64 chars each)")
    print(f"baseline: unigram entropy of the validation text {baseline:.4f} nats/char "
          f"({baseline / math.log(2):.3f} bits)")

    tg.manual_seed(args.seed)
    model = CharRNN(splits.num_classes, embed_dim=64, hidden_size=args.hidden, cell="lstm")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    start, order = time.perf_counter(), np.empty(0, int)
    print(f"initial validation loss {cross_entropy(model, xv, yv):.4f} (ln V = "
          f"{math.log(splits.num_classes):.4f})")
    train_seconds = 0.0
    for step in range(1, args.steps + 1):
        t = time.perf_counter()
        if len(order) < args.batch:
            order = rng.permutation(len(x))
        batch, order = order[:args.batch], order[args.batch:]
        for group in opt.param_groups:  # cosine decay over the run
            group["lr"] = 0.5 * args.lr * (1 + math.cos(math.pi * (step - 1) / args.steps))
        loss = loss_fn(model(tg.tensor(x[batch])).reshape(-1, model.vocab_size),
                       tg.tensor(y[batch].reshape(-1)))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        train_seconds += time.perf_counter() - t
        if step % args.eval_every == 0:
            print(f"step {step:5d}  {train_seconds:6.1f} s  train loss {loss.item():.4f}  "
                  f"validation {cross_entropy(model, xv, yv):.4f}", flush=True)
    val = cross_entropy(model, xv, yv)
    chars = args.steps * args.batch * 64
    epochs = chars / (len(x) * 64)
    print(f"\nfinal: {args.steps} steps ({chars:,} characters, {epochs:.2f} epochs) "
          f"in {train_seconds:.0f} s of training ({time.perf_counter() - start:.0f} s wall)")
    print(f"validation cross-entropy {val:.4f} nats/char vs unigram baseline {baseline:.4f} "
          f"({val / math.log(2):.3f} vs {baseline / math.log(2):.3f} bits/char)")
    sample = model.sample("def ", 400, temperature=0.8, seed=args.seed, corpus=corpus)
    print("\nsample (temperature 0.8, prefix 'def '):\n" + "-" * 60 + "\ndef " + sample)


if __name__ == "__main__":
    main()
