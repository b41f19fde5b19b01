"""The genetic algorithm (population.h, doc/algorithm.md §4) with a Python or
library fitness function."""

import collections
import contextlib
import ctypes
import enum
import inspect
import math
import os
import signal
import threading
from ctypes import byref, c_char_p, c_double, c_int, c_int64, c_size_t

from . import _lib, errors
from ._lib import lib
from .genome import Genome, term_names
from .task import Evaluator, report_to_dict

__all__ = ["Population", "Event", "Individual", "HallOfFameEntry",
           "ALGORITHMS"]

_SETTINGS = {"size": 0, "generations": 1, "elites": 2, "tournament": 3,
             "run_seed": 4, "workers": 5, "fresh_seeds": 6,
             "hall_of_fame_size": 7, "cache": 8, "algorithm": 9,
             "rungs": 10, "promote": 11, "budget": 12, "window": 13}
#: Search methods by name (population.h, evo_algorithm): the setting
#: ``algorithm`` takes a name or its number and reads back as the name.
ALGORITHMS = ("ga", "random", "steady")
_HISTORY_KEYS = ("best", "mean", "median", "worst", "failed", "cache_hits",
                 "compute", "evaluations")
_INT_HISTORY_KEYS = ("failed", "cache_hits", "evaluations")
_EVO_ECALLBACK = -11


class Event(enum.IntEnum):
    """Events passed to the progress callback."""
    EVALUATION = 0  #: one evaluation finished (index = the individual)
    GENERATION = 1  #: a generation was evaluated and recorded


Individual = collections.namedtuple(
    "Individual", "genome fitness status message rung cached")
Individual.__doc__ = """An individual of the current generation: its genome
(a copy), fitness (None before evaluation), the fitness callback's status
(0 = ok) and message when it failed, the rung of its result or the rung it
waits for (always 0 without multi-fidelity search) and whether its result
came from the evaluation cache."""

HallOfFameEntry = collections.namedtuple(
    "HallOfFameEntry", "genome fitness generation")
HallOfFameEntry.__doc__ = """A hall-of-fame entry: a distinct genome (a
copy), its best fitness and the generation it was first seen in."""


class _Callbacks:
    """What the C callback wrappers share. Holds no reference to the
    Population, so that a population is freed as soon as it is dropped."""

    def __init__(self):
        self.fitness = None
        self.progress = None
        self.error = None      # first exception raised by a callback
        self.stopped = False   # the user's progress callback asked to stop
        self.interrupted = False  # Ctrl-C during the run
        self.lock = threading.Lock()

    def fail(self, exc):
        with self.lock:
            if self.error is None:
                self.error = exc


_RETURNS = ("a fitness function returns a float, (float, {task: "
            "fitness}) or a dict {'fitness': float, 'tasks': {task: "
            "fitness}, 'cost': core_seconds} (tasks and cost optional, as "
            "Evaluator.run() returns it)")


def _fill_report(report, value):
    """Writes a fitness function's result into an evo_report. Returns False
    for a non-finite fitness (a failed evaluation, as in the C API)."""
    tasks, cost = {}, None
    if isinstance(value, dict):
        unknown = set(value) - {"fitness", "tasks", "cost"}
        if "fitness" not in value or unknown:
            raise TypeError("%s; got a dict with keys %s"
                            % (_RETURNS, sorted(map(str, value))))
        tasks, cost = value.get("tasks") or {}, value.get("cost")
        value = value["fitness"]
    elif isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError("%s, not %r" % (_RETURNS, value))
        value, tasks = value
    if not isinstance(tasks, dict):
        raise TypeError("%s; tasks must be a dict, not %r" % (_RETURNS,
                                                               tasks))
    fitness = float(value)
    if not math.isfinite(fitness) or not all(
            math.isfinite(float(v)) for v in tasks.values()):
        return False
    if cost is not None:
        cost = float(cost)
        if not (math.isfinite(cost) and cost >= 0):
            raise ValueError("a fitness function's cost is CPU core-seconds, "
                             "finite and at least 0, not %r" % cost)
        lib.evo_report_set_cost(report, cost)
    lib.evo_report_set_fitness(report, fitness)
    for name, task_fitness in tasks.items():
        lib.evo_report_add_task(report, str(name).encode(),
                                float(task_fitness))
    return True


def _fitness_wrapper(state):
    """The C fitness callback calling ``state.fitness(genome, seed)``.
    Called from worker threads; ctypes takes the GIL for it."""
    def call(_user, genome, seed, report):
        # After another call failed, evaluations already handed out still
        # run: they are recorded, and a resumed run must find them valid.
        try:
            ok = _fill_report(report, state.fitness(Genome._copy_of(genome),
                                                    seed))
            return 0 if ok else _EVO_ECALLBACK
        except BaseException as exc:  # noqa: B902 - re-raised by the caller
            state.fail(exc)
            return _EVO_ECALLBACK
    return _lib.FITNESS_FN(call)


def _fitness_rung_wrapper(state):
    """The C fitness callback of multi-fidelity search calling
    ``state.fitness(genome, seed, rung)``."""
    def call(_user, genome, seed, rung, report):
        try:
            ok = _fill_report(report, state.fitness(Genome._copy_of(genome),
                                                    seed, rung))
            return 0 if ok else _EVO_ECALLBACK
        except BaseException as exc:  # noqa: B902 - re-raised by the caller
            state.fail(exc)
            return _EVO_ECALLBACK
    return _lib.FITNESS_RUNG_FN(call)


def takes_rung(fn):
    """Whether a fitness function wants the rung: it accepts three
    positional arguments, the third without a default (``fn(genome, seed,
    rung)``). Callables whose signature cannot be read count as
    ``fn(genome, seed)``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 and \
        positional[2].default is inspect.Parameter.empty


@contextlib.contextmanager
def _sigint_stops(state):
    """While a run is in C, Ctrl-C only sets a flag that the next progress
    event turns into a stop: a KeyboardInterrupt raised at the first
    instruction of a ctypes callback would be lost. Only in the main thread
    and only over Python's default handler."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def handler(_signum, _frame):
        state.interrupted = True
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_wrapper(state):
    """The C progress callback: stops the run after a callback failed, and
    calls the user's ``progress(event, generation, index)``."""
    def call(_user, event, _pop, generation, index):
        if state.error is not None or state.interrupted:
            return 1
        if state.progress is None:
            return 0
        try:
            if state.progress(Event(event), generation, index):
                state.stopped = True
                return 1
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised by the caller
            state.fail(exc)
            return 1
    return _lib.PROGRESS_FN(call)


class Population(_lib.Handle):
    """A genetic-algorithm run (evo_population).

    Args:
        fitness: ``fn(genome, seed) -> float`` or ``-> (float, {task:
            fitness})`` or ``-> {'fitness': float, 'tasks': {task:
            fitness}, 'cost': core_seconds}`` (what :meth:`Evaluator.run`
            returns; the cost counts towards ``budget``), or ``fn(genome,
            seed, rung)`` for multi-fidelity search (see
            :meth:`set_fitness`), or an :class:`Evaluator` (then the
            library evaluates without calling Python; its
            :attr:`~Evaluator.rung_count` must equal ``rungs``). With
            ``workers > 1`` a Python function is called from several
            threads at once: it must be thread-safe, and a pure function of
            (genome, seed[, rung]) for the run to be reproducible. A
            non-finite fitness counts as a failed evaluation (fitness -1).
        progress: ``fn(event, generation, index)``, called on the calling
            thread after each evaluation and generation; a true return
            value stops the run (step()/run() then return False).
        initial: genomes (or preset names) that open generation 0 instead
            of the four baselines; [] for a fully random start.
        checkpoint, tag: checkpoint file written after every evaluation.
        size, generations, elites, tournament, run_seed, workers,
        fresh_seeds, hall_of_fame_size, cache: the settings (doc/algorithm.md
        §4;
            cache: 0 off, 1 keyed by the genome's canonical form — only for
            a fitness that sees the genome through the library's optimizer
            —, 2 keyed by the exact genome, for any pure fitness;
            defaults are the paper's), also readable and writable as
            attributes before the first step (workers at any time).
        algorithm, rungs, promote, budget, window: the search settings
            (doc/algorithm.md §9): ``algorithm`` ``'ga'`` (the paper's
            genetic algorithm, the default), ``'random'`` (random search)
            or ``'steady'`` (steady-state evolution, in libraries that have
            it), also as the numbers 0, 1, 2; ``rungs`` the evaluation rungs
            of multi-fidelity search (1, off); ``promote`` the promotion
            divisor η (3: the best third of a rung goes on); ``budget`` the
            compute budget in CPU core-seconds (0: none; a float is rounded
            up): once the evaluations recorded have cost this much no
            evaluation is started, the generation stays open and
            :attr:`finished` is True (raise it between steps or in
            :meth:`resume` to go on); ``window`` steady-state evolution's
            in-flight window.

    An exception raised by either callback stops the run at the next
    progress event and is re-raised by step()/run(); the evaluation that
    raised is recorded as failed (fitness -1), and run() may be called again
    to go on. Ctrl-C during step()/run() stops the run the same way and
    raises KeyboardInterrupt.
    """

    _free_name = "evo_population_free"

    def __init__(self, fitness=None, progress=None, *, initial=None,
                 checkpoint=None, tag=None, _handle=None, **settings):
        self._state = _Callbacks()
        self._fitness_c = _fitness_wrapper(self._state)
        self._fitness_rung_c = _fitness_rung_wrapper(self._state)
        self._progress_c = _progress_wrapper(self._state)
        self._fitness_owner = None
        self._adopt(_handle or _lib.new_handle(lib.evo_population_new))
        lib.evo_population_set_progress(self.handle, self._progress_c, None)
        for key, value in settings.items():
            if key not in _SETTINGS:
                raise TypeError("unknown population setting %r (known: %s)"
                                % (key, ", ".join(_SETTINGS)))
            setattr(self, key, value)
        if initial is not None:
            self.set_initial(initial)
        if checkpoint is not None:
            self.set_checkpoint(checkpoint, tag)
        self.progress = progress
        if fitness is not None:
            self.fitness = fitness

    @classmethod
    def resume(cls, path, tag=None, fitness=None, progress=None, **settings):
        """Restores a population from a checkpoint (settings, current
        generation, history, hall of fame); checkpointing goes on to the
        same file. Callbacks are not stored: pass them again. Only
        ``workers`` and ``budget`` (to raise it) may be given among the
        settings."""
        handle = _lib.new_handle(lib.evo_population_resume,
                                 _lib.encode_path(path),
                                 None if tag is None else tag.encode())
        return cls(fitness, progress, _handle=handle, **settings)

    # --- callbacks ----------------------------------------------------------
    @property
    def fitness(self):
        """The fitness function or Evaluator."""
        return self._state.fitness or self._fitness_owner

    @fitness.setter
    def fitness(self, fn):
        self.set_fitness(fn)

    def set_fitness(self, fn, rung=None):
        """Sets the fitness: an :class:`Evaluator` (run in C at the rung the
        population asks for), or a Python callable. With ``rung=True`` it is
        called as ``fn(genome, seed, rung)``, ``rung`` being 0 for the
        cheapest evaluation up to ``rungs - 1`` for the full one
        (multi-fidelity search, doc/algorithm.md §9; always 0 with
        ``rungs = 1``); with ``rung=False`` as ``fn(genome, seed)``, which
        the library refuses with ``rungs > 1`` (UnsupportedError at the
        first step); ``None`` (the default, also for the
        ``fitness`` property and argument) decides from the signature
        (:func:`takes_rung`). It returns a float, ``(float, {task:
        fitness})`` or ``{'fitness', 'tasks', 'cost'}``."""
        if isinstance(fn, Evaluator):
            lib.evo_population_set_fitness_rung(
                self.handle, _lib.evaluator_fitness_rung, fn.handle)
            self._state.fitness, self._fitness_owner = None, fn
            return
        if not callable(fn):
            raise TypeError("fitness must be a callable fn(genome, seed), "
                            "fn(genome, seed, rung) or an Evaluator, not %s"
                            % type(fn).__name__)
        if rung is None:
            rung = takes_rung(fn)
        if rung:
            lib.evo_population_set_fitness_rung(self.handle,
                                                self._fitness_rung_c, None)
        else:
            lib.evo_population_set_fitness(self.handle, self._fitness_c, None)
        self._state.fitness, self._fitness_owner = fn, None

    @property
    def progress(self):
        """The progress callback ``fn(event, generation, index)`` or None."""
        return self._state.progress

    @progress.setter
    def progress(self, fn):
        if fn is not None and not callable(fn):
            raise TypeError("progress must be callable or None")
        self._state.progress = fn

    def set_initial(self, genomes):
        """Replaces the genomes that open generation 0 (copied)."""
        genomes = [Genome.coerce(g) for g in genomes]
        array = (ctypes.c_void_p * max(1, len(genomes)))(
            *[g.handle.value for g in genomes])
        lib.evo_population_set_initial(self.handle, array, len(genomes))

    def set_checkpoint(self, path, tag=None):
        """Checkpoints to ``path`` after every evaluation (None: off); ``tag``
        is stored and checked by :meth:`resume`."""
        lib.evo_population_set_checkpoint(
            self.handle, None if path is None else _lib.encode_path(path),
            None if tag is None else tag.encode())

    @property
    def checkpoint(self):
        """The checkpoint file set with :meth:`set_checkpoint` (or restored
        by :meth:`resume`), or None when checkpoints are off, as the
        library holds it (evo_population_get_checkpoint)."""
        path = c_char_p()
        lib.evo_population_get_checkpoint(self.handle, byref(path), None)
        return None if path.value is None else os.fsdecode(path.value)

    @property
    def checkpoint_tag(self):
        """The checkpoint's tag, or None (evo_population_get_checkpoint)."""
        tag = c_char_p()
        lib.evo_population_get_checkpoint(self.handle, None, byref(tag))
        return None if tag.value is None else _lib.text(tag.value)

    # --- running ------------------------------------------------------------
    def _drive(self, fn):
        """Runs step/run, then re-raises a callback's exception. Returns
        False when the user's progress callback stopped the run."""
        owner = self._fitness_owner
        if owner is not None and owner.rung_count != self.rungs:
            raise ValueError(
                "the evaluator has %d rung(s) (%d cheap plus the full "
                "evaluation) but the population's setting rungs is %d: they "
                "must agree" % (owner.rung_count, owner.rung_count - 1,
                                self.rungs))
        state = self._state
        state.error, state.stopped, state.interrupted = None, False, False
        failure = None
        try:
            with _sigint_stops(state):
                fn(self.handle)
        except errors.EvoError as exc:
            failure = exc
        raised, state.error = state.error, None
        if raised is None and state.interrupted:
            raised = KeyboardInterrupt()
        if raised is None and isinstance(failure, errors.CanceledError) \
                and state.stopped:
            return False
        raised = raised or failure  # the callback's exception comes first
        if raised is not None:
            try:
                raise raised
            finally:  # no cycle exception -> traceback -> this frame
                raised = failure = None
        return True

    def step(self):
        """Evaluates the current generation and breeds the next. Returns
        True, or False when the progress callback asked to stop (call again
        to go on)."""
        return self._drive(lib.evo_population_step)

    def run(self):
        """Runs the remaining generations. Returns True when the run is
        finished, False when the progress callback asked to stop."""
        return self._drive(lib.evo_population_run)

    # --- state --------------------------------------------------------------
    @property
    def generation(self):
        """The current generation (0-based; = generations when finished)."""
        return int(lib.evo_population_generation(self.handle))

    @property
    def finished(self):
        """True once every generation has been evaluated, or the compute
        budget is spent (raising ``budget`` lets the run go on)."""
        return bool(lib.evo_population_finished(self.handle))

    @property
    def compute(self):
        """The compute spent so far: the costs of every evaluation
        recorded, in CPU core-seconds (counted in whole microseconds)."""
        return float(lib.evo_population_compute(self.handle))

    @property
    def evaluated(self):
        """Evaluations finished in the current generation."""
        return int(lib.evo_population_evaluated(self.handle))

    def __len__(self):
        """Individuals in the current generation (0 before the first
        step)."""
        return int(lib.evo_population_size(self.handle))

    def individuals(self):
        """The current generation as a list of :class:`Individual`."""
        out = []
        g, fitness = ctypes.c_void_p(), c_double()
        status, message = c_int(), c_char_p()
        rung, cached = ctypes.c_uint32(), c_int()
        for i in range(len(self)):
            lib.evo_population_individual(self.handle, i, byref(g),
                                          byref(fitness))
            lib.evo_population_individual_error(self.handle, i, byref(status),
                                                byref(message))
            lib.evo_population_individual_rung(self.handle, i, byref(rung))
            lib.evo_population_individual_cached(self.handle, i,
                                                 byref(cached))
            value = None if math.isnan(fitness.value) else fitness.value
            out.append(Individual(Genome._copy_of(g), value, status.value,
                                  _lib.text(message.value), int(rung.value),
                                  bool(cached.value)))
        return out

    @property
    def history(self):
        """One dict per recorded generation: generation, best, mean,
        median, worst, failed, cache_hits, compute (core-seconds spent up
        to the end of that generation), evaluations (run so far, every
        rung, cache hits not counted), best_genome (a Genome), best_report
        ({'fitness', 'tasks', 'cost'}) and terms ({name: count})."""
        return [self.history_at(i) for i in
                range(lib.evo_population_history_count(self.handle))]

    def history_at(self, generation):
        """The :attr:`history` entry of one recorded generation (raises
        OutOfRangeError for a generation not recorded)."""
        entry = {"generation": generation}
        value = c_double()
        for code, key in enumerate(_HISTORY_KEYS):
            lib.evo_population_history(self.handle, generation, code,
                                       byref(value))
            entry[key] = value.value
        for key in _INT_HISTORY_KEYS:
            entry[key] = int(entry[key])
        g, report = ctypes.c_void_p(), ctypes.c_void_p()
        lib.evo_population_history_best(self.handle, generation, byref(g),
                                        byref(report))
        entry["best_genome"] = Genome._copy_of(g)
        entry["best_report"] = report_to_dict(report)
        names = term_names()
        counts = (ctypes.c_uint32 * len(names))()
        written = c_size_t()
        lib.evo_population_history_terms_n(self.handle, generation, counts,
                                           len(names), byref(written))
        entry["terms"] = dict(zip(names[:written.value], map(int, counts)))
        return entry

    @property
    def hall_of_fame(self):
        """The best distinct genomes seen so far, best first, as a list of
        :class:`HallOfFameEntry`."""
        out = []
        g, fitness, generation = ctypes.c_void_p(), c_double(), c_size_t()
        for rank in range(lib.evo_population_hof_count(self.handle)):
            lib.evo_population_hof(self.handle, rank, byref(g),
                                   byref(fitness), byref(generation))
            out.append(HallOfFameEntry(Genome._copy_of(g), fitness.value,
                                       generation.value))
        return out

    @property
    def best(self):
        """The best genome seen so far (a copy), or None before any
        successful evaluation."""
        entries = self.hall_of_fame
        return entries[0].genome if entries else None

    @property
    def best_fitness(self):
        """The best fitness seen so far, or None."""
        entries = self.hall_of_fame
        return entries[0].fitness if entries else None


def _algorithm_to_c(value):
    if isinstance(value, str):
        if value not in ALGORITHMS:
            raise ValueError("unknown algorithm %r (known: %s)"
                             % (value, ", ".join(ALGORITHMS)))
        return ALGORITHMS.index(value)
    return int(value)


def _budget_to_c(value):
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("budget must be a finite number of core-seconds, "
                         "not %r" % value)
    return int(math.ceil(value))


def _conversions(key):
    """(to Python, to C) for a setting: the run seed is any 64-bit value,
    passed as its bits; fresh_seeds is a bool; algorithm a name."""
    if key == "run_seed":
        return (lambda v: v & (2 ** 64 - 1),
                lambda v: c_int64(int(v) & (2 ** 64 - 1)).value)
    if key == "algorithm":
        return (lambda v: ALGORITHMS[v] if 0 <= v < len(ALGORITHMS) else v,
                _algorithm_to_c)
    if key == "budget":
        return None, _budget_to_c
    return (bool if key == "fresh_seeds" else None), int


for _key, _code in _SETTINGS.items():
    setattr(Population, _key, _lib.option_property(
        "population", _code, "The population setting %s (population.h), "
        "read from and written to the library." % _key,
        *_conversions(_key)))
