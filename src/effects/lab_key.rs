//! The lab's own random key (`STATE/lab-key`, 0600) for the digests of secrets labsh keeps to
//! tell whether something is already done (a customized image's marker). Keyed with it, such a
//! digest cannot be checked against guessed passwords by whoever can read it, only by whoever
//! holds the key; the same secret gives the same digest for as long as the state folder keeps
//! its key, a changed one another.

use crate::error::{Context, Error};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A lab's key.
#[derive(Clone)]
pub struct LabKey([u8; 32]);

impl std::fmt::Debug for LabKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LabKey(..)")
    }
}

impl LabKey {
    /// The key of this state folder (`paths::lab_key_file`); made when it is missing and
    /// `create` (a plan writes nothing: `None` then).
    pub fn of_state(create: bool) -> Result<Option<LabKey>, Error> {
        LabKey::at(&crate::paths::lab_key_file(), create)
    }

    /// The key kept in `path`, made there (0600, its folder 0700) when it is missing and
    /// `create`. A key file others can read, or that is not one, is refused.
    pub fn at(path: &Path, create: bool) -> Result<Option<LabKey>, Error> {
        match read(path)? {
            Some(k) => Ok(Some(k)),
            None if create => make(path).map(Some),
            None => Ok(None),
        }
    }

    /// A random key of this process, for digests that live no longer than it (the keys of
    /// connections a script is given): whoever sees such a digest cannot test guesses against
    /// it.
    pub fn of_process() -> &'static LabKey {
        static KEY: std::sync::OnceLock<LabKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            let mut key = [0u8; 32];
            if getrandom::fill(&mut key).is_err() {
                // No randomness from the kernel: the time and the process, hashed, still differ
                // between runs.
                let seed = format!("{:?} {}", std::time::SystemTime::now(), std::process::id());
                key = Sha256::digest(seed.as_bytes()).into();
            }
            LabKey(key)
        })
    }

    /// A key of 32 bytes `byte`, for tests.
    #[cfg(test)]
    pub fn fixed(byte: u8) -> LabKey {
        LabKey([byte; 32])
    }

    /// HMAC-SHA256 of `parts` under the key, each part preceded by its length so that no two
    /// lists of parts give the same message.
    pub fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let lens: Vec<[u8; 8]> = parts
            .iter()
            .map(|p| (p.len() as u64).to_be_bytes())
            .collect();
        let mut chunks: Vec<&[u8]> = Vec::with_capacity(2 * parts.len());
        for (len, p) in lens.iter().zip(parts) {
            chunks.push(len);
            chunks.push(p);
        }
        hmac_sha256(&self.0, &chunks)
    }
}

/// HMAC-SHA256 (RFC 2104) of the message `chunks` make under `key` (shorter than a block,
/// zero-padded as HMAC pads it).
fn hmac_sha256(key: &[u8], chunks: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for (i, b) in key.iter().take(BLOCK).enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for c in chunks {
        inner.update(c);
    }
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn bad(path: &Path, why: &str) -> Error {
    Error::refused(format!(
        "{}: {why}; remove it and labsh makes a new key (what was recorded with the old one is then done again)",
        path.display()
    ))
}

/// The key in `path`, `None` when there is none. Read without following a link.
fn read(path: &Path) -> Result<Option<LabKey>, Error> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let f = match f {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(bad(path, "is a symbolic link, not the lab's key"))
        }
        Err(e) => {
            return Err(Error::io(
                format_args!("cannot read {}", path.display()),
                &e,
            ))
        }
    };
    let meta = f
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        return Err(bad(path, "is not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::refused(format!(
            "{}: the lab's key is mode {mode:04o}, readable by others: make it private (chmod 600 {})",
            path.display(),
            path.display()
        )));
    }
    let mut text = String::new();
    f.take(128)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(path, "is not a key of 64 hex digits"));
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| bad(path, "is not a key of 64 hex digits"))?;
    }
    Ok(Some(LabKey(key)))
}

/// A new key in `path`: written whole aside, then linked into place, so that a reader never
/// sees half a key and, of two runs making one at once, the first to link wins and the other
/// takes its key.
fn make(path: &Path) -> Result<LabKey, Error> {
    let cannot = |e: std::io::Error| {
        Error::io(
            format_args!("cannot make the lab's key {}", path.display()),
            &e,
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(cannot)?;
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).context("no randomness available")?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = path.with_file_name(format!(
        "{}.labsh-tmp.{}.{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("lab-key"),
        std::process::id(),
        &hex[..8]
    ));
    let linked = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(format!("{hex}\n").as_bytes())?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    if let Err(e) = std::fs::remove_file(&tmp) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot remove {}: {e}; remove it by hand", tmp.display());
        }
    }
    match linked {
        Ok(()) => Ok(LabKey(key)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| bad(path, "appeared and went while the key was made"))
        }
        Err(e) => Err(cannot(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2_and_parts_are_told_apart() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        // RFC 4231, test case 2: key "Jefe", the message in two chunks.
        assert_eq!(
            hex(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = LabKey([7u8; 32]);
        let a = key.digest(&[b"ab", b"c"]);
        assert_ne!(a, key.digest(&[b"a", b"bc"]));
        assert_ne!(a, LabKey([8u8; 32]).digest(&[b"ab", b"c"]), "keyed");
        assert_eq!(a, key.digest(&[b"ab", b"c"]));
    }

    #[test]
    fn a_key_is_made_once_private_and_read_back_and_a_readable_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/lab-key");
        assert!(
            LabKey::at(&path, false).unwrap().is_none(),
            "a plan makes none"
        );
        assert!(!path.exists());
        let k = LabKey::at(&path, true).unwrap().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode & 0o077, 0, "{dmode:o}");
        let again = LabKey::at(&path, true).unwrap().unwrap();
        assert_eq!(k.digest(&[b"x"]), again.digest(&[b"x"]));
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = LabKey::at(&path, true).unwrap_err();
        assert!(
            e.message().contains("mode 0644") && e.message().contains("chmod 600"),
            "{e}"
        );
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &path).unwrap();
        let e = LabKey::at(&path, true).unwrap_err();
        assert!(e.message().contains("symbolic link"), "{e}");
        assert!(!dir.path().join("elsewhere").exists());
    }
}
