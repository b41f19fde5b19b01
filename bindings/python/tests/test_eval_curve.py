"""Task.eval_every (EVO_TASK_EVAL_EVERY) and TrainResult.eval_curve
(evo_train_result_eval_curve) on the bundled digits: the held-out learning
curve's points, its count and steps, and the option's bounds."""

import os
import re

import pytest

import evoopt
from evoopt import Task
from conftest import REPO_ROOT

STEPS = 12
DIGITS_TEST_IMAGES = 360  # the bundled digits' fixed test split


def _max_steps():
    """EVO_MAX_STEPS as task.h spells it (UINT64_C(10000000))."""
    with open(os.path.join(REPO_ROOT, "include", "evoopt", "task.h")) as f:
        m = re.search(r"#define EVO_MAX_STEPS UINT64_C\((\d+)\)", f.read())
    assert m, "EVO_MAX_STEPS not found in task.h"
    return int(m.group(1))


def test_eval_every_defaults_to_off(digits_task):
    assert digits_task.eval_every == 0
    r = digits_task.train("adam", STEPS, seed=3)
    assert r.eval_curve == [] and r.as_dict()["eval_curve"] == []


def test_k_equal_steps_gives_the_final_accuracy(no_leaks):
    with Task("digits", eval_every=STEPS) as task:
        assert task.eval_every == STEPS
        r = task.train("adam", STEPS, seed=3)
    assert len(r.eval_curve) == 1
    step, acc = r.eval_curve[0]
    assert step == STEPS and isinstance(step, int)
    assert acc == r.accuracy   # exactly: the same scoring (task.h)
    assert r.as_dict()["eval_curve"] == [[STEPS, r.accuracy]]


@pytest.mark.parametrize("k", [1, 5, 7, 13])
def test_floor_steps_over_k_points(no_leaks, k):
    with Task("digits") as task:
        plain = task.train("adam", STEPS, seed=4)
        task.eval_every = k
        r = task.train("adam", STEPS, seed=4)
    assert not r.diverged
    # floor(12 / k) points at k, 2k, ...: 12, 2 (5, 10), 1 (7), 0 (13 > 12)
    expected_steps = {1: list(range(1, 13)), 5: [5, 10], 7: [7], 13: []}[k]
    assert [s for s, _ in r.eval_curve] == expected_steps
    for _, acc in r.eval_curve:
        # a share of the 360 test images
        assert 0.0 <= acc <= 1.0
        assert abs(acc * DIGITS_TEST_IMAGES
                   - round(acc * DIGITS_TEST_IMAGES)) < 1e-9
    # Scoring changes nothing in the run (task.h): same bits.
    assert (r.accuracy, r.fitness, r.mean_loss) == \
        (plain.accuracy, plain.fitness, plain.mean_loss)
    if k == 1:
        assert r.eval_curve[-1][1] == r.accuracy


def test_zero_turns_it_off(digits_task):
    digits_task.eval_every = 4
    assert len(digits_task.train("adam", STEPS, seed=1).eval_curve) == 3
    digits_task.eval_every = 0
    assert digits_task.train("adam", STEPS, seed=1).eval_curve == []


def test_bounds_refused_with_the_library_error(digits_task):
    top = _max_steps()
    assert evoopt._lib.option_bounds("task", 8) == (False, 0, top)
    digits_task.eval_every = top      # the bound itself is accepted
    assert digits_task.eval_every == top
    digits_task.eval_every = 3
    for bad in (-1, top + 1):
        with pytest.raises(evoopt.OutOfRangeError,
                           match=r"EVO_TASK_EVAL_EVERY must be in 0\.\.%d"
                           % top):
            digits_task.eval_every = bad
        assert digits_task.eval_every == 3   # unchanged
    with pytest.raises(ValueError, match="whole number"):
        digits_task.eval_every = 2.5
    with pytest.raises(evoopt.OutOfRangeError):
        Task("digits", eval_every=-5)
