//! Files labsh writes: made to hold given content, `ok` when they already do, replaced
//! atomically, 0600 when they hold secrets. In the state folder every file is 0600 and every
//! folder made 0700, whatever the umask, and a file is always replaced (written aside, then
//! renamed over), so a symbolic link planted at its path is replaced, never written through.

use super::{Effects, Op};
use crate::error::{Context, Error};
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
) -> Result<bool, Error> {
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
) -> Result<bool, Error> {
    // Content that holds a secret in any form (a command's output that carries one) is private
    // too.
    let private = private || crate::redact::holds_secret(text);
    let mut op = Op::new("file.write", path);
    if private {
        op = op.arg("mode", "0600");
    }
    // labsh's own files: in the state folder, private and never a link.
    let own = crate::paths::in_state(Path::new(path));
    let meta = std::fs::symlink_metadata(path);
    let link = meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
    // Only a file of the text's length is read to compare, so nothing larger is held.
    let same = !(own && link)
        && crate::util::read::bytes_up_to(path, text.len() as u64)
            .is_ok_and(|b| b == text.as_bytes());
    let mode_ok = !(private || own)
        || meta.is_ok_and(|m| m.file_type().is_file() && m.permissions().mode() & 0o777 == 0o600);
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
            if in_place && !own && Path::new(path).exists() {
                write_in_place(path, text, private)
            } else {
                write(path, text, private || own, own)
            }
        },
        || (),
    )?;
    Ok(true)
}

fn write_in_place(path: &str, text: &str, private: bool) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot write {path}"))?;
    if private {
        // Tightened (on the file opened, not on a path) before the secret goes in.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {path} private"))?;
    }
    f.set_len(0)
        .and_then(|_| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {path}"))
}

/// A name beside `path` for writing it aside before a rename, unique to this process and call, so
/// that two writers never share one.
pub fn temp_path(path: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{path}.labsh-tmp.{}.{n}", std::process::id())
}

/// Makes folder `dir` (with its parents) for what labsh writes there: in the state folder as
/// [`crate::paths::private_dir`] does (0700, never through a link), elsewhere as the umask says.
pub fn make_dir(dir: &Path) -> Result<(), Error> {
    if crate::paths::in_state(dir) {
        crate::paths::private_dir(dir)
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
    }
}

/// Creates `path` for writing, or empties it (a log labsh keeps): in the state folder with
/// [`crate::paths::open_private`] (0600, never through a link, its folder private), elsewhere
/// as `File::create` does, its folder made.
pub fn create_file(path: &Path) -> Result<std::fs::File, Error> {
    if crate::paths::in_state(path) {
        return crate::paths::open_private(
            path,
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true),
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        make_dir(dir)?;
    }
    std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))
}

/// Copies `src` into the new file `to` (one there already, or a link, is an error): 0600 when
/// `private`, else with the source's mode.
pub fn copy_new(src: &Path, to: &Path, private: bool) -> std::io::Result<()> {
    let mut from = std::fs::File::open(src)?;
    let mode = if private {
        0o600
    } else {
        from.metadata()?.permissions().mode() & 0o777
    };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)?;
    if private {
        out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    let r = std::io::copy(&mut from, &mut out).map(|_| ());
    if r.is_err() {
        if let Err(e) = std::fs::remove_file(to) {
            tracing::debug!("cannot remove {}: {e}", to.display());
        }
    }
    r
}

/// Writes `text` into `path` now, recording no effect of its own (a file a change makes as a
/// part of itself: a service's PID file): written aside and renamed over; in the state folder
/// 0600 in private folders and never through a link; `private`: 0600 elsewhere too.
pub fn write_now(path: &str, text: &str, private: bool) -> Result<(), Error> {
    let own = crate::paths::in_state(Path::new(path));
    write(path, text, private || own, own)
}

/// Writes `text` aside and renames it over `path` (which replaces a link there, never follows
/// it); `own`: in the state folder, whose folders are made private.
fn write(path: &str, text: &str, private: bool, own: bool) -> Result<(), Error> {
    if let Some(d) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        if own {
            crate::paths::private_dir(d)?;
        } else {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
    }
    let tmp = temp_path(path);
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(&tmp)
            .with_context(|| format!("cannot write {tmp}"))?;
        if private {
            // 0600 whatever the umask took.
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {tmp} private"))?;
        }
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {tmp}"))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {path}"))
    })();
    if r.is_err() {
        #[expect(
            clippy::let_underscore_must_use,
            reason = "best-effort removal of the temporary file of a write that failed: the write's own error is returned"
        )]
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

/// Whether `path` is strictly inside folder `within`, both absolute and neither with a `.` or
/// `..` part: a lab's folder a teardown may remove, read from the names alone.
pub fn strictly_inside(path: &Path, within: &Path) -> bool {
    use std::path::Component;
    let plain = |p: &Path| {
        p.is_absolute()
            && p.components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
    };
    plain(path) && plain(within) && path != within && path.starts_with(within)
}

/// Removes folder `path` with everything in it, when it is strictly inside `within` (a path
/// outside it, or with `..` in it, is refused and nothing removed); a link at `path` is removed
/// itself, never followed, and links inside are removed, not followed. Returns whether it was
/// there. A change: planned in a plan.
pub fn remove_tree(fx: &Effects, path: &str, within: &str) -> Result<bool, Error> {
    let p = Path::new(path);
    if !strictly_inside(p, Path::new(within)) {
        return Err(Error::refused(format!(
            "{path} is not inside {within}: labsh removes only what is in the lab's own folder; nothing was removed"
        )));
    }
    let op = Op::new("file.remove_tree", path);
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fx.unchanged(op);
            return Ok(false);
        }
        Err(e) => return Err(Error::failed(format!("cannot read {path}: {e}"))),
    };
    fx.change(
        op,
        || {
            #[expect(
                clippy::disallowed_methods,
                reason = "the change that removes a lab's folder, inside its own folder"
            )]
            let r = if meta.file_type().is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
            match r {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
                Err(e) => Err(Error::failed(format!("cannot remove {path}: {e}"))),
            }
        },
        || true,
    )
}

#[cfg(test)]
mod remove_tests {
    use super::strictly_inside;
    use std::path::Path;

    #[test]
    fn only_a_path_strictly_inside_the_folder_may_be_removed() {
        let within = Path::new("/state/out/t/lab");
        assert!(strictly_inside(
            Path::new("/state/out/t/lab/substrate"),
            within
        ));
        assert!(!strictly_inside(Path::new("/state/out/t/lab"), within));
        assert!(!strictly_inside(
            Path::new("/state/out/t/lab/../other"),
            within
        ));
        assert!(!strictly_inside(
            Path::new("/state/out/t/labx/substrate"),
            within
        ));
        assert!(!strictly_inside(
            Path::new("state/out/t/lab/substrate"),
            Path::new("state/out/t/lab")
        ));
    }
}
