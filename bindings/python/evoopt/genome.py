"""The genome: an optimizer described as a weighted sum of primitive update
terms plus hyperparameters, flags and schedules (doc/algorithm.md §1,
genome.h)."""

import ctypes
import enum
import math
from ctypes import byref, c_double, c_int

from . import _lib
from ._lib import lib

__all__ = ["Genome", "Term", "presets", "term_names"]


class Term(enum.IntEnum):
    """Primitive update terms (doc/algorithm.md §2); values are the paper's
    codes."""
    GRAD = 0
    MOMENTUM = 1
    RMS = 2
    ADAM = 3
    SIGN = 4
    UNIT = 5
    NESTEROV = 6


_GENES = {"lr_log10": 0, "beta1": 1, "beta2": 2, "eps_log10": 3,
          "wd_log10": 4, "clip_value": 5, "warmup_steps": 6}
_FLAGS = {"use_m": 0, "use_v": 1, "use_bias_correction": 2,
          "use_gradient_clipping": 3, "use_warmup": 4, "use_cosine_decay": 5}


def presets():
    """The names of the built-in presets (evo_genome_preset)."""
    return [_lib.text(lib.evo_genome_preset_name(i))
            for i in range(lib.evo_genome_preset_count())]


def term_names():
    """The short names of the term kinds, indexed by code."""
    return [_lib.text(lib.evo_term_name(t)) for t in Term]


def _term_code(term):
    """A term given as a Term, an int code or a name ("adam", "ADAM")."""
    if isinstance(term, str):
        names = term_names()
        key = term.lower()
        if key in names:
            return names.index(key)
        if term.upper() in Term.__members__:
            return int(Term[term.upper()])
        raise ValueError("unknown term %r (known: %s)" %
                         (term, ", ".join(names)))
    if isinstance(term, bool) or not isinstance(term, int):
        raise TypeError("a term is a name or an int code, not %r" % (term,))
    return int(term)


def _gene(name, doc, to_python=float, to_c=float):
    return _lib.keyed_property(lib.evo_genome_get, lib.evo_genome_set,
                               _GENES[name], c_double, doc, to_python, to_c)


def _flag(name, doc):
    return _lib.keyed_property(lib.evo_genome_get_flag,
                               lib.evo_genome_set_flag, _FLAGS[name], c_int,
                               doc, bool, _lib.as_flag)


class Genome(_lib.Handle):
    """A genome (evo_genome).

    Create one with ``Genome()`` (doc/algorithm.md §1 defaults),
    :meth:`preset`, :meth:`from_json`, :meth:`load`, :meth:`from_dict`,
    :meth:`random` or :meth:`breed`. Genes are properties that check their
    range on assignment (raising :class:`~evoopt.OutOfRangeError` with the
    gene's name). ``str(g)`` is the library's one-line description, ``==``
    compares gene by gene, bit-exactly.
    """

    _free_name = "evo_genome_free"

    def __init__(self, _handle=None):
        if _handle is None:
            _handle = _lib.new_handle(lib.evo_genome_new)
        self._adopt(_handle)

    # --- constructors -------------------------------------------------------
    @classmethod
    def preset(cls, name):
        """A named preset: 'sgd', 'adam', 'adamw', 'rmsprop',
        'paper-evolved', 'plain-sgd', 'sgd-nesterov', 'sign-descent',
        'adam-nowd' (see :func:`presets`). Raises NotFoundError otherwise."""
        return cls(_lib.new_handle(lib.evo_genome_preset, name.encode()))

    @classmethod
    def from_json(cls, text):
        """Parses the reference notebook's JSON (all 15 keys of
        doc/algorithm.md §1, no others). Raises ParseError or OutOfRangeError
        naming the key."""
        if isinstance(text, str):
            text = text.encode("utf-8")
        return cls(_lib.new_handle(lib.evo_genome_from_json, text))

    @classmethod
    def from_dict(cls, data):
        """The genome of a dict with the JSON keys (see :meth:`to_dict`)."""
        import json
        return cls.from_json(json.dumps(data))

    @classmethod
    def load(cls, path):
        """Reads a JSON file (plain or .gz)."""
        return cls(_lib.new_handle(lib.evo_genome_load,
                                   _lib.encode_path(path)))

    @classmethod
    def random(cls, seed):
        """A random genome as the initial population draws it
        (doc/algorithm.md §4); the same seed gives the same genome."""
        return cls(_lib.new_handle(lib.evo_genome_random, int(seed)))

    @classmethod
    def breed(cls, a, b, generation, generations, seed):
        """Crossover of ``a`` and ``b`` then mutation at ``generation`` of
        ``generations`` (doc/algorithm.md §4), for a hand-written loop."""
        return cls(_lib.new_handle(lib.evo_genome_breed, a.handle, b.handle,
                                   int(generation), int(generations),
                                   int(seed)))

    @classmethod
    def coerce(cls, value):
        """A Genome from a Genome (returned as is), a preset name, a dict or
        JSON text."""
        if isinstance(value, Genome):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, str):
            return (cls.from_json(value) if value.lstrip().startswith("{")
                    else cls.preset(value))
        raise TypeError("expected a Genome, a preset name, a dict or JSON "
                        "text, not %s" % type(value).__name__)

    @classmethod
    def _copy_of(cls, ptr):
        """An owned copy of a genome the library owns (borrowed pointer)."""
        return cls(_lib.new_handle(lib.evo_genome_clone, ptr))

    def copy(self):
        """An independent copy."""
        return Genome._copy_of(self.handle)

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (Genome.from_json, (self.to_json(),))

    # --- serialisation ------------------------------------------------------
    def to_json(self):
        """One line of JSON with the 15 keys of doc/algorithm.md §1; doubles
        with 17 significant digits, so from_json() gives back the same bits."""
        return _lib.take_string(self._out_string(lib.evo_genome_to_json))

    def _out_string(self, fn):
        """Calls ``fn(genome, &char_ptr)`` and returns the pointer."""
        out = ctypes.c_void_p()
        fn(self.handle, byref(out))
        return out

    def to_dict(self):
        """The JSON object as a dict (wd_log10 None for zero decay)."""
        import json
        return json.loads(self.to_json())

    def save(self, path):
        """Writes the JSON to ``path`` atomically."""
        lib.evo_genome_save(self.handle, _lib.encode_path(path))

    def describe(self):
        """The library's one-line description, e.g. ``0.734·sign +
        3.635·adam | lr 1.20e-3 β 0.855/0.936 wd 9.7e-4 | ...``."""
        return _lib.take_string(self._out_string(lib.evo_genome_describe))

    def __str__(self):
        return self.describe()

    def __repr__(self):
        if self.closed:
            return "<Genome (closed)>"
        return "<Genome %s>" % self.describe()

    def __eq__(self, other):
        if not isinstance(other, Genome):
            return NotImplemented
        return bool(lib.evo_genome_equal(self.handle, other.handle))

    __hash__ = None  # mutable

    # --- genes --------------------------------------------------------------
    lr_log10 = _gene("lr_log10", "log10 of the base learning rate η.")
    beta1 = _gene("beta1", "EMA coefficient of the first moment, in [0, 1).")
    beta2 = _gene("beta2", "EMA coefficient of the second moment, in "
                  "[0, 1).")
    eps_log10 = _gene("eps_log10", "log10 of ε.")
    clip_value = _gene("clip_value", "Gradient clamp bound c, in (0, 1e6].")
    warmup_steps = _gene("warmup_steps", "Warmup length W (an int).", int)
    wd_log10 = _gene(
        "wd_log10", "log10 of the decoupled weight decay λ, or None for "
        "exactly zero decay (the library's -infinity).",
        lambda v: None if v == -math.inf else v,
        lambda v: -math.inf if v is None else float(v))

    @property
    def lr(self):
        """The base learning rate η = 10^lr_log10."""
        return 10.0 ** self.lr_log10

    @lr.setter
    def lr(self, value):
        self.lr_log10 = math.log10(value)

    @property
    def weight_decay(self):
        """λ = 10^wd_log10, 0.0 when there is no decay; assigning 0 turns
        decay off."""
        wd = self.wd_log10
        return 0.0 if wd is None else 10.0 ** wd

    @weight_decay.setter
    def weight_decay(self, value):
        self.wd_log10 = None if value == 0 else math.log10(value)

    use_m = _flag("use_m", "Keep a first-moment EMA.")
    use_v = _flag("use_v", "Keep a second-moment EMA.")
    use_bias_correction = _flag("use_bias_correction",
                                "Adam's bias correction.")
    use_gradient_clipping = _flag("use_gradient_clipping",
                                  "Clamp each gradient element to ±c.")
    use_warmup = _flag("use_warmup", "Linear warmup over warmup_steps steps.")
    use_cosine_decay = _flag("use_cosine_decay",
                             "Cosine decay over the planned steps.")

    # --- terms --------------------------------------------------------------
    @property
    def terms(self):
        """The update terms as a list of (name, alpha), e.g.
        ``[('sign', 0.41), ('adam', 2.0)]``. Assign a list of (term, alpha)
        pairs (term a name, code or :class:`Term`) to replace them all."""
        names = term_names()
        kind, alpha = c_int(), c_double()
        out = []
        for i in range(lib.evo_genome_term_count(self.handle)):
            lib.evo_genome_get_term(self.handle, i, byref(kind), byref(alpha))
            out.append((names[kind.value], alpha.value))
        return out

    @terms.setter
    def terms(self, pairs):
        pairs = [(_term_code(t), float(a)) for t, a in pairs]
        if not pairs:
            raise ValueError("a genome keeps at least one term")
        # Edit a copy so that a bad pair leaves this genome unchanged.
        tmp = self.copy()
        try:
            while len(tmp) > 1:
                lib.evo_genome_remove_term(tmp.handle, len(tmp) - 1)
            lib.evo_genome_set_term(tmp.handle, 0, *pairs[0])
            for code, alpha in pairs[1:]:
                lib.evo_genome_add_term(tmp.handle, code, alpha)
            self._ptr, tmp._ptr = tmp._ptr, self._ptr
        finally:
            tmp.close()

    def __len__(self):
        """The number of terms."""
        return int(lib.evo_genome_term_count(self.handle))

    def add_term(self, term, alpha):
        """Appends a term (at most 4)."""
        lib.evo_genome_add_term(self.handle, _term_code(term), float(alpha))

    def remove_term(self, index):
        """Removes term ``index``; the last one cannot be removed."""
        lib.evo_genome_remove_term(self.handle, int(index))

    def set_term(self, index, term, alpha):
        """Replaces term ``index``."""
        lib.evo_genome_set_term(self.handle, int(index), _term_code(term),
                                float(alpha))
