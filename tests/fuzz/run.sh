#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build for as long as one likes and
# fails on any finding (doc/fuzzing.md).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGETs among genome_json
# optimizer_state checkpoint idx cifar digits settings (default: all).
# Environment:
#   FUZZ_BUILD  the build folder configured with -Dfuzz=enabled
#               (default: build-fuzz in the current folder)
#   FUZZ_WORK   where each target's new inputs, crashes and log go
#               (default: a new temporary folder, kept and printed)
#   FUZZ_JOBS   targets run at the same time (default 1)
# The committed seeds (tests/fuzz/corpus/TARGET) are read, never written.
# Exit status 0 when no target found anything; 1 otherwise, with the
# path of each crashing input (reproduce: FUZZ_BUILD/tests/fuzz/fuzz_TARGET
# INPUT).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
all=(genome_json optimizer_state checkpoint idx cifar digits settings)

seconds=${1:-60}
[ $# -gt 0 ] && shift
case $seconds in
  '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/evoopt-fuzz-run.XXXXXX")}
mkdir -p "$work" || exit 2

for t in "${targets[@]}"; do
  if [ ! -x "$build/tests/fuzz/fuzz_$t" ]; then
    echo "run.sh: $build/tests/fuzz/fuzz_$t is missing (unknown target, or" \
      "not a build with -Dfuzz=enabled; set FUZZ_BUILD)" >&2
    exit 2
  fi
done

# One target: its log, new inputs and crashes under $work/$t.
run_one() {
  local t=$1 dir=$work/$1 dict=()
  mkdir -p "$dir/corpus" "$dir/crashes" "$dir/tmp"
  [ -f "$here/$t.dict" ] && dict=("-dict=$here/$t.dict")
  TMPDIR=$dir/tmp \
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1 \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=2560 -malloc_limit_mb=1100 -close_fd_mask=3 \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/" "${dict[@]}" \
    "$dir/corpus" "$here/corpus/$t" >"$dir/log" 2>&1
  echo $? >"$dir/status"
}

# A line per target: executions, coverage, corpus, result.
report() {
  local t=$1 dir=$work/$1 status execs rate cov ft
  status=$(cat "$dir/status" 2>/dev/null || echo 2)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  local found
  found=$(find "$dir/crashes" -type f | head -5)
  if [ "$status" = 0 ] && [ -z "$found" ]; then
    printf '%-16s ok     %10s execs %7s/s  cov %5s  ft %6s\n' "$t" \
      "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}"
    return 0
  fi
  printf '%-16s FAILED (status %s) %s execs; log %s\n' "$t" "$status" \
    "${execs:-?}" "$dir/log"
  grep -m1 -E 'ERROR: |runtime error|invariant broken|SUMMARY' "$dir/log" | sed 's/^/    /'
  for f in $found; do echo "    input: $f"; done
  return 1
}

echo "fuzzing ${#targets[@]} target(s) for $seconds s each in $work"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
for t in "${targets[@]}"; do
  report "$t" || failed=1
done
[ -z "${FUZZ_WORK:-}" ] && [ "$failed" = 0 ] && echo "(new inputs kept in $work)"
exit "$failed"
