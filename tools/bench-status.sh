#!/usr/bin/env bash
# `labsh status` on the devlab (tools/devlab.sh up: a libvirtd under emulation, VirtualBMC, the
# devcloud with Ironic): the lab built once by scripts/lab.rhai (untimed), then read RUNS times,
# each a whole `labsh status --target devlab` process: the median, the fastest and the slowest,
# and once each layer's own time (every layer is read at once, so the whole takes about as long
# as the slowest). The lab has names of its own (its VMs, Ironic nodes, tenant and floating IPs:
# tools/bench/status-lab.rhai), so the devcloud's other users are not touched; it is torn down
# at the end (untimed). Release build.
#   tools/bench-status.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
runs="${1:-20}"
bench_work
tools/devlab.sh up >/dev/null
export LABSH_STATE_DIR="$work/state"
lab=(--target devlab --profile tools/bench/status-lab.rhai)
finish() {
  "$bin" run scripts/teardown.rhai "${lab[@]}" --yes >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT
echo "== building the lab (untimed)"
"$bin" run scripts/lab.rhai "${lab[@]}" --yes >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
# The lab must read healthy before it is timed.
if ! "$bin" status "${lab[@]}" >"$work/status.txt"; then
  cat "$work/status.txt"
  echo "the lab is not healthy: nothing timed" >&2
  exit 1
fi
cat "$work/status.txt"
echo "== each layer's time in one reading (ms)"
"$bin" status "${lab[@]}" --json | python3 -c '
import json, sys
st = next(json.loads(l) for l in sys.stdin if "\"event\":\"status\"" in l)
for l in st["layers"]:
    print("  %-11s %-11s %5d" % (l["name"], l["state"], l["ms"]))
print("  %-23s %5d" % ("whole (in labsh)", st["ms"]))'
echo "== labsh status, $runs runs (whole process)"
now() { date +%s.%N; }
times=()
for _ in $(seq 1 "$runs"); do
  t0=$(now); "$bin" status "${lab[@]}" >/dev/null; t1=$(now)
  times+=("$(echo "$t1 - $t0" | bc)")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
  m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
  printf "median %.3f s (min %.3f, max %.3f, %d runs)\n", m, a[1], a[NR], NR }'
