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
use std::sync::{Arc, Mutex, OnceLock};

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

pub use crate::redact::mask;

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

use crate::redact::register;
pub use crate::redact::{redact, MIN_LEN};

/// The `LABSH_SECRET_*` variables labsh started with, taken out of its environment at start so
/// that no child process inherits them ([`take_env_secrets`]).
static ENV_SECRETS: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// Other variables a secret was read from (`secret(name, #{env: "VAR"})`): kept from children.
static SECRET_VARS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether `var` holds a secret by its name.
fn is_secret_var(var: &str) -> bool {
    var.starts_with("LABSH_SECRET_")
}

/// Moves every `LABSH_SECRET_*` variable out of the process environment into labsh's own
/// keeping. Called once at start, before any thread exists.
pub fn take_env_secrets() {
    let mut m = BTreeMap::new();
    for (k, v) in std::env::vars_os() {
        if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
            if is_secret_var(k) {
                m.insert(k.to_string(), v.to_string());
            }
        }
    }
    for k in m.keys() {
        std::env::remove_var(k);
    }
    let _ = ENV_SECRETS.set(m);
}

/// The value of the variable a secret is read from: a `LABSH_SECRET_*` one from what labsh
/// started with, any other from the environment (and from then on kept from children).
pub fn env_value(var: &str) -> Option<String> {
    if let Some(v) = ENV_SECRETS.get().and_then(|m| m.get(var)) {
        return Some(v.clone());
    }
    let v = std::env::var(var).ok()?;
    if let Ok(mut vars) = SECRET_VARS.lock() {
        if !vars.iter().any(|x| x == var) {
            vars.push(var.to_string());
        }
    }
    Some(v)
}

/// The variables a child process must not inherit: every `LABSH_SECRET_*` one still in the
/// environment and any other a secret was read from.
pub fn child_env_removals() -> Vec<String> {
    let mut out: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.to_str().map(str::to_string))
        .filter(|k| is_secret_var(k))
        .collect();
    if let Ok(vars) = SECRET_VARS.lock() {
        out.extend(vars.iter().cloned());
    }
    out
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

    fn read_text(&self) -> Result<String, String> {
        match fs::read_to_string(&self.path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    fn parse(&self, text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let ok = line
                .split_once('=')
                .filter(|(k, _)| check_name(k.trim()).is_ok());
            let Some((k, v)) = ok else {
                return Err(format!(
                    "{}:{}: expected NAME=value; labsh keeps the lab's secrets there one per line: \
                     correct or remove that line (a secret removed is made again or asked for)",
                    self.path.display(),
                    i + 1
                ));
            };
            map.insert(k.trim().to_string(), v.to_string());
        }
        Ok(map)
    }

    fn load(&self) -> Result<BTreeMap<String, String>, String> {
        self.parse(&self.read_text()?)
    }

    /// Checks that the file can be read: a run checks it before it changes anything.
    pub fn check(&self) -> Result<(), String> {
        self.load().map(|_| ())
    }

    /// The stored value of `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.load()?.remove(name))
    }

    /// Stores `value` under `name` unless another labsh stored one first, and returns the value
    /// that is stored. The file is only ever replaced whole (written aside, mode 0600, then
    /// renamed over), under a lock beside it, so runs sharing it never interleave their writes.
    pub fn put(&self, name: &str, value: &str) -> Result<String, String> {
        check_name(name)?;
        if value.contains('\n') {
            return Err(format!("secret {name}: a value cannot span lines"));
        }
        // The folder made private, the lock beside the file 0600 and never opened through a
        // link (the file itself is replaced by a rename, which replaces a link).
        let lock_path = self.path.with_extension("lock");
        let lock = crate::paths::open_private(
            &lock_path,
            fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true),
        )?;
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        let text = self.read_text()?;
        if let Some(v) = self.parse(&text)?.remove(name) {
            return Ok(v);
        }
        let mut new = text;
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&format!("{name}={value}\n"));
        let tmp = super::files::temp_path(&self.path.display().to_string());
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(new.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!("cannot write {}: {e}", self.path.display())
        })?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot set mode 0600 on {}: {e}", self.path.display()))?;
        Ok(value.to_string())
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
        assert_eq!(f.put("x", "value-one").unwrap(), "value-one");
        f.put("y.z", "value=two").unwrap();
        // A value stored first is kept and returned.
        assert_eq!(f.put("x", "value-other").unwrap(), "value-one");
        assert_eq!(f.get("x").unwrap().as_deref(), Some("value-one"));
        assert_eq!(f.get("y.z").unwrap().as_deref(), Some("value=two"));
        let mode = fs::metadata(f.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(f.put("bad name", "v").is_err());
    }

    #[test]
    fn a_damaged_file_names_its_line_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let f = SecretsFile::new(dir.path().join("secrets"));
        fs::write(f.path(), "a=value-one\nbroken line\n").unwrap();
        let e = f.check().unwrap_err();
        assert!(e.contains("secrets:2: expected NAME=value"), "{e}");
        assert!(e.contains("correct or remove that line"), "{e}");
        assert!(f.put("b", "value-two").is_err());
        assert_eq!(
            fs::read_to_string(f.path()).unwrap(),
            "a=value-one\nbroken line\n"
        );
    }

    #[test]
    fn multi_line_values_are_masked_by_line_and_json_escaped() {
        let v = "{\n  \"auths\": {\n    \"quay.io\": {\"auth\": \"bXVsdGktbGluZS11bml0\"}\n  }\n}";
        Secret::new("pull", v);
        assert_eq!(
            redact("    \"quay.io\": {\"auth\": \"bXVsdGktbGluZS11bml0\"}"),
            "    «secret pull»"
        );
        let json = serde_json::to_string(v).unwrap();
        assert_eq!(redact(&json), "\"«secret pull»\"");
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("root-password"), "LABSH_SECRET_ROOT_PASSWORD");
    }
}
