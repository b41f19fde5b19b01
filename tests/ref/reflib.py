"""Helpers shared by the reference scripts in tests/ref.

- trajectory files (adamw_reference.py, torch_presets.py): one line
  `<preset> <step> <p[0]> ... <p[n-1]>` a recorded step, read, written,
  re-run through torch and compared;
- parity dumps (nn_parity.py, transformer_parity.py): the C dump format and
  the norm-relative and element-wise comparison of two tensors.

numpy and torch are imported only where needed, so that a script without
them can still report its skip (77).
"""
import os
import struct
import sys


# --- trajectory files ------------------------------------------------------

def write_trajectories(out, f):
    """out: {preset: {step: [p...]}}; one line per recorded step."""
    for name, rows in out.items():
        for s, row in sorted(rows.items()):
            f.write("%s %d %s\n" % (name, s,
                                    " ".join("%.9g" % x for x in row)))


def read_trajectories(path):
    """{preset: {step: [p...]}}; a step given twice is an error."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split()
            rows = out.setdefault(fields[0], {})
            if int(fields[1]) in rows:
                raise ValueError("%s: %s step %s twice"
                                 % (path, fields[0], fields[1]))
            rows[int(fields[1])] = [float(x) for x in fields[2:]]
    return out


def check_trajectories(path, trajectories, within):
    """Re-run trajectories() (-> (out, torch version)) and compare with the
    file: the same presets, the same steps, and within(torch, file) for
    every element. Returns the exit status (0, 1, or 77 without torch)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIP: torch is not importable by %s" % sys.executable)
        return 77
    fresh, version = trajectories()
    stored = read_trajectories(path)
    if sorted(stored) != sorted(fresh):
        print("FAIL: %s holds %s, torch gives %s"
              % (path, sorted(stored), sorted(fresh)))
        return 1
    worst = 0.0
    for name, rows in fresh.items():
        if sorted(stored[name]) != sorted(rows):
            print("FAIL: %s: steps %s stored, %s expected"
                  % (name, sorted(stored[name]), sorted(rows)))
            return 1
        for s in sorted(rows):
            for i, (x, y) in enumerate(zip(rows[s], stored[name][s])):
                if not within(x, y):
                    print("FAIL: %s step %d element %d: torch %s gives "
                          "%.9g, file %.9g" % (name, s, i, version, x, y))
                    return 1
                worst = max(worst, abs(x - y) / max(abs(x), 1e-3))
    print("ok: %s matches torch %s (worst relative difference %.2g)"
          % (path, version, worst))
    return 0


def trajectory_main(doc, trajectories, header, within):
    """`script` writes the file (header(version) lines, then the rows);
    `script --check FILE` compares; anything else prints doc (exit 2)."""
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check_trajectories(sys.argv[2], trajectories, within)
    if len(sys.argv) != 1:
        print(doc)
        return 2
    out, version = trajectories()
    sys.stdout.write(header(version))
    write_trajectories(out, sys.stdout)
    return 0


# --- parity dumps ----------------------------------------------------------

def read_dump(path):
    """Records: u32 name length, name, u64 count, count float32 (LE).
    Returns ({name: float32 array}, the file's bytes)."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    out, pos = {}, 0
    while pos < len(data):
        (nlen,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        (count,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        out[name] = np.frombuffer(data, "<f4", count, pos).copy()
        pos += 4 * count
    return out, data


class Checker:
    """Compares a tensor a (ours) with b (PyTorch), both of
        |a - b|_2  <= tol * |b|_2  + atol_norm   (norm-relative)
        max|a - b| <= tol * max|b| + atol_max    (element-wise);
    counts failures and the worst ratio left side / right side. Lines are
    printed for failures (and every check with NN_PARITY_VERBOSE set),
    prefixed by `label`."""

    def __init__(self, tol, label=""):
        self.tol, self.prefix = tol, (label + " " if label else "")
        self.failures, self.worst = 0, 0.0

    def _report(self, bad, what, detail):
        self.failures += bad
        if bad or os.environ.get("NN_PARITY_VERBOSE"):
            print(f"{'FAIL' if bad else 'ok  '} {self.prefix}{what}: "
                  f"{detail}")

    def __call__(self, what, ours, ref, atol_max=0.0, atol_norm=0.0,
                 tol=None):
        import numpy as np
        tol = self.tol if tol is None else tol
        ours = np.asarray(ours, dtype=np.float64).ravel()
        ref = np.asarray(ref, dtype=np.float64).ravel()
        if ours.shape != ref.shape:
            self._report(True, what,
                         f"{ours.size} values, PyTorch has {ref.size}")
            return
        diff = ours - ref
        rel_norm = np.linalg.norm(diff) / max(
            tol * np.linalg.norm(ref) + atol_norm, 1e-30)
        rel_max = np.abs(diff).max() / max(
            tol * np.abs(ref).max() + atol_max, 1e-30)
        err = max(rel_norm, rel_max)
        self.worst = max(self.worst, err)
        self._report(bool(not np.isfinite(err) or err > 1.0), what,
                     f"norm {rel_norm:.2e}, max {rel_max:.2e} of the bound")

    def exact(self, what, ours, ref):
        """Counts must be equal."""
        self._report(int(ours) != int(ref), what,
                     f"{int(ours)} (PyTorch {int(ref)})")

    def grad_atols(self, grads, atol):
        """(atol_max, atol_norm) for a gradient: atol times the whole
        gradient's max and 2-norm (grads: the parameters' gradients)."""
        import numpy as np
        g = np.concatenate([x.ravel() for x in grads])
        return atol * np.abs(g).max(), atol * np.linalg.norm(g)
