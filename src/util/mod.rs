//! Small helpers that more than one module needs, one file each: no Rhai types, no effects.
//! Bindings and clients call them; they call nothing of labsh's.

pub mod cidr;
pub mod crd_schema;
pub mod digest;
pub mod path;
pub mod read;
pub mod size;
pub mod suggest;
pub mod yaml;

/// Fixtures of the unit tests.
#[cfg(test)]
pub mod testing {
    use std::path::PathBuf;

    /// `text` written to `name` in a new temporary folder (removed when the folder is dropped).
    pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        (dir, p)
    }
}
