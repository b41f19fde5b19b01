"""Handles are freed by close(), by ``with`` and by garbage collection."""

import gc
import subprocess
import sys
import weakref

import numpy as np

import evoopt
from conftest import subprocess_env


def make_everything():
    """One object of every kind, left for the garbage collector."""
    g = evoopt.Genome.preset("adam")
    opt = evoopt.Optimizer(g)
    opt.add(np.zeros(4, np.float32), np.zeros(4, np.float32))
    task = evoopt.Task("digits")
    ev = evoopt.Evaluator([task], steps=5, seeds=1)
    pop = evoopt.Population(lambda genome, seed: 0.5, lambda *a: None,
                            size=4, generations=1)
    pop.run()
    best = pop.best
    return [g, opt, task, ev, pop, best]


def test_dropped_objects_are_freed():
    gc.collect()
    before = evoopt.live_handles()
    objects = make_everything()
    opened = evoopt.live_handles()
    for kind in ("Genome", "Optimizer", "Task", "Evaluator", "Population"):
        assert opened.get(kind, 0) > before.get(kind, 0), kind
    refs = [weakref.ref(o) for o in objects]
    del objects
    # No reference cycles: reference counting alone frees everything.
    assert all(r() is None for r in refs)
    assert evoopt.live_handles() == before


def test_population_with_callbacks_has_no_cycle():
    def fitness(genome, seed):
        return 1.0
    pop = evoopt.Population(fitness, size=4, generations=1)
    pop.run()
    ref = weakref.ref(pop)
    del pop
    assert ref() is None


def test_with_closes():
    with evoopt.Genome() as g:
        assert not g.closed
    assert g.closed
    with evoopt.Optimizer("adam") as opt:
        pass
    assert opt.closed


def test_population_freed_after_a_callback_exception():
    gc.collect()
    before = evoopt.live_handles()

    def fitness(genome, seed):
        raise KeyError("x")
    pop = evoopt.Population(fitness, size=4, generations=1)
    try:
        pop.run()
    except KeyError:
        pass
    ref = weakref.ref(pop)
    del pop
    gc.collect()  # the traceback may hold frames until collected
    assert ref() is None
    assert evoopt.live_handles() == before


def test_objects_alive_at_exit_do_not_break_shutdown():
    code = ("import evoopt, numpy as np\n"
            "g = evoopt.Genome.preset('adam')\n"
            "o = evoopt.Optimizer(g)\n"
            "o.add(np.zeros(3, np.float32), np.zeros(3, np.float32))\n"
            "t = evoopt.Task('digits')\n"
            "e = evoopt.Evaluator([t])\n"
            "p = evoopt.Population(lambda g, s: 0.0, size=4, generations=1)\n"
            "p.run()\n"
            "cycle = [g, o, t, e, p]; cycle.append(cycle)\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=subprocess_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert "Exception ignored" not in proc.stderr
