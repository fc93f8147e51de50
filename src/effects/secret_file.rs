//! A secret handed to one child as a private file, for programs that read a secret from a file
//! named on their command line (`virt-customize --root-password file:PATH`): the command line
//! then holds a path, never the secret. The file is made 0600 in a folder of its own made 0700
//! (whatever the umask), both created new (never through something already there), and removed
//! with the folder when the child has ended, by [`SecretFiles`]' drop on every way out of
//! `exec` (done, failed, timed out, interrupted), and at exit for a process that ends while a
//! child still runs. Plans, journals and errors show the file as the secret's mask.

use super::secret::Secret;
use super::Error;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// The folders of the secret files of children still running, removed at exit (a second
/// Ctrl-C ends labsh with `exit` while a child may still run). Process-wide: what the process's
/// exit removes.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

extern "C" fn remove_live_at_exit() {
    // Whoever holds the list at exit is stopped mid-way; its folders are left, not waited for.
    if let Ok(mut live) = LIVE.try_lock() {
        for dir in live.drain(..) {
            remove_dir(&dir);
        }
    }
}

#[allow(unsafe_code)]
fn remove_at_exit(dir: &Path) {
    AT_EXIT.call_once(|| {
        // SAFETY: atexit(3) registers a plain function without arguments; it is called by exit(3)
        // on the exiting thread, after which no other code of this process runs.
        unsafe {
            libc::atexit(remove_live_at_exit);
        }
    });
    if let Ok(mut live) = LIVE.lock() {
        live.push(dir.to_path_buf());
    }
}

fn forget(dir: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|d| d != dir);
    }
}

fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(
                "cannot remove {}, which holds a secret: {e}; remove it by hand",
                dir.display()
            );
        }
    }
}

/// A folder name no other process or call shares.
fn unique_name() -> Result<String, Error> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| Error::failed(format!("no randomness available: {e}")))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("labsh-secret-{}-{hex}", std::process::id()))
}

/// Where the folders are made: `$XDG_RUNTIME_DIR` (the user's own, in memory) when it is set,
/// else the temporary folder.
fn base_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// The secret files of one child: each in a private folder, all removed when this is dropped.
#[derive(Default)]
pub struct SecretFiles {
    dirs: Vec<PathBuf>,
}

impl SecretFiles {
    /// Writes the value of `secret` into a new private file and returns its path, which lives
    /// as long as `self`.
    pub fn add(&mut self, secret: &Secret) -> Result<PathBuf, Error> {
        let dir = base_dir().join(unique_name()?);
        let cannot = |what: &str, p: &Path, e: std::io::Error| {
            Error::failed(format!(
                "cannot {what} {} for {}: {e}",
                p.display(),
                secret.mask()
            ))
        };
        // Created new: a name already there (planted or not) is an error, never followed.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| cannot("make the private folder", &dir, e))?;
        remove_at_exit(&dir);
        self.dirs.push(dir.clone());
        // The umask may have taken bits the owner needs, never given others any.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| cannot("make private", &dir, e))?;
        let path = dir.join("secret");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| cannot("write", &path, e))?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| cannot("make private", &path, e))?;
        f.write_all(secret.expose().as_bytes())
            .map_err(|e| cannot("write", &path, e))?;
        Ok(path)
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }
}

impl Drop for SecretFiles {
    fn drop(&mut self) {
        for dir in self.dirs.drain(..) {
            remove_dir(&dir);
            forget(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_private_holds_the_value_and_goes_with_its_owner() {
        let mut files = SecretFiles::default();
        let s = Secret::new("file-unit", "secret-file-unit-value");
        let p = files.add(&s).unwrap();
        let q = files.add(&s).unwrap();
        assert_ne!(p, q, "each file in a folder of its own");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "secret-file-unit-value"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        let dir = p.parent().unwrap().to_path_buf();
        assert_eq!(mode(&dir), 0o700);
        assert!(LIVE.lock().unwrap().contains(&dir));
        drop(files);
        assert!(!p.exists() && !dir.exists() && !q.exists());
        assert!(!LIVE.lock().unwrap().contains(&dir));
    }
}
