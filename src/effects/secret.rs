//! Secrets: values that bindings may read but that never reach any output.
//!
//! A [`Secret`] displays as `«secret NAME»` wherever it is printed or debugged. Every secret value
//! that the process has seen is also registered with the [`redact`] filter, which every printer,
//! journal line and log line passes through, so a value that leaks into, say, a command's output is
//! still masked.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// A named secret value. Only bindings can read the value, through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret {
    name: Arc<str>,
    value: Arc<str>,
}

impl Secret {
    /// Makes a secret and registers its value with the redaction filter.
    pub fn new(name: &str, value: &str) -> Self {
        register(name, value);
        Secret {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The secret's value, for a binding that passes it on to the component that needs it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// What stands for the value in every output.
    pub fn mask(&self) -> String {
        mask(&self.name)
    }
}

/// The text that stands for a secret named `name`.
pub fn mask(name: &str) -> String {
    format!("«secret {name}»")
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.mask())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.mask())
    }
}

/// Values shorter than this are not searched for in output: masking every `a` would make output
/// unreadable. Secrets that short are refused when they are created.
pub const MIN_LEN: usize = 4;

static KNOWN: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

fn register(name: &str, value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    let Ok(mut known) = KNOWN.write() else {
        return;
    };
    if known.iter().any(|(v, _)| v == value) {
        return;
    }
    known.push((value.to_string(), name.to_string()));
    // Longest first, so a secret that contains another is masked whole.
    known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
}

/// Replaces every known secret value in `text` by its mask.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(known) = KNOWN.read() else {
        return text.into();
    };
    if known.is_empty() || !known.iter().any(|(v, _)| text.contains(v.as_str())) {
        return text.into();
    }
    let mut out = text.to_string();
    for (value, name) in known.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &mask(name));
        }
    }
    out.into()
}

/// The environment variable a secret is read from unless the caller names another one.
pub fn env_name(name: &str) -> String {
    let mut s = String::from("LABSH_SECRET_");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase());
        } else {
            s.push('_');
        }
    }
    s
}

/// Checks that a secret name can be stored in the secrets file and used in an env var name.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(format!(
            "invalid secret name {name:?}: use letters, digits, '_', '-' or '.'"
        ));
    }
    Ok(())
}

/// The secrets file: `NAME=value` lines, created with mode 0600.
pub struct SecretsFile {
    path: PathBuf,
}

impl SecretsFile {
    pub fn new(path: PathBuf) -> Self {
        SecretsFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<BTreeMap<String, String>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!(
                    "{}:{}: expected NAME=value",
                    self.path.display(),
                    i + 1
                ));
            };
            map.insert(k.trim().to_string(), v.to_string());
        }
        Ok(map)
    }

    /// The stored value of `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.load()?.remove(name))
    }

    /// Stores `value` under `name`, creating the file with mode 0600 (and fixing a looser mode).
    pub fn put(&self, name: &str, value: &str) -> Result<(), String> {
        check_name(name)?;
        if value.contains('\n') {
            return Err(format!("secret {name}: a value cannot span lines"));
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot set mode 0600 on {}: {e}", self.path.display()))?;
        writeln!(f, "{name}={value}")
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        Ok(())
    }
}

/// A strong random value: `len` characters from a 62-letter alphabet (about 5.95 bits each).
pub fn generate(len: usize) -> Result<String, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| format!("no randomness available: {e}"))?;
        for b in buf {
            // 248 = 4 * 62: rejecting the rest keeps every letter equally likely.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_mask_the_value() {
        let s = Secret::new("db", "hunter2-unit-display");
        assert_eq!(format!("{s}"), "«secret db»");
        assert_eq!(format!("{s:?}"), "«secret db»");
        assert_eq!(s.expose(), "hunter2-unit-display");
    }

    #[test]
    fn redact_masks_registered_values_longest_first() {
        Secret::new("short", "abcd-redact");
        Secret::new("long", "abcd-redact-longer");
        let out = redact("x abcd-redact-longer y abcd-redact z");
        assert_eq!(out, "x «secret long» y «secret short» z");
        assert_eq!(redact("nothing here"), "nothing here");
    }

    #[test]
    fn generated_values_are_long_and_distinct() {
        let a = generate(24).unwrap();
        let b = generate(24).unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn file_is_created_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = SecretsFile::new(dir.path().join("sub/secrets"));
        assert_eq!(f.get("x").unwrap(), None);
        f.put("x", "value-one").unwrap();
        f.put("y.z", "value=two").unwrap();
        assert_eq!(f.get("x").unwrap().as_deref(), Some("value-one"));
        assert_eq!(f.get("y.z").unwrap().as_deref(), Some("value=two"));
        let mode = fs::metadata(f.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(f.put("bad name", "v").is_err());
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("root-password"), "LABSH_SECRET_ROOT_PASSWORD");
    }
}
