#!/usr/bin/env bash
# The seam, checked (.ci/run runs it): every program labsh starts is started in src/effects/
# (Effects::exec), and no write to the world drops its error. It reads the sources line by line,
# so it can be fooled; it is there to catch the easy slip, not to prove anything.
#
#   a program started outside the seam   std::process::Command (or Stdio, Child, CommandExt),
#                                        process::Command through `use std::process`, a Command
#                                        imported from anywhere but effects::process (tokio's, a
#                                        glob of std::process), libc's fork/exec/spawn/system
#   a write whose error is dropped       `let _ = ...` or `... .ok();` (`.unwrap_or_default();`,
#                                        `.unwrap_or(());`) on a statement that writes: fs::write,
#                                        create_dir, remove_file, rename, copy, set_permissions,
#                                        File::create, write, write_all, flush, set_len,
#                                        sync_all, persist; write! and writeln! too, but in a file
#                                        that writes with std::fmt::Write only (into a String,
#                                        which cannot fail)
#
# An exception is a line of tools/check-seam.allow: `FILE | TEXT | REASON`, TEXT a piece of the
# statement allowed (spaces as in the source, a statement over several lines joined by one space),
# REASON why it stays so (without " | ").
# An exception that allows nothing any more is an error too: remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
allow=tools/check-seam.allow

# The files whose write!/writeln! can only go to a String (std::fmt::Write, never io::Write):
# those cannot fail.
fmt_only=$(grep -rlE 'fmt::(\{[^}]*\b)?Write\b' src | xargs -r grep -LE 'io::(\{[^}]*\b)?Write\b' || true)

findings=$(find src -name '*.rs' | LC_ALL=C sort | xargs awk -v fmt_only="$fmt_only" '
BEGIN {
    n = split(fmt_only, o, "\n")
    for (i = 1; i <= n; i++)
        to_string[o[i]] = 1
}
function flush_stmt() {
    if (stmt != "") {
        s = stmt
        dropped = s ~ /^let _ *(:[^=]*)?=/ ||
            (s !~ /^let / && (s ~ /\.(ok|unwrap_or_default)\(\) *;$/ || s ~ /\.unwrap_or\(\(\)\) *;$/))
        if (dropped &&
            (s ~ /fs::(write|create_dir|create_dir_all|remove_file|remove_dir|remove_dir_all|rename|copy|set_permissions|hard_link|soft_link)\(/ ||
             s ~ /symlink\(|File::create/ ||
             s ~ /\.(write_all|write|write_fmt|flush|set_len|sync_all|sync_data|persist)\(/ ||
             (!(stmt_file in to_string) && s ~ /write(ln)?!\(/)))
            printf "%s\t%d\twrite\t%s\n", stmt_file, start, s
    }
    stmt = ""
}
FNR == 1 {
    flush_stmt()
    seam = FILENAME ~ /^src\/effects\//
}
{
    line = $0
    sub(/^[ \t]+/, "", line)
    if (line ~ /^\/\//)
        next
    # A comment after the end of a statement.
    if (match(line, /[;{}][ \t]*\/\/[^"]*$/))
        line = substr(line, 1, RSTART)
    sub(/[ \t]+$/, "", line)
    if (line == "")
        next
    if (!seam) {
        if (line ~ /std::process::(Command|Stdio|Child)([^A-Za-z0-9_]|$)/ ||
            line ~ /std::process::\{[^}]*(Command|Stdio|Child)/ ||
            line ~ /(^|[^:])process::Command([^A-Za-z0-9_]|$)/ ||
            line ~ /CommandExt/ ||
            line ~ /std::process::\*/ ||
            line ~ /tokio::process/ ||
            (line ~ /^(pub(\([a-z]+\))? )?use .*[^A-Za-z0-9_]Command([^A-Za-z0-9_]|$)/ && line !~ /effects::process::/) ||
            line ~ /libc::(fork|vfork|exec[a-z]*|posix_spawnp?|system|popen)\(/)
            printf "%s\t%d\tcommand\t%s\n", FILENAME, FNR, line
    }
    if (stmt == "") {
        start = FNR
        stmt_file = FILENAME
        stmt = line
    } else {
        stmt = stmt " " line
    }
    if (line ~ /[;{}]$/)
        flush_stmt()
}
END { flush_stmt() }
')

# The exceptions: FILE | TEXT | REASON.
allow_file=() allow_text=() allow_used=()
n=0
bad=0
while IFS= read -r entry || [ -n "$entry" ]; do
    n=$((n + 1))
    case "$entry" in '' | '#'*) continue ;; esac
    file=${entry%% | *}
    reason=${entry##* | }
    rest=${entry#* | }
    text=${rest% | *}
    if [ "$file" = "$entry" ] || [ "$rest" = "$text" ] || [ -z "$text" ] || [ -z "$reason" ]; then
        echo "$allow:$n: not FILE | TEXT | REASON: $entry"
        bad=1
        continue
    fi
    allow_file+=("$file")
    allow_text+=("$text")
    allow_used+=(0)
done <"$allow"

while IFS=$'\t' read -r file line kind text; do
    [ -n "$file" ] || continue
    allowed=0
    for i in "${!allow_file[@]}"; do
        if [ "${allow_file[$i]}" = "$file" ] && [[ "$text" == *"${allow_text[$i]}"* ]]; then
            allow_used[i]=1
            allowed=1
        fi
    done
    [ "$allowed" = 1 ] && continue
    case "$kind" in
    command) echo "$file:$line: a program started outside the seam: $text" ;;
    write) echo "$file:$line: a write whose error is dropped: $text" ;;
    esac
    bad=1
done <<<"$findings"

for i in "${!allow_file[@]}"; do
    if [ "${allow_used[$i]}" = 0 ]; then
        echo "$allow: allows nothing any more (remove it): ${allow_file[$i]} | ${allow_text[$i]}"
        bad=1
    fi
done

if [ "$bad" = 1 ]; then
    echo "start programs through src/effects/ (Effects::exec, inside change or read) and handle every"
    echo "write's error; a real exception goes in $allow with its reason"
    exit 1
fi
echo "the seam holds: no program started outside src/effects/, no write's error dropped"
