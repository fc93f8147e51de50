//! Secrets: values that bindings may read but that never reach any output.
//!
//! A [`Secret`] displays as `«secret NAME»` wherever it is printed or debugged. Every secret value
//! that the process has seen is also registered with the [`redact`] filter, which masks what every
//! printer, journal and log line holds, so a value that leaks into, say, a command's output (or
//! a file made from it, written 0600) is still masked.

use crate::error::{Context, Error};
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
/// that no child process inherits them and `/proc/PID/environ` does not show them
/// ([`take_env_secrets`]). Process-wide: the environment the process started with.
static ENV_SECRETS: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// Other variables a secret was read from (`secret(name, #{env: "VAR"})`): kept from children.
/// Process-wide: the process's environment, which every child of the process inherits.
static SECRET_VARS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether `var` holds a secret by its name.
fn is_secret_var(var: &str) -> bool {
    var.starts_with("LABSH_SECRET_")
}

/// Names the descriptor that holds the `LABSH_SECRET_*` values in a labsh that re-executed
/// itself without them ([`take_env_secrets`]).
const HANDOVER_VAR: &str = "LABSH_SECRETS_HANDOVER_FD";

/// What the handover file is called (`/proc/self/fd/N` shows `/memfd:NAME (deleted)`).
const HANDOVER_NAME: &str = "labsh-secrets";

/// The most a handover may hold: more than any environment can.
const HANDOVER_MAX: u64 = 64 << 20;

/// Moves every `LABSH_SECRET_*` variable out of the process into labsh's own keeping. Called
/// once at start, before any thread exists.
///
/// Removing a variable from the environment does not change `/proc/PID/environ`, which shows
/// the environment the process was started with to anyone who may read it. So a labsh started
/// with such variables writes them to an anonymous memory file (memfd), and executes itself
/// again in the same process (exec: the PID, the signal dispositions and mask, the terminal and
/// the exit code are the process's own) without them, naming that file's descriptor in
/// `LABSH_SECRETS_HANDOVER_FD`; the new image reads them back and closes it first thing. When
/// that cannot be done, labsh says so and goes on with the variables removed from what its
/// children inherit.
pub fn take_env_secrets() {
    if let Some(fd) = std::env::var_os(HANDOVER_VAR) {
        std::env::remove_var(HANDOVER_VAR);
        match read_handover(&fd.to_string_lossy()) {
            Ok(m) => {
                #[expect(
                    clippy::let_underscore_must_use,
                    reason = "set once, at start: a second set keeps the first"
                )]
                let _ = ENV_SECRETS.set(m);
                return;
            }
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    let mut m = BTreeMap::new();
    let mut names = Vec::new();
    for (k, v) in std::env::vars_os() {
        let Some(k) = k.to_str().filter(|k| is_secret_var(k)) else {
            continue;
        };
        names.push(k.to_string());
        match v.to_str() {
            Some(v) => {
                m.insert(k.to_string(), v.to_string());
            }
            None => eprintln!("warning: ${k} is not UTF-8: it is not used"),
        }
    }
    if names.is_empty() {
        #[expect(
            clippy::let_underscore_must_use,
            reason = "set once, at start: a second set keeps the first"
        )]
        let _ = ENV_SECRETS.set(m);
        return;
    }
    // Returns only when labsh could not execute itself again.
    let e = reexec_without(&names, &m);
    eprintln!(
        "warning: the LABSH_SECRET_* values stay readable in /proc/{}/environ while labsh runs: {e}",
        std::process::id()
    );
    for k in &names {
        std::env::remove_var(k);
    }
    #[expect(
        clippy::let_underscore_must_use,
        reason = "set once, at start: a second set keeps the first"
    )]
    let _ = ENV_SECRETS.set(m);
}

/// The handover's bytes: `NAME\0VALUE\0` for each variable.
fn handover_bytes(m: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in m {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

fn parse_handover(bytes: &[u8]) -> Result<BTreeMap<String, String>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
    let mut parts: Vec<&str> = text.split('\0').collect();
    if parts.pop() != Some("") || !parts.len().is_multiple_of(2) {
        return Err("it is cut short".into());
    }
    let mut m = BTreeMap::new();
    for kv in parts.chunks(2) {
        if !is_secret_var(kv[0]) {
            return Err(Error::failed(format!(
                "it names {:?}, not a LABSH_SECRET_ variable",
                kv[0]
            )));
        }
        m.insert(kv[0].to_string(), kv[1].to_string());
    }
    Ok(m)
}

/// Writes the secrets to a memfd left open across exec and executes `/proc/self/exe` with the
/// same arguments and the environment without `names`. Returns only on failure, with why.
// memfd_create has no safe wrapper in std, and std's exec resets the signal mask and SIGPIPE's
// disposition, which must stay the process's own: both are called through libc.
#[allow(unsafe_code)]
fn reexec_without(names: &[String], m: &BTreeMap<String, String>) -> String {
    use std::ffi::{CString, OsStr};
    use std::io::{Seek, SeekFrom};
    use std::os::fd::{FromRawFd, IntoRawFd};
    use std::os::unix::ffi::OsStrExt;
    let Ok(memfd_name) = CString::new(HANDOVER_NAME) else {
        return "a NUL in the handover's name".into();
    };
    // SAFETY: memfd_create takes a NUL-terminated name and flags; without MFD_CLOEXEC the
    // descriptor stays open across the exec below, and only there.
    let fd = unsafe { libc::memfd_create(memfd_name.as_ptr(), 0) };
    if fd < 0 {
        return format!("memfd_create: {}", std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just made by memfd_create and nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    if let Err(e) = file
        .write_all(&handover_bytes(m))
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
    {
        return format!("cannot write the handover: {e}");
    }
    let fd = file.into_raw_fd();
    let cstr = |b: &[u8]| CString::new(b).ok();
    let args: Option<Vec<CString>> = std::env::args_os().map(|a| cstr(a.as_bytes())).collect();
    let mut env: Vec<Option<CString>> = std::env::vars_os()
        .filter(|(k, _)| !names.iter().any(|n| OsStr::new(n) == k))
        .map(|(k, v)| cstr(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect();
    env.push(cstr(format!("{HANDOVER_VAR}={fd}").as_bytes()));
    let (Some(args), Some(env)) = (args, env.into_iter().collect::<Option<Vec<CString>>>()) else {
        return "an argument or variable holds a NUL".into();
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let exe = own_program();
    // SAFETY: every pointer is to a NUL-terminated string owned by `args`, `env` or `exe`, which
    // outlive the call; both arrays end with a null pointer. execve returns only on failure.
    unsafe { libc::execve(exe.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = std::io::Error::last_os_error();
    // SAFETY: `fd` is the memfd made above, owned by nothing else; it is closed once.
    drop(unsafe { std::fs::File::from_raw_fd(fd) });
    format!("cannot execute {}: {e}", exe.to_string_lossy())
}

/// The program this process runs, to execute again: its path, so that the process keeps its
/// name (`ps`, `/proc/PID/comm` name it after the file executed), or `/proc/self/exe` when that
/// path no longer holds the same file (replaced while labsh ran).
fn own_program() -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let same = |p: &Path| match (fs::metadata(p), fs::metadata("/proc/self/exe")) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    std::env::current_exe()
        .ok()
        .filter(|p| same(p))
        .and_then(|p| std::ffi::CString::new(p.as_os_str().as_bytes()).ok())
        .unwrap_or_else(|| c"/proc/self/exe".to_owned())
}

/// Reads the secrets a labsh handed over to itself through descriptor `fd`, and closes it.
// A descriptor inherited by number can only be taken over with from_raw_fd.
#[allow(unsafe_code)]
fn read_handover(fd: &str) -> Result<BTreeMap<String, String>, Error> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let bad = |why: String| Error::failed(format!("${HANDOVER_VAR}={fd}: {why}; it is not used"));
    let n: i32 = fd
        .parse()
        .ok()
        .filter(|n| *n > 2)
        .ok_or_else(|| bad("not a descriptor labsh hands over".into()))?;
    // Only the memfd labsh made: never a descriptor that happens to carry that number.
    let link = fs::read_link(format!("/proc/self/fd/{n}")).map_err(|e| bad(e.to_string()))?;
    if !link
        .to_string_lossy()
        .starts_with(&format!("/memfd:{HANDOVER_NAME}"))
    {
        return Err(bad(format!(
            "it is {}, not labsh's handover",
            link.display()
        )));
    }
    // SAFETY: `n` is open (its /proc link was just read) and is the memfd this process was
    // handed; nothing else in the process knows it. The File owns it from here and closes it.
    let file = unsafe { fs::File::from_raw_fd(n) };
    let mut bytes = Vec::new();
    file.take(HANDOVER_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    parse_handover(&bytes).map_err(|e| bad(e.to_string()))
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
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(Error::invalid(format!(
            "invalid secret name {name:?}: use letters, digits, '_', '-' or '.'"
        )));
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

    fn read_text(&self) -> Result<String, Error> {
        Ok(crate::util::read::text_if_exists(&self.path)?.unwrap_or_default())
    }

    fn parse(&self, text: &str) -> Result<BTreeMap<String, String>, Error> {
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
                return Err(Error::invalid(format!(
                    "{}:{}: expected NAME=value; labsh keeps the lab's secrets there one per line: \
                     correct or remove that line (a secret removed is made again or asked for)",
                    self.path.display(),
                    i + 1
                )));
            };
            map.insert(k.trim().to_string(), v.to_string());
        }
        Ok(map)
    }

    fn load(&self) -> Result<BTreeMap<String, String>, Error> {
        self.parse(&self.read_text()?)
    }

    /// Checks that the file can be read: a run checks it before it changes anything.
    pub fn check(&self) -> Result<(), Error> {
        self.load().map(|_| ())
    }

    /// The stored value of `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.load()?.remove(name))
    }

    /// Stores `value` under `name` unless another labsh stored one first, and returns the value
    /// that is stored. The file is only ever replaced whole (written aside, mode 0600, then
    /// renamed over), under a lock beside it, so runs sharing it never interleave their writes.
    pub fn put(&self, name: &str, value: &str) -> Result<String, Error> {
        check_name(name)?;
        if value.contains('\n') {
            return Err(Error::invalid(format!(
                "secret {name}: a value cannot span lines"
            )));
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
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
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
            #[expect(clippy::let_underscore_must_use, reason = "best-effort removal of the temporary file of a write that failed: the write's own error is returned")]
            let _ = fs::remove_file(&tmp);
            format!("cannot write {}: {e}", self.path.display())
        })?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set mode 0600 on {}", self.path.display()))?;
        Ok(value.to_string())
    }
}

/// A strong random value: `len` characters from a 62-letter alphabet (about 5.95 bits each).
pub fn generate(len: usize) -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).context("no randomness available")?;
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
        assert!(
            e.message().contains("secrets:2: expected NAME=value"),
            "{e}"
        );
        assert!(e.message().contains("correct or remove that line"), "{e}");
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
    fn the_handover_reads_back_what_was_written_and_refuses_anything_else() {
        let mut m = BTreeMap::new();
        m.insert(
            "LABSH_SECRET_A".to_string(),
            "line one\nline two = x".to_string(),
        );
        m.insert("LABSH_SECRET_B".to_string(), String::new());
        assert_eq!(parse_handover(&handover_bytes(&m)).unwrap(), m);
        assert_eq!(parse_handover(b"").unwrap(), BTreeMap::new());
        for bad in [
            &b"LABSH_SECRET_A\0value"[..],
            b"LABSH_SECRET_A\0",
            b"PATH\0/bin\0",
            b"LABSH_SECRET_A\0\xff\0",
        ] {
            assert!(parse_handover(bad).is_err(), "{bad:?}");
        }
        // A descriptor that is not labsh's memfd is never read.
        let e = read_handover("0").unwrap_err();
        assert!(
            e.message().contains("not a descriptor labsh hands over"),
            "{e}"
        );
        let f = tempfile::tempfile().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let e = read_handover(&fd.to_string()).unwrap_err();
        assert!(e.message().contains("not labsh's handover"), "{e}");
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("root-password"), "LABSH_SECRET_ROOT_PASSWORD");
    }
}
