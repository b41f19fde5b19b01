"""Training tasks, one training run's result and the multi-task evaluator
(task.h, doc/algorithm.md §3)."""

import ctypes
import weakref
from ctypes import byref, c_char_p, c_double, c_int, c_size_t, c_uint32, \
    c_uint64

from . import _lib
from ._lib import lib
from .genome import Genome

__all__ = ["Task", "TrainResult", "Evaluator", "set_blas_threads",
           "blas_threads", "parse_rung"]

_TASK_OPTIONS = {"train_subset": 0, "data_seed": 1, "batch_size": 2,
                 "test_limit": 3, "record_curve": 4, "decay_all": 5,
                 "refuse_nonfinite": 6, "threads": 7, "eval_every": 8}
_RESULT_KEYS = {"fitness": 0, "accuracy": 1, "mean_loss": 2, "diverged": 3,
                "diverged_step": 4, "steps": 5, "seconds": 6,
                "cpu_seconds": 7}


def set_blas_threads(n):
    """Threads OpenBLAS uses inside each training run (process-wide); 1 when
    several evaluations run at once."""
    lib.evo_blas_set_threads(_lib.as_int(n, c_int))


def blas_threads():
    """The threads OpenBLAS uses inside each training run, as the library
    reports it (evo_blas_get_threads; 1 with another BLAS)."""
    n = c_int()
    lib.evo_blas_get_threads(byref(n))
    return n.value


def report_to_dict(report_ptr):
    """An evo_report as ``{'fitness': f, 'tasks': {name: fitness}, 'cost':
    core_seconds}`` (the cost is 0 unless the evaluation recorded one)."""
    fitness, cost = c_double(), c_double()
    lib.evo_report_fitness(report_ptr, byref(fitness))
    lib.evo_report_cost(report_ptr, byref(cost))
    tasks = {}
    name, value = c_char_p(), c_double()
    for i in range(lib.evo_report_task_count(report_ptr)):
        lib.evo_report_task(report_ptr, i, byref(name), byref(value))
        tasks[_lib.text(name.value)] = value.value
    return {"fitness": fitness.value, "tasks": tasks, "cost": cost.value}


class _Report(_lib.Handle):
    _free_name = "evo_report_free"

    def __init__(self):
        self._adopt(_lib.new_handle(lib.evo_report_new))


class TrainResult:
    """The outcome of one training run (plain Python values).

    Attributes: fitness (acc + 0.05·max(0, 1 - L), or -1 when diverged),
    accuracy, mean_loss, diverged (bool), diverged_step (the 0-based step,
    or None), steps, seconds (wall time), cpu_seconds (CPU time of the
    thread that ran it), curve (the per-step training losses as a float32
    NumPy array when the task records them, else None), eval_curve (the
    held-out learning curve of :attr:`Task.eval_every` = K > 0: a list of
    ``(step, accuracy)`` pairs, one after steps K, 2K, ..., floor(steps / K)
    of them, or fewer when the run diverged; ``[]`` when K is 0;
    evo_train_result_eval_curve). With K equal to the run's steps its one
    point's accuracy is :attr:`accuracy`, exactly.
    """

    __slots__ = ("fitness", "accuracy", "mean_loss", "diverged",
                 "diverged_step", "steps", "seconds", "cpu_seconds", "curve",
                 "eval_curve")

    def __init__(self, result_ptr):
        values = {}
        out = c_double()
        for key, code in _RESULT_KEYS.items():
            lib.evo_train_result_get(result_ptr, code, byref(out))
            values[key] = out.value
        self.fitness = values["fitness"]
        self.accuracy = values["accuracy"]
        self.mean_loss = values["mean_loss"]
        self.diverged = bool(values["diverged"])
        self.diverged_step = (int(values["diverged_step"])
                              if self.diverged else None)
        self.steps = int(values["steps"])
        self.seconds = values["seconds"]
        self.cpu_seconds = values["cpu_seconds"]
        self.curve = self._read_curve(result_ptr)
        self.eval_curve = self._read_eval_curve(result_ptr)

    @staticmethod
    def _read_curve(result_ptr):
        losses, n = ctypes.POINTER(ctypes.c_float)(), c_size_t()
        lib.evo_train_result_curve(result_ptr, byref(losses), byref(n))
        if not losses or n.value == 0:
            return None
        import numpy as np
        return np.ctypeslib.as_array(losses, shape=(n.value,)).copy()

    @staticmethod
    def _read_eval_curve(result_ptr):
        steps = ctypes.POINTER(c_uint64)()
        acc = ctypes.POINTER(c_double)()
        n = c_size_t()
        lib.evo_train_result_eval_curve(result_ptr, byref(steps), byref(acc),
                                        byref(n))
        if not steps or not acc:
            return []
        return [(int(steps[i]), float(acc[i])) for i in range(n.value)]

    def as_dict(self):
        """The result as a dict (curve as a list, eval_curve as a list of
        ``[step, accuracy]`` lists, as JSON would give them back)."""
        out = {k: getattr(self, k) for k in self.__slots__}
        if out["curve"] is not None:
            out["curve"] = out["curve"].tolist()
        out["eval_curve"] = [list(p) for p in out["eval_curve"]]
        return out

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        return ("TrainResult(fitness=%.4f, accuracy=%.4f, mean_loss=%.4f, "
                "diverged=%s)" % (self.fitness, self.accuracy, self.mean_loss,
                                  self.diverged))


class Task(_lib.Handle):
    """A training task: a data set with its network (evo_task).

    Names: 'mnist', 'fashion_mnist', 'cifar10', and 'digits' (bundled in the
    library). Options may be given as keyword arguments or set as
    attributes before the task is shared: train_subset, data_seed,
    batch_size, test_limit, record_curve, decay_all, refuse_nonfinite,
    threads, eval_every. Each is read from and written to the library
    (task.h's evo_task_option), which checks its bounds: a value outside
    them raises :class:`~evoopt.OutOfRangeError` with the library's
    message, and the option keeps its value.

    ``eval_every`` (EVO_TASK_EVAL_EVERY, default 0 = off, 0 to
    EVO_MAX_STEPS): K > 0 scores the held-out (test) set after training
    steps K, 2K, ... of each run, on the same test images as the final
    accuracy; the points are the result's :attr:`TrainResult.eval_curve`.
    Scoring changes nothing in the training run (same final accuracy and
    fitness bits); only the run's time grows.
    """

    _free_name = "evo_task_free"

    def __init__(self, name, data_folder=None, **options):
        folder = None if data_folder is None else _lib.encode_path(data_folder)
        self._adopt(_lib.new_handle(lib.evo_task_open, name.encode(), folder))
        self._users = weakref.WeakSet()  # evaluators borrowing this task
        for key, value in options.items():
            if key not in _TASK_OPTIONS:
                raise TypeError("unknown task option %r (known: %s)"
                                % (key, ", ".join(_TASK_OPTIONS)))
            setattr(self, key, value)

    @property
    def name(self):
        """The task's name."""
        return _lib.text(lib.evo_task_name(self.handle))

    @property
    def description(self):
        """Where the data was found and how many images it holds."""
        return _lib.text(lib.evo_task_describe(self.handle))

    def __repr__(self):
        return "<Task %s>" % (self.description if not self.closed else
                              "(closed)")

    def train(self, genome, steps, seed=0):
        """Trains ``genome`` (a Genome or preset name) for ``steps`` steps
        with ``seed`` and scores it (doc/algorithm.md §3). Returns a
        :class:`TrainResult`; divergence is not an error."""
        g = Genome.coerce(genome)
        result = _lib.new_handle(lib.evo_train_result_new)
        try:
            lib.evo_task_train(self.handle, g.handle, int(steps), int(seed),
                               result)
            return TrainResult(result)
        finally:
            lib.evo_train_result_free(result)

    def close(self):
        """Frees the task. Raises StateError-like RuntimeError while an open
        evaluator still uses it."""
        if any(not e.closed for e in list(getattr(self, "_users", ()))):
            raise RuntimeError("task %r is still used by an evaluator: close "
                               "the evaluator first" % self.name)
        super().close()


_BOOL_OPTIONS = {"record_curve", "decay_all", "refuse_nonfinite"}
for _key, _code in _TASK_OPTIONS.items():
    setattr(Task, _key, _lib.option_property(
        "task", _code, "The task option %s (task.h), read from and written "
        "to the library." % _key,
        bool if _key in _BOOL_OPTIONS else None, _lib.as_int))


def parse_rung(spec):
    """One cheap rung as ``(steps, seeds, test_limit)``, from such a tuple
    (``test_limit`` may be left out: 0, the whole test set) or from the
    command line's text ``STEPSxSEEDS@TEST`` (``@TEST`` optional), e.g.
    ``"200x1@2000"``. Raises ValueError for anything else; the library
    checks the ranges."""
    if isinstance(spec, str):
        text = spec.strip()
        head, at, limit = text.partition("@")
        steps, sep, seeds = head.partition("x")
        try:
            if not sep or (at and not limit):
                raise ValueError
            return (int(steps), int(seeds), int(limit) if limit else 0)
        except ValueError:
            raise ValueError("rung %r is not STEPSxSEEDS or "
                             "STEPSxSEEDS@TEST_IMAGES (e.g. '200x1@2000')"
                             % spec) from None
    try:
        values = tuple(int(v) for v in spec)
    except TypeError:
        raise ValueError("a rung is (steps, seeds[, test_limit]) or a text "
                         "like '200x1@2000', not %r" % (spec,)) from None
    if len(values) not in (2, 3):
        raise ValueError("a rung is (steps, seeds[, test_limit]), not %r"
                         % (spec,))
    return values + (0,) * (3 - len(values))


class Evaluator(_lib.Handle):
    """Evaluates genomes over several tasks × seeds (doc/algorithm.md §3,
    multi-task fitness).

    Args:
        tasks: Task objects or task names (names are opened and owned by the
            evaluator).
        steps: training steps per run (500, the paper's).
        seeds: seeds per task (2, the paper's).
        rungs: the cheap evaluation rungs of multi-fidelity search
            (doc/algorithm.md §9), cheapest first, each ``(steps, seeds,
            test_limit)`` or a text like ``"200x1@2000"`` (:func:`parse_rung`);
            ``steps``/``seeds`` with each task's whole test set (its own
            ``test_limit``) are the rung after them, the full evaluation.
            A population using this evaluator needs ``rungs = len(rungs) +
            1`` (see :attr:`rung_count`).
    """

    _free_name = "evo_evaluator_free"

    def __init__(self, tasks=(), steps=500, seeds=2, rungs=()):
        self._adopt(_lib.new_handle(lib.evo_evaluator_new))
        self._tasks = []
        self._owned = []  # opened here by name: closed with the evaluator
        self.steps = steps
        self.seeds = seeds
        for task in tasks:
            self.add_task(task)
        for i, spec in enumerate(rungs):
            self.set_rung(i, spec)

    def add_task(self, task):
        """Adds a Task (kept alive by the evaluator) or a task name."""
        if isinstance(task, str):
            task = Task(task)
            self._owned.append(task)
        lib.evo_evaluator_add_task(self.handle, task.handle)
        task._users.add(self)
        self._tasks.append(task)

    @property
    def tasks(self):
        """The tasks, in the order added."""
        return list(self._tasks)

    @property
    def steps(self):
        """Training steps per run (evo_evaluator_get_steps)."""
        value = c_uint64()
        lib.evo_evaluator_get_steps(self.handle, byref(value))
        return value.value

    @steps.setter
    def steps(self, value):
        lib.evo_evaluator_set_steps(self.handle,
                                    _lib.as_int(value, c_uint64))

    @property
    def seeds(self):
        """Seeds per task (evo_evaluator_get_seeds)."""
        value = c_uint32()
        lib.evo_evaluator_get_seeds(self.handle, byref(value))
        return value.value

    @seeds.setter
    def seeds(self, value):
        lib.evo_evaluator_set_seeds(self.handle,
                                    _lib.as_int(value, c_uint32))

    def set_rung(self, rung, spec):
        """Defines (``rung`` = the number defined so far) or redefines
        (less) cheap rung ``rung``: ``spec`` is ``(steps, seeds[,
        test_limit])`` or a text like ``"200x1@2000"``
        (evo_evaluator_set_rung)."""
        steps, seeds, test_limit = parse_rung(spec)
        lib.evo_evaluator_set_rung(self.handle, int(rung), steps, seeds,
                                   test_limit)

    @property
    def rungs(self):
        """The cheap rungs defined, cheapest first, as ``(steps, seeds,
        test_limit)`` tuples (the full evaluation is not listed), read from
        the library (evo_evaluator_get_rung)."""
        steps, seeds, limit = c_uint64(), c_uint32(), c_uint64()
        out = []
        for rung in range(self.rung_count - 1):
            lib.evo_evaluator_get_rung(self.handle, rung, byref(steps),
                                       byref(seeds), byref(limit))
            out.append((steps.value, seeds.value, limit.value))
        return out

    @property
    def rung_count(self):
        """The number of rungs, the full evaluation included (1 without
        cheap rungs): the population setting ``rungs`` that goes with this
        evaluator (evo_evaluator_rungs)."""
        return int(lib.evo_evaluator_rungs(self.handle))

    def run(self, genome, seed_base=0, rung=None):
        """Evaluates ``genome`` with seeds seed_base, seed_base+1, ... on
        every task: the full evaluation, or with ``rung`` the evaluation at
        that rung (0 the cheapest; :attr:`rung_count` - 1 and beyond the
        full one). Returns ``{'fitness': f, 'tasks': {name: fitness},
        'cost': core_seconds}``, the cost being the training runs' CPU
        time × engine threads; such a dict is also what a fitness function
        may return (:class:`~evoopt.Population`)."""
        g = Genome.coerce(genome)
        with _Report() as report:
            if rung is None:
                lib.evo_evaluator_run(self.handle, g.handle, int(seed_base),
                                      report.handle)
            else:
                if int(rung) < 0:
                    raise ValueError("rung must be 0 or more, not %d"
                                     % rung)
                lib.evo_evaluator_run_rung(self.handle, g.handle,
                                           int(seed_base), int(rung),
                                           report.handle)
            return report_to_dict(report.handle)

    def close(self):
        """Frees the evaluator, then the tasks it opened by name."""
        super().close()
        for task in getattr(self, "_owned", ()):
            task.close()
