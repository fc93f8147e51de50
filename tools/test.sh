#!/usr/bin/env bash
# Runs every test: unit tests, the doc examples of every binding, the integration tests through
# the real binary (REPL in tmux included) and the stdlib's Rhai tests. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/setup-tests.sh
# The TripleO releases' own code the overcloud tests check with (built once into
# ~/.cache/labsh/tripleo, keyed by version; later runs reuse it).
tests/harness/tripleo.sh install
# Keep build products outside the clone so a second run is fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labsh/target}"
# The devcloud (OpenStack on 127.0.0.1) for the cloud tests; stopped by PID when the tests end.
tests/harness/devcloud.sh start
trap 'tests/harness/devcloud.sh stop' EXIT
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast --locked
else
    cargo test --no-fail-fast --locked
fi
