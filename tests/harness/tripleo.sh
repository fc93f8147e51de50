#!/usr/bin/env bash
# The TripleO releases' own code, for the tests that check labsh's overcloud files and commands
# with it: each release's tripleo-heat-templates (the sdist from PyPI, rendered with its own
# tools/process-templates.py), os-net-config, python-tripleoclient (with instack-undercloud for
# Queens) and tripleo-ansible's schemas. Everything is built once into a cache keyed by version
# and reused (a folder is done when its .ok marker is there):
#
#   tests/harness/tripleo.sh install    # builds what is missing (first time ~12 min, then ~0 s)
#   tests/harness/tripleo.sh env        # prints the paths, KEY=VALUE, for the tests
#
# Releases: Queens (OSP 13): tripleo-heat-templates 8.4.1, os-net-config 8.5.1,
# python-tripleoclient 9.3.1, instack-undercloud 8.4.9. Wallaby (OSP 17.1):
# tripleo-heat-templates 14.3.0, os-net-config 14.2.0, python-tripleoclient 16.5.0; tripleo-ansible
# 6.0.0 (the only one on PyPI) for the network_data v2 and baremetal_deployment schemas.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../data/tripleo"
cache="${LABSH_TRIPLEO_CACHE:-$HOME/.cache/labsh/tripleo}"
THT_QUEENS=8.4.1 THT_WALLABY=14.3.0 ONC_QUEENS=8.5.1 ONC_WALLABY=14.2.0
TC_QUEENS=9.3.1 TC_WALLABY=16.5.0 INSTACK=8.4.9 TA=6.0.0

env_out() {
    cat <<EOF
TRIPLEO_CACHE=$cache
THT_13=$cache/tht-$THT_QUEENS/rendered
THT_17_1=$cache/tht-$THT_WALLABY/rendered
ONC_13=$cache/onc-$ONC_QUEENS/bin/os-net-config
ONC_17_1=$cache/onc-$ONC_WALLABY/bin/os-net-config
TC_13=$cache/tc-$TC_QUEENS/bin/python
TC_17_1=$cache/tc-$TC_WALLABY/bin/python
PARSERS_13=$cache/parsers-$TC_QUEENS.json
PARSERS_17_1=$cache/parsers-$TC_WALLABY.json
TRIPLEO_ANSIBLE=$cache/tripleo-ansible-$TA
EOF
}

# A venv with the old setuptools these releases' pbr builds need (anyjson 0.3.3 uses use_2to3).
mkvenv() {
    rm -rf "$1"
    python3 -m venv "$1"
    "$1/bin/pip" install -q --disable-pip-version-check 'setuptools<58' pbr wheel
}

ok() { [ -f "$1/.ok" ]; }

tht() {  # version
    local d="$cache/tht-$1"
    ok "$d" && return
    rm -rf "$d" && mkdir -p "$d"
    "$cache/venv-tools/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: \
        --no-build-isolation -d "$d" "tripleo-heat-templates==$1" || return 1
    tar -xzf "$d/tripleo-heat-templates-$1.tar.gz" -C "$d" || return 1
    local src="$d/tripleo-heat-templates-$1"
    # The release's own renderer, on its own roles and networks.
    "$cache/venv-tools/bin/python" "$src/tools/process-templates.py" -p "$src" \
        -r roles_data.yaml -n network_data.yaml -o "$d/rendered" > "$d/render.log" 2>&1 || return 1
    touch "$d/.ok"
}

onc() {  # version
    local d="$cache/onc-$1"
    ok "$d" && return
    mkvenv "$d" || return 1
    "$d/bin/pip" install -q --disable-pip-version-check --no-build-isolation "os-net-config==$1" || return 1
    # Its validator reaches collections.Mapping (gone in Python 3.10): the shim puts it back.
    cp "$here/tripleo/py311_shim.py" "$(echo "$d"/lib/python3*/site-packages)/sitecustomize.py" || return 1
    touch "$d/.ok"
}

tc() {  # version constraints shim|- [extra packages]
    local v="$1" d="$cache/tc-$1" c="$2" shim="$3"
    shift 3
    ok "$d" && return
    mkvenv "$d" || return 1
    "$d/bin/pip" install -q --disable-pip-version-check --no-build-isolation -c "$c" \
        "python-tripleoclient==$v" "$@" || return 1
    if [ "$shim" != - ]; then
        cp "$shim" "$(echo "$d"/lib/python3*/site-packages)/sitecustomize.py" || return 1
    fi
    touch "$d/.ok"
}

install() {
    local sudo="" missing=()
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # os-net-config 14.2.0 builds OVS objects only where /usr/bin/ovs-appctl exists; the
    # stand-in director prepares its stack user with sudo.
    for p in openvswitch-common sudo; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    mkdir -p "$cache"
    if ! ok "$cache/venv-tools"; then
        mkvenv "$cache/venv-tools"
        # process-templates.py needs jinja2, yaml and six; the checkers jsonschema.
        "$cache/venv-tools/bin/pip" install -q --disable-pip-version-check jinja2 pyyaml six jsonschema
        touch "$cache/venv-tools/.ok"
    fi
    tht "$THT_QUEENS"
    tht "$THT_WALLABY"
    onc "$ONC_QUEENS"
    onc "$ONC_WALLABY"
    if ! ok "$cache/tripleo-ansible-$TA"; then
        rm -rf "$cache/tripleo-ansible-$TA" "$cache/ta-dl"
        "$cache/venv-tools/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: \
            --no-build-isolation -d "$cache/ta-dl" "tripleo-ansible==$TA"
        tar -xzf "$cache/ta-dl/tripleo-ansible-$TA.tar.gz" -C "$cache"
        touch "$cache/tripleo-ansible-$TA/.ok"
    fi
    # The two clients take ~5 min each: built side by side, each logging to its own file.
    local pids=()
    if ! ok "$cache/tc-$TC_QUEENS"; then
        # Queens' openstacksdk and cliff need Python 3.11's removed aliases back (a shim of ours).
        tc "$TC_QUEENS" "$data/constraints-queens.txt" "$here/tripleo/py311_shim.py" "instack-undercloud==$INSTACK" \
            > "$cache/tc-$TC_QUEENS.log" 2>&1 &
        pids+=($!)
    fi
    if ! ok "$cache/tc-$TC_WALLABY"; then
        tc "$TC_WALLABY" "$data/constraints-wallaby.txt" - > "$cache/tc-$TC_WALLABY.log" 2>&1 &
        pids+=($!)
    fi
    for p in "${pids[@]}"; do
        wait "$p" || { echo "a python-tripleoclient venv did not build; see $cache/tc-*.log" >&2; exit 1; }
    done
    # The command-line parsers of each client, as its cliff commands build them.
    for v in "$TC_QUEENS" "$TC_WALLABY"; do
        if [ ! -s "$cache/parsers-$v.json" ] || [ "$here/tripleo/parsers.py" -nt "$cache/parsers-$v.json" ]; then
            PYTHONWARNINGS=ignore "$cache/tc-$v/bin/python" "$here/tripleo/parsers.py" dump > "$cache/parsers-$v.json.tmp" 2>/dev/null
            mv "$cache/parsers-$v.json.tmp" "$cache/parsers-$v.json"
        fi
    done
}

case "${1:-}" in
    install) install ;;
    env) env_out ;;
    *) echo "usage: $0 install|env" >&2; exit 2 ;;
esac
