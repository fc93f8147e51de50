#!/usr/bin/env bash
# os-net-config --noop on a nic-config, in a network namespace of its own whose NICs stand for a
# VM's (nic1..nicN map to them as os-net-config maps a machine's): it parses and validates the
# config and prints the ifcfg files it would write, and changes nothing.
#
#   tests/harness/onc-noop.sh OS_NET_CONFIG CONFIG NICS
#
# os-net-config counts an interface as a NIC only when /sys/class/net/X/device exists and X is
# up; virtual links have no device/, so in a mount namespace of its own the namespace's
# /sys/class/net is replaced by one where each NIC has it. The NICs are dummy links, or veth
# pairs where the kernel has no dummy driver. The namespace is removed at the end.
set -euo pipefail
onc="$1" cfg="$2" n="$3"
ns="labsh-onc-$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
names=""
for i in $(seq 0 $((n - 1))); do
    if ! ip -n "$ns" link add "eth$i" type dummy 2>/dev/null; then
        ip -n "$ns" link add "eth$i" type veth peer name "peer$i"
        ip -n "$ns" link set "peer$i" up
    fi
    ip -n "$ns" link set "eth$i" up
    names="$names eth$i"
done
ip netns exec "$ns" unshare -m sh -c '
    set -e
    mount --make-rprivate /
    mkdir -p /tmp/labsh-onc-sys
    for x in '"$names"'; do
        mkdir -p /tmp/labsh-onc-sys/$x/device
        cat /sys/class/net/$x/address > /tmp/labsh-onc-sys/$x/address
        echo up > /tmp/labsh-onc-sys/$x/operstate
    done
    mount --bind /tmp/labsh-onc-sys /sys/class/net
    exec "$0" -c "$1" --noop -p ifcfg --exit-on-validation-errors
' "$onc" "$cfg"
