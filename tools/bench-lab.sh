#!/usr/bin/env bash
# scripts/lab.rhai: planning the whole lab, the sandbox run from a fresh state folder, and the
# devlab target applied then run again with nothing to change, at once and once more after the
# guests have booted (tools/devlab.sh; each first run starts after a teardown). Release build;
# hyperfine for the first two.
#   tools/bench-lab.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
runs="${1:-3}"
bench_work
echo "== planning the whole lab (fresh state, --plan)"
hyperfine -N --warmup 3 --runs 20 --prepare "rm -rf $work/plan" \
  "env LABSH_STATE_DIR=$work/plan $bin run scripts/lab.rhai --plan" 2>&1 | grep -E "Time|Range"
echo "== the sandbox run (fresh state)"
hyperfine -N --warmup 1 --runs 10 --prepare "rm -rf $work/sb" \
  "env LABSH_STATE_DIR=$work/sb $bin run scripts/lab.rhai" 2>&1 | grep -E "Time|Range"
echo "== devlab: first run after a teardown, then a second run"
tools/devlab.sh up >/dev/null
export LABSH_STATE_DIR="$work/devlab"
now() { date +%s.%N; }
for i in $(seq 1 "$runs"); do
  "$bin" run scripts/teardown.rhai --target devlab --yes >/dev/null 2>&1
  t0=$(now); "$bin" run scripts/lab.rhai --target devlab >/dev/null 2>&1; t1=$(now)
  "$bin" run scripts/lab.rhai --target devlab >/dev/null 2>&1; t2=$(now)
  # Once more after the guests have booted (8 emulated guests share the cores while they boot).
  sleep 60
  t3=$(now); "$bin" run scripts/lab.rhai --target devlab >/dev/null 2>&1; t4=$(now)
  a=$(echo "$t1 - $t0" | bc); b=$(echo "$t2 - $t1" | bc); c=$(echo "$t4 - $t3" | bc)
  printf 'run %d: first %.2f s, second %.2f s (%.1fx), third after 60 s %.2f s (%.1fx)\n' "$i" "$a" "$b" \
    "$(echo "$a / $b" | bc -l)" "$c" "$(echo "$a / $c" | bc -l)"
done
"$bin" run scripts/teardown.rhai --target devlab --yes >/dev/null 2>&1
