#!/usr/bin/env python3
"""Trains a small PyTorch CNN on the UCI 8×8 digits with the paper's evolved
optimizer, through the adapter evoopt.torch.EvoOptimizer, and compares it
with torch's own Adam on the same model, data order and initial weights.

    /usr/bin/python3 examples/python/train_torch.py           # ~6 s
    /usr/bin/python3 examples/python/train_torch.py --quick   # a few seconds
    /usr/bin/python3 examples/python/train_torch.py --genome best.json

The digits come from the library's bundled CSV (libevoopt/data/
digits.csv.gz, or $EVOOPT_DATA_PATH/digits/digits.csv.gz); the split is the
library's: the first 1437 images train, the last 360 test.
"""

import argparse
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("SKIP: PyTorch is not installed (Debian: python3-torch; run with "
          "/usr/bin/python3)")
    sys.exit(77)  # meson's "skipped"

import evoopt
from evoopt.datasets import DIGITS_TRAIN, load_digits
from evoopt.torch import EvoOptimizer


class DigitsCNN(torch.nn.Module):
    """conv 1→16 (3×3, pad 1), ReLU, pool 2 → 16·4·4 → 64 → 10."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.fc1 = torch.nn.Linear(16 * 4 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x.view(-1, 1, 8, 8))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def load():
    images, labels = load_digits()
    x = torch.from_numpy(images)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(labels)
    return (x[:DIGITS_TRAIN], y[:DIGITS_TRAIN]), (x[DIGITS_TRAIN:],
                                                  y[DIGITS_TRAIN:])


def train(make_optimizer, data, steps, batch, seed):
    """Trains a fresh DigitsCNN; returns (first losses, last losses, test
    accuracy, seconds)."""
    (x, y), (tx, ty) = data
    torch.manual_seed(seed)
    model = DigitsCNN()
    opt = make_optimizer(model)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    start = time.time()
    model.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.time() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    k = max(1, steps // 10)
    return (sum(losses[:k]) / k, sum(losses[-k:]) / k, accuracy, seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a short run (a few seconds), e.g. for tests")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--genome", default="paper-evolved",
                    help="a preset name or a genome JSON file")
    args = ap.parse_args()
    if args.quick:
        args.steps = 200
    torch.set_num_threads(1)

    genome = (evoopt.Genome.load(args.genome) if args.genome.endswith(
        (".json", ".json.gz")) else evoopt.Genome.preset(args.genome))
    print("genome:", genome)
    data = load()
    runs = {
        "evoopt " + args.genome: lambda m: EvoOptimizer(
            m.parameters(), genome=genome, total_steps=args.steps),
        "torch Adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    }
    results = {}
    for name, make in runs.items():
        results[name] = train(make, data, args.steps, args.batch, args.seed)
        print("%-28s loss %.3f -> %.3f  test accuracy %.4f  (%.1f s)"
              % ((name,) + results[name]))
    first, last, accuracy, _ = results["evoopt " + args.genome]
    if not last < first or accuracy < 0.5:  # chance is 0.1
        raise SystemExit("training with %s did not work" % args.genome)
    print("done: %d steps of batch %d" % (args.steps, args.batch))


if __name__ == "__main__":
    main()
