"""The UCI 8×8 digits as NumPy arrays, for examples and quick experiments
with :mod:`evoopt.torch` (the library's own ``digits`` task has them built
in; this reads the same CSV, see libevoopt/data/DIGITS.md)."""

import gzip
import os

__all__ = ["load_digits", "digits_path", "DIGITS_TRAIN"]

#: The library's fixed split: the first 1437 rows train, the last 360 test
#: (doc/algorithm.md §3, ``digits``).
DIGITS_TRAIN = 1437


def _places():
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for folder in os.environ.get("EVOOPT_DATA_PATH", "").split(os.pathsep):
        if folder:
            out.append(os.path.join(folder, "digits", "digits.csv.gz"))
    out.append(os.path.join(here, "..", "..", "..", "libevoopt", "data",
                            "digits.csv.gz"))  # a source checkout
    out.append(os.path.join(here, "data", "digits.csv.gz"))  # meson install
    out.append("/usr/share/datasets/digits/digits.csv.gz")
    return [os.path.normpath(p) for p in out]


def digits_path():
    """Where digits.csv.gz was found. Raises FileNotFoundError naming the
    places searched."""
    places = _places()
    for path in places:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("digits.csv.gz not found; looked in: "
                            + ", ".join(places))


def load_digits(path=None):
    """Returns ``(images, labels)``: float32 pixels in [0, 1] of shape
    (1797, 64) (row-major 8×8) and int64 labels 0–9, in file order."""
    import numpy as np
    with gzip.open(path or digits_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError("%s: expected 65 columns (64 pixels, label)"
                         % (path or digits_path()))
    return (table[:, :64] / 16.0).astype(np.float32), table[:, 64].copy()
