"""The language-model task shakespeare_char (issue 12; doc/algorithm.md §7)
through the bindings: opened by name, its defaults, a short run scored by
the task's fitness, and mixed with a vision task in one evaluator. Skipped
when tiny Shakespeare is not found."""

import math

import pytest

import evoopt
from evoopt import Evaluator, Task


@pytest.fixture
def lm_task():
    try:
        task = Task("shakespeare_char", test_limit=4)
    except evoopt.NotFoundError as e:
        pytest.skip("tiny Shakespeare not found: %s" % e.message)
    with task:
        yield task


def test_defaults_and_split(lm_task):
    assert lm_task.name == "shakespeare_char"
    # 1,115,394 characters: floor(0.9 n) = 1,003,854 train, 111,540 held
    # out, floor(111,539 / 64) = 1,742 windows.
    assert ("1003854 training characters, 111540 held-out (1742 windows "
            "of 64), 65 symbols") in lm_task.description
    assert lm_task.batch_size == 32
    assert lm_task.decay_all is False


def test_short_run_fitness(lm_task, no_leaks):
    lm_task.batch_size = 4
    r = lm_task.train("adam", 5, seed=1)
    assert not r.diverged and r.steps == 5
    hits = r.accuracy * 4 * 64  # a count over 4 windows of 64
    assert hits == pytest.approx(round(hits), abs=1e-9)
    # doc/algorithm.md §7: acc + 0.05 max(0, 1 - L / ln 65)
    assert r.fitness == pytest.approx(
        r.accuracy + 0.05 * max(0.0, 1.0 - r.mean_loss / math.log(65)),
        abs=1e-12)


def test_mixed_with_digits(lm_task, no_leaks):
    lm_task.batch_size = 2
    with Task("digits") as digits:
        with Evaluator([lm_task, digits], steps=3, seeds=1) as ev:
            out = ev.run("adam")
    assert set(out["tasks"]) == {"shakespeare_char", "digits"}
    assert out["fitness"] == pytest.approx(
        (out["tasks"]["shakespeare_char"] + out["tasks"]["digits"]) / 2)
