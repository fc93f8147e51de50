//! Content hashes of files, streamed: sha256 (the image cache, downloaded tools) and sha512
//! (Glance's `os_hash_value`).

use sha2::{Digest, Sha256, Sha512};
use std::io::Read;
use std::path::Path;

fn hash_file<D: Digest>(path: &Path) -> Result<String, String> {
    let mut f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The sha256 of a file's content, in lowercase hex.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, String> {
    hash_file::<Sha256>(path.as_ref())
}

/// The sha512 of a file's content, in lowercase hex (Glance's `os_hash_value`).
pub fn sha512_file(path: impl AsRef<Path>) -> Result<String, String> {
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
        assert!(e.starts_with("cannot read ") && e.contains("none"), "{e}");
    }
}
