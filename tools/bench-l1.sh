#!/usr/bin/env bash
# The seed's L1 built three ways against the same real libvirtd (tests/harness/libvirtd.sh) and
# VirtualBMC, side by side: the article's command sequence, labsh --jobs 1, and labsh --jobs 8;
# and libvirt's floor (tools/bench/l1-floor.sh): the libvirt calls and images of labsh's plan made
# with virsh and qemu-img directly, in the best order, without BMCs. Each run starts from a fresh
# daemon and vbmcd. Needs hyperfine and virtinst (apt-get install).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null && tools/setup-tests.sh >/dev/null
source tools/bench-common.sh
venv="${LABSH_BMC_VENV:-$HOME/.cache/labsh/venv-bmc}"
export PATH="$venv/bin:$PATH"
dir="${LABSH_BENCH_DIR:-$HOME/.cache/labsh/realstack/bench}"
work="$dir/work"
uri="qemu:///system?socket=$dir/run/libvirt/libvirt-sock"
pw=benchBMCpass1234
mkdir -p "$dir"
cat > "$dir/reset.sh" <<RESET
#!/usr/bin/env bash
set -e
[ -f "$work/vbmcd.pid" ] && kill -- -\$(cat "$work/vbmcd.pid") 2>/dev/null || true
bash "$PWD/tests/harness/libvirtd.sh" stop bench "$dir" >/dev/null 2>&1 || true
rm -rf "$work" && mkdir -p "$work/images" "$work/vbmc" "$work/state"
bash "$PWD/tests/harness/libvirtd.sh" start bench "$dir" >/dev/null
printf '<network><name>default</name><forward mode="nat"/><bridge name="virbr0"/><ip address="192.168.122.1" netmask="255.255.255.0"><dhcp><range start="192.168.122.2" end="192.168.122.254"/></dhcp></ip></network>' > "$work/default.xml"
virsh -q -c "$uri" net-define "$work/default.xml" >/dev/null
virsh -q -c "$uri" net-start default >/dev/null
printf '[default]\nconfig_dir = $work/vbmc\nserver_port = 50991\n[log]\nlogfile = $work/vbmcd.log\n' > "$work/vbmc.conf"
echo "bmc-password=$pw" > "$work/state/secrets"
chmod 600 "$work/state/secrets"
VIRTUALBMC_CONFIG="$work/vbmc.conf" setsid "$venv/bin/vbmcd" --foreground >/dev/null 2>&1 < /dev/null &
echo \$! > "$work/vbmcd.pid"
for _ in \$(seq 100); do VIRTUALBMC_CONFIG="$work/vbmc.conf" "$venv/bin/vbmc" list >/dev/null 2>&1 && break; sleep 0.1; done
RESET
chmod +x "$dir/reset.sh"
export LABSH_STATE_DIR="$work/state"
labsh_cmd() {
    echo "$bin run tools/bench/l1.rhai --jobs $1 --set uri='$uri' --set images=$work/images --set vbmc_config=$work/vbmc.conf"
}
# labsh's plan against a fresh daemon: the XML and qemu-img commands the floor makes directly.
"$dir/reset.sh"
eval "$(labsh_cmd 8) --plan --json" > "$dir/l1-plan.json"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
hyperfine --runs "${RUNS:-3}" --prepare "$dir/reset.sh" \
    -n "command sequence" "tools/bench/l1-commands.sh '$uri' $work/images $work/vbmc.conf $pw" \
    -n "labsh --jobs 1" "$(labsh_cmd 1) >$dir/labsh-jobs1.log 2>&1" \
    -n "labsh --jobs 8" "$(labsh_cmd 8) >$dir/labsh-jobs8.log 2>&1" \
    -n "libvirt floor" "tools/bench/l1-floor.sh '$uri' $dir/l1-plan.json" \
    --export-markdown "$dir/l1.md"
# Leave nothing running.
[ -f "$work/vbmcd.pid" ] && kill -- -"$(cat "$work/vbmcd.pid")" 2>/dev/null || true
bash tests/harness/libvirtd.sh stop bench "$dir" >/dev/null 2>&1 || true
cat "$dir/l1.md"
