"""Helpers shared by the end-to-end tests of evoopt (test_cli.py,
test_mpi.py): failures collected rather than raised, polling a run's
checkpoint, comparing two run folders. Standard library only."""
import os
import shutil
import tempfile
import time

FAILURES = []
# The files that must be byte for byte the same for two runs that should
# agree (the checkpoint and settings.json hold times and paths).
RUN_FILES = ("history.csv", "best.json", "hall_of_fame.json", "final.csv")


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def wait_for_saves(proc, ckpt, saves, limit=60.0):
    """Polls the checkpoint until it has been rewritten @saves times;
    False when @proc ended first or the time ran out."""
    seen, last, t0 = 0, None, time.monotonic()
    while seen < saves and time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            return False
        try:
            m = os.stat(ckpt).st_mtime_ns
        except FileNotFoundError:
            m = None
        if m is not None and m != last:
            seen, last = seen + 1, m
        time.sleep(0.01)
    return seen >= saves


def same_files(a, b, what, files=RUN_FILES):
    for k in files:
        with open(os.path.join(a, k), "rb") as x, \
                open(os.path.join(b, k), "rb") as y:
            check(x.read() == y.read(), f"{what}: {k} differs")


def run_part(name, part, prefix):
    """Runs @part in a fresh temporary folder and prints the tally; the
    exit code (0 pass, 1 fail)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    t0 = time.monotonic()
    try:
        part(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{name}: {len(FAILURES)} failures, {time.monotonic() - t0:.1f} s")
    return 1 if FAILURES else 0
