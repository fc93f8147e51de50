//! The journal: one JSON-lines file per run under `STATE/runs/`, flushed line by line so that an
//! interrupted run leaves a readable record. Each event's strings are masked before it is
//! serialized (`crate::redact::event`), so every line is JSON with its keys whatever a secret's
//! value.

use super::time;
use crate::error::Error;
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Journal {
    id: String,
    path: PathBuf,
    file: File,
    /// The first write that failed (a full or read-only state folder).
    error: Option<String>,
}

/// A new, sortable run id: UTC time and 4 random hex digits.
pub fn new_run_id() -> String {
    let mut b = [0u8; 2];
    #[expect(
        clippy::let_underscore_must_use,
        reason = "the id's random digits only part runs of the same second: zeros still make an id"
    )]
    let _ = getrandom::fill(&mut b);
    format!("{}-{:02x}{:02x}", time::compact(time::now_ms()), b[0], b[1])
}

impl Journal {
    pub fn create(dir: &Path, id: &str) -> Result<Journal, Error> {
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
            error: None,
        })
    }

    /// A journal writing to `file` (a test's full disk, `/dev/full`).
    #[cfg(test)]
    pub fn on_file(path: &Path, file: File) -> Journal {
        Journal {
            id: "test".into(),
            path: path.to_path_buf(),
            file,
            error: None,
        }
    }

    /// Why a line could not be written, once one could not: nothing should change that the
    /// journal cannot record.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Removes the journal of a run that did not start (its first line could not be written).
    pub fn discard(self) {
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::debug!("cannot remove {}: {e}", self.path.display());
        }
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
            self.error.get_or_insert_with(|| {
                format!("cannot write the journal {}: {e}", self.path.display())
            });
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

/// A journal file that cannot be read as one (not UTF-8, unreadable): left out of the listing,
/// and named.
#[derive(Debug, Clone)]
pub struct Damaged {
    pub id: String,
    pub path: PathBuf,
    pub why: String,
}

/// The runs of a journal folder, and the files in it that are damaged.
#[derive(Debug, Default)]
pub struct Listing {
    pub runs: Vec<RunSummary>,
    pub damaged: Vec<Damaged>,
}

/// The most of one journal that is read: far more than the longest run writes.
pub const MAX_JOURNAL: u64 = 64 << 20;

/// The events of a journal file, one JSON line each (a line that is not JSON, such as the last
/// one of a run killed while it wrote, is left out); an error naming the line that is not UTF-8.
/// At most [`MAX_JOURNAL`] of it is read.
fn read_events(path: &Path) -> Result<Vec<Value>, Error> {
    let bytes = crate::util::read::bytes_up_to(path, MAX_JOURNAL).map_err(|e| e.reason_error())?;
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let text = std::str::from_utf8(line).map_err(|e| {
            format!(
                "line {} is not UTF-8 (byte {} of the line)",
                i + 1,
                e.valid_up_to() + 1
            )
        })?;
        if let Ok(v) = serde_json::from_str(text) {
            out.push(v);
        }
    }
    Ok(out)
}

/// The journal files of `dir` (`ID.jsonl`), sorted by id: oldest first.
fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut files: Vec<(String, PathBuf)> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".jsonl")
                    .map(|id| (id.to_string(), e.path()))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::failed(format!("cannot read {}: {e}", dir.display()))),
    };
    files.sort();
    Ok(files)
}

fn summary(id: String, events: &[Value]) -> RunSummary {
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
    RunSummary {
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
        id,
    }
}

/// All runs in `dir`, oldest first, and the journal files that cannot be read.
pub fn list(dir: &Path) -> Result<Listing, Error> {
    let mut out = Listing::default();
    for (id, path) in files(dir)? {
        match read_events(&path) {
            Ok(events) => out.runs.push(summary(id, &events)),
            Err(why) => out.damaged.push(Damaged {
                id,
                path,
                why: why.to_string(),
            }),
        }
    }
    Ok(out)
}

/// Why a run's events cannot be shown: the id names no run or several (`usage`), or its file
/// is damaged or cannot be read.
#[derive(Debug)]
pub struct NotShown {
    pub message: String,
    pub usage: bool,
}

/// The events of one run. `id` may be any unique part of a run's id, or `last`.
pub fn events(dir: &Path, id: &str) -> Result<(String, Vec<Value>), NotShown> {
    let usage = |message: String| NotShown {
        message,
        usage: true,
    };
    let all = files(dir).map_err(|e| NotShown {
        message: e.to_string(),
        usage: false,
    })?;
    let found: Vec<&(String, PathBuf)> = if id == "last" {
        all.last().into_iter().collect()
    } else if let Some(r) = all.iter().find(|(r, _)| r == id) {
        vec![r]
    } else {
        all.iter().filter(|(r, _)| r.contains(id)).collect()
    };
    match found.as_slice() {
        [(id, path)] => match read_events(path) {
            Ok(events) => Ok((id.clone(), events)),
            Err(why) => Err(NotShown {
                message: format!(
                    "the journal {} is damaged: {why}; it cannot be shown",
                    path.display()
                ),
                usage: false,
            }),
        },
        [] => Err(usage(format!(
            "no run {id:?} in {}; `labsh journal` lists the runs",
            dir.display()
        ))),
        many => Err(usage(format!(
            "{id:?} matches {} runs ({}); give more of the id",
            many.len(),
            many.iter()
                .map(|(r, _)| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
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
        let runs = list(dir.path()).unwrap().runs;
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
    fn a_damaged_file_is_named_and_the_others_listed() {
        let dir = tempfile::tempdir().unwrap();
        for id in ["20260101T000000Z-aaaa", "20260103T000000Z-cccc"] {
            let mut j = Journal::create(dir.path(), id).unwrap();
            j.write(json!({"event": "run", "script": "a.rhai", "mode": "apply"}));
        }
        let bad = dir.path().join("20260102T000000Z-bbbb.jsonl");
        std::fs::write(&bad, b"{\"event\":\"run\"}\n{\"script\":\"x\xff\"}\n").unwrap();
        let l = list(dir.path()).unwrap();
        let ids: Vec<&str> = l.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["20260101T000000Z-aaaa", "20260103T000000Z-cccc"]);
        assert_eq!(l.damaged.len(), 1);
        assert_eq!(l.damaged[0].path, bad);
        assert!(
            l.damaged[0].why.contains("line 2 is not UTF-8"),
            "{}",
            l.damaged[0].why
        );
        let e = events(dir.path(), "bbbb").unwrap_err();
        assert!(!e.usage && e.message.contains("damaged"), "{e:?}");
        assert!(events(dir.path(), "9999").unwrap_err().usage);
        assert_eq!(events(dir.path(), "cccc").unwrap().1.len(), 1);
    }

    #[test]
    fn a_write_that_fails_is_kept_as_the_journals_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "20260101T000000Z-abcd").unwrap();
        j.write(json!({"event": "run"}));
        assert_eq!(j.error(), None);
        // A full disk, as /dev/full is.
        j.file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        j.write(json!({"event": "stage"}));
        let e = j.error().unwrap().to_string();
        assert!(
            e.contains("cannot write the journal") && e.contains("No space left"),
            "{e}"
        );
        let path = j.path().to_path_buf();
        j.discard();
        assert!(!path.exists());
    }

    #[test]
    fn run_ids_sort_by_time() {
        let id = new_run_id();
        assert_eq!(id.len(), "20261125T213538.123Z-abcd".len());
    }
}
