# Sourced by the tools/bench-*.sh scripts: from the source tree's root, builds labsh (release,
# in CARGO_TARGET_DIR, default ~/.cache/labsh/target) and names the binary $bin.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labsh/target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/labsh"

# A scratch folder, $work, removed when the script exits. $bin is run from a copy there, as a
# commit's build (build_base) is: a binary run where cargo left it started measurably slower than
# the same binary copied (1.3 times, paired runs of one build), which would bias every comparison.
bench_work() {
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp "$bin" "$work/labsh"
  bin="$work/labsh"
}

# Builds COMMIT (from `git archive`, in $work/base, its own target folder BASE_TARGET_DIR, default
# ~/.cache/labsh/base-target) and names its binary $base_bin, copied into $work; $base is the
# commit's short name. Commits before libvirt was loaded lazily need libvirt-dev and pkg-config.
build_base() {
  base="$(git rev-parse --short "$1")"
  mkdir -p "$work/base"
  git archive "$base" | tar -x -C "$work/base"
  local base_target="${BASE_TARGET_DIR:-$HOME/.cache/labsh/base-target}"
  (cd "$work/base" && CARGO_TARGET_DIR="$base_target" cargo build --release --locked -q)
  base_bin="$work/labsh-$base"
  cp "$base_target/release/labsh" "$base_bin"
}
