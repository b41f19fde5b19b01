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


def _status_class(name, status, builtin, doc):
    """One EvoError subclass per status code, also deriving from the
    matching built-in exception when there is one."""
    bases = (EvoError,) if builtin is None else (EvoError, builtin)
    return type(name, bases, {"status": status, "__doc__": doc,
                              "__module__": __name__})


# Following common.h's table of codes.
InvalidArgumentError = _status_class(
    "InvalidArgumentError", -1, ValueError,
    "``EVO_EINVAL``: an argument is invalid.")
OutOfMemoryError = _status_class(
    "OutOfMemoryError", -2, MemoryError,
    "``EVO_ENOMEM``: the library ran out of memory.")
OutOfRangeError = _status_class(
    "OutOfRangeError", -3, ValueError,
    "``EVO_ERANGE``: a value lies outside its accepted range.")
ParseError = _status_class(
    "ParseError", -4, ValueError,
    "``EVO_EPARSE``: malformed text (JSON, option string).")
FileIOError = _status_class(
    "FileIOError", -5, OSError,
    "``EVO_EIO``: the operating system refused a file operation.")
FormatError = _status_class(
    "FormatError", -6, ValueError,
    "``EVO_EFORMAT``: a file or buffer has the wrong format, is truncated "
    "or fails its checksum.")
NotFoundError = _status_class(
    "NotFoundError", -7, LookupError,
    "``EVO_ENOTFOUND``: a named preset, task or data set does not exist.")
MismatchError = _status_class(
    "MismatchError", -8, ValueError,
    "``EVO_EMISMATCH``: saved state does not fit the object.")
NonFiniteError = _status_class(
    "NonFiniteError", -9, ArithmeticError,
    "``EVO_ENONFINITE``: a step was refused on a NaN/infinite gradient.")
StateError = _status_class(
    "StateError", -10, RuntimeError,
    "``EVO_ESTATE``: the call is not valid in the object's state.")
CallbackError = _status_class(
    "CallbackError", -11, RuntimeError,
    "``EVO_ECALLBACK``: a user callback reported a failure.")
UnsupportedError = _status_class(
    "UnsupportedError", -12, NotImplementedError,
    "``EVO_EUNSUPPORTED``: the feature was not built into this copy.")
CanceledError = _status_class(
    "CanceledError", -13, None,
    "``EVO_ECANCELED``: the operation was stopped on request.")
DivergedError = _status_class(
    "DivergedError", -14, ArithmeticError,
    "``EVO_EDIVERGED``: training diverged.")
ThreadError = _status_class(
    "ThreadError", -15, RuntimeError,
    "``EVO_ETHREAD``: a thread could not be started.")


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
