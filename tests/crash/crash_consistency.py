#!/usr/bin/python3
"""Crash consistency of `evoopt evolve` (issue 14, "Crash consistency").

Runs `evoopt evolve --preset smoke` on the bundled digits uninterrupted
twice (the reference, and a second run that shows which files two equal
runs write byte for byte), then TRIALS trials: each starts the same run,
SIGKILLs it at a moment drawn uniformly over the reference's measured wall
time, continues it (`--resume`, or the same command again when the kill
came before settings.json existed), in a third of the trials SIGKILLs that
too at a uniform moment over the time the reference had left, continues
again to the end, and compares every file of the run folder byte for byte
with the reference: the same names (no temporary left behind) and the same
bytes. settings.json is compared without its "created" time; a file that
two uninterrupted runs already write differently (today checkpoint.evo and
compute.csv, which hold measured compute times) is reported as such and
left out, so the check follows the files as they become canonical.

Usage: crash_consistency.py EVOOPT [--trials N] [--seed S] [--steps K]
                            [--workers W] [--keep DIR]
Standard library only. Prints one line per trial and the counts; exit 0
when every trial matched, 1 otherwise, 2 on a usage error.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

# The files of a finished run that must be canonical (equal in two runs):
# without them the comparison would say nothing.
RESULTS = ("settings.json", "history.csv", "best.json", "hall_of_fame.json",
           "plot.svg", "final.csv", "final.md")


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if os.path.basename(path) == "settings.json":  # its creation time
        data = b"".join(line for line in data.splitlines(True)
                        if not line.lstrip().startswith(b'"created"'))
    return data


def folder(d):
    """File name -> comparable bytes, for every entry of run folder @d."""
    return {name: read(os.path.join(d, name)) for name in sorted(os.listdir(d))}


class Runner:
    def __init__(self, evoopt, steps, workers):
        self.base = [evoopt, "evolve", "--preset", "smoke", "--steps",
                     str(steps), "-q"]
        if workers:
            self.base += ["--workers", str(workers)]

    def command(self, d):
        """--resume once settings.json exists, else the first command."""
        if os.path.isfile(os.path.join(d, "settings.json")):
            return self.base + ["--resume", d]
        return self.base + ["--out", d]

    def start(self, d):
        return subprocess.Popen(self.command(d), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def run(self, d):
        """Runs to the end; (exit code, stderr, seconds)."""
        t0 = time.monotonic()
        p = self.start(d)
        _, err = p.communicate(timeout=600)
        return p.returncode, err.decode(errors="replace"), \
            time.monotonic() - t0

    def kill_after(self, d, seconds):
        """Starts a run and SIGKILLs it after @seconds; True when it was
        still running then (a kill), False when it had already ended."""
        t0 = time.monotonic()
        p = self.start(d)
        while time.monotonic() - t0 < seconds and p.poll() is None:
            time.sleep(min(0.002, max(0.0, seconds - (time.monotonic() - t0))))
        running = p.poll() is None
        if running:
            p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        if not running and p.returncode != 0:
            raise RuntimeError(f"run ended with {p.returncode}: {err!r}")
        return running


def temporaries(d):
    return sorted(n for n in os.listdir(d) if ".tmp" in n) \
        if os.path.isdir(d) else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("evoopt")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20,
                    help="training steps per evaluation (smoke: 20)")
    ap.add_argument("--workers", type=int, default=0,
                    help="evaluation threads (0: the program's default)")
    ap.add_argument("--keep", help="keep the run folders here")
    args = ap.parse_args()
    if args.trials < 0:
        ap.error("--trials must be >= 0")
    rng = random.Random(args.seed)
    runner = Runner(os.path.abspath(args.evoopt), args.steps, args.workers)
    tmp = args.keep or tempfile.mkdtemp(prefix="evoopt-crash-")
    os.makedirs(tmp, exist_ok=True)
    try:
        return trials(runner, rng, tmp, args)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def reference(runner, tmp):
    """The reference folder's files, the files compared, the run time."""
    times, refs = [], []
    for name in ("ref", "ref2"):
        d = os.path.join(tmp, name)
        rc, err, seconds = runner.run(d)
        if rc != 0:
            raise SystemExit(f"the uninterrupted run failed ({rc}): {err}")
        times.append(seconds)
        refs.append(folder(d))
    ref, ref2 = refs
    if sorted(ref) != sorted(ref2):
        raise SystemExit(f"two runs wrote other files: {sorted(ref)} "
                         f"and {sorted(ref2)}")
    unequal = sorted(k for k in ref if ref[k] != ref2[k])
    missing = [k for k in RESULTS if k not in ref or k in unequal]
    if missing:
        raise SystemExit(f"two uninterrupted runs disagree on {missing}: "
                         "nothing to compare a crash with")
    print(f"reference: {min(times):.2f} s; files {', '.join(sorted(ref))}")
    print("not canonical today (two uninterrupted runs differ), left out: "
          + (", ".join(unequal) if unequal else "none"))
    return ref, unequal, min(times)


def trials(runner, rng, tmp, args):
    ref, unequal, T = reference(runner, tmp)
    counts = {"kills": 0, "ended before the kill": 0, "kills during resume": 0,
              "resume ended before the kill": 0, "left temporaries": 0,
              "mismatches": 0}
    for i in range(args.trials):
        d = os.path.join(tmp, f"trial{i}")
        at = rng.uniform(0.0, T)
        again = rng.random() < 1.0 / 3.0
        at2 = rng.uniform(0.0, max(T - at, 0.0)) if again else None
        notes = [f"kill at {at:.3f} s"]
        if runner.kill_after(d, at):
            counts["kills"] += 1
        else:
            counts["ended before the kill"] += 1
            notes.append("(ended first)")
        left = temporaries(d)
        if again:
            if runner.kill_after(d, at2):
                counts["kills during resume"] += 1
                notes.append(f"resume killed at {at2:.3f} s")
            else:
                counts["resume ended before the kill"] += 1
            left += temporaries(d)
        if left:
            counts["left temporaries"] += 1
            notes.append(f"left {', '.join(sorted(set(left)))}")
        rc, err, _ = runner.run(d)
        got = folder(d) if os.path.isdir(d) else {}
        bad = [] if rc == 0 else [f"exit {rc}: {err.strip()}"]
        if sorted(got) != sorted(ref):
            bad.append(f"files {sorted(set(got) ^ set(ref))} differ")
        bad += [f"{k} differs" for k in sorted(ref)
                if k in got and k not in unequal and got[k] != ref[k]]
        counts["mismatches"] += 1 if bad else 0
        print(f"trial {i}: {'; '.join(notes)}: "
              + ("MISMATCH " + "; ".join(bad) if bad else "same"))
        if bad and not args.keep:
            kept = tempfile.mkdtemp(prefix=f"evoopt-crash-trial{i}-")
            shutil.copytree(d, kept, dirs_exist_ok=True)
            print(f"trial {i}: its run folder is kept in {kept}")
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
    print(f"{args.trials} trials (seed {args.seed}): "
          + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 1 if counts["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
