# Sourced by the tools/bench-*.sh scripts: from the source tree's root, builds labsh (release,
# in CARGO_TARGET_DIR, default ~/.cache/labsh/target) and names the binary $bin.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labsh/target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/labsh"

# A scratch folder, $work, removed when the script exits.
bench_work() {
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
}
