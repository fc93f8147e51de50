#!/usr/bin/env bash
# Builds a tiny guest image that libguestfs can inspect and customize: busybox-static on ext4 in
# an MBR partition, with the files the tools look for. Prints the image's path.
#
#   tests/harness/busybox-image.sh DIR [OS]
#
# OS, a libosinfo id such as rhel9.4 or centos7.9, makes its /etc/os-release say that system (as
# RHEL's says "Red Hat Enterprise Linux", ID "rhel", VERSION_ID "9.4"), so libguestfs inspection
# reads the image as it: busybox-OS.qcow2. Each image is made once per DIR (about 25 s, more
# under emulation) and reused.
set -euo pipefail
dir=${1:?dir}
os=${2:-}
case "$os" in
    "") img="$dir/busybox.qcow2" ;;
    [a-z]*[0-9]) img="$dir/busybox-$os.qcow2" ;;
    *) echo "busybox-image.sh: OS $os is not a libosinfo id such as rhel9.4" >&2; exit 2 ;;
esac
if [ -f "$img" ]; then echo "$img"; exit 0; fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download busybox-static >/dev/null 2>&1)
root="$work/root"
mkdir -p "$root"
dpkg-deb -x "$work"/busybox-static_*.deb "$root"
mkdir -p "$root"/{bin,sbin,etc,root,tmp,proc,sys,dev,usr/bin,usr/sbin,var/tmp}
ln -sf /bin/busybox "$root/bin/sh"
for cmd in ls cat mkdir rm cp mv chmod chown echo grep sed touch; do ln -sf /bin/busybox "$root/bin/$cmd"; done
if [ -z "$os" ]; then
    cat > "$root/etc/os-release" <<OS
NAME="labsh test guest"
ID=linux
VERSION_ID=1
PRETTY_NAME="labsh test guest (busybox)"
OS
else
    # rhel9.4 -> ID rhel, VERSION_ID 9.4 (the fields libguestfs reads: ID, VERSION_ID, PRETTY_NAME).
    id=${os%%[0-9]*}
    version=${os#"$id"}
    case "$id" in
        rhel) name="Red Hat Enterprise Linux" ;;
        centos) name="CentOS Linux" ;;
        *) name="$id" ;;
    esac
    cat > "$root/etc/os-release" <<OS
NAME="$name"
VERSION="$version (labsh test guest)"
ID="$id"
ID_LIKE="fedora"
VERSION_ID="$version"
PRETTY_NAME="$name $version (labsh test guest)"
OS
fi
echo "/dev/sda1 / ext4 defaults 0 1" > "$root/etc/fstab"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:*:19000:0:99999:7:::" > "$root/etc/shadow"
echo "root:x:0:" > "$root/etc/group"
echo "guest" > "$root/etc/hostname"
export LIBGUESTFS_BACKEND=direct
# KVM only where a vendor module is loaded (a bare /dev/kvm in a container hangs guests).
if ! { [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; }; then
    export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
fi
virt-make-fs --format=qcow2 --type=ext4 --partition=mbr --size=+64M "$root" "$img.part"
mv "$img.part" "$img"
echo "$img"
