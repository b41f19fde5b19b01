"""Python bindings of libevoopt: evolve deep-learning optimizers and use
them as drop-in optimizers (paper "Evolving Deep Learning Optimizers").

A pure-Python package that loads ``libevoopt.so`` with ctypes (see
:mod:`evoopt._lib` for where it looks; ``EVOOPT_LIBRARY`` overrides).

>>> import evoopt
>>> with evoopt.Genome.preset("paper-evolved") as g:
...     print(g)
0.734·sign + 3.635·adam | lr 1.20e-3 β 0.855/0.936 wd 9.7e-4 | ...

The PyTorch adapter lives in :mod:`evoopt.torch` (imported on demand).
"""

from ._lib import EXPECTED_VERSION, live_handles
from ._lib import lib as _clib
from .errors import (CallbackError, CanceledError, DivergedError, EvoError,
                     FileIOError, FormatError, InvalidArgumentError,
                     LibraryError, LibraryNotFoundError, MismatchError,
                     NonFiniteError, NotFoundError, OutOfMemoryError,
                     OutOfRangeError, ParseError, StateError, ThreadError,
                     UnsupportedError, VersionMismatchError)
from .genome import Genome, Term, presets, term_names
from .optimizer import Optimizer
from .population import (ALGORITHMS, Event, HallOfFameEntry, Individual,
                         Population)
from .task import (Evaluator, Task, TrainResult, blas_threads, parse_rung,
                   set_blas_threads)

#: The version of the loaded library, e.g. "0.2.0", read from it at run
#: time: the package is versioned with the library it drives.
library_version = _clib.evo_version_string().decode()
__version__ = library_version
#: Where the loaded library was found.
library_path = _clib.path

__all__ = [
    "Genome", "Term", "presets", "term_names", "Optimizer", "Task",
    "TrainResult", "Evaluator", "set_blas_threads", "blas_threads",
    "parse_rung",
    "Population", "ALGORITHMS", "Event",
    "Individual", "HallOfFameEntry", "EvoError", "InvalidArgumentError",
    "OutOfMemoryError", "OutOfRangeError", "ParseError", "FileIOError",
    "FormatError", "NotFoundError", "MismatchError", "NonFiniteError",
    "StateError", "CallbackError", "UnsupportedError", "CanceledError",
    "DivergedError", "ThreadError", "LibraryError", "LibraryNotFoundError",
    "VersionMismatchError", "live_handles", "library_version",
    "library_path", "EXPECTED_VERSION",
]
