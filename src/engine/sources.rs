//! The text of every script and module compiled in this process, by source name, so that errors
//! can show the offending line with a caret; and the one reader of script, module and profile
//! files, which says what is wrong with one that cannot be compiled.

use crate::error::{Context, Error};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Process-wide: a source name is a file's path, `-e` or the REPL's numbered line (`repl[N]`),
/// whose text is shown with any error of the process, also where no session is (a script that
/// does not compile).
static SOURCES: Mutex<Option<HashMap<String, Arc<str>>>> = Mutex::new(None);

pub fn register(name: &str, text: &str) {
    let mut g = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashMap::new)
        .insert(name.to_string(), text.into());
}

pub fn get(name: &str) -> Option<Arc<str>> {
    let g = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref().and_then(|m| m.get(name).cloned())
}

/// The text of every script and module registered so far.
pub fn all() -> Vec<Arc<str>> {
    let g = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

/// The most bytes a script, module or profile file may hold (the stdlib's largest holds a
/// hundredth of it).
pub const MAX_SOURCE_BYTES: u64 = 4 << 20;

/// The text of the script, module or profile at `path`: a regular file of at most
/// [`MAX_SOURCE_BYTES`] of UTF-8, a byte-order mark at its start dropped. The error names the
/// file and what is wrong with it: missing, not a regular file (a folder, a FIFO, a device),
/// over the limit, or not UTF-8 (with the line and column of the first byte that is not).
/// A FIFO is never waited on: the file is opened without blocking and looked at before it is
/// read.
/// `what` names the file in the error: "script", "module", "profile".
/// A path that names no file but one labsh ships (`scripts/lab.rhai`, `profiles/current.rhai`:
/// see [`crate::paths::shipped`]) is that one.
pub fn read(path: &Path, what: &str) -> Result<String, Error> {
    match read_limited(path, what, MAX_SOURCE_BYTES) {
        Err(e) if std::fs::symlink_metadata(path).is_err() => {
            crate::paths::shipped(path).map(str::to_string).ok_or(e)
        }
        r => r,
    }
}

fn read_limited(path: &Path, what: &str, limit: u64) -> Result<String, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("cannot read {what} {shown}"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {what} {shown}"))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{what} {shown} is not a regular file ({}): give the path of a .rhai file",
            crate::paths::file_kind(&meta)
        )));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {shown}"))?;
    if bytes.len() as u64 > limit {
        let size = if limit.is_multiple_of(1 << 20) {
            format!("{} MiB", limit >> 20)
        } else {
            format!("{limit} bytes")
        };
        return Err(Error::invalid(format!(
            "{what} {shown} is larger than {size}, the limit of a script, module or profile file"
        )));
    }
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(t) => Ok(t.to_string()),
        Err(e) => {
            let good = &body[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            // Every byte before the bad one is valid UTF-8.
            let column = String::from_utf8_lossy(&good[start..]).chars().count() + 1;
            Err(Error::invalid(format!(
                "{shown}:{line}:{column}: not UTF-8 text (byte 0x{:02x}): labsh reads scripts, \
                 modules and profiles as UTF-8; convert the file (iconv -t UTF-8)",
                body[e.valid_up_to()]
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::temp_file;

    #[test]
    fn a_source_is_read_without_its_bom_and_bad_ones_are_named() {
        let (_d, p) = temp_file("bom.rhai", "\u{feff}let x = 1;\n");
        assert_eq!(read(&p, "script").unwrap(), "let x = 1;\n");

        let (d, p) = temp_file("latin1.rhai", "");
        std::fs::write(&p, b"let a = 1;\nlet s = \"caf\xe9\";\n").unwrap();
        let e = read(&p, "script").unwrap_err();
        assert!(
            e.message()
                .contains("latin1.rhai:2:13: not UTF-8 text (byte 0xe9)"),
            "{e}"
        );

        let e = read(d.path(), "script").unwrap_err();
        assert!(
            e.message().contains("is not a regular file (a directory)"),
            "{e}"
        );
        let e = read(Path::new("/dev/zero"), "profile").unwrap_err();
        assert!(
            e.message()
                .contains("is not a regular file (a character device)"),
            "{e}"
        );
        let e = read(&d.path().join("missing.rhai"), "module").unwrap_err();
        assert!(
            e.message().starts_with("cannot read module ") && e.message().contains("missing.rhai"),
            "{e}"
        );

        let (_d, p) = temp_file("big.rhai", &"x".repeat(2048));
        let e = read_limited(&p, "script", 1024).unwrap_err();
        assert!(
            e.message().contains("is larger than 1024 bytes, the limit"),
            "{e}"
        );
        assert!(read_limited(&p, "script", 4096).is_ok());
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo.rhai");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: mkfifo with a NUL-terminated path; the result is checked.
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(rc, 0);
        let e = read(&p, "script").unwrap_err();
        assert!(
            e.message().contains("is not a regular file (a FIFO)"),
            "{e}"
        );
    }
}
