"""Search settings from Python (issue 11): the algorithm, multi-fidelity
rungs and promotion, the compute budget and cost accounting, evaluator
rungs."""

import math

import pytest

import evoopt
from evoopt import Evaluator, Genome, Population, Task
from evoopt.population import takes_rung


def rung_fitness(genome, seed, rung):
    """A pure function of (genome, seed, rung) whose ranking differs
    between rungs (the β1 part only counts from rung 1 on), so that
    promotion is visible."""
    lr = -abs(genome.lr_log10 + 2.5)
    return lr + (0.5 * -abs(genome.beta1 - 0.9) if rung else 0.0) \
        + 1e-4 * rung


def steady_supported():
    with Population() as pop:
        try:
            pop.algorithm = "steady"
        except (evoopt.OutOfRangeError, evoopt.InvalidArgumentError):
            return False
    return True


def test_search_settings_round_trip(no_leaks):
    with Population(algorithm="random", rungs=3, promote=4,
                    budget=90.25) as pop:
        assert pop.algorithm == "random"
        assert (pop.rungs, pop.promote) == (3, 4)
        assert pop.budget == 91  # core-seconds, rounded up
        pop.algorithm = 0
        assert pop.algorithm == "ga"
        with pytest.raises(ValueError, match="unknown algorithm 'bogus'"):
            pop.algorithm = "bogus"
        with pytest.raises(evoopt.OutOfRangeError):
            pop.rungs = 9          # 1..8 (population.h)
        with pytest.raises(evoopt.OutOfRangeError):
            pop.promote = 1        # 2..1000
        with pytest.raises(evoopt.OutOfRangeError):
            pop.budget = -1
        with pytest.raises(ValueError, match="finite"):
            pop.budget = math.inf
    with Population() as pop:  # the paper's: GA, no rungs, no budget
        assert (pop.algorithm, pop.rungs, pop.promote, pop.budget) == \
            ("ga", 1, 3, 0)
    assert evoopt.ALGORITHMS[:2] == ("ga", "random")


def test_parse_rung():
    assert evoopt.parse_rung("200x1@2000") == (200, 1, 2000)
    assert evoopt.parse_rung(" 50x2 ") == (50, 2, 0)
    assert evoopt.parse_rung((10, 1)) == (10, 1, 0)
    assert evoopt.parse_rung([10, 3, 500]) == (10, 3, 500)
    for bad in ("200", "200x", "x1", "200x1@", "2e2x1", (1,), (1, 2, 3, 4),
                7):
        with pytest.raises(ValueError):
            evoopt.parse_rung(bad)


def test_takes_rung():
    def three(g, s, r):
        return 0.0

    def defaulted(g, s, r=0):
        return 0.0
    assert takes_rung(three) and takes_rung(lambda g, s, rung: 0.0)
    assert not takes_rung(lambda g, s: 0.0)
    assert not takes_rung(defaulted)
    assert not takes_rung(lambda *args: 0.0)


def test_evaluator_rungs_match_single_runs(no_leaks):
    g = Genome.preset("adam")
    with Task("digits", test_limit=100) as small, Task("digits") as whole:
        # Rung 0 = 10 steps, 1 seed, the first 100 test images; the full
        # rung = 30 steps × 2 seeds on the whole test set.
        with Evaluator([whole], steps=30, seeds=2,
                       rungs=["10x1@100", (20, 1, 0)]) as ev:
            assert ev.rungs == [(10, 1, 100), (20, 1, 0)]
            assert ev.rung_count == 3
            cheap = ev.run(g, seed_base=5, rung=0)
            assert cheap["fitness"] == small.train(g, 10, 5).fitness
            assert cheap["tasks"] == {"digits": cheap["fitness"]}
            middle = ev.run(g, seed_base=5, rung=1)
            assert middle["fitness"] == whole.train(g, 20, 5).fitness
            full = ev.run(g, seed_base=5, rung=2)
            runs = [whole.train(g, 30, s).fitness for s in (5, 6)]
            assert full["fitness"] == pytest.approx(sum(runs) / 2,
                                                    rel=1e-15)
            # Beyond the last rung: the full evaluation, as run() without.
            assert ev.run(g, 5, rung=7)["fitness"] == full["fitness"]
            assert ev.run(g, 5)["fitness"] == full["fitness"]
            for report in (cheap, middle, full):
                assert report["cost"] > 0
            with pytest.raises(ValueError):
                ev.run(g, 5, rung=-1)
            ev.set_rung(0, (5, 1))  # redefine
            assert ev.rungs[0] == (5, 1, 0) and ev.rung_count == 3
            with pytest.raises(evoopt.OutOfRangeError):
                ev.set_rung(3, (5, 1))  # rung 2 not defined yet
    r = None
    with Task("digits") as task:
        r = task.train(g, 20, 0)
    assert 0 < r.cpu_seconds and r.as_dict()["cpu_seconds"] == r.cpu_seconds


def test_promotion_fractions_and_rungs(no_leaks):
    calls = []

    def fitness(genome, seed, rung):
        calls.append((genome.to_json(), rung))
        return rung_fitness(genome, seed, rung)

    # 9 at rung 0, the best ceil(9/3) = 3 at rung 1, the best ceil(3/3) = 1
    # at rung 2 (population.h, "Multi-fidelity search").
    with Population(fitness, size=9, generations=1, rungs=3, promote=3,
                    run_seed=11) as pop:
        assert pop.run() is True
        per_rung = [sum(1 for _, r in calls if r == k) for k in range(3)]
        assert per_rung == [9, 3, 1]
        rung0 = {j: rung_fitness(Genome.from_json(j), 0, 0)
                 for j, r in calls if r == 0}
        top3 = sorted(rung0, key=lambda j: -rung0[j])[:3]
        assert sorted(j for j, r in calls if r == 1) == sorted(top3)
        rung1 = {j: rung_fitness(Genome.from_json(j), 0, 1) for j in top3}
        best = max(top3, key=lambda j: rung1[j])
        assert [j for j, r in calls if r == 2] == [best]
        inds = pop.individuals()
        assert sorted(i.rung for i in inds) == [0] * 6 + [1] * 2 + [2]
        assert not any(i.cached for i in inds)
        top = [i for i in inds if i.rung == 2][0]
        assert top.genome.to_json() == best
        h = pop.history[0]
        # A genome of a higher rung ranks above all of lower rungs.
        assert h["best"] == top.fitness == rung_fitness(top.genome, 0, 2)
        assert h["best_genome"].to_json() == best
        assert h["evaluations"] == 13 and h["compute"] == 0.0
        assert pop.hall_of_fame[0].genome.to_json() == best
        del inds, top, h


def test_rung_fitness_same_for_one_and_two_workers(no_leaks):
    runs = []
    for workers in (1, 2):
        with Population(rung_fitness, size=10, generations=3, rungs=2,
                        promote=2, workers=workers, run_seed=3) as pop:
            pop.run()
            runs.append([(h["best"], h["best_genome"].to_json(),
                          h["evaluations"]) for h in pop.history])
    assert runs[0] == runs[1]
    assert [e for _, _, e in runs[0]] == [15, 30, 45]  # 10 + 5 a generation


def test_explicit_rung_flag(no_leaks):
    seen = []

    def fitness(genome, seed, rung=None):
        seen.append(rung)
        return -abs(genome.lr_log10 + 2.5)

    with Population(size=4, generations=1) as pop:
        pop.set_fitness(fitness)  # defaulted third parameter: no rung
        pop.run()
    assert seen == [None] * 4
    with Population(size=4, generations=1, rungs=2) as pop:
        pop.set_fitness(fitness)  # rungs need a fitness that takes the rung
        with pytest.raises(evoopt.UnsupportedError, match="takes the rung"):
            pop.run()
    seen.clear()
    with Population(size=4, generations=1, rungs=2) as pop:
        pop.set_fitness(fitness, rung=True)
        pop.run()
    assert seen == [0] * 4 + [1] * 2


def test_budget_stops_and_resumes(no_leaks, tmp_path):
    def fitness(genome, seed):
        return {"fitness": -abs(genome.lr_log10 + 2.5), "cost": 1.5}

    path = tmp_path / "budget.ckpt"
    # 1.5 core-seconds an evaluation, 4 a generation: generation 0 costs 6;
    # no evaluation starts once 10 are spent (6 + 3 · 1.5 = 10.5), and the
    # open generation 1 waits for a larger budget.
    with Population(fitness, size=4, generations=100, budget=10,
                    checkpoint=path, tag="b") as pop:
        assert pop.run() is True and pop.finished
        assert pop.generation == 1 and pop.evaluated == 3
        assert pop.compute == 10.5
        assert [(h["compute"], h["evaluations"]) for h in pop.history] == \
            [(6.0, 4)]
    with Population.resume(path, tag="b", fitness=fitness, budget=20) as pop:
        assert pop.budget == 20 and not pop.finished
        assert pop.run() is True and pop.finished
        # 12 and 18 at the ends of generations 1 and 2; 21 >= 20 in 3.
        assert [(h["compute"], h["evaluations"]) for h in pop.history] == \
            [(6.0, 4), (12.0, 8), (18.0, 12)]
        assert pop.compute == 21.0 and pop.generation == 3


def test_report_dict_and_bad_returns(no_leaks):
    def fitness(genome, seed):
        return {"fitness": 0.5, "tasks": {"a": 0.25, "b": 0.75}, "cost": 2}

    with Population(fitness, size=4, generations=1) as pop:
        pop.run()
        assert pop.compute == 8.0
        assert pop.history[0]["best_report"] == {
            "fitness": 0.5, "tasks": {"a": 0.25, "b": 0.75}, "cost": 2.0}
    for bad, error in (({"fitness": 1.0, "cost": -1}, ValueError),
                       ({"fitness": 1.0, "cost": math.nan}, ValueError),
                       ({"fitnes": 1.0}, TypeError),
                       ({"fitness": 1.0, "extra": 1}, TypeError),
                       ((1.0, [0.5]), TypeError),
                       ((1.0, {}, 2.0), TypeError)):
        with Population(lambda g, s: bad, size=4, generations=1) as pop:
            with pytest.raises(error):
                pop.run()


def test_random_search_breeds_nothing(no_leaks):
    def best_of_gen0_in_gen1(algorithm):
        with Population(rung_fitness, size=8, generations=2, elites=2,
                        algorithm=algorithm, run_seed=4) as pop:
            pop.step()
            best = pop.history[0]["best_genome"].to_json()
            return best in [i.genome.to_json() for i in pop.individuals()]
    assert best_of_gen0_in_gen1("ga")          # an elite
    assert not best_of_gen0_in_gen1("random")  # fresh random genomes


def test_evaluator_with_rungs_as_fitness(no_leaks):
    with Evaluator(["digits"], steps=20, seeds=1, rungs=["5x1@100"]) as ev:
        with Population(ev, size=6, generations=1, rungs=2, promote=3,
                        budget=3600) as pop:
            assert pop.run() is True
            h = pop.history[0]
            assert h["evaluations"] == 8  # 6 at rung 0, 2 at rung 1
            assert h["compute"] == pytest.approx(pop.compute) and \
                pop.compute > 0
            # The best genome's full evaluation, recomputed.
            assert ev.run(h["best_genome"], 0)["fitness"] == h["best"]
            del h
        with Population(ev, size=6, generations=1) as pop:  # rungs = 1
            with pytest.raises(ValueError, match="rungs"):
                pop.run()


@pytest.mark.skipif(not steady_supported(),
                    reason="this libevoopt has no steady-state evolution")
def test_steady_state_setting(no_leaks):
    with Population(rung_fitness, size=6, generations=3,
                    algorithm="steady") as pop:
        assert pop.algorithm == "steady"
        assert pop.run() is True
        assert pop.best_fitness is not None
