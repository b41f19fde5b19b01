#!/bin/sh
# Evaluations per second of `evoopt evolve` on 1, 2 and 3 MPI processes of
# this machine (issue 7; doc/scaling.md), then the back end's messaging
# cost per evaluation beside an evaluation's training time (bench_mpi).
#
# The fixed setting: the bundled digits, population 16, 3 generations,
# 300 steps x 1 seed, no cache (every individual is trained), no final
# table; 48 evaluations. With 1 process evoopt evaluates on 1 thread; with
# N > 1, rank 0 runs the algorithm and N - 1 ranks evaluate, one
# evaluation each. Wall time is mpirun's whole run (start-up included).
#
# Usage: bench/bench_mpi.sh BUILD_DIR   (e.g. build)
set -eu
build=${1:?usage: bench_mpi.sh BUILD_DIR}
evoopt=$build/tools/evoopt
bench=$build/bench/bench_mpi
command -v mpirun >/dev/null || { echo "mpirun not found (openmpi-bin)"; exit 1; }
[ -x "$bench" ] || { echo "$bench not built: libevoopt without MPI?"; exit 1; }
mpi="mpirun --allow-run-as-root --oversubscribe \
  --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
evals=48
now() { date +%s.%N; }

echo "evoopt evolve, digits, population 16 x 3 generations, 300 steps x 1 seed,"
echo "--no-cache, --final-seeds 0 ($evals evaluations), $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg):"
printf "%10s %10s %14s %10s\n" processes "wall (s)" "evaluations/s" speed-up
base=
for np in 1 2 3; do
  t0=$(now)
  $mpi -np $np "$evoopt" evolve --preset smoke --population 16 \
    --generations 3 --steps 300 --final-seeds 0 --no-cache --workers 1 \
    --out "$tmp/np$np" -q >/dev/null
  t1=$(now)
  rate=$(awk -v a="$t0" -v b="$t1" -v n=$evals 'BEGIN { print n / (b - a) }')
  [ -n "$base" ] || base=$rate
  awk -v a="$t0" -v b="$t1" -v r="$rate" -v base="$base" -v np=$np 'BEGIN {
    printf "%10d %10.2f %14.1f %10.2f\n", np, b - a, r, r / base }'
done
for np in 1 2 3; do
  cmp -s "$tmp/np1/history.csv" "$tmp/np$np/history.csv" ||
    echo "warning: history.csv of $np processes differs from 1 process"
done
echo
for np in 2 3; do
  $mpi -np $np "$bench" 5000
  echo
done
