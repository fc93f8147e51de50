#!/usr/bin/env bash
# A real libvirtd (QEMU under software emulation) in a network namespace of its own, for tests.
#
#   tests/harness/libvirtd.sh start NAME DIR   # prints the URI to connect to
#   tests/harness/libvirtd.sh stop NAME DIR    # destroys its domains and networks, stops it by PID
#
# Everything the daemon writes (config, state, sockets, bridges, dnsmasq, iptables rules) lives in
# DIR and in the namespace labsh-NAME; the host's /etc/libvirt, /run and /var are untouched. DIR
# keeps QEMU's capability cache, so a restart takes well under a second after the first (~8 s).
# libvirtd runs under `tini -s`, a child subreaper: the daemons libvirt starts (dnsmasq, QEMU) are
# reaped the moment they exit, as systemd does on a host. Without it they are reparented to this
# machine's PID 1, which reaps late, and libvirt waits for each old dnsmasq (it polls kill(pid, 0))
# about a second longer on every DHCP change, and as long on every domain it destroys.
set -euo pipefail

cmd=${1:?start or stop}
name=${2:?name}
dir=${3:?dir}
ns="labsh-$name"
sock="$dir/run/libvirt/libvirt-sock"
uri="qemu:///system?socket=$sock"

start() {
    for p in libvirtd qemu-system-x86_64 dnsmasq iptables virsh tini; do
        command -v "$p" >/dev/null || { echo "missing $p: run tools/setup-tests.sh" >&2; exit 1; }
    done
    # A fresh daemon each time: only QEMU's capability cache is kept.
    if [ -f "$dir/libvirtd.pid" ] && kill -0 "$(cat "$dir/libvirtd.pid")" 2>/dev/null; then
        echo "a libvirtd from $dir is still running (PID $(cat "$dir/libvirtd.pid")); stop it first" >&2
        exit 1
    fi
    rm -rf "$dir/etc" "$dir/run" "$dir/var/lib" "$dir/var/log" "$dir/etc-copy"
    mkdir -p "$dir"/{etc/libvirt/qemu/networks,run,var/lib/libvirt/images,var/lib/libvirt/qemu,var/lib/libvirt/dnsmasq,var/log/libvirt/qemu,var/cache/libvirt/qemu,etc-copy}
    [ -e "$dir/var/run" ] || ln -s /run "$dir/var/run"
    # /var/lock as a distribution has it: the lock files of the consoles libvirtd opens (a VM's
    # serial console is refused without it).
    mkdir -p "$dir/run/lock"
    [ -e "$dir/var/lock" ] || ln -s /run/lock "$dir/var/lock"
    cat > "$dir/etc/libvirt/libvirtd.conf" <<CONF
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0770"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
    cat > "$dir/etc/libvirt/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
cgroup_controllers = [ ]
CONF
    cp /etc/passwd "$dir/etc-copy/passwd"
    cp /etc/group "$dir/etc-copy/group"
    grep -q '^libvirt-qemu:' "$dir/etc-copy/passwd" || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >> "$dir/etc-copy/passwd"
    grep -q '^libvirt-qemu:' "$dir/etc-copy/group" || echo 'libvirt-qemu:x:64055:' >> "$dir/etc-copy/group"
    grep -q '^kvm:' "$dir/etc-copy/group" || echo 'kvm:x:64056:' >> "$dir/etc-copy/group"
    # Libvirt autostarts only on a "host boot": when these markers are absent.
    rm -f "$dir/run/libvirt/qemu/autostarted" "$dir/run/libvirt/network/autostarted"
    # A namespace left by a run that was killed keeps that run's bridges (virbr0 "already in use"):
    # nothing of ours runs in it (checked above), so it is made anew.
    if ip netns list | grep -qw "$ns"; then
        ip netns pids "$ns" | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns"
    fi
    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    setsid ip netns exec "$ns" sh -c "
        mount --bind '$dir/etc/libvirt' /etc/libvirt &&
        mount --bind '$dir/run' /run &&
        mount --bind '$dir/var' /var &&
        mount --bind '$dir/etc-copy/passwd' /etc/passwd &&
        mount --bind '$dir/etc-copy/group' /etc/group &&
        exec tini -s -- libvirtd" > "$dir/libvirtd.out" 2>&1 < /dev/null &
    echo $! > "$dir/libvirtd.pid"
    for _ in $(seq 1 300); do
        if [ -S "$sock" ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
            echo "$uri"
            return 0
        fi
        if ! kill -0 "$(cat "$dir/libvirtd.pid")" 2>/dev/null; then
            echo "libvirtd exited; see $dir/libvirtd.out and $dir/var/log/libvirt/libvirtd.log" >&2
            cat "$dir/libvirtd.out" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "libvirtd did not answer on $sock within 30 s" >&2
    exit 1
}

stop() {
    if [ -S "$sock" ]; then
        for d in $(virsh -q -c "$uri" list --name 2>/dev/null); do virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true; done
        for n in $(virsh -q -c "$uri" net-list --name 2>/dev/null); do virsh -q -c "$uri" net-destroy "$n" >/dev/null 2>&1 || true; done
    fi
    if [ -f "$dir/libvirtd.pid" ]; then
        pid=$(cat "$dir/libvirtd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/libvirtd.pid"
    fi
    ip netns del "$ns" 2>/dev/null || true
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop NAME DIR" >&2; exit 2 ;;
esac
