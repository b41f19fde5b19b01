"""Loads libevoopt with ctypes, declares every function the bindings use and
turns failing status codes into exceptions.

Where the library is looked for, in order:

1. the path in the ``EVOOPT_LIBRARY`` environment variable (``meson test``
   sets it to the build tree's copy);
2. the build folder ``build/`` of the checkout this package lies in
   (``build/libevoopt/libevoopt.so.0``), when used from a source tree;
3. an installed copy: the folder meson recorded at install time,
   ``ctypes.util.find_library('evoopt')``, then ``libevoopt.so.0`` through
   the dynamic loader's own search (``LD_LIBRARY_PATH``, ld.so.cache).

The package has no version of its own: it reads the library's at run time
(``evoopt.library_version``). Installed by meson, it also knows the version
it was installed with (meson.build's), and the library loaded must have that
major version and at least its minor version (common.h's ABI promise); in a
checkout or a pip install any library that has every function the package
declares is taken.
"""

import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, c_char_p, c_double, c_int, c_int64, c_size_t,
                    c_uint32, c_uint64, c_void_p)

from . import errors

#: Set by meson when it installs the package (see bindings/meson.build): the
#: folder it installed libevoopt.so.0 into and the project's version.
try:
    from ._install import LIBDIR as _INSTALL_LIBDIR
    from ._install import VERSION as _INSTALL_VERSION
except ImportError:  # a checkout, or installed with pip
    _INSTALL_LIBDIR = _INSTALL_VERSION = None


def version_number(text):
    """"major.minor.patch" as common.h's EVO_VERSION_NUMBER: major * 10000 +
    minor * 100 + patch."""
    major, minor, patch = (int(part) for part in text.split(".")[:3])
    return major * 10000 + minor * 100 + patch


#: The library version meson installed this package with, as
#: EVO_VERSION_NUMBER, or None (a checkout, a pip install): no version check.
EXPECTED_VERSION = (version_number(_INSTALL_VERSION) if _INSTALL_VERSION
                    else None)

FITNESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_uint64, c_void_p)
#: evo_fitness_rung_fn (backend.h): the fitness callback of multi-fidelity
#: search, which also gets the evaluation rung.
FITNESS_RUNG_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_uint64,
                                   c_uint32, c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_void_p, c_size_t,
                               c_size_t)


class OptionBounds(ctypes.Structure):
    """evo_option_bounds (common.h): what an enum-keyed option accepts."""
    _fields_ = [("is_real", c_int), ("min_i64", c_int64),
                ("max_i64", c_int64), ("min_f64", c_double),
                ("max_f64", c_double), ("min_magnitude", c_double)]

_P = c_void_p            # an opaque handle
_PP = POINTER(c_void_p)  # out-parameter receiving a handle
_S = c_char_p            # a NUL-terminated string
_D, _PD = c_double, POINTER(c_double)
_Z, _PZ = c_size_t, POINTER(c_size_t)
_I, _PI = c_int, POINTER(c_int)

# (name, argtypes) of every call that returns an evo_status.
_STATUS_FUNCTIONS = [
    # genome.h
    ("evo_genome_new", [_PP]),
    ("evo_genome_preset", [_PP, _S]),
    ("evo_genome_clone", [_PP, _P]),
    ("evo_genome_get", [_P, _I, _PD]),
    ("evo_genome_set", [_P, _I, _D]),
    ("evo_genome_get_flag", [_P, _I, _PI]),
    ("evo_genome_set_flag", [_P, _I, _I]),
    ("evo_genome_get_term", [_P, _Z, _PI, _PD]),
    ("evo_genome_set_term", [_P, _Z, _I, _D]),
    ("evo_genome_add_term", [_P, _I, _D]),
    ("evo_genome_remove_term", [_P, _Z]),
    ("evo_genome_to_json", [_P, _PP]),
    ("evo_genome_from_json", [_PP, _S]),
    ("evo_genome_load", [_PP, _S]),
    ("evo_genome_save", [_P, _S]),
    ("evo_genome_describe", [_P, _PP]),
    # optimizer.h
    ("evo_optimizer_new", [_PP, _P]),
    ("evo_optimizer_add_params", [_P, _P, _P, _Z]),
    ("evo_optimizer_rebind", [_P, _Z, _P, _P]),
    ("evo_optimizer_set_param_option", [_P, _Z, _I, _D]),
    ("evo_optimizer_get_param_option", [_P, _Z, _I, _PD]),
    ("evo_optimizer_set_option", [_P, _I, _D]),
    ("evo_optimizer_get_option", [_P, _I, _PD]),
    ("evo_optimizer_set_total_steps", [_P, c_uint64]),
    ("evo_optimizer_step", [_P]),
    ("evo_optimizer_clone", [_PP, _P]),
    ("evo_optimizer_set_grad", [_P, _Z, _P]),
    ("evo_optimizer_step_grads", [_P, _PP, _Z]),
    ("evo_optimizer_step_tensor", [_P, _Z, _P]),
    ("evo_optimizer_current_lr", [_P, _PD]),
    ("evo_optimizer_step_count", [_P, POINTER(c_uint64)]),
    ("evo_optimizer_save_mem", [_P, _PP, _PZ]),
    ("evo_optimizer_load_mem", [_P, _P, _Z]),
    ("evo_optimizer_save", [_P, _S]),
    ("evo_optimizer_load", [_P, _S]),
    # task.h
    ("evo_task_open", [_PP, _S, _S]),
    ("evo_task_set_option", [_P, _I, c_int64]),
    ("evo_task_get_option", [_P, _I, POINTER(c_int64)]),
    ("evo_train_result_new", [_PP]),
    ("evo_train_result_get", [_P, _I, _PD]),
    ("evo_train_result_curve", [_P, POINTER(POINTER(ctypes.c_float)), _PZ]),
    ("evo_train_result_eval_curve", [_P, POINTER(POINTER(c_uint64)),
                                     POINTER(POINTER(ctypes.c_double)), _PZ]),
    ("evo_task_train", [_P, _P, c_uint64, c_uint64, _P]),
    ("evo_report_new", [_PP]),
    ("evo_report_clear", [_P]),
    ("evo_report_set_fitness", [_P, _D]),
    ("evo_report_add_task", [_P, _S, _D]),
    ("evo_report_fitness", [_P, _PD]),
    ("evo_report_task", [_P, _Z, POINTER(c_char_p), _PD]),
    ("evo_report_set_cost", [_P, _D]),
    ("evo_report_cost", [_P, _PD]),
    ("evo_evaluator_new", [_PP]),
    ("evo_evaluator_add_task", [_P, _P]),
    ("evo_evaluator_set_steps", [_P, c_uint64]),
    ("evo_evaluator_set_seeds", [_P, c_uint32]),
    ("evo_evaluator_run", [_P, _P, c_uint64, _P]),
    ("evo_evaluator_set_rung", [_P, c_uint32, c_uint64, c_uint32, c_uint64]),
    ("evo_evaluator_run_rung", [_P, _P, c_uint64, c_uint32, _P]),
    ("evo_blas_set_threads", [_I]),
    # population.h
    ("evo_population_new", [_PP]),
    ("evo_population_set", [_P, _I, c_int64]),
    ("evo_population_get", [_P, _I, POINTER(c_int64)]),
    ("evo_population_set_initial", [_P, _PP, _Z]),
    ("evo_population_set_fitness", [_P, FITNESS_FN, _P]),
    ("evo_population_set_fitness_rung", [_P, FITNESS_RUNG_FN, _P]),
    ("evo_population_set_progress", [_P, PROGRESS_FN, _P]),
    ("evo_population_set_checkpoint", [_P, _S, _S]),
    ("evo_population_resume", [_PP, _S, _S]),
    ("evo_population_step", [_P]),
    ("evo_population_run", [_P]),
    ("evo_population_individual", [_P, _Z, _PP, _PD]),
    ("evo_population_individual_error", [_P, _Z, _PI, POINTER(c_char_p)]),
    ("evo_population_individual_rung", [_P, _Z, POINTER(c_uint32)]),
    ("evo_population_individual_cached", [_P, _Z, _PI]),
    ("evo_population_history", [_P, _Z, _I, _PD]),
    ("evo_population_history_best", [_P, _Z, _PP, _PP]),
    ("evo_population_history_terms", [_P, _Z, POINTER(c_uint32)]),
    ("evo_population_hof", [_P, _Z, _PP, _PD, _PZ]),
    ("evo_genome_random", [_PP, c_uint64]),
    ("evo_genome_breed", [_PP, _P, _P, c_uint32, c_uint32, c_uint64]),
    # 0.2: the getters of the setters above (issue 10 item 4)
    ("evo_optimizer_get_total_steps", [_P, POINTER(c_uint64)]),
    ("evo_evaluator_get_steps", [_P, POINTER(c_uint64)]),
    ("evo_evaluator_get_seeds", [_P, POINTER(c_uint32)]),
    ("evo_evaluator_get_rung", [_P, c_uint32, POINTER(c_uint64),
                                POINTER(c_uint32), POINTER(c_uint64)]),
    ("evo_blas_get_threads", [_PI]),
    ("evo_population_get_checkpoint", [_P, POINTER(c_char_p),
                                       POINTER(c_char_p)]),
    ("evo_population_history_terms_n", [_P, _Z, POINTER(c_uint32), _Z,
                                        _PZ]),
    # 0.2: typed options and their bounds, the same calls in every family
    ("evo_optimizer_set_option_i64", [_P, _I, c_int64]),
    ("evo_optimizer_set_option_f64", [_P, _I, _D]),
    ("evo_optimizer_get_option_i64", [_P, _I, POINTER(c_int64)]),
    ("evo_optimizer_get_option_f64", [_P, _I, _PD]),
    ("evo_optimizer_option_bounds", [_I, POINTER(OptionBounds)]),
    ("evo_optimizer_set_param_option_i64", [_P, _Z, _I, c_int64]),
    ("evo_optimizer_set_param_option_f64", [_P, _Z, _I, _D]),
    ("evo_optimizer_get_param_option_i64", [_P, _Z, _I, POINTER(c_int64)]),
    ("evo_optimizer_get_param_option_f64", [_P, _Z, _I, _PD]),
    ("evo_optimizer_param_option_bounds", [_I, POINTER(OptionBounds)]),
    ("evo_task_set_option_i64", [_P, _I, c_int64]),
    ("evo_task_set_option_f64", [_P, _I, _D]),
    ("evo_task_get_option_i64", [_P, _I, POINTER(c_int64)]),
    ("evo_task_get_option_f64", [_P, _I, _PD]),
    ("evo_task_option_bounds", [_I, POINTER(OptionBounds)]),
    ("evo_population_set_option_i64", [_P, _I, c_int64]),
    ("evo_population_set_option_f64", [_P, _I, _D]),
    ("evo_population_get_option_i64", [_P, _I, POINTER(c_int64)]),
    ("evo_population_get_option_f64", [_P, _I, _PD]),
    ("evo_population_option_bounds", [_I, POINTER(OptionBounds)]),
]

# (name, restype, argtypes) of calls that return something else.
_PLAIN_FUNCTIONS = [
    ("evo_version_number", ctypes.c_uint, []),
    ("evo_version_string", _S, []),
    ("evo_status_str", _S, [_I]),
    ("evo_last_error", _S, []),
    ("evo_free", None, [_P]),
    ("evo_genome_free", None, [_P]),
    ("evo_genome_preset_count", _Z, []),
    ("evo_genome_preset_name", _S, [_Z]),
    ("evo_genome_equal", _I, [_P, _P]),
    ("evo_genome_term_count", _Z, [_P]),
    ("evo_term_name", _S, [_I]),
    ("evo_optimizer_free", None, [_P]),
    ("evo_optimizer_param_count", _Z, [_P]),
    ("evo_task_free", None, [_P]),
    ("evo_task_name", _S, [_P]),
    ("evo_task_describe", _S, [_P]),
    ("evo_train_result_free", None, [_P]),
    ("evo_report_free", None, [_P]),
    ("evo_report_task_count", _Z, [_P]),
    ("evo_evaluator_free", None, [_P]),
    ("evo_evaluator_rungs", _Z, [_P]),
    ("evo_population_free", None, [_P]),
    ("evo_population_generation", _Z, [_P]),
    ("evo_population_finished", _I, [_P]),
    ("evo_population_size", _Z, [_P]),
    ("evo_population_evaluated", _Z, [_P]),
    ("evo_population_history_count", _Z, [_P]),
    ("evo_population_compute", _D, [_P]),
    ("evo_population_hof_count", _Z, [_P]),
]

def _text(raw):
    return raw.decode("utf-8", "replace") if raw else ""


def make_error(lib, status, function=""):
    """The exception for a failing status, with the calling thread's last
    library message; ``function`` names the C call that failed."""
    name = _text(lib.evo_status_str(status))
    message = _text(lib.evo_last_error())
    exc = errors.error_class(status)(message or name, status, name)
    exc.function = function
    return exc


def _errcheck_for(lib):
    def errcheck(status, func, args):
        if status < 0:
            raise make_error(lib, status, func.__name__)
        return status
    return errcheck


def _candidates():
    """Paths to try, in order, with where each came from."""
    found = []
    env = os.environ.get("EVOOPT_LIBRARY")
    if env:
        return [(env, "EVOOPT_LIBRARY")]
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    if os.path.isfile(os.path.join(root, "include", "evoopt", "common.h")):
        # Only the README's build folder: a sanitizer build would abort an
        # uninstrumented interpreter instead of failing to load.
        found.append((os.path.join(root, "build", "libevoopt",
                                   "libevoopt.so.0"), "build tree"))
    if _INSTALL_LIBDIR:
        found.append((os.path.join(_INSTALL_LIBDIR, "libevoopt.so.0"),
                      "meson install folder"))
    name = ctypes.util.find_library("evoopt")
    if name:
        found.append((name, "find_library('evoopt')"))
    found.append(("libevoopt.so.0", "the dynamic loader's search path"))
    return found


def check_version(runtime, expected=None):
    """Raises VersionMismatchError unless a library of version ``runtime``
    serves a package installed for ``expected`` (same major, runtime minor at
    least the package's); ``expected`` defaults to EXPECTED_VERSION, and with
    neither there is nothing to check."""
    if expected is None:
        expected = EXPECTED_VERSION
    if expected is None:
        return

    def fmt(v):
        return "%d.%d.%d" % (v // 10000, v // 100 % 100, v % 100)
    if runtime // 10000 != expected // 10000 or \
            runtime // 100 % 100 < expected // 100 % 100:
        raise errors.VersionMismatchError(
            "libevoopt %s was loaded, but the evoopt Python package was "
            "installed for libevoopt %s (it needs the same major version and "
            "at least its minor version); point EVOOPT_LIBRARY at a "
            "compatible libevoopt.so" % (fmt(runtime), fmt(expected)))


def _declare(lib):
    errcheck = _errcheck_for(lib)
    for name, argtypes in _STATUS_FUNCTIONS:
        fn = getattr(lib, name)
        fn.argtypes, fn.restype, fn.errcheck = argtypes, c_int, errcheck
    for name, restype, argtypes in _PLAIN_FUNCTIONS:
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, restype


def open_library(path=None):
    """Loads libevoopt (from ``path``, else the places listed in this
    module's docstring), checks its version and declares its functions.

    Raises:
        LibraryNotFoundError: no loadable copy was found.
        VersionMismatchError: the copy found has an incompatible version.
    """
    tried = []
    for candidate, origin in ([(path, "argument")] if path else
                              _candidates()):
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as exc:
            tried.append("%s (%s): %s" % (candidate, origin, exc))
            continue
        version = lib.evo_version_number
        version.argtypes, version.restype = [], ctypes.c_uint
        check_version(version())
        try:
            _declare(lib)
        except AttributeError as exc:
            raise errors.VersionMismatchError(
                "%s lacks a function the bindings need: %s" % (candidate, exc))
        lib.path = candidate
        return lib
    raise errors.LibraryNotFoundError(
        "libevoopt was not found. Build it (meson setup build && meson "
        "compile -C build) and set EVOOPT_LIBRARY=/path/to/libevoopt.so, or "
        "install it. Tried:\n  " + "\n  ".join(tried))


lib = open_library()
#: The library's evaluator as a population fitness callback (task.h).
evaluator_fitness = ctypes.cast(lib.evo_evaluator_fitness, FITNESS_FN)
#: The same with the evaluation rung (multi-fidelity search).
evaluator_fitness_rung = ctypes.cast(lib.evo_evaluator_fitness_rung,
                                     FITNESS_RUNG_FN)


def take_string(ptr):
    """Copies a string the library allocated, then frees it (evo_free)."""
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.evo_free(ptr)


def text(raw):
    """A library ``const char *`` (bytes or None) as str."""
    return _text(raw)


def encode_path(path):
    """A str/bytes/PathLike path as bytes for the C API."""
    return os.fsencode(path)


# --- handle bookkeeping -----------------------------------------------------

_live = {}
_live_lock = threading.Lock()


def live_handles():
    """How many handles of each kind are open right now (for tests and
    leak hunting), e.g. ``{'Genome': 2}``."""
    with _live_lock:
        return {k: v for k, v in _live.items() if v}


def _count(kind, delta):
    with _live_lock:
        _live[kind] = _live.get(kind, 0) + delta


class Handle:
    """Owns one library object; frees it on close(), at the end of a
    ``with`` block, or when garbage-collected.

    Subclasses set ``_free_name`` to the library's free function.
    """

    _free_name = None
    _ptr = None

    def _adopt(self, ptr):
        if not ptr:
            raise errors.EvoError("the library returned a NULL handle")
        self._ptr = c_void_p(ptr) if isinstance(ptr, int) else ptr
        self._free = getattr(lib, self._free_name)
        self._counter = _count
        _count(type(self).__name__, 1)

    @property
    def handle(self):
        """The raw ``c_void_p`` (raises ValueError once closed)."""
        if not self._ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr

    @property
    def closed(self):
        """True once the library object was freed."""
        return not self._ptr

    def close(self):
        """Frees the library object now. Safe to call twice."""
        ptr, self._ptr = self._ptr, None
        if ptr:
            self._free(ptr)
            self._counter(type(self).__name__, -1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # At interpreter shutdown module globals may already be gone; the
        # free function and counter were bound to the instance for that.
        try:
            self.close()
        except Exception:  # pragma: no cover - shutdown only
            pass


def keyed_property(get_fn, set_fn, key, ctype, doc, to_python=None,
                   to_c=None):
    """A property over one of the C API's enum-keyed getter/setter pairs:
    ``get_fn(handle, key, &out)`` and ``set_fn(handle, key, value)``, with
    optional conversions each way."""
    def get(self):
        out = ctype()
        get_fn(self.handle, key, ctypes.byref(out))
        return out.value if to_python is None else to_python(out.value)

    def set_(self, value):
        set_fn(self.handle, key, value if to_c is None else to_c(value))
    return property(get, set_, doc=doc)


def option_property(family, key, doc, to_python=None, to_c=None):
    """A property over one enum-keyed option, through the typed calls every
    family shares: ``evo_<family>_option_bounds`` tells the option's type,
    then ``evo_<family>_get_option_i64``/``_f64`` reads it from the library
    and ``evo_<family>_set_option_i64``/``_f64`` writes it (nothing is kept
    on the Python side), with optional conversions each way."""
    bounds = OptionBounds()
    getattr(lib, "evo_%s_option_bounds" % family)(key, ctypes.byref(bounds))
    suffix, ctype = ("f64", c_double) if bounds.is_real else ("i64", c_int64)
    get_fn = getattr(lib, "evo_%s_get_option_%s" % (family, suffix))
    set_fn = getattr(lib, "evo_%s_set_option_%s" % (family, suffix))
    return keyed_property(get_fn, set_fn, key, ctype, doc, to_python, to_c)


def option_bounds(family, key):
    """``(is_real, low, high)`` of an enum-keyed option
    (``evo_<family>_option_bounds``): ints for an integer option, floats
    for a real one."""
    b = OptionBounds()
    getattr(lib, "evo_%s_option_bounds" % family)(key, ctypes.byref(b))
    if b.is_real:
        return True, b.min_f64, b.max_f64
    return False, b.min_i64, b.max_i64


def as_flag(value):
    """A Python truth value as the C API's 0/1."""
    return 1 if value else 0


def as_int(value, ctype=c_int64):
    """A whole number as int, for an integer option or count passed as
    ``ctype`` (the C parameter's type); a float with a fraction (which
    int() would cut), NaN or an infinity raises ValueError naming the
    value, and a number ``ctype`` cannot hold raises OutOfRangeError
    (ctypes would pass it reduced modulo 2**bits: 2**64 + 5 as 5)."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("%r is not a whole number" % value)
    v = int(value)
    if ctype(v).value != v:
        bits = 8 * ctypes.sizeof(ctype)
        signed = ctype(-1).value < 0
        lo, hi = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed \
            else (0, 2 ** bits - 1)
        raise errors.OutOfRangeError(
            "%d does not fit the library's %d-bit %s integer (%d..%d)"
            % (v, bits, "signed" if signed else "unsigned", lo, hi))
    return v


def new_handle(fn, *args):
    """Calls a constructor ``fn(&out, args...)`` and returns ``out``."""
    out = c_void_p()
    fn(ctypes.byref(out), *args)
    return out
