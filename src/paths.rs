//! Where labsh keeps its files. Every path can be moved with an environment variable.
//!
//! | what | default | variable |
//! |---|---|---|
//! | state (journals, history, secrets) | `$XDG_STATE_HOME/labsh`, else `~/.local/state/labsh` | `LABSH_STATE_DIR` |
//! | journals | `STATE/runs/RUN_ID.jsonl` | |
//! | REPL history | `STATE/history` | |
//! | secrets file | `STATE/secrets` (mode 0600) | `LABSH_SECRETS_FILE` |
//! | the lab's key for digests of secrets | `STATE/lab-key` (mode 0600) | |
//! | output of a program beyond what labsh keeps in memory | `STATE/output/` (files 0600) | |
//! | user's stdlib overrides | `$XDG_CONFIG_HOME/labsh/stdlib`, else `~/.config/labsh/stdlib` | `LABSH_USER_LIB` |
//! | extra module search path | none | `LABSH_PATH` (colon-separated) |
//! | a lab's sandbox (test-driver file, images) | `STATE/sandbox/LAB/` | |
//! | a lab's output on a target | `STATE/out/TARGET/LAB/` | `--set out=DIR` |
//!
//! A lab is named by its profile's `name` (the seed's is `lab`): what one lab owns (its sandbox,
//! its images on the sandbox, its output folder) is kept apart from every other lab's, so labs
//! of several profiles live side by side in one state folder.
//!
//! The scripts, profiles and targets labsh ships (`scripts/`, `profiles/`, `targets/` of the
//! source tree) are part of the binary ([`shipped`]): `scripts/lab.rhai` or `--profile current`
//! is the working folder's file when there is one, else the one labsh ships.
//!
//! The state folder is private: every folder labsh makes there is 0700 and every file 0600,
//! whatever the umask, and labsh opens its files there without following a symbolic link
//! ([`create_private_dir_all`], [`open_private`], [`in_state`]).

use crate::error::{Context, Error};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("/root"))
}

/// The folder `own` names; else `sub` in the XDG folder `xdg` names; else `sub` in `default`
/// of the home folder.
fn xdg_dir(own: &str, xdg: &str, default: &str, sub: &str) -> PathBuf {
    env_path(own)
        .or_else(|| env_path(xdg).map(|p| p.join(sub)))
        .unwrap_or_else(|| home().join(default).join(sub))
}

pub fn state_dir() -> PathBuf {
    xdg_dir("LABSH_STATE_DIR", "XDG_STATE_HOME", ".local/state", "labsh")
}

pub fn journal_dir() -> PathBuf {
    state_dir().join("runs")
}

pub fn history_file() -> PathBuf {
    state_dir().join("history")
}

/// Where the whole output of a program that printed more than labsh keeps in memory is kept.
pub fn output_dir() -> PathBuf {
    state_dir().join("output")
}

pub fn secrets_file() -> PathBuf {
    env_path("LABSH_SECRETS_FILE").unwrap_or_else(|| state_dir().join("secrets"))
}

/// The lab's random key for the digests of secrets labsh keeps (`effects::lab_key`).
pub fn lab_key_file() -> PathBuf {
    state_dir().join("lab-key")
}

pub fn user_lib_dir() -> PathBuf {
    xdg_dir(
        "LABSH_USER_LIB",
        "XDG_CONFIG_HOME",
        ".config",
        "labsh/stdlib",
    )
}

pub fn search_path() -> Vec<PathBuf> {
    std::env::var("LABSH_PATH")
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Makes folder `dir` with the parents it lacks, each one it makes 0700 whatever the umask (the
/// XDG base directory rule for the folders it creates); folders that are there already are left
/// as they are. In the state folder, a symbolic link at `dir` or at a folder between the state
/// folder and it is an error ([`no_link_in_state`]): labsh makes nothing through one.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    no_link_in_state(dir).map_err(std::io::Error::other)?;
    make_private_dirs(dir)
}

#[expect(
    clippy::disallowed_methods,
    reason = "labsh's own private state, for every layer: a caller outside src/effects/ is marked"
)]
fn make_private_dirs(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_private_dirs(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // The umask may have taken bits the owner needs.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`create_private_dir_all`], its error naming the folder.
#[expect(
    clippy::disallowed_methods,
    reason = "labsh's own private state, for every layer: a caller outside src/effects/ is marked"
)]
pub fn private_dir(dir: &Path) -> Result<(), Error> {
    // The link named first, without the "cannot create" of an error of the making.
    no_link_in_state(dir)?;
    create_private_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// The folders from the state folder `state` (left out: it may be reached through a link of
/// the user's) down to `path` (itself included), when `path` is in the state folder by name or
/// by the state folder's real path; empty otherwise.
fn below(state: &Path, path: &Path) -> Vec<PathBuf> {
    let p = absolute(path);
    let state = absolute(state);
    let real = state.canonicalize().ok();
    let Some(base) = [Some(state), real]
        .into_iter()
        .flatten()
        .find(|s| p.starts_with(s) && p != *s)
    else {
        return Vec::new();
    };
    let Ok(rel) = p.strip_prefix(&base) else {
        return Vec::new();
    };
    let mut at = base.clone();
    rel.components()
        .map(|c| {
            at.push(c);
            at.clone()
        })
        .collect()
}

/// An error when `path` is in the state folder and it, or a folder between the state folder
/// and it, is a symbolic link (a `runs`, `out` or `sandbox` planted as a link to another
/// place): labsh writes nothing through one, naming it. What does not exist yet is no link.
pub fn no_link_in_state(path: &Path) -> Result<(), Error> {
    no_link_below(&state_dir(), path)
}

fn no_link_below(state: &Path, path: &Path) -> Result<(), Error> {
    for p in below(state, path) {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::refused(format!(
                    "{} is a symbolic link in the state folder {}: labsh does not write through one; remove it",
                    p.display(),
                    state.display()
                )))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// `path` as an absolute path, `.` and `..` taken away by their names (no file is looked at).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Whether `path` is in the state folder (by its name, or by the folder's real path when the
/// state folder is reached through a link).
pub fn in_state(path: &Path) -> bool {
    let state = absolute(&state_dir());
    let p = absolute(path);
    if p.starts_with(&state) {
        return true;
    }
    match (
        state.canonicalize(),
        p.parent().and_then(|d| d.canonicalize().ok()),
    ) {
        (Ok(real), Some(dir)) => dir.starts_with(real),
        _ => false,
    }
}

/// Opens `path` as labsh's own file with `opts` (read, write, append, create as the caller
/// sets): its folder made private first, the file made 0600 (one that is there already is set
/// to 0600 too), and never through a symbolic link: one at `path` is an error saying so, and
/// nothing is written where it points.
#[expect(
    clippy::disallowed_methods,
    reason = "labsh's own private state, for every layer: a caller outside src/effects/ is marked"
)]
pub fn open_private(path: &Path, opts: &mut OpenOptions) -> Result<File, Error> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let f = opts
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                format!(
                    "{} is a symbolic link: labsh does not write through one; remove it",
                    path.display()
                )
            } else {
                format!("cannot open {}: {e}", path.display())
            }
        })?;
    let mode = f
        .metadata()
        .map(|m| m.permissions().mode() & 0o7777)
        .with_context(|| format!("cannot read the mode of {}", path.display()))?;
    if mode != 0o600 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private (0600)", path.display()))?;
    }
    Ok(f)
}

/// The folders a profile or target named by a word is looked for in: `profiles/` (or `targets/`)
/// beside the scripts folder of `script`, in the scripts folder itself, and in the current
/// folder.
fn lab_file_dirs(kind: LabFile, script: Option<&Path>) -> Vec<PathBuf> {
    let sub = kind.folder();
    let dir = script
        .and_then(|s| s.parent())
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    vec![dir.join("..").join(sub), dir.join(sub), PathBuf::from(sub)]
}

/// What a file that is not a regular one is, for an error: "a directory", "a FIFO".
pub fn file_kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// What `--profile` and `--target` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabFile {
    Profile,
    Target,
}

impl LabFile {
    pub fn parse(kind: &str) -> Option<LabFile> {
        match kind {
            "profile" => Some(LabFile::Profile),
            "target" => Some(LabFile::Target),
            _ => None,
        }
    }

    fn folder(self) -> &'static str {
        match self {
            LabFile::Profile => "profiles",
            LabFile::Target => "targets",
        }
    }

    fn ext(self) -> &'static str {
        match self {
            LabFile::Profile => ".rhai",
            LabFile::Target => ".yaml",
        }
    }

    /// The names that need no file.
    pub fn builtin(self) -> &'static [&'static str] {
        match self {
            LabFile::Profile => &["seed"],
            LabFile::Target => &["sandbox"],
        }
    }

    /// Where labsh ships the profile or target `name`: `profiles/NAME.rhai`.
    fn shipped_path(self, name: &str) -> String {
        format!("{}/{name}{}", self.folder(), self.ext())
    }

    fn noun(self) -> &'static str {
        match self {
            LabFile::Profile => "profile",
            LabFile::Target => "target",
        }
    }
}

/// Every profile or target there is for `script`: the built-in ones, then the files' names
/// (beside the script, in the working folder), then the ones labsh ships.
pub fn lab_file_names(kind: LabFile, script: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = kind.builtin().iter().map(|s| s.to_string()).collect();
    for d in lab_file_dirs(kind, script) {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut found: Vec<String> = rd
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.strip_suffix(kind.ext()).map(str::to_string)
            })
            .collect();
        found.sort();
        for n in found {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    for n in shipped_names(kind) {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    }
    names
}

/// The file of the profile or target `name` (a built-in name is not a file: `None`). A name
/// with a `/` or the kind's extension is a path; a word is looked for as `profiles/NAME.rhai`
/// (`targets/NAME.yaml`) beside the script and in the working folder. A path or word that names
/// no file there but one labsh ships is that one (its path as written, which [`shipped`] and
/// the readers of sources know). An error lists the ones there are.
pub fn lab_file(
    kind: LabFile,
    name: &str,
    script: Option<&Path>,
) -> Result<Option<PathBuf>, Error> {
    if name.is_empty() || kind.builtin().contains(&name) {
        return Ok(None);
    }
    let noun = kind.noun();
    let not_regular = |p: &std::path::Path, m: &std::fs::Metadata| {
        Error::invalid(format!(
            "{noun} file {} is not a regular file ({})",
            p.display(),
            file_kind(m)
        ))
    };
    if name.contains('/') || name.ends_with(kind.ext()) {
        let p = PathBuf::from(name);
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some(p)),
            Ok(m) => Err(not_regular(&p, &m)),
            Err(_) if shipped(&p).is_some() => Ok(Some(p)),
            Err(_) => Err(Error::not_found(format!(
                "{noun} file {name} does not exist"
            ))),
        };
    }
    let dirs = lab_file_dirs(kind, script);
    for d in &dirs {
        let p = d.join(format!("{name}{}", kind.ext()));
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => return Ok(Some(p)),
            Ok(m) => return Err(not_regular(&p, &m)),
            Err(_) => {}
        }
    }
    let own = PathBuf::from(kind.shipped_path(name));
    if shipped(&own).is_some() {
        return Ok(Some(own));
    }
    let name = crate::util::clip(name);
    Err(Error::not_found(format!(
        "unknown {noun} '{name}': no {}/{name}{}; the {noun}s there are: {}",
        kind.folder(),
        kind.ext(),
        lab_file_names(kind, script).join(", ")
    )))
}

/// A notice when the profile or target `name` is a file on disk (the working folder's, or one
/// beside the script) in place of the one labsh ships under that name, and the two differ.
pub fn lab_file_notice(kind: LabFile, name: &str, script: Option<&Path>) -> Option<String> {
    let found = lab_file(kind, name, script).ok()??;
    let key = if name.contains('/') || name.ends_with(kind.ext()) {
        shipped_key(&found)?
    } else {
        kind.shipped_path(name)
    };
    shipped_notice(&found, &key)
}

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// `path` as the name of a file labsh ships ("scripts/lab.rhai"): a relative path, `./` dropped.
fn shipped_key(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(p) => parts.push(p.to_str()?),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The text of the script, profile or target labsh ships at `path` (as the source tree has it:
/// `scripts/lab.rhai`, `./profiles/current.rhai`, `targets/devlab.yaml`), or `None`.
pub fn shipped(path: &Path) -> Option<&'static str> {
    let key = shipped_key(path)?;
    SHIPPED.iter().find(|(p, _)| *p == key).map(|(_, t)| *t)
}

/// The names of the profiles or targets labsh ships (`current`, `devlab`), sorted.
pub fn shipped_names(kind: LabFile) -> Vec<&'static str> {
    let prefix = format!("{}/", kind.folder());
    SHIPPED
        .iter()
        .filter_map(|(p, _)| p.strip_prefix(prefix.as_str())?.strip_suffix(kind.ext()))
        .collect()
}

/// The paths of every script labsh ships (`scripts/lab.rhai`, ...).
pub fn shipped_scripts() -> Vec<&'static str> {
    SHIPPED
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| p.starts_with("scripts/"))
        .collect()
}

/// A notice when the script at `path` is a file on disk where labsh ships one of that name
/// (`scripts/lab.rhai` in the working folder) and the two differ.
pub fn script_notice(path: &Path) -> Option<String> {
    let key = shipped_key(path)?;
    std::fs::metadata(path).ok()?;
    shipped_notice(path, &key)
}

/// A notice when `found`, a file on disk, stands where labsh ships `key` and holds something
/// else: the file on disk is the one used, and the notice names it.
pub fn shipped_notice(found: &Path, key: &str) -> Option<String> {
    let ours = SHIPPED.iter().find(|(p, _)| *p == key)?.1;
    let text = std::fs::read_to_string(found).ok()?;
    (text.trim_start_matches('\u{feff}') != ours).then(|| {
        format!(
            "{} is used, not the {key} labsh ships (they differ): a file of that name in the \
             working folder (or beside the script) comes first",
            found.display()
        )
    })
}

/// The name of lab `lab` as a folder name: what a profile's `name` must be (1-63 letters,
/// digits, '-' and '_', starting with a letter or digit: the profile check says so first).
fn lab_folder(lab: &str) -> Result<&str, Error> {
    let ok = !lab.is_empty()
        && lab.len() <= 63
        && lab
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && lab.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(lab)
    } else {
        Err(Error::invalid(format!(
            "lab name {lab:?} must be 1-63 letters, digits, '-' and '_', starting with a letter \
             or digit (the profile's `name`): it names the lab's folders"
        )))
    }
}

/// The folder of lab `lab`'s sandbox: its test-driver file (`host.xml`, with the autostart
/// sidecar beside it) and its images (`images/`): `STATE/sandbox/LAB`.
pub fn sandbox_dir(lab: &str) -> Result<PathBuf, Error> {
    Ok(state_dir().join("sandbox").join(lab_folder(lab)?))
}

/// The test-driver file of lab `lab`'s sandbox: `STATE/sandbox/LAB/host.xml`.
pub fn sandbox_file(lab: &str) -> Result<PathBuf, Error> {
    Ok(sandbox_dir(lab)?.join("host.xml"))
}

/// The sandbox every lab shared before each had its own: `STATE/sandbox/host.xml`, its
/// autostart sidecar and `STATE/sandbox/images`.
pub fn shared_sandbox_files() -> Vec<PathBuf> {
    let d = state_dir().join("sandbox");
    vec![
        d.join("host.xml"),
        d.join("host.xml.autostart"),
        d.join("images"),
    ]
}

/// What a target is called in the state folder: its name, or a target file's name without its
/// folders and `.yaml` (`targets/seed-host.yaml`: `seed-host`).
pub fn target_folder(target: &str) -> String {
    let t = if target.is_empty() { "sandbox" } else { target };
    let last = t.rsplit('/').next().unwrap_or(t);
    last.strip_suffix(".yaml").unwrap_or(last).to_string()
}

/// The folder where the labs applied to `target` keep their output: `STATE/out/TARGET`.
pub fn target_out_dir(target: &str) -> PathBuf {
    state_dir().join("out").join(target_folder(target))
}

/// The file in a lab's output folder that says which lab, profile and target made it.
pub const LAB_RECORD: &str = "lab.json";

/// The folders an earlier labsh made in a target's output folder when every lab wrote there.
const SHARED_OUT_FOLDERS: [&str; 4] = ["libvirt", "nic-configs", "ocp", "logs"];

/// The entries of a target's output folder `dir` that an earlier labsh left there when every
/// lab wrote into one folder: its files, and the folders it made there unless one is a lab's
/// own folder now (holding [`LAB_RECORD`]); sorted. A lab's folder is never one of them.
pub fn shared_out_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    SHARED_OUT_FOLDERS.iter().any(|n| e.file_name() == *n)
                        && !p.join(LAB_RECORD).is_file()
                }
                Ok(_) => true,
                Err(_) => false,
            }
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// The lab whose libvirt definitions an output folder of the shared layout holds
/// (`libvirt/domain-*.xml` and `network-*.xml` carry `<labsh:lab>`), or `None`.
pub fn shared_out_owner(dir: &Path) -> Option<String> {
    let rd = std::fs::read_dir(dir.join("libvirt")).ok()?;
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    // Domains first: the networks may be libvirt's own (`default`).
    files.sort_by_key(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("domain-"))
    });
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        let open = text.find("<labsh:lab")?;
        let start = open + text[open..].find('>')? + 1;
        let end = start + text[start..].find("</labsh:lab>")?;
        lab_folder(text[start..end].trim()).ok().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// (tests/hostile/state.rs runs labsh under umask 000.)
    #[test]
    fn private_folders_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        let f = deep.join("f");
        create_private_dir_all(&deep).unwrap();
        open_private(&f, OpenOptions::new().write(true).create(true)).unwrap();
        for p in [dir.path().join("a"), dir.path().join("a/b"), deep.clone()] {
            assert_eq!(mode(&p), 0o700, "{}", p.display());
        }
        assert_eq!(mode(&f), 0o600);
        // A file there already with a looser mode is made private when opened.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        open_private(&f, OpenOptions::new().append(true)).unwrap();
        assert_eq!(mode(&f), 0o600);
    }

    #[test]
    fn a_symbolic_link_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep\n").unwrap();
        let link = dir.path().join("state/lock");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(&outside, &link).unwrap();
        let e = open_private(&link, OpenOptions::new().write(true).create(true)).unwrap_err();
        assert!(e.message().contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep\n");
        // A dangling link is not followed to make its target either.
        let dangling = dir.path().join("state/history");
        symlink(dir.path().join("made"), &dangling).unwrap();
        assert!(open_private(&dangling, OpenOptions::new().append(true).create(true)).is_err());
        assert!(!dir.path().join("made").exists());
    }

    #[test]
    fn a_folder_in_the_state_folder_that_is_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        // The state folder itself may be reached through a link of the user's.
        let real = dir.path().join("real-state");
        std::fs::create_dir(&real).unwrap();
        let state = dir.path().join("state");
        symlink(&real, &state).unwrap();
        assert!(no_link_below(&state, &state.join("runs/x.jsonl")).is_ok());
        symlink(&elsewhere, real.join("runs")).unwrap();
        for p in [
            state.join("runs"),
            state.join("runs/x.jsonl"),
            state.join("runs/a/b"),
            real.join("runs/x.jsonl"),
        ] {
            let e = no_link_below(&state, &p).unwrap_err();
            assert!(
                e.message()
                    .contains("runs is a symbolic link in the state folder"),
                "{e}"
            );
        }
        // A folder that is not there yet is no link; outside the state folder nothing is asked.
        assert!(no_link_below(&state, &state.join("out/sandbox/hosts")).is_ok());
        assert!(no_link_below(&state, &elsewhere.join("x")).is_ok());
        std::fs::create_dir(real.join("out")).unwrap();
        symlink(&elsewhere, real.join("out/sandbox")).unwrap();
        let e = no_link_below(&state, &state.join("out/sandbox/hosts")).unwrap_err();
        assert!(
            e.message().contains("out/sandbox is a symbolic link"),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn the_shipped_files_are_found_by_their_path_and_by_name() {
        assert!(shipped(Path::new("scripts/lab.rhai")).is_some_and(|t| t.contains("stage(")));
        assert_eq!(
            shipped(Path::new("./profiles/current.rhai")),
            shipped(Path::new("profiles/current.rhai"))
        );
        assert!(shipped(Path::new("/scripts/lab.rhai")).is_none());
        assert!(shipped(Path::new("scripts/../scripts/lab.rhai")).is_none());
        assert!(shipped(Path::new("scripts/nope.rhai")).is_none());
        assert_eq!(
            shipped_names(LabFile::Profile),
            ["current", "large", "minimal", "netopts", "rhoso"]
        );
        assert_eq!(shipped_names(LabFile::Target), ["devlab", "seed-host"]);
        assert!(shipped_scripts().contains(&"scripts/teardown.rhai"));
        // A word names the path of the shipped file, whether or not one is on disk there (the
        // unit tests run in the source tree; tests/labs.rs runs from an empty folder).
        let empty = tempfile::tempdir().unwrap();
        let script = empty.path().join("scripts/lab.rhai");
        assert_eq!(
            lab_file(LabFile::Profile, "current", Some(&script)).unwrap(),
            Some(PathBuf::from("profiles/current.rhai"))
        );
        assert_eq!(
            lab_file(LabFile::Target, "targets/devlab.yaml", Some(&script)).unwrap(),
            Some(PathBuf::from("targets/devlab.yaml"))
        );
        let e = lab_file(LabFile::Profile, "curent", Some(&script)).unwrap_err();
        assert_eq!(e.kind(), crate::error::Kind::NotFound, "{e}");
        assert!(e.message().contains("seed, current, large, minimal"), "{e}");
        // A file on disk of a shipped name is named when it differs.
        let (_d, p) = crate::util::testing::temp_file("current.rhai", "fn overrides() { #{} }\n");
        let n = shipped_notice(&p, "profiles/current.rhai").unwrap();
        assert!(
            n.contains("is used, not the profiles/current.rhai labsh ships"),
            "{n}"
        );
        let same = shipped(Path::new("profiles/current.rhai")).unwrap();
        let (_d, p) = crate::util::testing::temp_file("current.rhai", same);
        assert_eq!(shipped_notice(&p, "profiles/current.rhai"), None);
    }

    #[test]
    fn a_labs_folders_are_its_own() {
        assert!(sandbox_file("mini")
            .unwrap()
            .ends_with("sandbox/mini/host.xml"));
        for bad in ["", "..", "a/b", "-x", "lab name"] {
            let e = sandbox_dir(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::Kind::Invalid, "{bad:?}: {e}");
        }
        assert_eq!(target_folder("targets/seed-host.yaml"), "seed-host");
        assert_eq!(target_folder(""), "sandbox");
        assert!(target_out_dir("devlab").ends_with("out/devlab"));
    }

    #[test]
    fn the_shared_layout_is_told_from_the_labs_folders() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        for f in [
            "undercloud.conf",
            "libvirt/domain-undercloud.xml",
            "lab/lab.json",
            "ocp/x",
            "mine/y",
        ] {
            let p = out.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        // A lab named like a folder of the shared layout, once it holds its record, is a lab's.
        std::fs::create_dir_all(out.join("logs")).unwrap();
        std::fs::write(out.join("logs").join(LAB_RECORD), "{}").unwrap();
        let names: Vec<String> = shared_out_entries(out)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["libvirt", "ocp", "undercloud.conf"]);
        assert_eq!(shared_out_owner(out), None);
        std::fs::write(
            out.join("libvirt/domain-undercloud.xml"),
            "<domain><metadata><labsh:lab xmlns:labsh=\"https://labsh.dev/xmlns/lab/1\">mini</labsh:lab></metadata></domain>",
        )
        .unwrap();
        assert_eq!(shared_out_owner(out).as_deref(), Some("mini"));
    }

    #[test]
    fn in_state_by_name_and_through_a_link() {
        let state = state_dir();
        assert!(in_state(&state.join("out/sandbox/undercloud.conf")));
        assert!(in_state(&state.join("runs/../lock")));
        assert!(!in_state(&state.join("../elsewhere")));
        assert!(!in_state(Path::new("/etc/hosts")));
    }
}
