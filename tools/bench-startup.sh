#!/usr/bin/env bash
# Start-up of the release build (docs/PERFORMANCE.md): `labsh -e 1+1` as a whole process (start,
# build the engine, compile and check, evaluate, print, exit), `labsh -e 'abs(-1)'` (the same, with
# a call the checker looks up among the natives), beside programs people know (`bash -c :`,
# `python3 -c 1`) and, given a commit, beside that commit's build. Median, min and max of RUNS runs
# (default 100) after 10 warm-up runs each.
#
#   tools/bench-startup.sh [COMMIT]
#
# COMMIT is built from `git archive` in a folder of its own, with its own target folder
# (BASE_TARGET_DIR, default ~/.cache/labsh/base-target); commits before libvirt was loaded lazily
# need libvirt-dev and pkg-config to build. Needs hyperfine and python3.
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
runs="${RUNS:-100}"
bench_work
export LABSH_STATE_DIR="$work/state"
"$bin" -e 1+1 | grep -qx 2
"$bin" -e 'abs(-1)' | grep -qx 1

cmds=("$bin -e 1+1" "$bin -e abs(-1)")
names=("labsh -e 1+1" "labsh -e abs(-1)")
if [ $# -ge 1 ]; then
    build_base "$1"
    cmds+=("$base_bin -e 1+1")
    names+=("labsh -e 1+1 at $base")
fi
# The distribution's interpreters (a version manager's shim on PATH would time the shim).
sh_bin="$(command -v /bin/bash || command -v bash)"
py_bin="$(command -v /usr/bin/python3 || command -v python3)"
cmds+=("$sh_bin -c :" "$py_bin -c 1")
names+=("bash -c :" "python3 -c 1")

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%Y-%m-%d)"
echo "bash: $sh_bin $("$sh_bin" -c 'echo "${BASH_VERSION%%(*}"'); python3: $py_bin $("$py_bin" -c 'import platform; print(platform.python_version())')"
echo "labsh $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' (modified)')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
args=()
for i in "${!cmds[@]}"; do
    args+=(-n "${names[$i]}" "${cmds[$i]}")
done
hyperfine -N --style none --warmup 10 --runs "$runs" --export-json "$work/times.json" "${args[@]}" \
    >/dev/null 2>"$work/hyperfine.err" || { cat "$work/hyperfine.err" >&2; exit 1; }
python3 - "$work/times.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
print(f"{'command':<28} {'median':>9} {'min':>9} {'max':>9}   runs")
for r in results:
    t = [x * 1000 for x in r["times"]]
    print(f"{r['command']:<28} {statistics.median(t):>6.2f} ms {min(t):>6.2f} ms {max(t):>6.2f} ms   {len(t)}")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
