#!/usr/bin/env bash
# Installs what the tests need on top of tools/setup.sh: tmux for the REPL tests, the real
# components the integration tests drive (libvirtd with QEMU under emulation, dnsmasq, iptables,
# ipmitool, libguestfs with a kernel for its appliance, an sshd, Graphviz, tini, kubectl),
# VirtualBMC and sushy-tools (their libvirt-python builds against libvirt-dev, with pkg-config),
# the devcloud's OpenStack services and Ironic, and python-openstackclient with python-ironicclient
# to read back what labsh made. Venvs live under ~/.cache/labsh and are built once.
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(tmux libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
          qemu-system-x86 dnsmasq-base iptables ipmitool libguestfs-tools linux-image-amd64
          openssh-server netcat-openbsd graphviz tini libvirt-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    # qemu-system-x86 7.2 needs Debian 12's qemu-utils, not a backport: pin it (it keeps qemu-img).
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades \
        "${missing[@]}" qemu-utils/bookworm
fi
# kubectl for the oc binding's tests (any recent one; Debian's kubernetes-client when none is there).
if ! command -v kubectl >/dev/null && ! command -v oc >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client
fi

# VirtualBMC and sushy-tools for the BMC tests, in a venv outside the clone (kept between runs).
venv="${LABSH_BMC_VENV:-$HOME/.cache/labsh/venv-bmc}"
if ! "$venv/bin/vbmc" --version >/dev/null 2>&1 || ! [ -x "$venv/bin/sushy-emulator" ]; then
    echo "installing VirtualBMC and sushy-tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$(dirname "$0")/bmc-requirements.txt"
fi

# The devcloud's services (Keystone, Nova, Placement, Neutron, Glance, Swift; Ironic in a venv of
# its own), pinned.
"$(dirname "$0")/../tests/harness/devcloud.sh" install

# python-openstackclient in a small venv of its own (the cross-check and the benchmark).
osc="${LABSH_OSC_VENV:-$HOME/.cache/labsh/venv-osc}"
if ! [ -x "$osc/bin/openstack" ]; then
    echo "installing python-openstackclient into $osc"
    python3 -m venv "$osc"
    "$osc/bin/pip" install -q --disable-pip-version-check -c "$(dirname "$0")/devcloud-constraints.txt" python-openstackclient
fi
# Its baremetal commands (python-ironicclient), for the cross-check of what labsh enrolls and the
# node-import benchmark.
if ! "$osc/bin/python" -c 'import ironicclient' >/dev/null 2>&1; then
    echo "installing python-ironicclient into $osc"
    "$osc/bin/pip" install -q --disable-pip-version-check -c "$(dirname "$0")/devcloud-constraints.txt" python-ironicclient
fi
