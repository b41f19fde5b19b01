"""The genetic algorithm driven by Python fitness functions."""

import math
import os
import signal
import threading
import time

import pytest

import evoopt
from evoopt import Event, Evaluator, Genome, Population


def synthetic(genome, seed):
    """A pure function of (genome, seed): prefers lr 10^-2.5, β1 0.9 and
    Adam terms, with a per-task breakdown."""
    adam = sum(a for name, a in genome.terms if name == "adam")
    a = -abs(genome.lr_log10 + 2.5)
    b = -abs(genome.beta1 - 0.9) + 0.05 * math.tanh(adam) + 1e-3 * (seed % 7)
    return (a + b) / 2, {"lr": a, "moments": b}


def summary(pop):
    """The parts of a run that must not depend on the number of workers."""
    return ([(h["best"], h["mean"], h["median"], h["worst"], h["failed"],
              h["best_genome"].to_json(), h["best_report"], h["terms"])
             for h in pop.history],
            [(e.genome.to_json(), e.fitness, e.generation)
             for e in pop.hall_of_fame])


def test_settings_as_keywords_and_properties(no_leaks):
    with Population(size=6, generations=3, elites=1, tournament=2,
                    run_seed=2 ** 64 - 1, fresh_seeds=True,
                    hall_of_fame_size=4) as pop:
        assert (pop.size, pop.generations, pop.elites, pop.tournament) == \
            (6, 3, 1, 2)
        assert pop.run_seed == 2 ** 64 - 1 and pop.fresh_seeds is True
        assert pop.hall_of_fame_size == 4 and pop.workers == 1
        pop.workers = 2
        assert pop.workers == 2
        with pytest.raises(evoopt.OutOfRangeError):
            pop.size = 1
        with pytest.raises(evoopt.StateError):
            pop.step()  # no fitness callback yet
    with pytest.raises(TypeError, match="unknown population setting"):
        Population(population=5)
    with Population() as pop:  # the paper's settings (doc/algorithm.md §4)
        assert (pop.size, pop.generations, pop.elites, pop.tournament,
                pop.run_seed) == (50, 50, 3, 4, 42)


def test_python_fitness_same_result_for_one_and_two_workers(no_leaks):
    runs = []
    threads = set()

    def fitness(genome, seed):
        threads.add(threading.get_ident())
        return synthetic(genome, seed)

    for workers in (1, 2):
        with Population(fitness, size=12, generations=4, workers=workers,
                        run_seed=7) as pop:
            assert pop.run() is True and pop.finished
            assert pop.generation == 4
            runs.append(summary(pop))
            best = pop.best
            assert best == pop.hall_of_fame[0].genome
            assert pop.best_fitness == max(h["best"] for h in pop.history)
            del best
    assert runs[0] == runs[1]
    assert len(threads) >= 2  # the second run evaluated on C worker threads
    history = runs[0][0]
    assert len(history) == 4
    assert history[-1][0] >= history[0][0]  # elitism: the best never drops
    report = history[-1][6]
    assert set(report["tasks"]) == {"lr", "moments"}
    assert report["fitness"] == pytest.approx(
        sum(report["tasks"].values()) / 2)


def test_history_and_individuals_are_plain_data(no_leaks):
    with Population(synthetic, size=6, generations=2) as pop:
        assert pop.step() is True
        h = pop.history[0]
        assert set(h) == {"generation", "best", "mean", "median", "worst",
                          "failed", "cache_hits", "compute", "evaluations",
                          "best_genome", "best_report", "terms"}
        assert (h["compute"], h["evaluations"]) == (0.0, 6)
        assert h["worst"] <= h["median"] <= h["best"]
        assert sum(h["terms"].values()) >= 6
        inds = pop.individuals()  # generation 1, bred, not yet evaluated
        assert len(inds) == 6 and all(i.fitness is None for i in inds)
        del h, inds


def test_initial_genomes_open_generation_zero(no_leaks):
    seen = []

    def fitness(genome, seed):
        seen.append(genome.to_json())
        return 0.0

    with Population(fitness, size=3, generations=1, elites=1, tournament=2,
                    initial=["adam", Genome.preset("rmsprop")]) as pop:
        pop.run()
        evaluated = [i.genome.to_json() for i in pop.individuals()]
    assert evaluated[0] == Genome.preset("adam").to_json()
    assert evaluated[1] == Genome.preset("rmsprop").to_json()
    assert sorted(seen) == sorted(evaluated)


class Boom(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 2])
def test_exception_in_fitness_is_reraised(no_leaks, workers):
    calls = []

    def fitness(genome, seed):
        calls.append(seed)
        if len(calls) == 3:
            raise Boom("third evaluation failed")
        return synthetic(genome, seed)

    with Population(fitness, size=8, generations=3, workers=workers) as pop:
        with pytest.raises(Boom, match="third evaluation"):
            pop.run()
        assert not pop.finished
        if workers == 1:  # stopped at the failing evaluation's event
            assert len(calls) == 3 and pop.generation == 0
        else:  # at the latest after generation 0's event
            assert len(calls) <= 8 and pop.generation <= 1
        # The failed evaluation was recorded as a failure; the run goes on.
        assert pop.run() is True
        assert pop.history[0]["failed"] == 1
        errs = [i for i in pop.individuals() if i.status]
        assert errs == []  # only the current (last) generation is listed


def test_wrong_return_type_is_reraised(no_leaks):
    with Population(lambda g, s: "good", size=4, generations=1) as pop:
        with pytest.raises((TypeError, ValueError)):
            pop.run()


def test_non_finite_fitness_counts_as_failure(no_leaks):
    def fitness(genome, seed):
        return math.nan if genome.lr_log10 > -2.5 else 1.0

    with Population(fitness, size=6, generations=1) as pop:
        assert pop.run()
        failed = [i for i in pop.individuals() if i.status]
        assert pop.history[0]["failed"] == len(failed) > 0
        assert all(i.fitness == -1 for i in failed)
        assert all(i.status == -11 for i in failed)  # EVO_ECALLBACK


def test_progress_callback_and_stop(no_leaks):
    events = []

    def progress(event, generation, index):
        events.append((event, generation, index))
        return event == Event.GENERATION and generation == 1

    with Population(synthetic, progress, size=4, generations=4) as pop:
        assert pop.run() is False            # stopped after generation 1
        assert pop.generation == 2 and len(pop.history) == 2
        per_gen = [e for e in events if e[1] == 0]
        assert sorted(i for ev, _, i in per_gen if ev == Event.EVALUATION) \
            == [0, 1, 2, 3]
        assert per_gen[-1] == (Event.GENERATION, 0, 0)
        pop.progress = None
        assert pop.run() is True and len(pop.history) == 4


def test_exception_in_progress_is_reraised(no_leaks):
    def progress(event, generation, index):
        raise Boom("from progress")

    with Population(synthetic, progress, size=4, generations=2) as pop:
        with pytest.raises(Boom):
            pop.step()
        assert pop.evaluated == 1


def test_evaluator_as_fitness(no_leaks):
    with Evaluator(["digits"], steps=10, seeds=1) as ev:
        with Population(ev, size=4, generations=1, workers=2) as pop:
            assert pop.fitness is ev
            pop.run()
            best = pop.history[0]["best_report"]
            assert set(best["tasks"]) == {"digits"}
            # The evaluator's fitness of the best genome, recomputed.
            assert ev.run(pop.history[0]["best_genome"], 0)["fitness"] == \
                pytest.approx(pop.history[0]["best"], rel=1e-12)


def test_checkpoint_and_resume(no_leaks, tmp_path):
    path = tmp_path / "run.ckpt"
    with Population(synthetic, size=6, generations=3, run_seed=5) as full:
        full.run()
        expected = summary(full)

    def stop_after_first(event, generation, index):
        return event == Event.GENERATION

    with Population(synthetic, stop_after_first, size=6, generations=3,
                    run_seed=5, checkpoint=path, tag="synthetic") as pop:
        assert pop.run() is False
    with pytest.raises(evoopt.MismatchError):
        Population.resume(path, tag="other")
    with Population.resume(path, tag="synthetic", fitness=synthetic,
                           workers=2) as pop:
        assert pop.generation == 1 and pop.size == 6
        assert pop.run() is True
        assert summary(pop) == expected
    with pytest.raises(evoopt.FileIOError):
        Population.resume(tmp_path / "missing.ckpt")


def test_fresh_seeds_vary(no_leaks):
    seeds = set()

    def fitness(genome, seed):
        seeds.add(seed)
        return 0.0

    with Population(fitness, size=4, generations=1, fresh_seeds=True) as pop:
        pop.run()
    assert len(seeds) == 4
    seeds.clear()
    with Population(fitness, size=4, generations=1) as pop:
        pop.run()
    assert seeds == {0}  # doc/algorithm.md §3: common seed 0


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_the_run(no_leaks, workers):
    def fitness(genome, seed):
        time.sleep(0.01)
        return 0.0

    with Population(fitness, size=6, generations=50,
                    workers=workers) as pop:
        timer = threading.Timer(
            0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                pop.run()
        finally:
            timer.cancel()
        assert not pop.finished
        # Python's own handler is back.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_exact_cache_changes_nothing_but_the_calls(no_leaks):
    # cache = 2 (exact genome + seed) suits any pure fitness: the run is the
    # same, the elites of every later generation are not evaluated again.
    calls = []

    def fitness(genome, seed):
        calls.append(1)
        return synthetic(genome, seed)

    runs, counts = [], []
    for cache in (0, 2):
        calls.clear()
        with Population(fitness, size=10, generations=4, run_seed=3,
                        cache=cache) as pop:
            assert pop.cache == cache
            pop.run()
            runs.append(summary(pop))
            hits = sum(h["cache_hits"] for h in pop.history)
        counts.append((len(calls), hits))
    assert runs[0] == runs[1]
    assert counts[0] == (40, 0)
    # The 3 elites hit in each of generations 1..3 at least.
    assert counts[1][1] >= 9 and counts[1][0] == 40 - counts[1][1]
