#!/usr/bin/env bash
# Node import to available for the seed's 7 overcloud nodes on the devcloud's Ironic, two ways
# side by side in one run: python-openstackclient's baremetal commands as a user runs them
# (`baremetal node create`, `port create`, `node manage --wait`, `node provide --wait`, node
# after node), and labsh (tools/bench/baremetal.rhai: the same steps for every node at once,
# waiting by watching the nodes). The BMCs are real: 7 VirtualBMCs in front of 7 domains of a
# libvirtd of the benchmark's own (tests/harness/libvirtd.sh), made before the runs, untimed.
# Each way uses node names of its own; its nodes are deleted after it, untimed.
#   tools/bench-baremetal.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
runs="${1:-3}"
tests/harness/devcloud.sh start >/dev/null 2>&1
osc="${LABSH_OSC_VENV:-$HOME/.cache/labsh/venv-osc}/bin/openstack"
bmcv="${LABSH_BMC_VENV:-$HOME/.cache/labsh/venv-bmc}/bin"
work="$(mktemp -d)"
lv="$HOME/.cache/labsh/realstack/bench-baremetal"
vbmcd_pid=""
finish() {
  [ -n "$vbmcd_pid" ] && kill -- "-$vbmcd_pid" 2>/dev/null || true
  bash tests/harness/libvirtd.sh stop bench-bm "$lv" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT
pw="$(sed -n 's/^ *password: //p' "$(tests/harness/devcloud.sh env)" | head -1)"
cat > "$work/clouds.yaml" <<EOT
clouds:
  devcloud-system:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: admin, password: "$pw", user_domain_name: Default, system_scope: all}
    region_name: regionOne
EOT
export OS_CLIENT_CONFIG_FILE="$work/clouds.yaml" OS_CLOUD=devcloud-system

# The BMCs: 7 domains (defined, not started: manage reads their power state) and a VirtualBMC each.
uri="$(bash tests/harness/libvirtd.sh start bench-bm "$lv")"
port0=$(( 46700 + $$ % 200 ))
printf '[default]\nconfig_dir = %s/vbmc\nserver_port = %s\n[log]\nlogfile = %s/vbmcd.log\n' "$work" $(( port0 + 50 )) "$work" > "$work/vbmc.conf"
export VIRTUALBMC_CONFIG="$work/vbmc.conf"
mkdir -p "$work/vbmc"
HOME="$work" setsid "$bmcv/vbmcd" --foreground >/dev/null 2>&1 < /dev/null & vbmcd_pid=$!
for _ in $(seq 1 100); do "$bmcv/vbmc" list >/dev/null 2>&1 && break; sleep 0.1; done
bmcpw=bench-bmc-pw
nodes='{"nodes": ['
for i in 1 2 3 4 5 6 7; do
  mac=$(printf '52:54:00:b7:00:%02x' "$i")
  virsh -q -c "$uri" destroy "bench-node$i" >/dev/null 2>&1 || true
  virsh -q -c "$uri" undefine "bench-node$i" >/dev/null 2>&1 || true
  printf "<domain type='qemu'><name>bench-node%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><interface type='user'><mac address='%s'/></interface></devices></domain>" "$i" "$mac" > "$work/d$i.xml"
  virsh -q -c "$uri" define "$work/d$i.xml" >/dev/null
  "$bmcv/vbmc" add "bench-node$i" --address 127.0.0.1 --port $(( port0 + i )) --username admin --password "$bmcpw" --libvirt-uri "$uri" >/dev/null
  "$bmcv/vbmc" start "bench-node$i" >/dev/null
  [ "$i" -gt 1 ] && nodes="$nodes,"
  nodes="$nodes{\"name\": \"NAME$i\", \"pm_type\": \"ipmi\", \"pm_addr\": \"127.0.0.1\", \"pm_port\": \"$(( port0 + i ))\", \"pm_user\": \"admin\", \"pm_password\": \"$bmcpw\", \"mac\": [\"$mac\"], \"cpu\": \"1\", \"memory\": \"1024\", \"disk\": \"10\", \"arch\": \"x86_64\"}"
done
nodes="$nodes]}"
for i in 1 2 3 4 5 6 7; do
  until ipmitool -I lanplus -H 127.0.0.1 -p $(( port0 + i )) -U admin -P "$bmcpw" power status >/dev/null 2>&1; do sleep 0.2; done
done

with_osc() { # prefix
  local i uuid
  for i in 1 2 3 4 5 6 7; do
    uuid=$("$osc" baremetal node create --name "$1-$i" --driver ipmi --driver-info ipmi_address=127.0.0.1 \
      --driver-info ipmi_port=$(( port0 + i )) --driver-info ipmi_username=admin --driver-info ipmi_password="$bmcpw" \
      --property cpus=1 --property memory_mb=1024 --property local_gb=10 --property cpu_arch=x86_64 -f value -c uuid)
    "$osc" baremetal port create --node "$uuid" "$(printf '52:54:00:b7:00:%02x' "$i")" >/dev/null
    "$osc" baremetal node manage --wait 300 "$1-$i"
    "$osc" baremetal node provide --wait 300 "$1-$i"
  done
}

with_labsh() { # prefix
  echo "${nodes//NAME/$1-}" > "$work/instackenv-$1.json"
  LABSH_STATE_DIR="$work/state" "$bin" run tools/bench/baremetal.rhai --set "instackenv=$work/instackenv-$1.json" \
    --set lab="$1" >/dev/null 2>"$work/labsh-$1.log"
}

cleanup() { # prefix (untimed)
  local i
  for i in 1 2 3 4 5 6 7; do "$osc" baremetal node delete "$1-$i" >/dev/null 2>&1 || true; done
}

# Nodes an interrupted earlier run of the benchmark left (its names only).
for n in $("$osc" baremetal node list -f value -c Name | grep -E '^b(osc|labsh)[0-9]+-[0-9]+-[0-9]$' || true); do
  "$osc" baremetal node maintenance set "$n" >/dev/null 2>&1 || true
  "$osc" baremetal node delete "$n" >/dev/null 2>&1 || true
done

now() { date +%s.%N; }
declare -A times
for r in $(seq 1 "$runs"); do
  for way in osc labsh; do
    p="b$way$r-$$"
    t0=$(now); "with_$way" "$p"; t1=$(now)
    times[$way,$r]=$(echo "$t1 - $t0" | bc)
    states=$("$osc" baremetal node list --fields name provision_state -f value | grep -c "^$p-[0-9] available$" || true)
    [ "$states" = 7 ] || { echo "run $r $way: only $states of 7 nodes available" >&2; exit 1; }
    cleanup "$p"
  done
  printf 'run %d: openstackclient %6.2f s  labsh %5.2f s  ratio %5.1fx\n' "$r" \
    "${times[osc,$r]}" "${times[labsh,$r]}" "$(echo "${times[osc,$r]} / ${times[labsh,$r]}" | bc -l)"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for way in osc labsh; do
  m=$(for r in $(seq 1 "$runs"); do echo "${times[$way,$r]}"; done | median)
  printf 'median %-6s %6.2f s\n' "$way" "$m"
done
