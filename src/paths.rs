//! Where labsh keeps its files. Every path can be moved with an environment variable.
//!
//! | what | default | variable |
//! |---|---|---|
//! | state (journals, history, secrets) | `$XDG_STATE_HOME/labsh`, else `~/.local/state/labsh` | `LABSH_STATE_DIR` |
//! | journals | `STATE/runs/RUN_ID.jsonl` | |
//! | REPL history | `STATE/history` | |
//! | secrets file | `STATE/secrets` (mode 0600) | `LABSH_SECRETS_FILE` |
//! | the lab's key for digests of secrets | `STATE/lab-key` (mode 0600) | |
//! | user's stdlib overrides | `$XDG_CONFIG_HOME/labsh/stdlib`, else `~/.config/labsh/stdlib` | `LABSH_USER_LIB` |
//! | extra module search path | none | `LABSH_PATH` (colon-separated) |

use std::path::PathBuf;

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

/// The folders a profile or target named by a word is looked for in: `profiles/` (or `targets/`)
/// beside the scripts folder of `script`, in the scripts folder itself, and in the current
/// folder.
fn lab_file_dirs(kind: LabFile, script: Option<&std::path::Path>) -> Vec<PathBuf> {
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

    fn noun(self) -> &'static str {
        match self {
            LabFile::Profile => "profile",
            LabFile::Target => "target",
        }
    }
}

/// Every profile or target there is for `script`: the built-in ones, then the files' names.
pub fn lab_file_names(kind: LabFile, script: Option<&std::path::Path>) -> Vec<String> {
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
    names
}

/// The file of the profile or target `name` (a built-in name is not a file: `None`). A name
/// with a `/` or the kind's extension is a path; a word is looked for as `profiles/NAME.rhai`
/// (`targets/NAME.yaml`) beside the script. An error lists the ones there are.
pub fn lab_file(
    kind: LabFile,
    name: &str,
    script: Option<&std::path::Path>,
) -> Result<Option<PathBuf>, String> {
    if name.is_empty() || kind.builtin().contains(&name) {
        return Ok(None);
    }
    let noun = kind.noun();
    if name.contains('/') || name.ends_with(kind.ext()) {
        let p = PathBuf::from(name);
        return if p.is_file() {
            Ok(Some(p))
        } else {
            Err(format!("{noun} file {name} does not exist"))
        };
    }
    let dirs = lab_file_dirs(kind, script);
    for d in &dirs {
        let p = d.join(format!("{name}{}", kind.ext()));
        if p.is_file() {
            return Ok(Some(p));
        }
    }
    Err(format!(
        "unknown {noun} '{name}': no {}/{name}{}; the {noun}s there are: {}",
        kind.folder(),
        kind.ext(),
        lab_file_names(kind, script).join(", ")
    ))
}
