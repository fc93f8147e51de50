#!/usr/bin/env bash
# A stand-in TripleO director for the overcloud tests: no director can run here (it is a RHEL
# machine with TripleO's services), so an sshd of the test's own on 127.0.0.1 plays it, in a mount
# namespace of its own whose /etc, /home, /root, /var/lib and /usr/share are overlays on this
# machine's (writes land in DIR/fs, nothing of the host changes): real users, sudo, files and
# shell, with tests/harness/director/standin.py first on PATH as the release's `openstack`,
# yum/dnf, rpm, hostnamectl, subscription-manager, the ssh to the overcloud's nodes, and on
# those nodes docker/systemctl, chronyc, pcs and cephadm (what a revert reads and restarts). The
# release's rendered tripleo-heat-templates are at /usr/share/openstack-tripleo-heat-templates.
#
#   tests/harness/director.sh start DIR RELEASE THT_TREE PARSERS RELEASE_PYTHON PORT
#                                           prints the PID of its sshd
#   tests/harness/director.sh stop DIR      stops the sshd and every process of its namespace
#
# DIR/state.json is the director's state, DIR/log.jsonl every stand-in command it ran, and
# DIR/flags.json how it behaves (step and deploy durations, failures to give).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

start() {
    local dir="$1" release="$2" tht="$3" parsers="$4" py="$5" port="$6"
    mkdir -p "$dir/bin" "$dir/lib" "$dir/nodes" "$dir/fs"
    chmod 0777 "$dir" "$dir/nodes"
    chmod 0755 "$dir/bin" "$dir/lib"
    # The director's users (stack among them) run the stand-ins: they are copied where any user
    # reads them, with the parsers of the release.
    cp "$here/director/standin.py" "$here/tripleo/parsers.py" "$here/tripleo/check.py" "$dir/lib/"
    cp "$parsers" "$dir/lib/parsers.json"
    chmod 0644 "$dir/lib/"*
    for p in openstack yum dnf rpm hostnamectl subscription-manager ssh sudo docker systemctl chronyc pcs cephadm; do
        printf '#!/bin/sh\nexec /usr/bin/python3 %s %s %s "$@"\n' "$dir/lib/standin.py" "$dir" "$p" > "$dir/bin/$p"
        chmod 0755 "$dir/bin/$p"
    done
    # RHEL 7's director has yum only; RHEL 9's has dnf (and yum as its alias).
    [ "$release" = 13 ] && rm -f "$dir/bin/dnf"
    printf '{"release": "%s", "parsers": "%s", "release_python": "%s", "tht": "%s"}\n' \
        "$release" "$dir/lib/parsers.json" "$py" "/usr/share/openstack-tripleo-heat-templates" > "$dir/config.json"
    chmod 0644 "$dir/config.json"
    [ -f "$dir/state.json" ] || echo '{}' > "$dir/state.json"
    [ -f "$dir/flags.json" ] || echo '{}' > "$dir/flags.json"
    : >> "$dir/log.jsonl"
    : >> "$dir/state.lock"
    chmod 0666 "$dir/state.json" "$dir/state.lock" "$dir/flags.json" "$dir/log.jsonl"
    [ -f "$dir/hostkey" ] || ssh-keygen -q -t ed25519 -N "" -f "$dir/hostkey"
    [ -f "$dir/clientkey" ] || ssh-keygen -q -t ed25519 -N "" -f "$dir/clientkey"
    cat > "$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/hostkey
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM yes
PidFile $dir/sshd.pid
SetEnv PATH=$dir/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
    mkdir -p /run/sshd
    rm -f "$dir/sshd.pid"
    unshare -m --propagation private sh -c '
        set -e
        d="$1"; tht="$2"
        for m in etc home root var/lib usr/share; do
            n=$(echo "$m" | tr / _)
            mkdir -p "$d/fs/$n/upper" "$d/fs/$n/work"
            mount -t overlay overlay -o "lowerdir=/$m,upperdir=$d/fs/$n/upper,workdir=$d/fs/$n/work" "/$m"
        done
        # The director is a machine of its own: no home folders of this one, root with the
        # test'"'"'s key, sudo finding the stand-ins, the release'"'"'s templates where TripleO has them.
        [ "$(stat -f -c %T /home)" = overlayfs ] && find /home -mindepth 1 -maxdepth 1 -exec rm -rf {} +
        rm -f /root/.bashrc /root/.profile /root/.bash_profile
        mkdir -p /root/.ssh && cp "$d/clientkey.pub" /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys
        mkdir -p /etc/sudoers.d
        echo "Defaults secure_path=\"$d/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"" > /etc/sudoers.d/labsh-standin
        chmod 0440 /etc/sudoers.d/labsh-standin
        mkdir -p /usr/share/openstack-tripleo-heat-templates
        mount --bind "$tht" /usr/share/openstack-tripleo-heat-templates
        exec /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"
    ' director "$dir" "$tht"
    for _ in $(seq 1 200); do
        [ -s "$dir/sshd.pid" ] && { cat "$dir/sshd.pid"; return 0; }
        sleep 0.05
    done
    echo "the stand-in director's sshd did not start:" >&2
    cat "$dir/sshd.log" >&2
    exit 1
}

stop() {
    local dir="$1"
    [ -s "$dir/sshd.pid" ] || return 0
    local pid ns
    pid="$(cat "$dir/sshd.pid")"
    ns="$(readlink "/proc/$pid/ns/mnt" 2>/dev/null || true)"
    kill "$pid" 2>/dev/null || true
    # What its sessions left running (a job the test left on the director) lives in the same
    # namespace: stopped by PID.
    # Only a namespace of its own: never this machine's (then only the sshd is stopped).
    if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/mnt)" ] && [ "$ns" != "$(readlink /proc/1/ns/mnt)" ]; then
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "${p#/proc/}" 2>/dev/null || true
        done
    fi
    rm -f "$dir/sshd.pid"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start DIR RELEASE THT PARSERS PYTHON PORT | stop DIR" >&2; exit 2 ;;
esac
