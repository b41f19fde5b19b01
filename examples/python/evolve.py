#!/usr/bin/env python3
"""Evolves an optimizer with a fitness function written in Python.

The fitness of a genome is how well it trains two small problems, each
with the library's NumPy optimizer (evoopt.Optimizer):

- "digits": softmax regression on the UCI 8×8 digits (validation accuracy
  plus the paper's loss bonus, doc/algorithm.md §3);
- "valley": an ill-conditioned quadratic, scored by how far the loss falls.

The genome's fitness is the mean of the two, and the per-task breakdown is
returned too. Evaluations run on two C worker threads.

    /usr/bin/python3 examples/python/evolve.py            # ~10 s
    /usr/bin/python3 examples/python/evolve.py --quick    # a few seconds
    /usr/bin/python3 examples/python/evolve.py --out best.json

Needs the evoopt package on PYTHONPATH (bindings/python) and the library
(EVOOPT_LIBRARY=build/libevoopt/libevoopt.so, or an installed copy).
"""

import argparse
import math
import time

import numpy as np

import evoopt
from evoopt.datasets import DIGITS_TRAIN, load_digits

STEPS = 150
BATCH = 64

IMAGES, LABELS = load_digits()
IMAGES = (IMAGES - IMAGES.mean()) / IMAGES.std()


def softmax_loss(w, b, x, y, gw, gb):
    """Cross-entropy of a softmax regression; writes the gradients into
    gw and gb (in place: the optimizer reads those arrays)."""
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
    p[np.arange(len(y)), y] -= 1
    p /= len(y)
    gw[...] = x.T @ p
    gb[...] = p.sum(axis=0)
    return float(loss)


def digits_fitness(genome, seed):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((64, 10)) * 0.01).astype(np.float32)
    b = np.zeros(10, np.float32)
    gw, gb = np.zeros_like(w), np.zeros_like(b)
    losses = []
    with evoopt.Optimizer(genome, total_steps=STEPS,
                          refuse_nonfinite=True) as opt:
        opt.add(w, gw)
        opt.add(b, gb, weight_decay=False)
        for _ in range(STEPS):
            idx = rng.integers(0, DIGITS_TRAIN, BATCH)
            loss = softmax_loss(w, b, IMAGES[idx], LABELS[idx], gw, gb)
            if not math.isfinite(loss) or loss > 50:
                return -1.0  # diverged (doc/algorithm.md §3)
            losses.append(loss)
            try:
                opt.step()
            except evoopt.NonFiniteError:
                return -1.0
    predicted = (IMAGES[DIGITS_TRAIN:] @ w + b).argmax(axis=1)
    accuracy = float((predicted == LABELS[DIGITS_TRAIN:]).mean())
    mean_loss = float(np.mean(losses[-50:]))
    return accuracy + 0.05 * max(0.0, 1.0 - mean_loss)


def valley_fitness(genome, seed):
    """f(x) = ½ Σ c_i x_i², condition number 1000; 1 - f_end / f_start."""
    rng = np.random.default_rng(seed + 1000)
    c = np.logspace(0, 3, 20).astype(np.float32)
    x = rng.standard_normal(20).astype(np.float32)
    g = np.zeros_like(x)
    start = 0.5 * float((c * x * x).sum())
    with evoopt.Optimizer(genome, total_steps=STEPS) as opt, \
            np.errstate(over="ignore", invalid="ignore"):
        opt.add(x, g, weight_decay=False)
        for _ in range(STEPS):
            g[...] = c * x
            opt.step()
        end = 0.5 * float((c * x * x).sum())
    if not math.isfinite(end) or end > start:
        return -1.0
    return 1.0 - end / start


def fitness(genome, seed):
    """The population's fitness callback: (fitness, per-task breakdown)."""
    scores = {"digits": digits_fitness(genome, seed),
              "valley": valley_fitness(genome, seed)}
    return sum(scores.values()) / len(scores), scores


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a tiny run (a few seconds), e.g. for tests")
    ap.add_argument("--size", type=int, default=24)
    ap.add_argument("--generations", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", help="write the best genome as JSON here")
    args = ap.parse_args()
    if args.quick:
        args.size, args.generations = 6, 2

    start = time.time()

    def progress(event, generation, index):
        if event == evoopt.Event.GENERATION:
            h = pop.history_at(generation)
            print("generation %2d  best %.4f  mean %.4f  (%.1f s)  %s"
                  % (generation, h["best"], h["mean"], time.time() - start,
                     h["best_genome"]))

    with evoopt.Population(fitness, progress, size=args.size,
                           generations=args.generations,
                           elites=min(3, args.size - 1),
                           tournament=min(4, args.size),
                           workers=args.workers, run_seed=args.seed) as pop:
        pop.run()
        best = pop.hall_of_fame[0]
        print("\nbest fitness %.4f (generation %d): %s"
              % (best.fitness, best.generation, best.genome))
        print("per task:", pop.history[-1]["best_report"]["tasks"])
        for name in ("adam", "sgd"):
            score, tasks = fitness(evoopt.Genome.preset(name), 0)
            print("baseline %-5s %.4f %s" % (name, score, tasks))
        if args.out:
            best.genome.save(args.out)
            print("wrote", args.out)


if __name__ == "__main__":
    main()
