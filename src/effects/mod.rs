//! The effects seam: every side effect of every binding passes through [`Effects`].
//!
//! A binding first reads the world (reads run in both modes), decides what has to change, and then
//! calls [`Effects::change`] for each write. In apply mode the write is done and recorded as
//! `changed` (or `failed`); in plan mode it is recorded as `planned`, shown, and a placeholder value
//! is returned so that later steps can go on. When the world is already as wanted, the binding calls
//! [`Effects::unchanged`], recorded as `ok`. Each record carries the stage, operation, target,
//! arguments (secrets masked), outcome and duration; it goes to the run's journal and to the printer,
//! and is counted for the recap at the end of the run.
//!
//! The seam is where programs are started and files written: clippy.toml forbids both everywhere
//! else (an exception elsewhere is marked where it is, with its reason).

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the effects seam: every program labsh starts and every file it writes passes here"
)]

pub mod files;
pub mod journal;
pub mod lab_key;
pub mod lock;
pub mod pool;
pub mod process;
pub mod secret;
pub mod secret_file;
pub mod state;
pub mod time;
pub mod timeline;

/// The seam's errors are the crate's: an effect that fails says what kind of failure it is.
pub use crate::error::{Error, Kind};

use crate::printer::{Printer, Tone};
use journal::Journal;
use serde::Serialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What belongs to one code path rather than to the session: whether its changes are only
/// planned (`planned(..)`, `stage(.., #{plan: true})`), the stages it is inside, and whether
/// effects are refused (a profile being loaded). A task's threads inherit it: the pool copies it
/// into each worker ([`pool::run_indexed`]), so `par_map` and `parallel` run each task in the
/// context of the code that started them, and one task's `planned(..)` never plans another's
/// changes.
#[derive(Clone, Debug, Default)]
pub struct Task {
    plan: bool,
    /// Writing a file the user asked for on the command line (`--graph FILE`): done even in a
    /// plan.
    output: bool,
    stages: Vec<String>,
    refused: Option<String>,
    budget: Option<Budget>,
}

/// An operations budget: where a script has no business looping (a profile's `overrides()`).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub limit: u64,
    start: Option<u64>,
}

thread_local! {
    static TASK: RefCell<Task> = RefCell::new(Task::default());
}

/// This thread's task context, to hand to the threads it starts.
pub fn current_task() -> Task {
    TASK.with(|t| t.borrow().clone())
}

/// Runs `f` with `task` as this thread's context, and puts the previous one back after, even
/// when `f` fails or panics.
pub fn in_task<R>(task: Task, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Task>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(t) = self.0.take() {
                TASK.with(|c| *c.borrow_mut() = t);
            }
        }
    }
    let before = TASK.with(|c| std::mem::replace(&mut *c.borrow_mut(), task));
    let _restore = Restore(Some(before));
    f()
}

/// Runs `f` with this thread's context changed by `edit`.
fn with_task<R>(edit: impl FnOnce(&mut Task), f: impl FnOnce() -> R) -> R {
    let mut t = current_task();
    edit(&mut t);
    in_task(t, f)
}

/// Counts `ops` (the engine's operation count) against this task's budget: an error once it is
/// spent.
pub fn over_budget(ops: u64) -> Option<String> {
    TASK.with(|c| {
        let mut t = c.borrow_mut();
        let why = t.refused.clone();
        let b = t.budget.as_mut()?;
        let start = *b.start.get_or_insert(ops);
        (ops.saturating_sub(start) > b.limit).then(|| {
            format!(
                "more than {} operations{}: an endless loop?",
                b.limit,
                why.map(|w| format!(" while {w}")).unwrap_or_default()
            )
        })
    })
}

/// What happened to one effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Already as wanted: nothing was done.
    Ok,
    /// Done.
    Changed,
    /// Plan mode: shown, not done.
    Planned,
    /// Tried and failed.
    Failed,
    /// Stopped by Ctrl-C or SIGTERM while it ran: neither done nor failed.
    Interrupted,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Changed => "changed",
            Outcome::Planned => "planned",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "stopped",
        }
    }

    fn tone(self) -> Tone {
        match self {
            Outcome::Ok => Tone::Ok,
            Outcome::Changed => Tone::Changed,
            Outcome::Planned => Tone::Planned,
            Outcome::Failed => Tone::Failed,
            Outcome::Interrupted => Tone::Changed,
        }
    }
}

/// Apply or plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Plan,
}

/// One operation on the world: what, on what, with which arguments.
#[derive(Clone, Debug)]
pub struct Op {
    pub op: String,
    pub target: String,
    pub args: Value,
}

impl Op {
    pub fn new(op: impl Into<String>, target: impl Into<String>) -> Self {
        Op {
            op: op.into(),
            target: target.into(),
            args: Value::Object(Default::default()),
        }
    }

    /// Adds an argument. Secrets must be passed as their mask (see [`secret::Secret::mask`]).
    pub fn arg(mut self, key: &str, value: impl Serialize) -> Self {
        if let Value::Object(m) = &mut self.args {
            m.insert(
                key.to_string(),
                serde_json::to_value(value).unwrap_or(Value::Null),
            );
        }
        self
    }
}

/// Counts and time of one stage, for the recap.
#[derive(Clone, Debug, Serialize)]
pub struct StageStats {
    pub name: String,
    pub status: StageStatus,
    pub ok: u64,
    pub changed: u64,
    pub planned: u64,
    pub failed: u64,
    pub ms: u128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Running,
    Done,
    Failed,
    Skipped,
    Interrupted,
}

impl StageStats {
    fn new(name: &str) -> Self {
        StageStats {
            name: name.to_string(),
            status: StageStatus::Running,
            ok: 0,
            changed: 0,
            planned: 0,
            failed: 0,
            ms: 0,
        }
    }
}

/// The name effects are counted under when no stage is running.
pub const MAIN_STAGE: &str = "main";

/// The seam. One per run (or REPL session), shared by every binding through the engine's tag.
/// Where a run's journal goes.
pub enum JournalSlot {
    /// No journal (unit tests, `labsh check`).
    None,
    /// Already open; the header was written.
    Open(Journal),
    /// Opened, with `header` as its first line, when the first effect or stage is recorded
    /// (`-e` and the REPL, which should not leave a journal for every `1 + 1`).
    Lazy {
        dir: std::path::PathBuf,
        id: String,
        header: Value,
    },
    /// A journal that could not be opened, and why: changes are refused.
    Unwritable(String),
}

pub struct Effects {
    plan: AtomicBool,
    printer: Arc<Printer>,
    journal: Mutex<JournalSlot>,
    stats: Mutex<Vec<StageStats>>,
    cancel: Arc<AtomicBool>,
    /// The state folder whose lock a change takes first, when the caller did not take it for
    /// the whole run (the REPL and `-e`).
    lock_on_change: Mutex<Option<std::path::PathBuf>>,
    /// Set for a command that only reads (`labsh status`): every change is refused, saying
    /// this, before anything is done or recorded.
    read_only: Mutex<Option<String>>,
    /// What the run's bindings keep: connections, tokens, caches ([`Effects::run_state`]).
    kept: state::Kept,
    /// What the session's plan has planned ([`Effects::plan_state`]): made again when the
    /// session's mode changes.
    planned: Mutex<Arc<state::Kept>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Effects {
    /// A seam for unit tests: plain output, no journal, never stopped.
    #[cfg(test)]
    pub fn for_tests(mode: Mode) -> Effects {
        Effects::new(
            mode,
            Arc::new(Printer::plain()),
            JournalSlot::None,
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        )
    }

    pub fn new(
        mode: Mode,
        printer: Arc<Printer>,
        journal: JournalSlot,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        Effects {
            plan: AtomicBool::new(mode == Mode::Plan),
            printer,
            journal: Mutex::new(journal),
            stats: Mutex::new(Vec::new()),
            cancel,
            lock_on_change: Mutex::new(None),
            read_only: Mutex::new(None),
            kept: state::Kept::default(),
            planned: Mutex::new(Arc::default()),
        }
    }

    /// Plan or apply, for the code path asking: the session's mode (`--plan`, `:plan`), or plan
    /// inside `planned(..)` and plan-only stages of this task.
    pub fn mode(&self) -> Mode {
        if TASK.with(|t| t.borrow().output) {
            return Mode::Apply;
        }
        if self.plan.load(Ordering::SeqCst) || TASK.with(|t| t.borrow().plan) {
            Mode::Plan
        } else {
            Mode::Apply
        }
    }

    pub fn is_plan(&self) -> bool {
        self.mode() == Mode::Plan
    }

    /// Whether the session plans (`--plan`, the REPL's `:plan on`), whatever this task does: a
    /// session that plans writes nothing, not even labsh's own bookkeeping.
    pub fn session_plans(&self) -> bool {
        self.plan.load(Ordering::SeqCst)
    }

    /// Sets the session's mode (the REPL's `:plan on|off`). A change of mode drops what was
    /// planned before it ([`Effects::plan_state`]): the changes made after a plan never see
    /// what it only planned, and a new plan starts from the world as it is.
    pub fn set_mode(&self, mode: Mode) {
        let was = self.plan.swap(mode == Mode::Plan, Ordering::SeqCst);
        if was != (mode == Mode::Plan) {
            *lock(&self.planned) = Arc::default();
        }
    }

    /// The `T` this run keeps (a binding's connections, tokens or caches), made with
    /// `T::default()` on first use, dropped with the run's session.
    pub fn run_state<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        self.kept.get::<T>()
    }

    /// The `T` that holds what this session's plan has planned (where a planned transition
    /// leaves a node, a file a plan would write), made on first use, dropped with the session
    /// and whenever its mode changes ([`Effects::set_mode`]).
    pub fn plan_state<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let planned = lock(&self.planned).clone();
        planned.get::<T>()
    }

    /// Runs `f` with this task's changes planned, not applied (and the tasks it starts).
    pub fn planning<R>(&self, f: impl FnOnce() -> R) -> R {
        with_task(|t| t.plan = true, f)
    }

    /// Runs `f` with every effect refused (saying `why`) and at most `ops` script operations:
    /// how a profile is evaluated before it is checked.
    pub fn refusing<R>(&self, why: &str, ops: u64, f: impl FnOnce() -> R) -> R {
        with_task(
            |t| {
                t.refused = Some(why.to_string());
                t.budget = Some(Budget {
                    limit: ops,
                    start: None,
                });
            },
            f,
        )
    }

    /// Makes every applied change take the lock on `state` first ([`lock::acquire`]).
    pub fn lock_on_change(&self, state: Option<std::path::PathBuf>) {
        *lock(&self.lock_on_change) = state;
    }

    /// Makes this seam read only (`labsh status`): a change, applied or planned, is refused
    /// with an error that says `why`, and nothing of it is done, recorded or journaled; an output
    /// the user asked for on the command line ([`Effects::output`]: `--graph FILE`) is written.
    pub fn read_only(&self, why: &str) {
        *lock(&self.read_only) = Some(why.to_string());
    }

    /// An error when this seam only reads.
    fn check_writable(&self, op: &Op) -> Result<(), Error> {
        if TASK.with(|t| t.borrow().output) {
            return Ok(());
        }
        match lock(&self.read_only).clone() {
            Some(why) => Err(Error::refused(format!(
                "{} {} is a change, and {why}: nothing was changed",
                op.op,
                secret::redact(&op.target)
            ))),
            None => Ok(()),
        }
    }

    /// An error when this task may not have effects.
    fn check_allowed(&self, op: &Op) -> Result<(), Error> {
        match TASK.with(|t| t.borrow().refused.clone()) {
            Some(why) => Err(Error::refused(format!(
                "{} {} is not allowed while {why}: nothing may act before the profile is checked",
                op.op,
                secret::redact(&op.target)
            ))),
            None => Ok(()),
        }
    }

    pub fn printer(&self) -> &Arc<Printer> {
        &self.printer
    }

    pub fn cancel_flag(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    /// An error if the user asked to stop (Ctrl-C, SIGTERM).
    pub fn check_cancel(&self) -> Result<(), Error> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(Error::interrupted())
        } else {
            Ok(())
        }
    }

    /// Runs `cmd` with this session's stop flag and printer: the one way a binding starts a
    /// program (inside `change` or `read`, which decide whether it runs).
    pub fn exec(&self, cmd: &process::Command) -> Result<process::Output, Error> {
        process::exec(cmd, &self.cancel, &self.printer)
    }

    /// Starts `cmd` as a background service (see [`process::spawn_detached`]); refused once the
    /// user asked to stop.
    pub fn spawn_detached(
        &self,
        cmd: &process::Command,
        log: &std::path::Path,
    ) -> Result<u32, Error> {
        self.check_cancel()?;
        process::spawn_detached(cmd, log)
    }

    /// Runs `cmd` as `op`: a read (it runs in a plan too) or a change (a plan shows it); a
    /// non-zero exit is a failure with the last lines of its output.
    pub fn run_checked(
        &self,
        op: Op,
        cmd: &process::Command,
        read: bool,
    ) -> Result<process::Output, Error> {
        let run = || {
            let o = self.exec(cmd)?;
            if o.code != 0 {
                return Err(Error::failed(o.failure(&cmd.display())));
            }
            Ok(o)
        };
        if read {
            self.read(op, run)
        } else {
            self.change(op, run, process::Output::planned)
        }
    }

    /// A step that a plan shows and a run has nothing to do for (its work is done by another
    /// step): recorded as planned in a plan, as changed in a run.
    pub fn planned_step(&self, op: Op) -> Result<(), Error> {
        self.change(op, || Ok::<(), Error>(()), || ())
    }

    pub fn run_id(&self) -> Option<String> {
        match &*lock(&self.journal) {
            JournalSlot::Open(j) => Some(j.id().to_string()),
            JournalSlot::Lazy { id, .. } => Some(id.clone()),
            JournalSlot::None | JournalSlot::Unwritable(_) => None,
        }
    }

    pub fn journal_path(&self) -> Option<std::path::PathBuf> {
        match &*lock(&self.journal) {
            JournalSlot::Open(j) => Some(j.path().to_path_buf()),
            _ => None,
        }
    }

    /// Writes one event to the journal, opening a lazy journal first.
    pub fn journal(&self, event: Value) {
        let mut slot = lock(&self.journal);
        self.journal_to(&mut slot, event);
    }

    fn journal_to(&self, slot: &mut JournalSlot, event: Value) {
        if matches!(slot, JournalSlot::Lazy { .. }) {
            if event["event"] != "effect" && event["event"] != "stage" {
                // Nothing was recorded yet: a lazy journal stays unwritten.
                return;
            }
            self.open_lazy(slot, true);
        }
        if let JournalSlot::Open(j) = slot {
            j.write(event);
        }
    }

    /// Opens a lazy journal with its first line; one that cannot be is unwritable (and, with
    /// `warn`, said so: a change says it in its error).
    fn open_lazy(&self, slot: &mut JournalSlot, warn: bool) {
        let JournalSlot::Lazy { dir, id, header } = &*slot else {
            return;
        };
        let opened = Journal::create(dir, id).and_then(|mut j| {
            j.write(header.clone());
            match j.error().map(str::to_string) {
                Some(e) => {
                    j.discard();
                    Err(Error::failed(e))
                }
                None => Ok(j),
            }
        });
        *slot = match opened {
            Ok(j) => JournalSlot::Open(j),
            Err(e) => {
                if warn {
                    self.printer.warn(e.message());
                }
                JournalSlot::Unwritable(e.to_string())
            }
        };
    }

    /// Before a change: the journal is open (a lazy one opened now) and its lines are written,
    /// else an error saying why. A change that could not be recorded is not made.
    fn journal_ready(&self) -> Result<(), Error> {
        let mut slot = lock(&self.journal);
        self.open_lazy(&mut slot, false);
        let why = match &*slot {
            JournalSlot::Open(j) => j.error().map(str::to_string),
            JournalSlot::Unwritable(e) => Some(e.clone()),
            JournalSlot::None | JournalSlot::Lazy { .. } => None,
        };
        match why {
            Some(e) => Err(Error::failed(format!(
                "{e}: no change is made that the journal cannot record (free space in the state \
                 folder, or make it writable)"
            ))),
            None => Ok(()),
        }
    }

    /// Writes the run's last event and closes its journal: nothing is written after it.
    pub fn close_journal(&self, last: Value) {
        let mut slot = lock(&self.journal);
        self.journal_to(&mut slot, last);
        if let JournalSlot::Open(j) = &*slot {
            tracing::debug!("journal closed: {}", j.path().display());
        }
        *slot = JournalSlot::None;
    }

    /// Starts a new lazy journal (the REPL starts one per `:plan` switch and after each run).
    pub fn set_journal(&self, slot: JournalSlot) {
        *lock(&self.journal) = slot;
    }

    /// Forgets the counts (the REPL shows a recap per line).
    pub fn reset_stats(&self) {
        lock(&self.stats).clear();
    }

    /// The innermost stage this task is running.
    pub fn current_stage(&self) -> String {
        TASK.with(|t| t.borrow().stages.last().cloned())
            .unwrap_or_else(|| MAIN_STAGE.to_string())
    }

    /// A write to the world. Plan mode: recorded as planned, `planned()` returned. Apply mode: `apply()`
    /// runs and is recorded as changed or failed.
    ///
    /// Its error is `apply`'s, of its kind (stopped, timed out, not found), or the seam's own: an
    /// interrupt, an effect refused while a profile loads, a journal that cannot record it.
    pub fn change<T, E: Into<Error>>(
        &self,
        op: Op,
        apply: impl FnOnce() -> Result<T, E>,
        planned: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        self.check_cancel()?;
        self.check_allowed(&op)?;
        self.check_writable(&op)?;
        if self.is_plan() {
            self.record(&op, Outcome::Planned, 0, None);
            return Ok(planned());
        }
        if let Some(dir) = lock(&self.lock_on_change).clone() {
            lock::acquire(&dir, false, &self.cancel, &|_| {})?;
        }
        self.journal_ready()?;
        let t0 = Instant::now();
        match apply().map_err(Into::into) {
            Ok(v) => {
                self.record(&op, Outcome::Changed, t0.elapsed().as_millis(), None);
                Ok(v)
            }
            Err(e) if e.is_interrupted() => {
                self.record(&op, Outcome::Interrupted, t0.elapsed().as_millis(), None);
                Err(e)
            }
            Err(e) => {
                self.record(
                    &op,
                    Outcome::Failed,
                    t0.elapsed().as_millis(),
                    Some(&e.to_string()),
                );
                Err(e)
            }
        }
    }

    /// A change to labsh's own files that the rest of the run depends on (a secret made once
    /// and used by later steps): done in any applying run, also inside `planned(..)`; only a
    /// session in plan mode (`--plan`, `:plan on`) shows it instead.
    pub fn change_local<T, E: Into<Error>>(
        &self,
        op: Op,
        apply: impl FnOnce() -> Result<T, E>,
        planned: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        if self.plan.load(Ordering::SeqCst) {
            return self.change(op, apply, planned);
        }
        with_task(|t| t.plan = false, || self.change(op, apply, planned))
    }

    /// Runs `f` writing an output the user asked for on the command line (a picture): done in
    /// a plan too, since it is what the user wanted to see.
    pub fn output<R>(&self, f: impl FnOnce() -> R) -> R {
        with_task(
            |t| {
                t.plan = false;
                t.output = true;
            },
            f,
        )
    }

    /// Records a check that failed (a strict preflight shortfall): counted as failed in the
    /// recap with what it says.
    pub fn check_failed(&self, what: &str, detail: &str) {
        self.record(&Op::new("check", what), Outcome::Failed, 0, Some(detail));
    }

    /// Records that the world already is as `op` wants it.
    pub fn unchanged(&self, op: Op) {
        self.record(&op, Outcome::Ok, 0, None);
    }

    /// A read. Runs in both modes; traced, not counted.
    pub fn read<T, E: Into<Error>>(
        &self,
        op: Op,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, Error> {
        self.check_cancel()?;
        self.check_allowed(&op)?;
        let t0 = Instant::now();
        let r = f().map_err(Into::into);
        tracing::debug!(
            op = %op.op,
            target = %secret::redact(&op.target),
            ms = t0.elapsed().as_millis() as u64,
            ok = r.is_ok(),
            "read"
        );
        r
    }

    fn record(&self, op: &Op, outcome: Outcome, ms: u128, error: Option<&str>) {
        let stage = self.current_stage();
        {
            let mut stats = lock(&self.stats);
            let s = match stats.iter().position(|s| s.name == stage) {
                Some(i) => &mut stats[i],
                None => {
                    stats.push(StageStats::new(&stage));
                    stats.last_mut().expect("just pushed")
                }
            };
            match outcome {
                Outcome::Ok => s.ok += 1,
                Outcome::Changed => s.changed += 1,
                Outcome::Planned => s.planned += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Interrupted => {}
            }
        }
        let mut ev = json!({
            "event": "effect",
            "stage": stage,
            "op": op.op,
            "target": op.target,
            "args": op.args,
            "outcome": outcome,
            "ms": ms as u64,
        });
        if let Some(e) = error {
            ev["error"] = json!(e);
        }
        self.journal(ev.clone());
        if self.printer.is_json() {
            self.printer.event(ev);
            return;
        }
        // Put together from its parts, each masked on its own and its control characters
        // escaped: the outcome and the operation are labels, the target, the arguments and the
        // error data.
        let label = self
            .printer
            .paint(outcome.tone(), &format!("{:<8}", outcome.label()));
        let mut line = format!(
            "  {label} {} {}",
            crate::printer::label(&op.op),
            crate::printer::data(&op.target, false)
        );
        if outcome == Outcome::Planned {
            if let Value::Object(m) = &op.args {
                if !m.is_empty() {
                    // Masked before it is cut: a cut never leaves part of a secret.
                    let mut args = op.args.clone();
                    crate::redact::json_data(&mut args);
                    let mut a = crate::printer::escaped(&args.to_string(), false);
                    if a.len() > 240 {
                        let cut = (0..=240)
                            .rev()
                            .find(|i| a.is_char_boundary(*i))
                            .unwrap_or(0);
                        a.truncate(cut);
                        a.push('…');
                    }
                    line.push(' ');
                    line.push_str(&self.printer.paint(Tone::Dim, &a));
                }
            }
        }
        if ms > 0 {
            line.push_str(&self.printer.paint(Tone::Dim, &format!(" ({})", fmt_ms(ms))));
        }
        if let Some(e) = error {
            line.push_str(&format!(": {}", crate::printer::data(e, true)));
        }
        self.printer.status_masked(&line);
    }

    /// Marks the start of a stage in this task: effects recorded until [`Effects::stage_end`]
    /// (here and in the tasks this one starts) count under it.
    pub fn stage_begin(&self, name: &str) {
        TASK.with(|t| t.borrow_mut().stages.push(name.to_string()));
        {
            let mut stats = lock(&self.stats);
            match stats.iter_mut().find(|s| s.name == name) {
                Some(s) => s.status = StageStatus::Running,
                None => stats.push(StageStats::new(name)),
            }
        }
        let plan = if self.is_plan() { " (plan)" } else { "" };
        self.journal(json!({"event": "stage", "stage": name, "status": "started"}));
        self.printer
            .event(json!({"event": "stage", "stage": name, "status": "started"}));
        let name = crate::printer::label(name);
        self.printer
            .status_masked(&self.printer.paint(Tone::Stage, &format!("── {name}{plan}")));
    }

    /// Marks the end of a stage.
    pub fn stage_end(&self, name: &str, status: StageStatus, ms: u128) {
        TASK.with(|t| {
            let mut t = t.borrow_mut();
            if let Some(i) = t.stages.iter().rposition(|s| s == name) {
                t.stages.remove(i);
            }
        });
        {
            let mut stats = lock(&self.stats);
            if let Some(s) = stats.iter_mut().find(|s| s.name == name) {
                s.status = status;
                s.ms += ms;
            }
        }
        let ev = json!({"event": "stage", "stage": name, "status": status, "ms": ms as u64});
        self.journal(ev.clone());
        self.printer.event(ev);
    }

    /// Marks the stages still running as interrupted: a run ended by a signal while they ran.
    pub fn stages_stopped(&self) {
        for s in lock(&self.stats).iter_mut() {
            if s.status == StageStatus::Running && s.name != MAIN_STAGE {
                s.status = StageStatus::Interrupted;
            }
        }
    }

    /// Records a stage that the stage selection (`--only`, `--from`) left out.
    pub fn stage_skipped(&self, name: &str) {
        {
            let mut stats = lock(&self.stats);
            if !stats.iter().any(|s| s.name == name) {
                let mut s = StageStats::new(name);
                s.status = StageStatus::Skipped;
                stats.push(s);
            }
        }
        let ev = json!({"event": "stage", "stage": name, "status": "skipped"});
        self.journal(ev.clone());
        self.printer.event(ev);
        let name = crate::printer::label(name);
        self.printer.status_masked(
            &self
                .printer
                .paint(Tone::Dim, &format!("── {name} (skipped)")),
        );
    }

    /// The counts so far, by stage in the order stages first ran.
    pub fn stats(&self) -> Vec<StageStats> {
        lock(&self.stats).clone()
    }

    /// Prints the recap (and, in JSON mode, emits it as the last line) and journals it.
    pub fn recap(&self, total_ms: u128, main_failed: bool) -> Value {
        let mut stats = self.stats();
        let staged: u128 = stats
            .iter()
            .filter(|s| s.name != MAIN_STAGE)
            .map(|s| s.ms)
            .sum();
        // The script's own lines failed when the run failed and no stage did (a stage's failure
        // is that stage's row).
        let a_stage_failed = stats.iter().any(|s| {
            s.name != MAIN_STAGE
                && matches!(s.status, StageStatus::Failed | StageStatus::Interrupted)
        });
        if let Some(main) = stats.iter_mut().find(|s| s.name == MAIN_STAGE) {
            main.ms = total_ms.saturating_sub(staged);
            main.status = if main_failed && !a_stage_failed {
                StageStatus::Failed
            } else {
                StageStatus::Done
            };
        }
        let mut totals = (0u64, 0u64, 0u64, 0u64);
        for s in &stats {
            totals.0 += s.ok;
            totals.1 += s.changed;
            totals.2 += s.planned;
            totals.3 += s.failed;
        }
        let ev = json!({
            "event": "recap",
            "stages": stats,
            "totals": {"ok": totals.0, "changed": totals.1, "planned": totals.2, "failed": totals.3},
            "ms": total_ms as u64,
        });
        self.journal(ev.clone());
        if self.printer.is_json() {
            self.printer.event(ev.clone());
            return ev;
        }
        // Labsh's own table: the stage names are labels, masked as such; nothing in it is data.
        let p = &self.printer;
        let names: Vec<String> = stats
            .iter()
            .map(|s| crate::printer::label(&s.name))
            .collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        p.status_masked("");
        p.status_masked(&p.paint(
            Tone::Bold,
            &format!(
                "{:<width$}  {:>5}  {:>7}  {:>7}  {:>6}  {:>8}  status",
                "RECAP", "ok", "changed", "planned", "failed", "time"
            ),
        ));
        for (s, name) in stats.iter().zip(&names) {
            let cell = |n: u64, w: usize, tone: Tone| {
                let txt = format!("{n:>w$}");
                if n > 0 {
                    p.paint(tone, &txt)
                } else {
                    txt
                }
            };
            let status = match s.status {
                StageStatus::Done | StageStatus::Running => "done",
                StageStatus::Failed => "FAILED",
                StageStatus::Skipped => "skipped",
                StageStatus::Interrupted => "interrupted",
            };
            p.status_masked(&format!(
                "{:<width$}  {}  {}  {}  {}  {:>8}  {}",
                name,
                cell(s.ok, 5, Tone::Ok),
                cell(s.changed, 7, Tone::Changed),
                cell(s.planned, 7, Tone::Planned),
                cell(s.failed, 6, Tone::Failed),
                fmt_ms(s.ms),
                status
            ));
        }
        p.status_masked(&format!(
            "{:<width$}  {:>5}  {:>7}  {:>7}  {:>6}  {:>8}",
            "total",
            totals.0,
            totals.1,
            totals.2,
            totals.3,
            fmt_ms(total_ms)
        ));
        ev
    }
}

/// `850ms`, `2.4s`, `3m12s`.
pub fn fmt_ms(ms: u128) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(mode: Mode) -> Effects {
        Effects::for_tests(mode)
    }

    #[test]
    fn plan_mode_never_calls_apply() {
        let e = fx(Mode::Plan);
        let v = e
            .change(
                Op::new("x", "t"),
                || -> Result<i32, Error> { panic!("must not run in plan mode") },
                || 7,
            )
            .unwrap();
        assert_eq!(v, 7);
        assert_eq!(e.stats()[0].planned, 1);
    }

    #[test]
    fn apply_mode_counts_changed_failed_and_ok_by_stage() {
        let e = fx(Mode::Apply);
        e.stage_begin("a");
        e.change(Op::new("x", "t"), || Ok::<i32, String>(1), || 0)
            .unwrap();
        assert!(e
            .change(
                Op::new("x", "t"),
                || Err::<i32, String>("boom".into()),
                || 0
            )
            .is_err());
        e.stage_end("a", StageStatus::Done, 5);
        e.unchanged(Op::new("y", "t"));
        let s = e.stats();
        assert_eq!((s[0].name.as_str(), s[0].changed, s[0].failed), ("a", 1, 1));
        assert_eq!((s[1].name.as_str(), s[1].ok), (MAIN_STAGE, 1));
        let recap = e.recap(10, false);
        assert_eq!(recap["totals"]["changed"], 1);
        assert_eq!(recap["totals"]["ok"], 1);
        // The script's own lines failed: its row says so, unless a stage's failure is the cause.
        let main = |r: &Value| {
            r["stages"]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["name"] == MAIN_STAGE).cloned())
                .unwrap_or_default()
        };
        assert_eq!(main(&e.recap(10, false))["status"], "done");
        assert_eq!(main(&e.recap(10, true))["status"], "failed");
        e.stage_begin("b");
        e.stage_end("b", StageStatus::Failed, 1);
        assert_eq!(main(&e.recap(10, true))["status"], "done");
    }

    #[test]
    fn a_read_only_seam_refuses_every_change_and_still_reads() {
        for mode in [Mode::Apply, Mode::Plan] {
            let e = fx(mode);
            e.read_only("labsh status only reads");
            let r = e.change(
                Op::new("virt.domain.start", "vm"),
                || -> Result<i32, Error> { panic!("a read-only seam never applies") },
                || 0,
            );
            let err = r.unwrap_err();
            assert_eq!(err.kind(), Kind::Refused, "{err}");
            assert!(
                err.message()
                    .contains("virt.domain.start vm is a change, and labsh status only reads"),
                "{err}"
            );
            assert_eq!(e.read(Op::new("r", "t"), || Ok::<i32, String>(3)), Ok(3));
            assert!(e.stats().is_empty(), "nothing recorded");
            // The picture the user asked for is written; the next change is refused again.
            let out = e.output(|| {
                e.change(
                    Op::new("file.write", "lab.svg"),
                    || Ok::<i32, String>(1),
                    || 0,
                )
            });
            assert_eq!(out, Ok(1));
            let again = e.change(Op::new("file.write", "x"), || Ok::<i32, String>(1), || 0);
            assert!(again.is_err(), "{again:?}");
        }
    }

    #[test]
    fn each_seam_keeps_its_runs_state_and_a_change_of_mode_drops_what_was_planned() {
        #[derive(Default)]
        struct Seen(Mutex<Vec<&'static str>>);
        let seen = |s: &Arc<Seen>| s.0.lock().unwrap().clone();
        let (a, b) = (fx(Mode::Apply), fx(Mode::Apply));
        a.run_state::<Seen>()
            .0
            .lock()
            .unwrap()
            .push("a's connection");
        a.plan_state::<Seen>().0.lock().unwrap().push("a's plan");
        // Another run in the same process sees neither.
        assert!(seen(&b.run_state::<Seen>()).is_empty());
        assert!(seen(&b.plan_state::<Seen>()).is_empty());
        assert_eq!(seen(&a.plan_state::<Seen>()), ["a's plan"]);
        // Setting the mode it has already changes nothing.
        a.set_mode(Mode::Apply);
        assert_eq!(seen(&a.plan_state::<Seen>()), ["a's plan"]);
        // `:plan on`, something planned, `:plan off`: what was planned is gone, the run's state
        // is kept.
        a.set_mode(Mode::Plan);
        assert!(seen(&a.plan_state::<Seen>()).is_empty());
        a.plan_state::<Seen>().0.lock().unwrap().push("planned");
        a.set_mode(Mode::Apply);
        assert!(seen(&a.plan_state::<Seen>()).is_empty());
        assert_eq!(seen(&a.run_state::<Seen>()), ["a's connection"]);
        // Plan mode is the session's: switched off, it plans no more.
        assert!(!a.session_plans() && fx(Mode::Plan).session_plans());
    }

    #[test]
    fn cancel_stops_changes() {
        let e = fx(Mode::Apply);
        e.cancel_flag().store(true, Ordering::SeqCst);
        let r = e.change(Op::new("x", "t"), || Ok::<i32, Error>(1), || 0);
        assert_eq!(r, Err(Error::interrupted()));
    }

    fn with_journal(slot: JournalSlot) -> Effects {
        Effects::new(
            Mode::Apply,
            Arc::new(Printer::plain()),
            slot,
            Arc::new(AtomicBool::new(false)),
        )
    }

    fn lazy(dir: &std::path::Path) -> JournalSlot {
        JournalSlot::Lazy {
            dir: dir.to_path_buf(),
            id: "20260101T000000Z-abcd".into(),
            header: json!({"event": "run", "script": "-e"}),
        }
    }

    #[test]
    fn a_change_is_not_made_when_its_journal_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the journals' folder should be.
        let runs = dir.path().join("runs");
        std::fs::write(&runs, "").unwrap();
        let e = with_journal(lazy(&runs));
        let r = e.change(
            Op::new("x", "t"),
            || -> Result<(), Error> { panic!("changed with no journal") },
            || (),
        );
        let err = r.unwrap_err();
        assert!(
            err.message().contains(&runs.display().to_string())
                && err.message().contains("no change is made"),
            "{err}"
        );
        // A read still runs; a later change is refused as well.
        assert_eq!(e.read(Op::new("r", "t"), || Ok::<_, String>(1)), Ok(1));
        assert!(e
            .change(Op::new("x", "t"), || Ok::<(), String>(()), || ())
            .is_err());
        assert_eq!(e.stats().iter().map(|s| s.changed).sum::<u64>(), 0);
    }

    #[test]
    fn a_journal_that_fills_up_stops_the_changes_after_it() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let path = std::path::Path::new("/state/runs/full.jsonl");
        let e = with_journal(JournalSlot::Open(Journal::on_file(path, full)));
        // The change whose record fails was made; the next one is not.
        e.change(Op::new("x", "first"), || Ok::<(), String>(()), || ())
            .unwrap();
        let err = e
            .change(
                Op::new("x", "second"),
                || -> Result<(), Error> { panic!("changed with a full journal") },
                || (),
            )
            .unwrap_err();
        assert!(
            err.message()
                .contains("cannot write the journal /state/runs/full.jsonl")
                && err.message().contains("No space left"),
            "{err}"
        );
    }

    #[test]
    fn a_lazy_journal_is_opened_before_the_first_change_and_closed_by_the_last_event() {
        let dir = tempfile::tempdir().unwrap();
        let e = with_journal(lazy(dir.path()));
        let file = dir.path().join("20260101T000000Z-abcd.jsonl");
        e.change(
            Op::new("x", "t"),
            || {
                let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                assert!(text.contains("\"event\":\"run\""), "{text}");
                Ok::<(), String>(())
            },
            || (),
        )
        .unwrap();
        e.close_journal(json!({"event": "run_end", "status": "ok"}));
        e.journal(json!({"event": "effect", "op": "late"}));
        let text = std::fs::read_to_string(&file).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.contains("run_end"), "{text}");
        assert!(!text.contains("late"), "{text}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_ms(850), "850ms");
        assert_eq!(fmt_ms(2400), "2.4s");
        assert_eq!(fmt_ms(192_000), "3m12s");
    }
}
