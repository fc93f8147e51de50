#!/usr/bin/env bash
# The floor of a whole-lab snapshot save of the seed's L1: the libvirt calls labsh's save makes
# (every domain paused, each one's internal snapshot with its memory, every domain resumed), made
# directly with virsh in the best order for a consistent snapshot, every independent call in a
# process (and a libvirt connection) of its own:
#   - the running domains paused at once;
#   - once all are paused, every domain's snapshot at once;
#   - once all are taken, every domain resumed at once.
# No record, no BMCs, no lab folders: this is libvirt's and QEMU's share, what labsh cannot go
# below.
#   tools/bench/snapshot-floor.sh URI NAME DOMAIN...
set -euo pipefail
uri=$1 name=$2
shift 2
V() { virsh -q -c "$uri" "$@" >/dev/null; }
all() {
    local pids=()
    for d in "${domains[@]}"; do V "$@" --domain "$d" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p"; done
}
domains=("$@")
all suspend
all snapshot-create-as --name "$name"
all resume
