#!/usr/bin/env bash
# Runs every test: unit tests, the doc examples of every binding, the integration tests through
# the real binary (REPL in tmux included) and the stdlib's Rhai tests. Installs what it needs first.
#
#   tools/test.sh          the full tier: every test, with the devcloud, real libvirtd, sshd, BMCs
#                          and the TripleO releases' own code
#   tools/test.sh --fast   the fast tier: unit tests, the binding examples, the CLI, the REPL, the
#                          stdlib's Rhai tests, the sandbox lab (labs side by side, its status, the
#                          README's and the guide's commands) and the bindings on stand-ins that
#                          need no daemon (libvirt's test driver, qemu-img, a recorded installer)
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
case "${1:-}" in
    --fast) fast=1 ;;
    "") ;;
    *) echo "usage: tools/test.sh [--fast]" >&2; exit 2 ;;
esac
tools/setup.sh
# Keep build products outside the clone so a second run is fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labsh/target}"
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
if [ "$fast" = 1 ]; then
    # The REPL tests drive the real binary in tmux.
    if ! command -v tmux >/dev/null; then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tmux
    fi
    # The lab's tests read its YAML back with PyYAML (a reader labsh does not use itself), from
    # python3 or, without it there, from a venv of its own (tests/lab.rs looks in both).
    yaml_venv="$HOME/.cache/labsh/venv-yaml"
    # A venv whose install failed has a python without yaml: it is made again.
    if ! python3 -c 'import yaml' 2>/dev/null && ! "$yaml_venv/bin/python" -c 'import yaml' 2>/dev/null; then
        python3 -m venv --clear "$yaml_venv"
        "$yaml_venv/bin/pip" install -q --disable-pip-version-check -c tools/devcloud-constraints.txt pyyaml
    fi
    exec cargo nextest run --no-fail-fast --locked -E 'kind(bin)
        or test(/^(cli|repl|scripts|plans|errors|secrets|redaction|img|virt|ocp|labs|preflight|provision|picture|variants|substrate)::/)
        or test(/^status::(status_on_the_sandbox|status_refuses|a_profile_or_target_that_cannot|status_reads_while|status_watch|a_run_of_the_lab|a_director_that_never)/)
        or test(/^(ssh_node|console)::sandbox_/)
        or (test(/^rhoso::/) and not test(/os_net_config/))
        or (test(/^networks::/) and not test(/real_libvirtd/))
        or test(=lab::the_sandbox_run_writes_every_artifact_and_a_second_run_changes_nothing)
        or test(=lab::the_seeds_install_config_stays_byte_for_byte)
        or test(=snapshot::on_the_sandbox_a_snapshot_keeps_the_lab_and_its_stages_and_bad_input_changes_nothing)
        or test(=snapshot::a_rhoso_labs_teardown_leaves_a_tripleo_lab_beside_it_untouched)
        or test(=snapshot::a_rhoso_labs_snapshot_after_controlplane_and_dataplane_is_taken_and_reverted)'
fi
tools/setup-tests.sh
# The TripleO releases' own code the overcloud tests check with (built once into
# ~/.cache/labsh/tripleo, keyed by version; later runs reuse it).
tests/harness/tripleo.sh install
# The devcloud (OpenStack on 127.0.0.1) for the cloud tests; stopped by PID when the tests end.
tests/harness/devcloud.sh start
trap 'tests/harness/devcloud.sh stop' EXIT
cargo nextest run --no-fail-fast --locked
