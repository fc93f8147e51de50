#!/usr/bin/env bash
# The seam, what clippy cannot see of it (.ci/run runs it after clippy, which keeps the rest:
# clippy.toml's disallowed lists, Cargo.toml's [lints.clippy]; see docs/ARCHITECTURE.md):
#   a result dropped without a lint   `_ = ..;`, `.unwrap_or_default();`, `.unwrap_or(());`, and
#                                     `drop(..)` or `let _name = ..` of a write (in src/, build.rs)
#   the seam's lints switched off     an allow of them (or of clippy::all, style, restriction) but
#                                     in src/effects/mod.rs, src/main.rs's cfg_attr(test, ..) and
#                                     tests/lib.rs; an expect of them module-wide or without reason
# It reads the sources line by line, so it can be fooled: it catches the easy slip.
set -euo pipefail
cd "$(dirname "$0")/.."

find build.rs src tests -name '*.rs' | LC_ALL=C sort | xargs awk '
function report(line, what) { printf "%s:%d: %s\n", FILENAME, line, what; bad = 1 }
function unquoted(s) { gsub(/"[^"]*"/, "\"\"", s); return s }
function check_stmt(s, line,    t, used) {
    t = unquoted(s)
    # In tests, or the tail of an expression cut at a line ending in `{`.
    if (FILENAME ~ /^tests\// || gsub(/[)}\]]/, "", t) > gsub(/[({\[]/, "", t))
        return
    used = s ~ /^(let|return|break) / || s ~ /^[^(]*[^=!<>]=[^=>]/
    if (s ~ /^_ *=([^=>]|$)/ || (!used && s ~ /\.unwrap_or(_default\(\)|\(\(\)\)) *;$/))
        report(line, "a result dropped without a lint")
    else if ((s ~ /^drop\(/ || s ~ /^let _[A-Za-z0-9_]+ *(:[^=]*)?=[^=]/) && s ~ write_call)
        report(line, "a write whose result is dropped without a lint")
}
function check_attr(a, line) {
    a = unquoted(a)
    if (a !~ seam_lint)
        return
    if (a ~ /^#!?\[(cfg_attr\(.*)?allow\(/) {
        if (!(FILENAME ~ /^(src\/effects\/mod|tests\/lib)\.rs$/ && a ~ /^#!\[allow\(/) &&
            !(FILENAME == "src/main.rs" && a ~ /^#!\[cfg_attr\( *test *, *allow\(/))
            report(line, "the seam switched off")
    } else if (a ~ /^#!\[/ && FILENAME !~ /^src\/effects\//)
        report(line, "an exception to the seam module-wide")
    else if (a !~ /reason *= *""/)
        report(line, "an exception to the seam without its reason")
}
BEGIN {
    seam_lint = "(disallowed_methods|disallowed_types|let_underscore_must_use|unused_result_ok|clippy::(all|style|restriction))([^A-Za-z0-9_]|$)"
    write_call = "(fs::[a-z_]+|File::create[a-z_]*|symlink|[.](write|write_all|write_fmt|flush|set_len|sync_all|sync_data|persist)|write(ln)?!)\\("
}
FNR == 1 { stmt = attr = "" }
{
    line = $0
    sub(/^[ \t]+/, "", line)
    if (attr == "" && line ~ /^\/\//)
        next
    # A comment after the end of a statement.
    if (match(line, /[;{}][ \t]*\/\/[^"]*$/))
        line = substr(line, 1, RSTART)
    sub(/[ \t]+$/, "", line)
    if (line == "")
        next
    # An attribute, up to where its brackets close.
    if (attr != "" || (stmt == "" && line ~ /^#!?\[/)) {
        if (attr == "")
            attr_start = FNR
        attr = attr (attr == "" ? "" : " ") line
        t = unquoted(attr)
        if (gsub(/\[/, "", t) == gsub(/\]/, "", t)) {
            check_attr(attr, attr_start)
            attr = ""
        }
        next
    }
    # A statement, up to the line that ends it.
    if (stmt == "")
        start = FNR
    stmt = stmt (stmt == "" ? "" : " ") line
    if (line ~ /[;{}]$/) {
        check_stmt(stmt, start)
        stmt = ""
    }
}
END { exit bad }
' || {
    echo "handle the result (a write's error is returned or reported), or drop it on purpose with"
    echo "\`let _ =\` under #[expect(clippy::let_underscore_must_use, reason = \"why\")]; an exception to"
    echo "the seam is marked on its statement or small function: #[expect(clippy::..., reason = \"why\")]"
    exit 1
}
echo "the seam holds (clippy keeps the rest): no result dropped without a lint, the seam's lints on"
