//! `labsh status`: the lab as it is now, read by the stdlib's `status::lab()` (stdlib/status.rhai:
//! every layer from its own source, all at once) and shown as tables, or as one JSON event.
//!
//! It only reads. Its session refuses every change ([`crate::effects::Effects::read_only`]), so
//! a layer reader that tried one would fail, not act. It takes no lock: a status is most wanted
//! while a run holds the lab. It writes no journal: a journal records a run's changes, and a
//! status (every few seconds with `--watch`) has none; its journals would bury the runs'. The
//! sandbox is read as a run left it and never written back.
//!
//! `--repair` is the one way it changes the lab: before the reading, in a session of its own,
//! the repair a run and a revert make (stdlib `snapshot::repair`: what a restart of the host
//! left stale) runs as a run would: holding the lab's lock (a run that holds it is a clear
//! error, and nothing is changed), journaled, each repair said (a `repair` event in JSON), and
//! with `--plan` only planned. The reading after it is the same read-only one.

use super::{setup, signals, Program, FAILED, OK, USAGE};
use crate::cli::{Common, StatusArgs};
use crate::effects::{journal, JournalSlot, Mode};
use crate::engine::diag::Diagnostic;
use crate::engine::value;
use crate::paths;
use crate::printer::{Printer, Tone};
use crate::session::{is_interrupt, RunOptions};
use rhai::Dynamic;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the status reads: the stdlib's reader for the lab `--profile` and `--target` name.
const SCRIPT: &str = "import \"status\" as status;\nstatus::lab()\n";

/// The status, and with `--graph FILE` the lab's picture with each VM in the state it read
/// (stdlib/graph.rhai): the picture is the one output a status writes, and one it could not
/// draw is said in `picture_error`, the status shown all the same.
const SCRIPT_GRAPH: &str = "import \"status\" as status;\nimport \"graph\" as graph;\n\
import \"target\" as target;\nimport \"profile\" as profile;\n\
let info = run_info();\nlet st = status::lab();\n\
try {\n\
    let p = if st.lab != () { target::setup(info).p } else { profile::load(info.profile, info.script).profile };\n\
    st.picture = graph::write(p, info.graph, #{ status: st });\n\
} catch (e) { st.picture_error = `${e}`; }\nst\n";

/// What `--repair` runs first: the repair a run makes before its stages, for the same lab.
const REPAIR: &str = "import \"target\" as target;\nimport \"snapshot\" as snapshot;\n\
let s = target::setup(run_info());\nsnapshot::repair(s.p, s.t)\n";

/// How the repair's run is named in its journal and its errors.
const REPAIR_SOURCE: &str = "labsh status --repair";

/// Why a change is refused here.
const READ_ONLY: &str = "labsh status only reads";

/// At least this many layers are read at once: each is a wait on another program or service.
const MIN_JOBS: usize = 16;

/// What the status session is given of the command line: `-j` before the subcommand is
/// honoured; by default every layer gets its own thread.
fn status_options(args: &StatusArgs, top_jobs: u16) -> RunOptions {
    let jobs = if top_jobs == crate::cli::default_jobs() {
        usize::from(top_jobs).max(MIN_JOBS)
    } else {
        usize::from(top_jobs)
    };
    RunOptions {
        profile: args.lab.profile.clone(),
        target: args.lab.target.clone(),
        sets: args.lab.sets.iter().cloned().collect(),
        jobs,
        commands: crate::cli::subcommands(),
        graph: args.graph.clone(),
        ..Default::default()
    }
}

/// One look's outcome shown (its time `ms`, and `watch`'s interval, in it): 0 for a healthy lab
/// whose picture was drawn, 1 otherwise or for an error.
fn show_result(
    printer: &Printer,
    result: Result<Dynamic, Box<rhai::EvalAltResult>>,
    ms: u64,
    watch: Option<f64>,
    first: bool,
) -> u8 {
    match result {
        Ok(v) => {
            let mut st = value::to_json(&v);
            st["ms"] = json!(ms);
            if let Some(every) = watch {
                st["watch"] = json!(every);
            }
            show(printer, &st, watch, first);
            if st["healthy"] == true && st["picture_error"].is_null() {
                OK
            } else {
                FAILED
            }
        }
        Err(e) => {
            let d = Diagnostic::from_eval(&e, Some("status"));
            printer.error(&d.render(), d.to_json());
            if let Some(h) = &d.hint {
                printer.hint(h);
            }
            FAILED
        }
    }
}

/// `labsh status [--profile P] [--target T] [--set K=V] [--watch [SECONDS]] [--json]`.
pub fn status(args: &StatusArgs, common: &Common, top_jobs: u16) -> u8 {
    let printer = Arc::new(Printer::new(common.out.json));
    let usage = |msg: String, hint: Option<&str>| {
        printer.error(&msg, json!({"kind": "usage"}));
        if let Some(h) = hint {
            printer.hint(h);
        }
        USAGE
    };
    for (kind, name) in [
        (paths::LabFile::Profile, &args.lab.profile),
        (paths::LabFile::Target, &args.lab.target),
    ] {
        if let Some(n) = name {
            if let Err(e) = paths::lab_file(kind, n, None) {
                return usage(e.to_string(), None);
            }
        }
    }
    let cwd = std::env::current_dir().ok();
    if args.repair {
        if let Err(code) = repair(
            &printer,
            common,
            args.wait,
            status_options(args, top_jobs),
            cwd.clone(),
        ) {
            return code;
        }
    }
    let (session, engine) = setup(
        printer.clone(),
        Mode::Apply,
        JournalSlot::None,
        status_options(args, top_jobs),
        cwd.clone(),
    );
    session.effects.read_only(READ_ONLY);
    {
        // A stop signal waits for the main thread, which ends with the stop's message and code.
        let p = printer.clone();
        signals::on_forced_end(move || {
            p.error(
                &signals::stopped_message(),
                json!({"kind": signals::stopped_status()}),
            );
        });
    }
    let script = if args.graph.is_some() {
        SCRIPT_GRAPH
    } else {
        SCRIPT
    };
    let Some(program) = Program::load(&engine, &printer, "status", script, cwd) else {
        return FAILED;
    };
    let ast = &program.ast;
    if !args.lab.sets.is_empty() {
        let known = program.params(&engine).names;
        let keys: Vec<&str> = args.lab.sets.iter().map(|(k, _)| k.as_str()).collect();
        if let Err(c) = super::check_names(&printer, "--set key", &keys, &known, "labsh status") {
            return c;
        }
    }
    let cancel = session.effects.cancel_flag().clone();
    let stopped = || {
        let _ended = signals::end_of_run();
        printer.error(
            &signals::stopped_message(),
            json!({"kind": signals::stopped_status(), "signal": signals::stop_signal().map(signals::signal_name)}),
        );
        signals::stopped_code()
    };
    let mut first = true;
    loop {
        let t0 = Instant::now();
        let result = engine.eval_ast::<Dynamic>(ast);
        let ms = t0.elapsed().as_millis() as u64;
        if cancel.load(Ordering::SeqCst) || result.as_ref().is_err_and(|e| is_interrupt(e)) {
            return stopped();
        }
        let code = show_result(&printer, result, ms, args.watch, first);
        first = false;
        let Some(every) = args.watch else {
            // The process's exit frees the engine (as a run's does).
            std::mem::forget(engine);
            return code;
        };
        let until = Instant::now() + Duration::from_secs_f64(every);
        while Instant::now() < until {
            if cancel.load(Ordering::SeqCst) {
                return stopped();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `--repair`: the stdlib's repair, run as a run runs (the lab's lock, a journal, the changes
/// through the seam, planned with `--plan`), each repair said: on a terminal the stdlib's own
/// lines (`repair: ...`) or, in a plan, what it would do; in JSON one `repair` event each. Then
/// the lock is given back. An error is the code to exit with, the error said.
fn repair(
    printer: &Arc<Printer>,
    common: &Common,
    wait: bool,
    options: RunOptions,
    cwd: Option<std::path::PathBuf>,
) -> Result<(), u8> {
    let t0 = Instant::now();
    let plan = common.plan;
    let sets = options.sets.clone();
    let (session, engine) = setup(
        printer.clone(),
        super::mode_of(common),
        JournalSlot::None,
        options,
        cwd.clone(),
    );
    let Some(program) = Program::load(&engine, printer, REPAIR_SOURCE, REPAIR, cwd.clone()) else {
        return Err(FAILED);
    };
    // One run per lab state at a time: a plan changes nothing and takes no lock.
    let state = crate::paths::state_dir();
    let _held = if plan {
        None
    } else {
        Some(repair_lock(printer, &session, &state, wait)?)
    };
    if let Err(e) = session.secrets.check() {
        printer.error(e.message(), json!({"kind": "secrets"}));
        printer.hint("nothing was changed");
        return Err(FAILED);
    }
    let run_id = journal::new_run_id();
    let mode = if plan { "plan" } else { "apply" };
    if !plan {
        let header = json!({
            "event": "run",
            "run_id": run_id,
            "script": REPAIR_SOURCE,
            "mode": mode,
            "set": sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "jobs": common.jobs,
            "labsh": env!("CARGO_PKG_VERSION"),
        });
        if let Err(e) = super::open_journal(&session, &run_id, header) {
            printer.error(e.message(), json!({"kind": "journal"}));
            printer.hint(&format!(
                "nothing was changed: a repair is journaled before it changes anything; free \
                 space in {}, or make it writable, and run again",
                state.display()
            ));
            return Err(FAILED);
        }
    }
    printer.event(json!({"event": "run", "run_id": run_id, "script": REPAIR_SOURCE, "mode": mode}));
    let result = engine.eval_ast::<Dynamic>(&program.ast);
    let cancelled = session.effects.cancel_flag().load(Ordering::SeqCst);
    let outcome = repair_outcome(printer, &session, result, cancelled, plan);
    // A run's recap (what changed, or would), in the journal and the output, then its end.
    let ms = t0.elapsed().as_millis();
    session.effects.recap(ms, outcome.is_err() && !cancelled);
    let status = match &outcome {
        Ok(()) => "ok",
        Err(c) if *c == FAILED => "failed",
        Err(_) => signals::stopped_status(),
    };
    session
        .effects
        .close_journal(json!({"event": "run_end", "status": status, "ms": ms as u64}));
    // As in a run: the process's exit frees the engine.
    std::mem::forget(engine);
    outcome
}

/// What the repair's evaluation ended with, said: each repair (planned or done), a stop, or its
/// error journaled; an error is the code to exit with.
fn repair_outcome(
    printer: &Printer,
    session: &crate::session::Session,
    result: Result<Dynamic, Box<rhai::EvalAltResult>>,
    cancelled: bool,
    plan: bool,
) -> Result<(), u8> {
    match result {
        Ok(v) => {
            let done: Vec<String> = value::to_json(&v)
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for r in &done {
                if printer.is_json() {
                    printer.event(json!({"event": "repair", "repair": r, "planned": plan}));
                } else if plan {
                    printer.out(&format!("repair (planned): {}", super::escaped(r, false)));
                }
            }
            if done.is_empty() && !printer.is_json() {
                printer.out("repair: nothing a restart of the host leaves stale was found");
            }
            Ok(())
        }
        Err(e) if cancelled || is_interrupt(&e) => {
            let _ended = signals::end_of_run();
            printer.error(
                &signals::stopped_message(),
                json!({"kind": signals::stopped_status()}),
            );
            Err(signals::stopped_code())
        }
        Err(e) => {
            let d = Diagnostic::from_eval(&e, Some(REPAIR_SOURCE));
            printer.error(&d.render(), d.to_json());
            if let Some(h) = d.hint.as_ref().or(d.advice.as_ref()) {
                printer.hint(h);
            }
            session
                .effects
                .journal(json!({"event": "error", "message": d.render()}));
            Err(FAILED)
        }
    }
}

/// The lab's lock for `--repair`, as a run takes it (`wait`: until the run holding it ends); an
/// error is the code to exit with, said.
fn repair_lock(
    printer: &Printer,
    session: &crate::session::Session,
    state: &std::path::Path,
    wait: bool,
) -> Result<super::LockHeld, u8> {
    let waiting = |m: &str| printer.status(m);
    if let Err(e) =
        crate::effects::lock::acquire(state, wait, session.effects.cancel_flag(), &waiting)
    {
        if e.is_interrupted() {
            let _ended = signals::end_of_run();
            printer.error(
                &signals::stopped_message(),
                json!({"kind": signals::stopped_status()}),
            );
            return Err(signals::stopped_code());
        }
        printer.error(e.message(), json!({"kind": "locked"}));
        printer.hint(
            "nothing was repaired or read: run labsh status --repair again when that run has \
             ended (or with --wait)",
        );
        return Err(FAILED);
    }
    Ok(super::LockHeld)
}

/// Shows one reading: one `status` event in JSON mode; else, for a person, each layer as a
/// line with its state and summary, then its table and its problems (a terminal with `--watch`
/// is cleared first).
fn show(printer: &Printer, st: &Value, watch: Option<f64>, first: bool) {
    if printer.is_json() {
        let mut ev = json!({"event": "status"});
        if let (Some(o), Some(m)) = (ev.as_object_mut(), st.as_object()) {
            for (k, v) in m {
                o.insert(k.clone(), v.clone());
            }
        }
        printer.event(ev);
        return;
    }
    let mut lines = Vec::new();
    if let Some(every) = watch {
        // On a terminal the screen is cleared (cursor home, clear) and each reading replaces
        // the one before; elsewhere they follow each other.
        let clear = if printer.stdout_is_terminal() {
            "\x1b[H\x1b[2J"
        } else {
            if !first {
                lines.push(String::new());
            }
            ""
        };
        lines.push(format!(
            "{clear}{}",
            printer.paint_out(
                Tone::Dim,
                &format!(
                    "{}  every {}s, Ctrl-C ends",
                    crate::effects::time::rfc3339(crate::effects::time::now_ms()),
                    fmt_seconds(every)
                ),
            )
        ));
    }
    lines.extend(render(st, &|tone, text| printer.paint_out(tone, text)));
    if let Some(f) = st["picture"].as_str() {
        lines.push(format!("picture: {}", super::escaped(f, false)));
    }
    for l in lines {
        printer.out(&l);
    }
    if let Some(e) = st["picture_error"].as_str() {
        printer.error(
            &format!("the picture was not drawn: {e}"),
            json!({"kind": "picture"}),
        );
    }
}

/// `5` for 5.0, `2.5` for 2.5.
fn fmt_seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// A value of a table's cell for a person: yes/no, `-` for nothing, lists joined, every control
/// character escaped (the text comes from the world: a node's last error, an operator's
/// message).
fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => "-".to_string(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    super::escaped(&text, false)
}

/// `s` cut to `n` characters, an ellipsis at the cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The widest a cell is shown (the last column is not cut).
const CELL_MAX: usize = 48;

/// A status (as `status::lab()` returns it) as lines for a person; `paint` colours a part.
fn render(st: &Value, paint: &dyn Fn(Tone, &str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    // Nothing could be read, for one reason (no lab on the sandbox yet).
    if let Some(why) = st["why"].as_str().filter(|w| !w.is_empty()) {
        out.push(format!(
            "{}: {}",
            paint(Tone::Failed, "not healthy"),
            super::escaped(why, false)
        ));
        return out;
    }
    let empty = Vec::new();
    let layers = st["layers"].as_array().unwrap_or(&empty);
    let title_w = layers
        .iter()
        .map(|l| cell(&l["title"]).chars().count())
        .max()
        .unwrap_or(0);
    for l in layers {
        let state = l["state"].as_str().unwrap_or("");
        let tone = match state {
            "ok" => Tone::Ok,
            "degraded" => Tone::Changed,
            "skipped" => Tone::Dim,
            _ => Tone::Failed,
        };
        let title = cell(&l["title"]);
        let pad = title_w.saturating_sub(title.chars().count());
        let what = match state {
            "ok" | "degraded" => cell(&l["summary"]),
            "unreachable" => format!("cannot be read: {}", cell(&l["why"])),
            _ => cell(&l["why"]),
        };
        let ms = l["ms"].as_u64().unwrap_or(0);
        let tail = if state == "skipped" {
            String::new()
        } else {
            paint(Tone::Dim, &format!("  ({}, {ms} ms)", cell(&l["source"])))
        };
        out.push(format!(
            "{}{}  {}  {what}{tail}",
            paint(Tone::Bold, &title),
            " ".repeat(pad),
            paint(tone, &format!("{state:<11}")),
        ));
        if state == "ok" || state == "degraded" {
            out.extend(table(l).into_iter().map(|r| format!("    {r}")));
            for p in l["problems"].as_array().unwrap_or(&empty) {
                let text = super::escaped(p.as_str().unwrap_or(""), false);
                out.push(format!("    {} {text}", paint(Tone::Failed, "!")));
            }
        }
    }
    let bad: Vec<String> = layers
        .iter()
        .filter(|l| !matches!(l["state"].as_str(), Some("ok") | Some("skipped")))
        .map(|l| format!("{} {}", cell(&l["name"]), cell(&l["state"])))
        .collect();
    let who = match (&st["lab"], st["target"].as_str()) {
        (Value::String(lab), Some(t)) => format!(
            "lab {} on {}",
            super::escaped(lab, false),
            super::escaped(t, false)
        ),
        (_, Some(t)) => format!("target {}", super::escaped(t, false)),
        _ => "the lab".into(),
    };
    let ms = st["ms"].as_u64().unwrap_or(0);
    out.push(if bad.is_empty() {
        format!("{who}: {} ({ms} ms)", paint(Tone::Ok, "healthy"))
    } else {
        format!(
            "{who}: {} ({}; {ms} ms)",
            paint(Tone::Failed, "not healthy"),
            bad.join(", ")
        )
    });
    out
}

/// A layer's rows as a table under its columns' headings (`columns`: `[[key, heading]]`), each
/// column as wide as its widest cell.
fn table(l: &Value) -> Vec<String> {
    let cols: Vec<(String, String)> = l["columns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| Some((c[0].as_str()?.to_string(), c[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let rows = l["rows"].as_array().cloned().unwrap_or_default();
    if cols.is_empty() || rows.is_empty() {
        return Vec::new();
    }
    let last = cols.len() - 1;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .enumerate()
                .map(|(i, (k, _))| {
                    let c = cell(&r[k.as_str()]);
                    if i == last {
                        c
                    } else {
                        cut(&c, CELL_MAX)
                    }
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..cols.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(cols[i].1.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |parts: Vec<&str>| {
        let mut s = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i == last {
                s.push_str(p);
            } else {
                s.push_str(p);
                s.push_str(&" ".repeat(widths[i] - p.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = vec![line(cols.iter().map(|(_, h)| h.as_str()).collect())];
    for r in &cells {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(_: Tone, s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn a_status_is_shown_as_a_line_per_layer_with_its_table_and_problems() {
        let st = json!({
            "lab": "lab", "target": "devlab", "healthy": false, "ms": 420,
            "layers": [
                {"name": "domains", "title": "L1 domains", "state": "degraded", "why": "",
                 "source": "libvirt at qemu:///system", "summary": "2 of 2 defined, 2 running", "ms": 30,
                 "columns": [["name", "NAME"], ["state", "STATE"], ["autostart", "AUTOSTART"], ["bmc", "BMC"]],
                 "rows": [{"name": "undercloud", "state": "running", "autostart": true, "bmc": "-"},
                          {"name": "overcloud-ctrl01", "state": "running", "autostart": false, "bmc": "no answer"}],
                 "problems": ["overcloud-ctrl01's BMC (IPMI 127.0.0.1:6230) does not answer: \u{1b}[2J"]},
                {"name": "cluster", "title": "OpenShift 4.2.4", "state": "skipped",
                 "why": "devlab has no cluster", "source": "oc", "summary": "", "ms": 0,
                 "columns": [], "rows": [], "problems": []},
                {"name": "tenant", "title": "Tenant", "state": "unreachable",
                 "why": "connection refused", "source": "cloud devcloud", "summary": "", "ms": 3,
                 "columns": [], "rows": [], "problems": []},
            ]
        });
        let lines = render(&st, &plain);
        assert_eq!(
            lines,
            [
                "L1 domains       degraded     2 of 2 defined, 2 running  (libvirt at qemu:///system, 30 ms)",
                "    NAME              STATE    AUTOSTART  BMC",
                "    undercloud        running  yes        -",
                "    overcloud-ctrl01  running  no         no answer",
                "    ! overcloud-ctrl01's BMC (IPMI 127.0.0.1:6230) does not answer: \\x1b[2J",
                "OpenShift 4.2.4  skipped      devlab has no cluster",
                "Tenant           unreachable  cannot be read: connection refused  (cloud devcloud, 3 ms)",
                "lab lab on devlab: not healthy (domains degraded, tenant unreachable; 420 ms)",
            ]
        );
    }

    #[test]
    fn a_healthy_status_says_so_and_long_cells_are_cut() {
        let long = "x".repeat(60);
        let st = json!({
            "lab": "lab", "target": "sandbox", "healthy": true, "ms": 12,
            "layers": [{"name": "host", "title": "L0 host", "state": "ok", "why": "", "source": "model",
                        "summary": "32 CPUs", "ms": 1, "problems": [],
                        "columns": [["path", "PATH"], ["free", "FREE"]],
                        "rows": [{"path": long, "free": null}]}]
        });
        let lines = render(&st, &plain);
        assert_eq!(lines[2], format!("    {}…  -", "x".repeat(CELL_MAX - 1)));
        assert_eq!(lines.last().unwrap(), "lab lab on sandbox: healthy (12 ms)");
    }
}
