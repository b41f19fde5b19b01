"""Tasks, training results and the evaluator on the bundled digits."""

import numpy as np
import pytest

import evoopt
from evoopt import Evaluator, Genome, Task


def test_digits_task_and_options(digits_task):
    assert digits_task.name == "digits"
    assert "360" in digits_task.description  # the fixed test split
    assert digits_task.batch_size == 128      # task.h default
    digits_task.batch_size = 64
    assert digits_task.batch_size == 64
    assert digits_task.record_curve is False
    with pytest.raises(evoopt.OutOfRangeError):
        digits_task.batch_size = 0


def test_unknown_task_and_option():
    with pytest.raises(evoopt.NotFoundError) as info:
        Task("no_such_task")
    assert "no_such_task" in info.value.message
    with pytest.raises(TypeError, match="unknown task option"):
        Task("digits", batch=3)


def test_training_on_digits_beats_chance(no_leaks):
    steps = 150
    with Task("digits", record_curve=True) as task:
        r = task.train("adam", steps, seed=0)
    assert not r.diverged and r.diverged_step is None
    assert r.accuracy > 0.6  # chance is 0.1
    assert r.steps == steps
    assert isinstance(r.curve, np.ndarray) and r.curve.shape == (steps,)
    # doc/algorithm.md §3: L is the mean of the last 50 losses and the fitness
    # is acc + 0.05 max(0, 1 - L).
    assert r.mean_loss == pytest.approx(float(np.mean(
        r.curve[-50:].astype(np.float64))), rel=1e-5)
    assert r.fitness == pytest.approx(
        r.accuracy + 0.05 * max(0.0, 1.0 - r.mean_loss), rel=1e-12)
    assert r.curve[-10:].mean() < r.curve[:10].mean()
    d = r.as_dict()
    assert d["fitness"] == r["fitness"] and len(d["curve"]) == steps


def test_same_seed_same_result(digits_task):
    a = digits_task.train("adam", 20, seed=5)
    b = digits_task.train(Genome.preset("adam"), 20, seed=5)
    assert a.fitness == b.fitness and a.mean_loss == b.mean_loss
    assert a.curve is None  # not recorded by default


def test_divergence_is_a_result(digits_task):
    with Genome.preset("plain-sgd") as g:
        g.lr_log10 = 2.0  # lr 100
        r = digits_task.train(g, 50, seed=0)
    assert r.diverged and r.fitness == -1.0
    assert isinstance(r.diverged_step, int) and 0 <= r.diverged_step < 50


def test_evaluator_is_the_mean_over_seeds(no_leaks):
    with Task("digits") as task:
        expected = np.mean([task.train("adam", 30, seed=s).fitness
                            for s in (3, 4)])
        with Evaluator([task], steps=30, seeds=2) as ev:
            assert (ev.steps, ev.seeds) == (30, 2)
            report = ev.run("adam", seed_base=3)
    assert report["fitness"] == pytest.approx(expected, rel=1e-12)
    assert report["tasks"] == {"digits": pytest.approx(expected, rel=1e-12)}


def test_evaluator_opens_tasks_by_name(no_leaks):
    with Evaluator(["digits"], steps=10, seeds=1) as ev:
        assert [t.name for t in ev.tasks] == ["digits"]
        assert ev.run("sgd")["fitness"] > -1


def test_evaluator_needs_a_task(no_leaks):
    with Evaluator() as ev:
        with pytest.raises(evoopt.StateError):
            ev.run("adam")
        with pytest.raises(evoopt.OutOfRangeError):
            ev.steps = 0


def test_task_outlives_its_evaluator(no_leaks):
    task = Task("digits")
    ev = Evaluator([task], steps=5, seeds=1)
    with pytest.raises(RuntimeError, match="evaluator"):
        task.close()
    ev.close()
    task.close()
