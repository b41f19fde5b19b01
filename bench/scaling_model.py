#!/usr/bin/env python3
"""The wall time of the paper-sized search on a cluster, by simulation
(doc/scaling.md, "The paper preset on 64 nodes x 32 cores"; issue 11).

The model, standard library only:
- An evaluation is 3 tasks x 2 seeds = 6 training runs ("parts"), in the
  evaluator's order (Fashion-MNIST, CIFAR-10, MNIST; seeds 0, 1), each
  taking the one-core time measured for its task at the paper's 500 steps
  (doc/scaling.md): 18.4 s, 86.5 s, 18.5 s; 246.8 s in all.
- The search: 50 generations of 47 evaluations (the paper's 50, less the
  3 elites the cache answers), 2350 evaluations; or, without a generation
  barrier, steady-state evolution as the library runs it
  (doc/algorithm.md 9.4): population N = 50, N x 47 = 2350 jobs (the same
  evaluations and compute; no cache hits assumed, as repeats of a
  committed genome are rare), jobs 0..N-1 created at the start, job
  k >= N created once jobs 0..k-W are committed (W the window), results
  committed in job order, created jobs submitted in order while the back
  end has a free evaluation slot.
- W worker slots, one core each; rank 0 and messages cost nothing (a
  round trip is below 1 ms, bench_mpi). The MPI back end hands jobs out
  first in, first out to idle slots; it keeps W evaluations in flight
  when jobs are whole evaluations (evo_backend_mpi_new) and W + 1 when
  they are (task, seed) parts (evo_backend_mpi_new_parts), or, to show
  why, ceil(W / 6) + 1.

Prints the tables doc/scaling.md quotes. Usage: bench/scaling_model.py
"""
import heapq
import math

TASKS = (("fashion_mnist", 18.4), ("cifar10", 86.5), ("mnist", 18.5))
SEEDS = 2
PARTS = [t for _, t in TASKS for _ in range(SEEDS)]
EVALUATION = sum(PARTS)
GENERATIONS, PER_GENERATION = 50, 47


def simulate(workers, in_flight, evaluations, split):
    """Runs `evaluations` evaluations, at most `in_flight` of them
    submitted at once; returns (wall seconds, busy core-seconds)."""
    pending, running, left = [], [], {}
    t, free, submitted, done = 0.0, workers, 0, 0

    def submit():
        nonlocal submitted
        jobs = PARTS if split else [EVALUATION]
        left[submitted] = len(jobs)
        pending.extend((submitted, d) for d in jobs)
        submitted += 1

    while submitted < min(evaluations, in_flight):
        submit()
    head = 0
    while done < evaluations:
        while free and head < len(pending):
            e, d = pending[head]
            head += 1
            heapq.heappush(running, (t + d, e))
            free -= 1
        t, e = heapq.heappop(running)
        free += 1
        left[e] -= 1
        if left[e] == 0:
            done += 1
            if submitted < evaluations:
                submit()
    return t, evaluations * EVALUATION


def steady(workers, window, split, n=50, jobs=2350, cap=None):
    """Steady-state evolution with window `window` (see the notes): returns
    (wall seconds, busy core-seconds, mean evaluations in flight)."""
    cap = cap or (workers + 1 if split else workers)
    parts = PARTS if split else [EVALUATION]
    queue, head, running = [], 0, []
    left, done = {}, [False] * jobs
    t, free, created, submitted, committed, flying = 0.0, workers, n, 0, 0, 0
    area, last = 0.0, 0.0  # integral of evaluations in flight over time
    while committed < jobs:
        while submitted < created and flying < cap:
            left[submitted] = len(parts)
            queue.extend((submitted, d) for d in parts)
            submitted += 1
            flying += 1
        while free and head < len(queue):
            e, d = queue[head]
            head += 1
            heapq.heappush(running, (t + d, e))
            free -= 1
        t, e = heapq.heappop(running)
        area += flying * (t - last)
        last = t
        free += 1
        left[e] -= 1
        if left[e] == 0:
            done[e] = True
            flying -= 1
            while committed < jobs and done[committed]:
                committed += 1
            if committed >= n:
                created = max(created, min(jobs, committed + window))
    return t, jobs * EVALUATION, area / t


def generational(workers, split, in_flight=None):
    if in_flight is None:
        in_flight = workers + 1 if split else workers
    g, busy = simulate(workers, in_flight, PER_GENERATION, split)
    return g, GENERATIONS * g, busy / (workers * g)


def hours(s):
    return f"{s / 3600:.2f} h" if s < 86400 else f"{s / 86400:.1f} days"


def main():
    print(f"An evaluation: {len(PARTS)} parts, {EVALUATION:.1f} core-s; "
          f"{GENERATIONS} x {PER_GENERATION} = "
          f"{GENERATIONS * PER_GENERATION} evaluations, "
          f"{GENERATIONS * PER_GENERATION * EVALUATION / 3600:.1f} core-h.")
    print()
    print("Generational (the paper's GA), a barrier after each generation:")
    print("| cores | jobs | evaluations in flight | one generation "
          "| 50 generations | cores busy |")
    print("|---:|---|---:|---:|---:|---:|")
    for w in (1, 32, 2048):
        rows = [("whole evaluations", False, None),
                ("(task, seed) parts", True, None)]
        if 1 < w and math.ceil(w / 6) + 1 < PER_GENERATION:
            rows.append(("(task, seed) parts", True, math.ceil(w / 6) + 1))
        for label, split, k in rows:
            k = k or (w + 1 if split else w)
            g, total, busy = generational(w, split, k)
            print(f"| {w} | {label} | {min(k, PER_GENERATION)} | {g:.1f} s "
                  f"| {hours(total)} | {100 * busy:.1f}% |")
    print()
    n = GENERATIONS * PER_GENERATION
    print(f"No barrier (steady-state evolution, population 50, {n} jobs), "
          "window W:")
    print("| cores | jobs | window W | evaluations in flight (mean) | wall "
          "| evaluations/s | cores busy |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    rows = [(32, False, 4), (32, True, 4), (32, True, 33), (32, True, 64),
            (2048, False, 4), (2048, True, 4), (2048, True, 50),
            (2048, True, 128), (2048, True, 341), (2048, True, 718),
            (2048, True, 2048)]
    for w, split, k in rows:
        t, busy, flying = steady(w, k, split)
        label = "(task, seed) parts" if split else "whole evaluations"
        print(f"| {w} | {label} | {k} | {flying:.0f} | {hours(t)} "
              f"| {n / t:.2f} | {100 * busy / (w * t):.1f}% |")


if __name__ == "__main__":
    main()
