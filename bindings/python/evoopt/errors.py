"""Exceptions raised by the bindings.

Every failing library call raises a subclass of :class:`EvoError` chosen by
its status code (include/evoopt/common.h). The exception carries the code,
its name (``evo_status_str``) and the library's detailed message
(``evo_last_error``), which names the offending key, file or value. Most
classes also derive from the matching built-in exception, so that
``except ValueError`` or ``except OSError`` catch them too.
"""

__all__ = [
    "EvoError", "InvalidArgumentError", "OutOfMemoryError", "OutOfRangeError",
    "ParseError", "FileIOError", "FormatError", "NotFoundError",
    "MismatchError", "NonFiniteError", "StateError", "CallbackError",
    "UnsupportedError", "CanceledError", "DivergedError", "ThreadError",
    "LibraryError", "LibraryNotFoundError", "VersionMismatchError",
    "error_class",
]


class EvoError(Exception):
    """A library call failed.

    Attributes:
        status: the negative status code (e.g. -3 for ``EVO_ERANGE``).
        name: ``evo_status_str(status)``, e.g. ``"EVO_ERANGE: value out of
            range"``.
        message: the library's detailed message (``evo_last_error()``).
        function: the C function that failed, e.g. ``"evo_genome_set"``.
    """

    status = None
    function = ""

    def __init__(self, message, status=None, name=""):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.name = name
        self.message = message

    def __str__(self):
        if self.name and self.message:
            return "%s (%s)" % (self.message, self.name)
        return self.message or self.name


class InvalidArgumentError(EvoError, ValueError):
    """``EVO_EINVAL``: an argument is invalid."""
    status = -1


class OutOfMemoryError(EvoError, MemoryError):
    """``EVO_ENOMEM``: the library ran out of memory."""
    status = -2


class OutOfRangeError(EvoError, ValueError):
    """``EVO_ERANGE``: a value lies outside its accepted range."""
    status = -3


class ParseError(EvoError, ValueError):
    """``EVO_EPARSE``: malformed text (JSON, option string)."""
    status = -4


class FileIOError(EvoError, OSError):
    """``EVO_EIO``: the operating system refused a file operation."""
    status = -5


class FormatError(EvoError, ValueError):
    """``EVO_EFORMAT``: a file or buffer has the wrong format, is truncated
    or fails its checksum."""
    status = -6


class NotFoundError(EvoError, LookupError):
    """``EVO_ENOTFOUND``: a named preset, task or data set does not exist."""
    status = -7


class MismatchError(EvoError, ValueError):
    """``EVO_EMISMATCH``: saved state does not fit the object."""
    status = -8


class NonFiniteError(EvoError, ArithmeticError):
    """``EVO_ENONFINITE``: a step was refused on a NaN/infinite gradient."""
    status = -9


class StateError(EvoError, RuntimeError):
    """``EVO_ESTATE``: the call is not valid in the object's state."""
    status = -10


class CallbackError(EvoError, RuntimeError):
    """``EVO_ECALLBACK``: a user callback reported a failure."""
    status = -11


class UnsupportedError(EvoError, NotImplementedError):
    """``EVO_EUNSUPPORTED``: the feature was not built into this copy."""
    status = -12


class CanceledError(EvoError):
    """``EVO_ECANCELED``: the operation was stopped on request (a progress
    callback returned a true value)."""
    status = -13


class DivergedError(EvoError, ArithmeticError):
    """``EVO_EDIVERGED``: training diverged."""
    status = -14


class ThreadError(EvoError, RuntimeError):
    """``EVO_ETHREAD``: a thread could not be started."""
    status = -15


class LibraryError(ImportError):
    """The shared library could not be used (base of the two below)."""


class LibraryNotFoundError(LibraryError):
    """libevoopt.so was not found anywhere the bindings look."""


class VersionMismatchError(LibraryError):
    """The loaded libevoopt is not compatible with this package."""


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgumentError, OutOfMemoryError, OutOfRangeError, ParseError,
    FileIOError, FormatError, NotFoundError, MismatchError, NonFiniteError,
    StateError, CallbackError, UnsupportedError, CanceledError,
    DivergedError, ThreadError)}


def error_class(status):
    """The exception class for a status code (:class:`EvoError` for codes
    this version does not know)."""
    return _BY_STATUS.get(status, EvoError)
