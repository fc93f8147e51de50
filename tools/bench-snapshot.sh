#!/usr/bin/env bash
# Whole-lab snapshots of the seed's L1 on a real libvirtd (tests/harness/libvirtd.sh, namespace
# labsh-snapbench) with VirtualBMC, side by side in one run, RUNS rounds (default 3):
#   - the peers' way, as kcli's plan snapshots do it (karmab/kcli kvirt/config.py snapshot_plan
#     and revert_plan: one VM after the other over one connection): one virsh process running
#     snapshot-create-as, then snapshot-revert --running, for each of the 8 domains in turn;
#   - labsh snapshot save and labsh snapshot revert (stdlib/snapshot.rhai), which pause every
#     VM at once, and after the revert check every BMC and the layers above.
# Each round: both ways save, then both revert, then both snapshots are deleted. Between the two
# saves, libvirt's floor for a save (tools/bench/snapshot-floor.sh: labsh's libvirt calls made
# directly with virsh, every domain at once), its snapshots deleted straight after; and for each
# save the CPU time the domains' QEMU processes used. Times are wall
# clock, labsh's including its start; "frozen" is how long the lab was not running together:
# labsh's own figure (every VM paused), and for the peers the time from the first VM's snapshot
# to the last's, during which the VMs' states are taken at different moments.
# Needs what tools/setup.sh and tools/setup-tests.sh install (libvirt, QEMU, VirtualBMC's venv).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/bench-common.sh
venv="${LABSH_BMC_VENV:-$HOME/.cache/labsh/venv-bmc}"
export PATH="$venv/bin:$PATH"
dir="${LABSH_BENCH_DIR:-$HOME/.cache/labsh/realstack/snapbench}"
work="$dir/work"
uri="qemu:///system?socket=$dir/run/libvirt/libvirt-sock"
runs="${RUNS:-3}"

stop_all() {
    [ -f "$work/vbmcd.pid" ] && kill -- -"$(cat "$work/vbmcd.pid")" 2>/dev/null || true
    bash tests/harness/libvirtd.sh stop snapbench "$dir" >/dev/null 2>&1 || true
}
trap stop_all EXIT
stop_all
rm -rf "$work" && mkdir -p "$work/images/ssd" "$work/vbmc" "$work/state"
bash tests/harness/libvirtd.sh start snapbench "$dir" >/dev/null
printf '<network><name>default</name><forward mode="nat"/><bridge name="virbr0"/><ip address="192.168.122.1" netmask="255.255.255.0"><dhcp><range start="192.168.122.2" end="192.168.122.254"/></dhcp></ip></network>' > "$work/default.xml"
virsh -q -c "$uri" net-define "$work/default.xml" >/dev/null
virsh -q -c "$uri" net-start default >/dev/null
# A PID file of its own: vbmcd's default (~/.vbmc/master.pid) is shared with every other vbmcd on
# the machine (tools/bench-l1.sh's, the tests'), and a second vbmcd finding it exits at once.
printf '[default]\nconfig_dir = %s\nserver_port = 50993\npid_file = %s\n[log]\nlogfile = %s\n' "$work/vbmc" "$work/vbmcd.master.pid" "$work/vbmcd.log" > "$work/vbmc.conf"
VIRTUALBMC_CONFIG="$work/vbmc.conf" setsid "$venv/bin/vbmcd" --foreground >/dev/null 2>&1 < /dev/null &
echo $! > "$work/vbmcd.pid"
for _ in $(seq 100); do VIRTUALBMC_CONFIG="$work/vbmc.conf" "$venv/bin/vbmc" list >/dev/null 2>&1 && break; kill -0 "$(cat "$work/vbmcd.pid")" 2>/dev/null || { echo "vbmcd exited: see $work/vbmcd.log" >&2; exit 1; }; sleep 0.1; done
cat > "$work/snapbench.yaml" <<EOF
libvirt_uri: "$uri"
images: "$work/images"
disk_folders: {ssd: "$work/images/ssd"}
domain_type: qemu
bmc: {address: 127.0.0.1, port_base: 24700, config: "$work/vbmc.conf"}
undercloud: {offline: true}
cluster: {offline: true}
# QEMU cannot reserve the seed's 64 GiB compute node on a small machine.
profile:
  vms:
    compute: {memory_mib: 8192}
EOF
export LABSH_STATE_DIR="$work/state"
target="$work/snapbench.yaml"
"$bin" run scripts/lab.rhai --target "$target" --only l0 --only l1 > "$work/build.log" 2>&1
mapfile -t vms < <(virsh -q -c "$uri" list --all --name | sed '/^$/d' | sort)
[ "${#vms[@]}" = 8 ] || { echo "expected 8 domains, found: ${vms[*]}" >&2; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The virsh commands for every VM in turn, in one process: "VERB --domain VM ARGS; ...".
each_vm() {
    local verb="$1"; shift
    local line=""
    for vm in "${vms[@]}"; do line+="$verb --domain $vm $*; "; done
    virsh -q -c "$uri" "$line" >/dev/null
}
# The CPU time (ms) all the domains' QEMU processes have used so far: a save's work is QEMU's,
# walking every page of each guest's memory.
qemu_cpu_ms() {
    local f ticks=0 t
    for f in "$dir"/run/libvirt/qemu/*.pid; do
        [ "$(basename "$f")" = driver.pid ] && continue
        # utime + stime, in clock ticks (fields 14 and 15; the name in field 2 has no space here)
        t=$(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat" 2>/dev/null) || t=0
        ticks=$((ticks + ${t:-0}))
    done
    echo $((ticks * 1000 / $(getconf CLK_TCK)))
}
declare -a peer_save peer_revert peer_frozen labsh_save labsh_revert labsh_frozen floor_save
declare -a peer_cpu floor_cpu labsh_cpu loads
for i in $(seq 1 "$runs"); do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    c0=$(qemu_cpu_ms)
    t0=$(now_ms); each_vm snapshot-create-as --name "peer-$i"; t1=$(now_ms)
    peer_save+=($((t1 - t0)))
    peer_cpu+=($(($(qemu_cpu_ms) - c0)))
    # Taken one after the other: from the first VM's to the last's, the lab was never held in one
    # moment; the first VM's snapshot starts at t0 and the last ends at t1.
    peer_frozen+=($((t1 - t0)))
    # libvirt's floor: the same calls as labsh's save, made directly, every domain at once.
    c0=$(qemu_cpu_ms)
    t0=$(now_ms); tools/bench/snapshot-floor.sh "$uri" "floor-$i" "${vms[@]}"; t1=$(now_ms)
    floor_save+=($((t1 - t0)))
    floor_cpu+=($(($(qemu_cpu_ms) - c0)))
    each_vm snapshot-delete --snapshotname "floor-$i"
    c0=$(qemu_cpu_ms)
    t0=$(now_ms)
    "$bin" snapshot save "lab-$i" --target "$target" > "$work/save-$i.log" 2>&1
    t1=$(now_ms)
    labsh_save+=($((t1 - t0)))
    labsh_cpu+=($(($(qemu_cpu_ms) - c0)))
    labsh_frozen+=("$(sed -n 's/.*the lab stood still \([0-9]*\) ms.*/\1/p' "$work/save-$i.log" | head -1)")
    t0=$(now_ms); each_vm snapshot-revert --snapshotname "peer-$i" --running; t1=$(now_ms)
    peer_revert+=($((t1 - t0)))
    t0=$(now_ms)
    "$bin" snapshot revert "lab-$i" --target "$target" --yes > "$work/revert-$i.log" 2>&1
    t1=$(now_ms)
    labsh_revert+=($((t1 - t0)))
    each_vm snapshot-delete --snapshotname "peer-$i"
    "$bin" snapshot delete "lab-$i" --target "$target" --yes > /dev/null 2>&1
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
done

stats() {
    # mean, min and max of the numbers given, in seconds with two decimals
    printf '%s\n' "$@" | awk '{s+=$1; if(NR==1||$1<mn)mn=$1; if(NR==1||$1>mx)mx=$1} END {printf "%.2f s (%.2f … %.2f)", s/NR/1000, mn/1000, mx/1000}'
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(virsh -c "$uri" version 2>/dev/null | grep -E 'libvirt|hypervisor' | tr '\n' ' ')"
echo "seed's L1: ${#vms[@]} domains, $runs rounds; mean (min … max)"
echo
echo "| way | save | revert | the VMs' states taken |"
echo "|---|---|---|---|"
echo "| virsh, VM after VM (kcli's way) | $(stats "${peer_save[@]}") | $(stats "${peer_revert[@]}") | one after the other, over $(stats "${peer_frozen[@]}") |"
echo "| labsh snapshot | $(stats "${labsh_save[@]}") | $(stats "${labsh_revert[@]}") | in one moment, every VM paused together for $(stats "${labsh_frozen[@]}") |"
echo
echo "save, side by side (QEMU's CPU time: what the domains' QEMU processes used during the save)"
echo
echo "| way | save | QEMU's CPU time | the peers' time over labsh's (each round) |"
echo "|---|---|---|---|"
# The peers' save time over another way's, round by round.
ratios() {
    local -n way=$1
    local k out=""
    for k in "${!peer_save[@]}"; do out+="$(awk -v a="${peer_save[$k]}" -v b="${way[$k]}" 'BEGIN {printf "%.2f", a / b}')× "; done
    echo "$out"
}
echo "| virsh, VM after VM | $(stats "${peer_save[@]}") | $(stats "${peer_cpu[@]}") | |"
echo "| libvirt floor (tools/bench/snapshot-floor.sh) | $(stats "${floor_save[@]}") | $(stats "${floor_cpu[@]}") | $(ratios floor_save)|"
echo "| labsh snapshot save | $(stats "${labsh_save[@]}") | $(stats "${labsh_cpu[@]}") | $(ratios labsh_save)|"
echo
echo "load average (1 min) at each round's start and end: ${loads[*]}"
