#!/usr/bin/env bash
# The floor of the seed's L1: the libvirt calls and disk images of labsh's plan of tools/bench/l1.rhai
# (the same network and domain XML, the same qemu-img commands), made directly with virsh and
# qemu-img in the best order this libvirt allows, every independent call in a process of its own:
#   - `provisioning` defined, then started while `default`'s DHCP range is deleted (libvirt makes
#     the start wait for that change: it checks the new bridge against every network);
#   - meanwhile the images (the base, then every overlay and OSD disk at once) and the 8 domains
#     defined and autostarted at once (a definition does not wait for the networks);
#   - once all of that is done, the 8 domains started at once.
# No BMCs: this is libvirt's and QEMU's share, what labsh cannot go below.
#   tools/bench/l1-floor.sh URI PLAN.json   (PLAN: `labsh run tools/bench/l1.rhai --plan --json`
#                                            against a daemon with no L1 yet)
set -euo pipefail
uri=$1 plan=$2
V() { virsh -q -c "$uri" "$@" >/dev/null; }
xml=$(mktemp -d)
trap 'rm -rf "$xml"' EXIT
# The effects of the plan, one per line: op, target (name before '@'), and what to run.
jq -r 'select(.event == "effect") | [.op, (.target | split("@")[0]), (.args.xml // .args.argv // "")] | @tsv' "$plan" > "$xml/effects"
domains=()
while IFS=$'\t' read -r op name what; do
    case $op in
        virt.network.define) printf '%s' "$what" > "$xml/net-$name.xml" ;;
        virt.domain.define) printf '%s' "$what" > "$xml/$name.xml"; domains+=("$name") ;;
        img.create) case $name in *-osd*) echo "$what" >> "$xml/disks" ;; *) echo "$what" > "$xml/base" ;; esac ;;
        img.overlay) echo "$what" >> "$xml/disks" ;;
    esac
done < "$xml/effects"
# The folders of the disks, as labsh makes them (untimed in labsh too: a mkdir).
for f in $(awk '{print $NF}' "$xml/base" "$xml/disks"); do mkdir -p "$(dirname "$f")"; done
[ "${#domains[@]}" -gt 0 ] && [ -s "$xml/base" ] || { echo "$plan: no domain or base image to make (plan it against a fresh daemon)" >&2; exit 1; }

V net-define "$xml/net-provisioning.xml"
pids=()
( V net-start provisioning && V net-autostart provisioning ) & pids+=($!)
( V net-update default delete ip-dhcp-range "<range start='192.168.122.2' end='192.168.122.254'/>" --live --config && V net-autostart default ) & pids+=($!)
( bash -e "$xml/base"; dp=(); while read -r cmd; do $cmd & dp+=($!); done < "$xml/disks"; for p in "${dp[@]}"; do wait "$p"; done ) & pids+=($!)
for d in "${domains[@]}"; do ( V define "$xml/$d.xml" && V autostart "$d" ) & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
for d in "${domains[@]}"; do V start "$d" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
