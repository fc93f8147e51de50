//! The journal: one JSON-lines file per run under `STATE/runs/`, flushed line by line so that an
//! interrupted run leaves a readable record. Each event's strings are masked before it is
//! serialized (`crate::redact::event`), so every line is JSON with its keys whatever a secret's
//! value.

use super::time;
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub struct Journal {
    id: String,
    path: PathBuf,
    file: File,
}

/// A new, sortable run id: UTC time and 4 random hex digits.
pub fn new_run_id() -> String {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    format!("{}-{:02x}{:02x}", time::compact(time::now_ms()), b[0], b[1])
}

impl Journal {
    pub fn create(dir: &Path, id: &str) -> Result<Journal, String> {
        let path = dir.join(format!("{id}.jsonl"));
        // A new file (never one there already, nor a link), 0600 in a private folder.
        let file = crate::paths::open_private(
            &path,
            fs::OpenOptions::new().create_new(true).append(true),
        )?;
        Ok(Journal {
            id: id.to_string(),
            path,
            file,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event, stamped with the time.
    pub fn write(&mut self, mut event: Value) {
        if let Value::Object(m) = &mut event {
            m.insert("ts".into(), json!(time::rfc3339(time::now_ms())));
        }
        crate::redact::event(&mut event);
        if let Err(e) = writeln!(self.file, "{event}") {
            tracing::warn!("cannot write journal {}: {e}", self.path.display());
        }
    }
}

/// What `labsh journal` shows for one run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub id: String,
    pub started: String,
    pub script: String,
    pub profile: String,
    pub target: String,
    pub mode: String,
    pub status: String,
    pub totals: Value,
    /// The first line of a failed run's error.
    pub error: Option<String>,
}

fn read_events(path: &Path) -> Result<Vec<Value>, String> {
    let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if let Ok(v) = serde_json::from_str(&line) {
            out.push(v);
        }
    }
    Ok(out)
}

/// All runs in `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<RunSummary>, String> {
    let mut ids: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".jsonl").map(str::to_string)
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        let events = read_events(&dir.join(format!("{id}.jsonl")))?;
        let start = events.iter().find(|e| e["event"] == "run");
        let end = events.iter().rev().find(|e| e["event"] == "run_end");
        let recap = events.iter().rev().find(|e| e["event"] == "recap");
        let s = |v: Option<&Value>, k: &str| {
            v.and_then(|v| v[k].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let error = events
            .iter()
            .find(|e| e["event"] == "error")
            .and_then(|e| e["message"].as_str())
            .map(|m| m.lines().next().unwrap_or_default().to_string());
        out.push(RunSummary {
            id,
            started: s(start, "ts"),
            script: s(start, "script"),
            profile: s(start, "profile"),
            target: s(start, "target"),
            error,
            mode: s(start, "mode"),
            status: end
                .and_then(|e| e["status"].as_str())
                .unwrap_or("incomplete")
                .to_string(),
            totals: recap.map(|r| r["totals"].clone()).unwrap_or(Value::Null),
        });
    }
    Ok(out)
}

/// The events of one run. `id` may be any unique part of a run's id, or `last`.
pub fn events(dir: &Path, id: &str) -> Result<(String, Vec<Value>), String> {
    let runs = list(dir)?;
    let found: Vec<&RunSummary> = if id == "last" {
        runs.last().into_iter().collect()
    } else if let Some(r) = runs.iter().find(|r| r.id == id) {
        vec![r]
    } else {
        runs.iter().filter(|r| r.id.contains(id)).collect()
    };
    match found.as_slice() {
        [one] => Ok((
            one.id.clone(),
            read_events(&dir.join(format!("{}.jsonl", one.id)))?,
        )),
        [] => Err(format!(
            "no run {id:?} in {}; `labsh journal` lists the runs",
            dir.display()
        )),
        many => Err(format!(
            "{id:?} matches {} runs ({}); give more of the id",
            many.len(),
            many.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_list_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "20260101T000000Z-abcd").unwrap();
        j.write(json!({"event": "run", "script": "a.rhai", "mode": "plan"}));
        j.write(json!({"event": "recap", "totals": {"ok": 1}}));
        j.write(json!({"event": "run_end", "status": "ok"}));
        let runs = list(dir.path()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].script, "a.rhai");
        assert_eq!(runs[0].status, "ok");
        assert_eq!(runs[0].totals["ok"], 1);
        let (id, ev) = events(dir.path(), "2026").unwrap();
        assert_eq!(id, "20260101T000000Z-abcd");
        // Any unique part of the id.
        assert_eq!(events(dir.path(), "abcd").unwrap().0, id);
        assert_eq!(ev.len(), 3);
        assert!(events(dir.path(), "1999").is_err());
        assert!(Journal::create(dir.path(), "20260101T000000Z-abcd").is_err());
    }

    #[test]
    fn run_ids_sort_by_time() {
        let id = new_run_id();
        assert_eq!(id.len(), "20261125T213538.123Z-abcd".len());
    }
}
