#!/bin/sh
# Evaluations per second of `evoopt evolve` on 1, 2 and 3 MPI processes of
# this machine (issue 7; doc/scaling.md), then the back end's messaging
# cost per evaluation beside an evaluation's training time (bench_mpi).
#
# The fixed setting: the bundled digits, population 16, 3 generations,
# 300 steps x 1 seed, no cache (every individual is trained), no final
# table; 48 evaluations, one BLAS thread each. The reference: the same run
# on 1 and 2 threads. With 1 process evoopt evaluates on 1 thread; with
# N > 1, rank 0 runs the algorithm and N - 1 ranks evaluate, one
# evaluation each. Wall time is the whole run (mpirun's start-up included).
#
# Then (issue 11) evaluations/s per worker rank for 1 to 4 worker ranks
# (mpirun -np 2 to 5), from a stream of evaluations of 3 tasks x 2 seeds
# (bench_mpi stream): with each (task, seed) run a job of its own and with
# whole evaluations, each rank's rate against one rank's. On this 2-core
# machine 3 and 4 worker ranks (and rank 0) share 2 cores.
#
# "sched" (issue 11) runs only a third part: a whole search over the
# (task, seed) job path, generational GA (barrier) and steady-state (no
# barrier), with each part's training replaced by a sleep (bench_mpi
# sched: it measures the coordination, not the compute), for 1, 2, 3, 4
# and 8 worker ranks (mpirun -np 2 to 9; sleeping ranks need no core),
# and prints evaluations/s per worker rank against 1 rank's.
#
# Usage: bench/bench_mpi.sh BUILD_DIR [stream [EVALUATIONS [STEPS]]]
#        bench/bench_mpi.sh BUILD_DIR sched [POPULATION [GENERATIONS [MS]]]
#   (e.g. build; "stream" runs only the second part, 48 x 100 by default;
#   "sched" only the third, 16 x 3 with parts of 100 ms on average)
set -eu
build=${1:?usage: bench_mpi.sh BUILD_DIR [stream [EVALUATIONS [STEPS]] | sched [POPULATION [GENERATIONS [MS]]]]}
only_stream=${2:-}
evoopt=$build/tools/evoopt
bench=$build/bench/bench_mpi
command -v mpirun >/dev/null || { echo "mpirun not found (openmpi-bin)"; exit 1; }
[ -x "$bench" ] || { echo "$bench not built: libevoopt without MPI?"; exit 1; }
# --bind-to none: mpirun pins up to 2 ranks to one core each, which on a
# machine shared with other work stops a rank from moving to a free core.
mpi="mpirun --allow-run-as-root --oversubscribe --bind-to none \
  --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo"
tmp=$(mktemp -d)
export OPENBLAS_NUM_THREADS=1 # one core per evaluation, as worker ranks use
trap 'rm -rf "$tmp"' EXIT
evals=48
now() { date +%s.%N; }

# Evaluations/s per worker rank, 1 to 4 worker ranks, parts and whole.
stream() {
  n=${1:-48}; steps=${2:-100}
  echo "A stream of $n evaluations (3 x digits, 2 seeds, $steps steps; the"
  echo "four baselines in turn), $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg):"
  for np in 2 3 4 5; do
    $mpi -np $np "$bench" stream "$n" "$steps" | tee "$tmp/stream$np" |
      grep -v '^STREAM'
  done
  echo
  echo "per worker rank, against 1 worker rank's (target >= 0.9 for 2 to 4):"
  cat "$tmp"/stream[2-5] | awk -v cores="$(nproc)" '
    $1 == "STREAM" {
      split($3, w, "="); split($4, r, "=")
      rate[$2, w[2]] = r[2]; if (w[2] > top) top = w[2]
    }
    END {
      printf "%-14s %8s %8s %8s %8s\n", "worker ranks", "parts", "ratio",
             "whole", "ratio"
      for (k = 1; k <= top; k++)
        printf "%-14s %8.3f %8.2f %8.3f %8.2f%s\n", k, rate["parts", k] / k,
               rate["parts", k] / k / rate["parts", 1], rate["whole", k] / k,
               rate["whole", k] / k / rate["whole", 1],
               (k > cores ? "  (more busy ranks than cores)" : "")
    }'
}
# A search's evaluations/s per worker rank, parts sleeping (bench_mpi
# sched), GA and steady-state, 1 to 4 and 8 worker ranks.
sched() {
  pop=${1:-16}; gens=${2:-3}; ms=${3:-100}
  echo "A search over (task, seed) jobs whose training sleeps (coordination,"
  echo "not compute), $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg):"
  for np in 2 3 4 5 9; do
    $mpi -np $np "$bench" sched "$pop" "$gens" "$ms" | tee "$tmp/sched$np" |
      grep -v '^SCHED'
  done
  echo
  echo "evaluations/s per worker rank, against 1 worker rank's (target >= 0.9"
  echo "for 2 to 4), and against the sleeps' own rate (ideal):"
  cat "$tmp"/sched[2-9] | awk '
    $1 == "SCHED" {
      split($3, w, "="); split($4, r, "="); split($5, i, "=")
      rate[$2, w[2]] = r[2]; ideal[w[2]] = i[2]; seen[w[2]] = 1
    }
    END {
      printf "%-13s %9s %7s %7s %9s %7s %7s\n", "worker ranks", "ga", "vs 1",
             "ideal", "steady", "vs 1", "ideal"
      for (k = 1; k <= 8; k++) if (seen[k])
        printf "%-13s %9.3f %7.2f %7.2f %9.3f %7.2f %7.2f\n", k,
               rate["ga", k] / k, rate["ga", k] / k / rate["ga", 1],
               rate["ga", k] / ideal[k], rate["steady", k] / k,
               rate["steady", k] / k / rate["steady", 1],
               rate["steady", k] / ideal[k]
    }'
}
if [ "$only_stream" = stream ]; then
  stream "${3:-48}" "${4:-100}"
  exit 0
fi
if [ "$only_stream" = sched ]; then
  sched "${3:-16}" "${4:-3}" "${5:-100}"
  exit 0
fi

echo "evoopt evolve, digits, population 16 x 3 generations, 300 steps x 1 seed,"
echo "--no-cache, --final-seeds 0 ($evals evaluations), $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg):"
printf "%-26s %9s %14s %9s\n" "" "wall (s)" "evaluations/s" "vs first"
base=
# One run: its label, its folder, then the command up to its own options;
# prints its line and checks its history against the first run's.
row() {
  label=$1; out=$2; shift 2
  t0=$(now)
  "$@" --preset smoke --population 16 --generations 3 --steps 300 \
    --final-seeds 0 --no-cache --out "$tmp/$out" -q >/dev/null
  t1=$(now)
  rate=$(awk -v a="$t0" -v b="$t1" -v n=$evals 'BEGIN { print n / (b - a) }')
  [ -n "$base" ] || base=$rate
  awk -v a="$t0" -v b="$t1" -v r="$rate" -v base="$base" -v l="$label" \
    'BEGIN { printf "%-26s %9.2f %14.1f %9.2f\n", l, b - a, r, r / base }'
  cmp -s "$tmp/threads1/history.csv" "$tmp/$out/history.csv" ||
    echo "warning: history.csv of '$label' differs from the first run"
}
row "threads, 1 worker" threads1 "$evoopt" evolve --workers 1
row "threads, 2 workers" threads2 "$evoopt" evolve --workers 2
for np in 1 2 3; do
  row "mpirun -np $np (1 per rank)" np$np $mpi -np $np "$evoopt" evolve --workers 1
done
echo
for np in 2 3; do
  $mpi -np $np "$bench" 5000
  echo
done
echo
stream 48 100
