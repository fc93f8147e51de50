#!/usr/bin/env bash
# Installs what building labsh and running its main job (scripts/lab.rhai on the sandbox) need on
# a fresh Debian 12 machine: libvirt's client library (libvirt0, loaded when a script first uses
# libvirt; the build needs no C library) and qemu-img.
# tools/setup-tests.sh installs what the tests need on top (tools/test.sh runs both).
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(libvirt0)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
command -v qemu-img >/dev/null || missing+=(qemu-utils)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v qemu-img >/dev/null || { echo "qemu-img is missing after the install" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is needed: install Rust (https://rustup.rs)" >&2; exit 1; }
