//! Content hashes of files, the one routine of the crate that hashes a file: sha256 (the image
//! cache, downloaded tools, `files::sha256`) and sha512 (Glance's `os_hash_value`). The file is
//! streamed through a fixed buffer, so a file of any size is hashed in the same small memory; only
//! regular files are hashed (a device such as /dev/zero never ends, a FIFO may never start).

use sha2::{Digest, Sha256, Sha512};
use std::io::Read;
use std::path::Path;

pub use super::read::ReadError;

/// Bytes read at a time.
const BUFFER: usize = 256 << 10;

fn hash_file<D: Digest>(path: &Path) -> Result<String, ReadError> {
    let (mut f, _) = super::read::open_regular(path)?;
    let mut h = D::new();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(path.to_path_buf(), e)),
        };
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of a regular file's content, in lowercase hex.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, ReadError> {
    hash_file::<Sha256>(path.as_ref())
}

/// The sha512 of a regular file's content, in lowercase hex (Glance's `os_hash_value`).
pub fn sha512_file(path: impl AsRef<Path>) -> Result<String, ReadError> {
    hash_file::<Sha512>(path.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_a_file() {
        let (dir, p) = crate::util::testing::temp_file("abc", "abc");
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha512_file(&p).unwrap().starts_with("ddaf35a193617aba"));
        let e = sha256_file(dir.path().join("none")).unwrap_err();
        assert!(e.is_missing());
        let e = e.to_string();
        assert!(e.starts_with("cannot read ") && e.contains("none"), "{e}");
    }

    #[test]
    fn a_file_longer_than_the_buffer_is_hashed_whole() {
        // sha256 of one million 'a' (FIPS 180-2, appendix B.3).
        let (_dir, p) = crate::util::testing::temp_file("a", &"a".repeat(1_000_000));
        assert_eq!(
            sha256_file(&p).unwrap(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn a_device_is_refused_at_once_by_name() {
        let t0 = std::time::Instant::now();
        let e = sha256_file("/dev/zero").unwrap_err().to_string();
        assert!(
            e.contains("/dev/zero") && e.contains("not a regular file (a character device)"),
            "{e}"
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }
}
