//! Where labsh keeps its files. Every path can be moved with an environment variable.
//!
//! | what | default | variable |
//! |---|---|---|
//! | state (journals, history, secrets) | `$XDG_STATE_HOME/labsh`, else `~/.local/state/labsh` | `LABSH_STATE_DIR` |
//! | journals | `STATE/runs/RUN_ID.jsonl` | |
//! | REPL history | `STATE/history` | |
//! | secrets file | `STATE/secrets` (mode 0600) | `LABSH_SECRETS_FILE` |
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

pub fn state_dir() -> PathBuf {
    if let Some(p) = env_path("LABSH_STATE_DIR") {
        return p;
    }
    if let Some(p) = env_path("XDG_STATE_HOME") {
        return p.join("labsh");
    }
    home().join(".local/state/labsh")
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

pub fn user_lib_dir() -> PathBuf {
    if let Some(p) = env_path("LABSH_USER_LIB") {
        return p;
    }
    if let Some(p) = env_path("XDG_CONFIG_HOME") {
        return p.join("labsh/stdlib");
    }
    home().join(".config/labsh/stdlib")
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
