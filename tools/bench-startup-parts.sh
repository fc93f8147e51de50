#!/usr/bin/env bash
# What the start-up of `labsh -e 1+1` is made of (docs/PERFORMANCE.md), for the release build and,
# given a commit, beside that commit's build: the shared libraries loaded (ldd), the dynamic
# loader's symbol and relative relocations and its cycles (LD_DEBUG=statistics, median of 21
# runs), minor page faults and
# maximum resident memory (GNU time), system calls (strace -c -f), and RUNS runs in turn, this build
# then the commit's (default 100 pairs): the median of each pair's ratio, wall time and CPU time.
#
#   tools/bench-startup-parts.sh [COMMIT]
#
# Needs strace, GNU time (apt-get install strace time) and python3.
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
bench_work
export LABSH_STATE_DIR="$work/state"
bins=("$bin")
names=("$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+')")
if [ $# -ge 1 ]; then
  build_base "$1"
  bins+=("$base_bin")
  names+=("$base")
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%Y-%m-%d)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %5s %7s %9s %14s %12s %9s %9s\n' build ldd symbol relative "loader cycles" "page faults" syscalls "max RSS"
for i in "${!bins[@]}"; do
  b="${bins[$i]}"
  "$b" -e 1+1 | grep -qx 2
  libs=$(ldd "$b" | wc -l)
  stats=$(for _ in $(seq 21); do LD_DEBUG=statistics "$b" -e 1+1 2>&1 >/dev/null; done | python3 -c '
import re, statistics, sys
t = sys.stdin.read()
rel = [int(x) for x in re.findall(r"\snumber of relocations:\s+(\d+)", t)]
rel_rel = [int(x) for x in re.findall(r"number of relative relocations:\s+(\d+)", t)]
cyc = [int(x) for x in re.findall(r"total startup time in dynamic loader:\s+(\d+) cycles", t)]
print(f"{statistics.median(rel):.0f} {statistics.median(rel_rel):.0f} {statistics.median(cyc):.0f}")')
  faults=$(/usr/bin/time -f '%R %M' "$b" -e 1+1 2>&1 >/dev/null | tail -1)
  # strace's summary: "% time, seconds, usecs/call, calls, errors, syscall"; the calls of its total.
  calls=$(strace -c -f -o "$work/strace" "$b" -e 1+1 >/dev/null && awk '$NF == "total" {print $4}' "$work/strace")
  read -r rel relative cyc <<<"$stats"
  read -r minor rss <<<"$faults"
  printf '%-10s %5s %7s %9s %14s %12s %9s %6s MiB\n' "${names[$i]}" "$libs" "$rel" "$relative" "$cyc" "$minor" "$calls" \
    "$(python3 -c "print(f'{$rss/1024:.1f}')")"
done
if [ "${#bins[@]}" -eq 2 ]; then
  python3 - "${bins[0]}" "${bins[1]}" "${RUNS:-100}" <<'PY'
import os, statistics, subprocess, sys, time
new, old, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def one(b):
    t0 = time.perf_counter()
    p = subprocess.Popen([b, "-e", "1+1"], stdout=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime
for b in (new, old):
    for _ in range(10):
        one(b)
wall, cpu = [], []
for _ in range(n):
    (wn, cn), (wo, co) = one(new), one(old)
    wall.append(wn / wo)
    cpu.append(cn / co if co > 0 else float("nan"))
cpu = [c for c in cpu if c == c]
print(f"in turn, {n} pairs: this build took {statistics.median(wall):.2f} of the other's wall time"
      f" and {statistics.median(cpu):.2f} of its CPU time (median of the pairs' ratios)")
PY
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
