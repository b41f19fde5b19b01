#!/usr/bin/python3
"""End-to-end tests of `evoopt evolve` under Open MPI's mpirun (issue 7).

Usage: test_mpi.py EVOOPT MPI PART, MPI "yes" when libevoopt was built
with MPI, PART one of same, kill, requeue, slow, rungs, steady. Standard
library only.
Exit 0 pass, 1 fail, 77 skip (built without MPI, or no mpirun).

Every part compares an MPI run with the same run on threads, file by file
and byte for byte (history.csv, best.json, hall_of_fame.json, final.csv):
an evaluation is a pure function of (genome, seed), so where it runs must
not show (population.h, "Determinism"). The runs use 3 processes on this
machine's 2 cores (rank 0 runs the algorithm, ranks 1 and 2 evaluate),
over the loopback interface only.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from run_testlib import (RUN_FILES, check, run_part, same_files,
                         wait_for_saves)

EVOOPT = None
MPIRUN = shutil.which("mpirun")
# Root needs --allow-run-as-root; 3 ranks on 2 cores need --oversubscribe;
# Open MPI's own connections stay on the loopback interface.
MPI_ARGS = ["--allow-run-as-root", "--oversubscribe",
            "--mca", "btl_tcp_if_include", "lo",
            "--mca", "oob_tcp_if_include", "lo"]
# Open MPI's switches that keep the job alive when a rank dies.
RECOVERY = ["--mca", "orte_enable_recovery", "1",
            "--mca", "orte_abort_on_non_zero_status", "0"]
# Long enough (about 3 s on threads) to kill a rank in the middle.
LONG = ["evolve", "--preset", "smoke", "--population", "8", "--generations",
        "4", "--steps", "200", "--final-steps", "10", "-q"]
MARK = "EVOOPT_TEST_MPI_RUN"


def evoopt(*args, timeout=120):
    p = subprocess.run([EVOOPT, *args], capture_output=True, text=True,
                       timeout=timeout)
    check(p.returncode == 0, f"evoopt {' '.join(args)}: exit "
          f"{p.returncode}: {p.stderr}")
    return p


def mpirun_cmd(args, np=3, extra=()):
    return [MPIRUN, *MPI_ARGS, *extra, "-np", str(np), EVOOPT, *args]


def start_mpi(args, tag, extra=()):
    """mpirun in its own session, marked so that its ranks can be found."""
    env = dict(os.environ, **{MARK: tag})
    return subprocess.Popen(mpirun_cmd(args, extra=extra), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def finish(proc, limit=90):
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        check(False, f"mpirun did not end within {limit} s: {err}")
    return proc.returncode, out, err


def rank_pid(tag, rank):
    """The pid of the rank of the marked job (from /proc's environments)."""
    want = {f"{MARK}={tag}".encode(),
            f"OMPI_COMM_WORLD_RANK={rank}".encode()}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = set(f.read().split(b"\0"))
        except OSError:
            continue
        if want <= env:
            return int(pid)
    return None


def reference(tmp, args=()):
    ref = os.path.join(tmp, "ref")
    evoopt(*LONG, *args, "--out", ref)
    return ref


def signal_rank(tmp, name, sig, extra=(), args=()):
    """Starts the long run under mpirun, sends @sig to rank 1 once three
    evaluations are saved; returns (folder, proc, pid)."""
    d = os.path.join(tmp, name)
    proc = start_mpi([*LONG, *args, "--out", d], d, extra)
    if not check(wait_for_saves(proc, os.path.join(d, "checkpoint.evo"), 3),
                 f"{name}: the run ended before 3 evaluations were saved"):
        return d, proc, None
    pid = rank_pid(d, 1)
    if check(pid is not None, f"{name}: rank 1 not found"):
        os.kill(pid, sig)
    return d, proc, pid


# --- parts ------------------------------------------------------------------

def part_same(tmp):
    a, b = os.path.join(tmp, "threads"), os.path.join(tmp, "mpi")
    evoopt("evolve", "--preset", "smoke", "--out", a)
    p = subprocess.run(mpirun_cmd(["evolve", "--preset", "smoke", "--out",
                                   b]), capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0, f"mpirun smoke: exit {p.returncode}: {p.stderr}")
    same_files(a, b, "threads vs mpirun -np 3")
    # Only rank 0 prints: one final table, one summary.
    check(p.stdout.count("| optimizer") == 1,
          f"the final table printed {p.stdout.count('| optimizer')} times")
    # 2 worker slots + 1: evaluations split into (task, seed) parts keep
    # one more in flight (evo_backend_mpi_new_parts)
    check("2 MPI worker ranks with 3 slots" in p.stderr,
          f"rank 0 does not say it uses 2 worker ranks: {p.stderr}")
    # Other commands refuse to run once per process.
    p = subprocess.run(mpirun_cmd(["eval", "adam", "--steps", "5"], np=2),
                       capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and "does not use MPI" in p.stderr,
          f"mpirun evoopt eval: exit {p.returncode}: {p.stderr}")


def part_kill(tmp):
    """A worker killed with SIGKILL: plain mpirun ends the whole job; the
    checkpoint holds every finished evaluation, and --resume (here under
    mpirun again) ends identical to the uninterrupted run."""
    ref = reference(tmp)
    d, proc, pid = signal_rank(tmp, "killed", signal.SIGKILL)
    rc, _, err = finish(proc)
    check(rc != 0, f"mpirun went on after a rank was killed: {err}")
    check(not os.path.exists(os.path.join(d, "final.csv")),
          "the run finished although a rank was killed")
    p = subprocess.run(mpirun_cmd(["evolve", "--resume", d, "-q"]),
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"resume under mpirun: exit {p.returncode}: "
          f"{p.stderr}")
    same_files(ref, d, "SIGKILL of rank 1 + --resume")


def part_requeue(tmp):
    """With Open MPI's recovery switches the job survives a dead rank: its
    evaluation times out, goes to rank 2, and the run completes by itself;
    rank 0 then ends the job (MPI_Finalize would wait for the dead rank)
    with exit status 0."""
    ref = reference(tmp)
    d, proc, pid = signal_rank(tmp, "requeued", signal.SIGKILL, RECOVERY,
                               ["--eval-timeout", "2"])
    rc, _, err = finish(proc)
    # Open MPI 4.1.4's mpirun itself now and then crashes (SIGSEGV in
    # PMIx_server_finalize) while ending a job that lost a rank; the run
    # is complete by then, which is what is checked here.
    if rc == -signal.SIGSEGV:
        print("note: mpirun crashed after rank 0 ended the job (Open MPI)")
    check(rc in (0, -signal.SIGSEGV), f"mpirun with a dead rank: exit {rc}: "
          f"{err}")
    check("rank 1 stopped answering" in err, f"no word of rank 1: {err}")
    same_files(ref, d, "SIGKILL of rank 1, re-sent after the timeout")


def part_slow(tmp):
    """A rank that stops answering for longer than the timeout (SIGSTOP)
    loses its evaluation to rank 2; when it answers again (SIGCONT) its late
    result is dropped, it gets work again, and the job ends normally."""
    longer = ["--steps", "600"]  # rank 2 alone needs well over 5 s
    ref = reference(tmp, longer)
    d, proc, pid = signal_rank(tmp, "slow", signal.SIGSTOP,
                               args=[*longer, "--eval-timeout", "3"])
    if pid is not None:
        time.sleep(5)
        check(proc.poll() is None, "the run ended while rank 1 was stopped")
        os.kill(pid, signal.SIGCONT)
    rc, _, err = finish(proc)
    check(rc == 0, f"mpirun with a slow rank: exit {rc}: {err}")
    same_files(ref, d, "rank 1 stopped for 5 s")


def part_rungs(tmp):
    """Multi-fidelity search (--rungs, issue 11) under mpirun with 1 and 2
    worker ranks: the files of the run on threads, byte for byte."""
    args = ["evolve", "--preset", "smoke", "--rungs", "20x1@100,40x1", "-q"]
    ref = os.path.join(tmp, "threads")
    evoopt(*args, "--out", ref)
    for np in (2, 3):
        d = os.path.join(tmp, f"np{np}")
        p = subprocess.run(mpirun_cmd([*args, "--out", d], np=np),
                           capture_output=True, text=True, timeout=150)
        missing = [f for f in RUN_FILES
                   if not os.path.exists(os.path.join(d, f))]
        if check(p.returncode == 0 and not missing, f"mpirun -np {np} "
                 f"--rungs: exit {p.returncode}, missing {missing}: "
                 f"{p.stderr}"):
            same_files(ref, d, f"--rungs, threads vs mpirun -np {np}")


def part_steady(tmp):
    """Steady-state evolution (--algorithm steady, issue 11) with
    multi-fidelity evaluation off and on, under mpirun with 1 and 2 worker
    ranks: the files of the run on threads (one process), byte for byte.
    (The checkpoints hold measured CPU times, so they are compared in
    test_mpi.c with a fitness whose costs are fixed.)"""
    for name, extra in (("plain", []), ("rungs", ["--rungs", "20x1@100,40x1"])):
        args = ["evolve", "--preset", "smoke", "--algorithm", "steady",
                "--window", "5", *extra, "-q"]
        ref = os.path.join(tmp, f"{name}-threads")
        evoopt(*args, "--out", ref)
        for np in (2, 3):
            d = os.path.join(tmp, f"{name}-np{np}")
            p = subprocess.run(mpirun_cmd([*args, "--out", d], np=np),
                               capture_output=True, text=True, timeout=150)
            missing = [f for f in RUN_FILES
                       if not os.path.exists(os.path.join(d, f))]
            if check(p.returncode == 0 and not missing, f"mpirun -np {np} "
                     f"steady {name}: exit {p.returncode}, missing "
                     f"{missing}: {p.stderr}"):
                same_files(ref, d, f"steady {name}, threads vs mpirun "
                           f"-np {np}")


PARTS = {"same": part_same, "kill": part_kill, "requeue": part_requeue,
         "slow": part_slow, "rungs": part_rungs, "steady": part_steady}


def main():
    global EVOOPT
    if len(sys.argv) != 4 or sys.argv[3] not in PARTS:
        print(__doc__)
        return 2
    if sys.argv[2] != "yes":
        print("SKIP: libevoopt was built without MPI (-Dmpi=disabled or no "
              "libopenmpi-dev)")
        return 77
    if MPIRUN is None:
        print("SKIP: mpirun not found (Debian package openmpi-bin)")
        return 77
    EVOOPT = os.path.abspath(sys.argv[1])
    return run_part(sys.argv[3], PARTS[sys.argv[3]], "evoopt-mpi-")


if __name__ == "__main__":
    sys.exit(main())
