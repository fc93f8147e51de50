//! Files labsh writes: made to hold given content, `ok` when they already do, replaced
//! atomically, 0600 when they hold secrets.

use super::{Effects, Op};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Makes `path` hold `text` (parent folders made). `private`: mode 0600, for anything holding a
/// secret. `shown`: what plans and journals show as the content (secrets masked); `None` shows
/// nothing. Returns whether the file changed.
pub fn ensure_file(
    fx: &Effects,
    path: &str,
    text: &str,
    private: bool,
    shown: Option<Value>,
) -> Result<bool, String> {
    ensure_file_with(fx, path, text, private, shown, false)
}

/// As [`ensure_file`]; `in_place` rewrites the file itself instead of replacing it (for files
/// that are bind-mounted, such as /etc/hosts in a container, where a rename fails).
pub fn ensure_file_with(
    fx: &Effects,
    path: &str,
    text: &str,
    private: bool,
    shown: Option<Value>,
    in_place: bool,
) -> Result<bool, String> {
    let mut op = Op::new("file.write", path);
    if private {
        op = op.arg("mode", "0600");
    }
    let same = std::fs::read_to_string(path).is_ok_and(|t| t == text);
    let mode_ok =
        !private || std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o777 == 0o600);
    if same && mode_ok {
        fx.unchanged(op);
        return Ok(false);
    }
    if let Some(c) = shown {
        op = op.arg("content", c);
    }
    if in_place {
        op = op.arg("in_place", true);
    }
    fx.change(
        op,
        || {
            if in_place && Path::new(path).exists() {
                write_in_place(path, text, private)
            } else {
                write(path, text, private)
            }
        },
        || (),
    )?;
    Ok(true)
}

fn write_in_place(path: &str, text: &str, private: bool) -> Result<(), String> {
    if private {
        // Tightened before the secret goes in.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {path} private: {e}"))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {path}: {e}"))
}

/// A name beside `path` for writing it aside before a rename, unique to this process and call, so
/// that two writers never share one.
pub fn temp_path(path: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{path}.labsh-tmp.{}.{n}", std::process::id())
}

fn write(path: &str, text: &str, private: bool) -> Result<(), String> {
    if let Some(d) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    let tmp = temp_path(path);
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(&tmp)
            .map_err(|e| format!("cannot write {tmp}: {e}"))?;
        f.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {tmp}: {e}"))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {path}: {e}"))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::Mode;

    #[test]
    fn written_once_then_ok_and_private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let fx = Effects::for_tests(Mode::Apply);
        let p = dir.path().join("a/b.json").display().to_string();
        assert!(ensure_file(&fx, &p, "x", true, None).unwrap());
        assert!(!ensure_file(&fx, &p, "x", true, None).unwrap());
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            ensure_file(&fx, &p, "x", true, None).unwrap(),
            "a looser mode is mended"
        );
        let plan = Effects::for_tests(Mode::Plan);
        let q = dir.path().join("c").display().to_string();
        assert!(ensure_file(&plan, &q, "y", false, None).unwrap());
        assert!(!Path::new(&q).exists());
    }
}
