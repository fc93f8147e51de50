#!/usr/bin/env bash
# The shell's own speed and size (docs/PERFORMANCE.md): start-up, REPL ready, memory, planning a
# generated 500-step script. Needs hyperfine and GNU time (apt-get install hyperfine time).
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
bench_work
export LABSH_STATE_DIR="$work/state"
python3 - "$work/plan500.rhai" "$work/out" <<'PY'
import sys
path, out = sys.argv[1], sys.argv[2]
lines = []
for s in range(10):
    lines.append(f'stage("s{s}", || {{')
    for i in range(50):
        lines.append(f'    run(["touch", "{out}/f{s}_{i}"]);')
    lines.append('});')
open(path, "w").write("\n".join(lines) + "\n")
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
hyperfine --warmup 5 --runs 50 -N "$bin -e 1+1"
hyperfine --warmup 5 --runs 50 "$bin repl </dev/null"
hyperfine --warmup 3 --runs 30 -N "$bin run --plan --json $work/plan500.rhai"
"$bin" run --plan --json "$work/plan500.rhai" | tail -1 | python3 -c 'import json,sys; print("planned:", json.load(sys.stdin)["totals"]["planned"])'
[ ! -e "$work/out" ] || { echo "the plan created files in $work/out" >&2; exit 1; }
echo "the plan created nothing"
for cmd in "-e 1+1" "run --plan --json $work/plan500.rhai"; do
    /usr/bin/time -f "max RSS %M KiB: labsh $cmd" "$bin" $cmd >/dev/null
done
/usr/bin/time -f "max RSS %M KiB: labsh repl" "$bin" repl </dev/null 2>&1 >/dev/null | grep RSS
