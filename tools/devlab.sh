#!/usr/bin/env bash
# The devlab target's real stack on this machine, by PID:
#   tools/devlab.sh up     # a libvirtd under QEMU emulation (namespace labsh-devlab) with the
#                          # distribution's `default` network, vbmcd, and the devcloud (with Ironic,
#                          # the undercloud's API that the overcloud stage enrolls the nodes in)
#   tools/devlab.sh down   # stops them (the devcloud's databases and the images are kept)
#   tools/devlab.sh reset  # down, and forget the libvirtd's state and the images
# Then: labsh run scripts/lab.rhai --target devlab
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${LABSH_DEVLAB_DIR:-$HOME/.cache/labsh/realstack/devlab}"
vdir="$HOME/.cache/labsh/devlab/vbmc"
venv="${LABSH_BMC_VENV:-$HOME/.cache/labsh/venv-bmc}"

up() {
  mkdir -p "$dir" "$vdir/state"
  if [ -f "$dir/libvirtd.pid" ] && kill -0 "$(cat "$dir/libvirtd.pid")" 2>/dev/null; then
    uri="qemu:///system?socket=$dir/run/libvirt/libvirt-sock"
  else
    uri="$(bash tests/harness/libvirtd.sh start devlab "$dir")"
  fi
  if ! virsh -q -c "$uri" net-info default >/dev/null 2>&1; then
    printf '%s' "<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>" > "$dir/default-net.xml"
    virsh -q -c "$uri" net-define "$dir/default-net.xml" >/dev/null
  fi
  virsh -q -c "$uri" net-start default >/dev/null 2>&1 || true
  mkdir -p "$dir/images" "$dir/images-ssd"
  if ! { [ -f "$vdir/vbmcd.pid" ] && kill -0 "$(cat "$vdir/vbmcd.pid")" 2>/dev/null; }; then
    printf '[default]\nconfig_dir = %s\nserver_port = 50891\n[log]\nlogfile = %s/vbmcd.log\n' "$vdir/state" "$vdir" > "$vdir/virtualbmc.conf"
    VIRTUALBMC_CONFIG="$vdir/virtualbmc.conf" HOME="$vdir" setsid "$venv/bin/vbmcd" --foreground >/dev/null 2>&1 < /dev/null &
    echo $! > "$vdir/vbmcd.pid"
  fi
  [ -f "$HOME/.cache/labsh/devlab/rhcos-standin.qcow2" ] || qemu-img create -q -f qcow2 "$HOME/.cache/labsh/devlab/rhcos-standin.qcow2" 16M
  tests/harness/devcloud.sh start >/dev/null
  echo "devlab up: libvirt $uri, vbmcd $(cat "$vdir/vbmcd.pid"), devcloud $(tests/harness/devcloud.sh env)"
  echo "Redfish BMCs (bmc: {type: redfish}) run sushy-emulator from PATH: export PATH=$venv/bin:\$PATH"
}

down() {
  if [ -f "$vdir/vbmcd.pid" ]; then kill -- "-$(cat "$vdir/vbmcd.pid")" 2>/dev/null || kill "$(cat "$vdir/vbmcd.pid")" 2>/dev/null || true; rm -f "$vdir/vbmcd.pid"; fi
  bash tests/harness/libvirtd.sh stop devlab "$dir" >/dev/null 2>&1 || true
  tests/harness/devcloud.sh stop
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reset) down; rm -rf "$dir" "$vdir" ;;
  *) echo "usage: $0 up|down|reset" >&2; exit 2 ;;
esac
