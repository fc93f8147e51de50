//! The REPL's history file (STATE/history): labsh's own file, 0600 in the private state folder
//! and opened without following a symbolic link (one planted at its path is refused, nothing is
//! written where it points). It keeps rustyline's format, so earlier sessions' lines read back:
//! a `#V2` first line, then one entry a line with its line breaks and backslashes escaped.

use crate::error::{Context, Error};
use crate::paths;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

const V2: &str = "#V2";

/// The most entries kept; a file that holds more is cut to the newest when it is read.
pub const MAX: usize = 10_000;

/// One entry as a line of the file.
fn escape(entry: &str) -> String {
    entry.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A line of the file as its entry.
fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The entries of the history text, oldest first (a file without the `#V2` line holds one
/// entry a line, unescaped).
fn parse(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    match lines.next() {
        None => vec![],
        Some(first) if first == V2 => lines.map(unescape).collect(),
        Some(first) => std::iter::once(first)
            .chain(lines)
            .map(str::to_string)
            .collect(),
    }
}

/// The file's text for `entries`.
fn render(entries: &[String]) -> String {
    let mut s = format!("{V2}\n");
    for e in entries {
        s.push_str(&escape(e));
        s.push('\n');
    }
    s
}

/// The entries of the history file at `path`, oldest first, at most [`MAX`] (a longer file is
/// replaced by one of its newest entries); none when there is no file yet.
#[expect(
    clippy::disallowed_methods,
    reason = "the REPL's history file: the user's own, not a lab's"
)]
pub fn load(path: &Path) -> Result<Vec<String>, Error> {
    let mut f = match paths::open_private(path, OpenOptions::new().read(true)) {
        Ok(f) => f,
        Err(_) if !path.exists() && std::fs::symlink_metadata(path).is_err() => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut bytes = vec![];
    f.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut entries = parse(&String::from_utf8_lossy(&bytes));
    if entries.len() > MAX {
        entries.drain(..entries.len() - MAX);
        let tmp = format!("{}.labsh-tmp.{}", path.display(), std::process::id());
        let replaced = paths::open_private(
            Path::new(&tmp),
            OpenOptions::new().write(true).create_new(true),
        )
        .and_then(|mut t| {
            t.write_all(render(&entries).as_bytes())
                .with_context(|| format!("cannot write {tmp}"))
        })
        .and_then(|_| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot replace {}", path.display()))
        });
        if replaced.is_err() {
            // The history stays as it was; what failed is returned below.
            if let Err(e) = std::fs::remove_file(&tmp) {
                tracing::debug!("cannot remove {tmp}: {e}");
            }
        }
        replaced?;
    }
    Ok(entries)
}

/// Adds `entry` at the end of the history file at `path` (made, 0600, when there is none).
pub fn append(path: &Path, entry: &str) -> Result<(), Error> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the REPL's history file: the user's own, not a lab's"
    )]
    let mut f = paths::open_private(path, OpenOptions::new().append(true).create(true))?;
    let new = f.metadata().map(|m| m.len() == 0).unwrap_or(false);
    let mut line = if new {
        format!("{V2}\n")
    } else {
        String::new()
    };
    line.push_str(&escape(entry));
    line.push('\n');
    f.write_all(line.as_bytes())
        .with_context(|| format!("cannot append to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn entries_round_trip_in_rustylines_format() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state/history");
        assert_eq!(load(&p).unwrap(), Vec::<String>::new());
        for e in ["let a = 1;", "fn f() {\n  \\n }", "print(\"x\\y\")"] {
            append(&p, e).unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("#V2\nlet a = 1;\nfn f() {\\n  \\\\n }\n"),
            "{text:?}"
        );
        assert_eq!(
            load(&p).unwrap(),
            ["let a = 1;", "fn f() {\n  \\n }", "print(\"x\\y\")"]
        );
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // rustyline's files from before read back; an old file without #V2 too.
        std::fs::write(&p, "one\ntwo\n").unwrap();
        assert_eq!(load(&p).unwrap(), ["one", "two"]);
    }

    #[test]
    fn a_long_file_is_cut_to_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history");
        let all: Vec<String> = (0..MAX + 5).map(|i| format!("x{i}")).collect();
        std::fs::write(&p, render(&all)).unwrap();
        let got = load(&p).unwrap();
        assert_eq!(got.len(), MAX);
        assert_eq!(got[0], "x5");
        assert_eq!(parse(&std::fs::read_to_string(&p).unwrap()), got);
    }

    #[test]
    fn a_link_at_the_history_path_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "mine\n").unwrap();
        let p = dir.path().join("history");
        std::os::unix::fs::symlink(&outside, &p).unwrap();
        assert!(append(&p, "let x = 1;")
            .unwrap_err()
            .message()
            .contains("symbolic link"));
        assert!(load(&p).unwrap_err().message().contains("symbolic link"));
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "mine\n");
    }
}
