//! Running things: `labsh run`, `labsh check`, `labsh -e`. Load, compile, check statically (so a
//! bad script runs nothing), then evaluate with the session, recap and exit code.

use crate::cli::{Common, RunArgs};
use crate::effects::journal::{self, Journal};
use crate::effects::secret::SecretsFile;
use crate::effects::{Effects, JournalSlot, Mode};
use crate::engine::diag::Diagnostic;
use crate::engine::{self, sources, value};
use crate::error::{Context, Error};
use crate::paths;
use crate::printer::{escaped, Printer};
use crate::session::{is_interrupt, RunOptions, Session};
use crate::util::suggest::closest;
pub use program::{Params, Program};
use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext, Scope};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub mod access;
pub mod program;
pub mod signals;
pub mod snapshot;
pub mod status;

/// Exit codes.
pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;

/// The process-wide stop flag (see [`signals`]).
pub fn cancel_flag() -> Arc<AtomicBool> {
    signals::cancel_flag()
}

/// The exit code of a stopped run: 128 + the number of the signal that stopped it.
pub fn stopped_code() -> u8 {
    signals::stopped_code()
}

pub fn mode_of(common: &Common) -> Mode {
    if common.plan {
        Mode::Plan
    } else {
        Mode::Apply
    }
}

/// A session and its engine.
pub fn setup(
    printer: Arc<Printer>,
    mode: Mode,
    journal: JournalSlot,
    options: RunOptions,
    script_dir: Option<PathBuf>,
) -> (Arc<Session>, Engine) {
    setup_with(
        printer,
        mode,
        journal,
        options,
        script_dir,
        SecretsFile::new(paths::secrets_file()),
    )
}

/// [`setup`] with a given secrets file.
pub fn setup_with(
    printer: Arc<Printer>,
    mode: Mode,
    journal: JournalSlot,
    options: RunOptions,
    script_dir: Option<PathBuf>,
    secrets: SecretsFile,
) -> (Arc<Session>, Engine) {
    let effects = Effects::new(mode, printer, journal, cancel_flag());
    let interactive = options.interactive;
    let session = Arc::new(Session::new(effects, secrets, options));
    let mut engine = engine::build(session.clone(), crate::modules::all(), script_dir);
    exit_codes(&mut engine);
    if interactive {
        // The REPL: Ctrl-C stops the line; another signal ends the session as a run ends.
        signals::set_interactive(true);
        end_when_forced(&session, Instant::now(), true);
    }
    (session, engine)
}

/// `exit()` and `exit(N)` as scripts use them: the evaluation ends there (as Rhai's own `exit`
/// ends it) and labsh exits with N (0 to 255; `exit()` is 0).
fn exit_codes(engine: &mut Engine) {
    fn exit_with(ctx: &NativeCallContext, code: i64) -> Result<(), Box<EvalAltResult>> {
        let Ok(n) = u8::try_from(code) else {
            return Err(crate::session::rt_err(
                ctx,
                Error::invalid(format!("exit({code}): an exit code is 0 to 255")),
            ));
        };
        crate::session::session(ctx)?.ask_exit(n);
        Err(Box::new(EvalAltResult::Exit(
            Dynamic::from_int(code),
            ctx.call_position(),
        )))
    }
    engine.register_fn("exit", |ctx: NativeCallContext| exit_with(&ctx, 0));
    engine.register_fn("exit", |ctx: NativeCallContext, v: Dynamic| {
        if v.is_unit() {
            return exit_with(&ctx, 0);
        }
        match v.as_int() {
            Ok(code) => exit_with(&ctx, code),
            Err(t) => Err(crate::session::rt_err(
                &ctx,
                Error::invalid(format!(
                    "exit: the exit code is an integer from 0 to 255, not {t}"
                )),
            )),
        }
    });
}

/// The end of a run stopped by a signal whose main thread did not end it in time (a call that
/// does not return), or of the REPL (whose main thread waits at its prompt): written from the
/// signal's thread once the run's commands are killed; its recap, its journal's last event, its
/// lock given back.
fn end_when_forced(session: &Arc<Session>, t0: Instant, repl: bool) {
    let s = session.clone();
    signals::on_forced_end(move || {
        let what = signals::stopped_status();
        let signal = signals::stop_signal().map(signals::signal_name);
        let late = if repl {
            ""
        } else {
            ": the run did not stop in time; its commands were killed"
        };
        s.effects.printer().error(
            &format!("{}{late}", signals::stopped_message()),
            json!({"kind": what, "signal": signal}),
        );
        s.effects.stages_stopped();
        s.effects.recap(t0.elapsed().as_millis(), false);
        s.effects.close_journal(json!({
            "event": "run_end",
            "status": what,
            "signal": signal,
            "ms": t0.elapsed().as_millis() as u64,
        }));
        crate::effects::lock::release();
    });
}

/// Gives the lab's state lock back when the run is over (its commands stopped, its journal
/// closed), on every way out of it.
struct LockHeld;

impl Drop for LockHeld {
    fn drop(&mut self) {
        crate::effects::lock::release();
    }
}

pub(crate) fn print_diag(printer: &Printer, d: &Diagnostic) {
    printer.error(&d.render(), d.to_json());
    if let Some(h) = &d.hint {
        printer.hint(h);
    }
}

/// The script's text (see [`sources::read`]: a regular file, bounded, UTF-8 with its line named
/// where it is not, a byte-order mark dropped).
fn read_script(printer: &Printer, path: &Path) -> Result<String, u8> {
    sources::read(path, "script").map_err(|e| {
        printer.error(e.message(), json!({"file": path.display().to_string()}));
        USAGE
    })
}

/// A note for a person (stderr), or a `notice` event with `--json`.
fn notice(printer: &Printer, text: &str) {
    if printer.is_json() {
        printer.event(json!({"event": "notice", "message": text}));
    } else {
        printer.status(&format!("note: {text}"));
    }
}

fn script_dir(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    Some(if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent.to_path_buf()
    })
}

/// `labsh check FILE`.
pub fn check(file: &Path, common: &Common) -> u8 {
    let printer = Arc::new(Printer::new(common.out.json));
    let text = match read_script(&printer, file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    if let Some(n) = paths::script_notice(file) {
        notice(&printer, &n);
    }
    let dir = script_dir(file);
    let (_s, engine) = setup(
        printer.clone(),
        Mode::Plan,
        JournalSlot::None,
        RunOptions::default(),
        dir.clone(),
    );
    let source = file.display().to_string();
    let Some(program) = Program::load(&engine, &printer, &source, &text, dir) else {
        return FAILED;
    };
    // A profile variant (it defines `fn overrides()`) is checked as the lab loads it: its bases,
    // keys, types and values, every problem named.
    let profile = program.is_profile();
    if profile && !check_profile(&engine, &printer, &source) {
        return FAILED;
    }
    let stages = &program.stages;
    let params = program.params(&engine).names;
    if printer.is_json() {
        printer.event(json!({"event": "check", "file": source, "ok": true, "stages": stages, "params": params, "profile": profile}));
    } else {
        let mut line = format!("{source}: ok");
        if !stages.is_empty() {
            line.push_str(&format!("; stages: {}", stages.join(", ")));
        }
        if !params.is_empty() {
            line.push_str(&format!("; parameters: {}", params.join(", ")));
        }
        if profile {
            line.push_str("; a profile, checked whole");
        }
        printer.out(&line);
    }
    OK
}

/// Loads the profile variant `file` as the lab does (`profile::load`: every effect refused), and
/// prints its problems; whether it has none.
fn check_profile(engine: &Engine, printer: &Printer, file: &str) -> bool {
    let quoted = serde_json::to_string(file).unwrap_or_default();
    let text = format!("import \"profile\" as profile;\nprofile::load({quoted}, ());\n");
    let res = engine
        .compile(&text)
        .map_err(|e| e.to_string())
        .and_then(|ast| {
            engine
                .run_ast(&ast)
                .map_err(|e| Diagnostic::from_eval(&e, Some(file)).render())
        });
    match res {
        Ok(()) => true,
        Err(msg) => {
            printer.error(&msg, json!({"file": file, "kind": "profile"}));
            false
        }
    }
}

/// The stages `--only` (and `--preflight`) name.
fn wanted_only(args: &RunArgs) -> Vec<&str> {
    let mut v: Vec<&str> = args.only.iter().map(String::as_str).collect();
    if args.preflight {
        v.push("preflight");
    }
    v
}

fn usage_error(printer: &Printer, msg: String, hint: Option<String>) -> u8 {
    printer.error(&msg, json!({"kind": "usage"}));
    if let Some(h) = hint {
        printer.hint(&h);
    }
    USAGE
}

fn check_names(
    printer: &Printer,
    what: &str,
    given: &[&str],
    known: &[String],
    script: &str,
) -> Result<(), u8> {
    for g in given {
        if !known.iter().any(|k| k == g) {
            let hint = closest(g, known.iter().map(String::as_str))
                .map(|c| format!("did you mean '{c}'?"));
            let list = if known.is_empty() {
                format!("{script} has none")
            } else {
                format!("{script} has: {}", known.join(", "))
            };
            return Err(usage_error(
                printer,
                format!("unknown {what} '{}'; {list}", crate::util::clip(g)),
                hint,
            ));
        }
    }
    Ok(())
}

/// `labsh run FILE ...`.
pub fn run(args: &RunArgs, common: &Common) -> u8 {
    let printer = Printer::new(common.out.json);
    let text = match read_script(&printer, &args.file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let source = args.file.display().to_string();
    run_text(
        args,
        common,
        &source,
        &text,
        script_dir(&args.file),
        Some(args.file.clone()),
    )
}

/// A run of the script `text` (named `source`, its imports found beside `dir`), as `labsh run`
/// runs a file: `script` is what `run_info().script` says (`None` for a script labsh carries,
/// such as `labsh snapshot`'s).
pub fn run_text(
    args: &RunArgs,
    common: &Common,
    source: &str,
    text: &str,
    dir: Option<PathBuf>,
    script: Option<PathBuf>,
) -> u8 {
    let t0 = Instant::now();
    let printer = Arc::new(Printer::new(common.out.json));
    // Compile and check with a session that has no journal: nothing is recorded for a script
    // that does not start.
    let run_id = journal::new_run_id();
    let (session, engine) = setup(
        printer.clone(),
        mode_of(common),
        JournalSlot::None,
        run_options(args, common, script),
        dir.clone(),
    );
    // From here a stop signal waits for the run's end, or ends it.
    end_when_forced(&session, t0, false);
    let Some(program) = Program::load(&engine, &printer, source, text, dir) else {
        return FAILED;
    };
    if let Err(c) = check_args(&printer, &engine, &program, args) {
        return c;
    }
    session.set_stages(program.stages.clone());
    // One run per lab state at a time; a plan changes nothing and takes no lock.
    let _held = match lock_for_run(&printer, &session, args, common) {
        Ok(h) => h,
        Err(c) => return c,
    };
    if let Err(c) = start_journal(&printer, &session, &run_id, args, common, source) {
        return c;
    }
    printer.event(json!({"event": "run", "run_id": run_id, "script": source, "mode": if common.plan { "plan" } else { "apply" }}));

    let mut scope = Scope::new();
    let result = engine.run_ast_with_scope(&mut scope, &program.ast);
    // The script is over (its commands ended or stopped): the run's end is written here, unless
    // a signal's end is being written already.
    let _ended = signals::end_of_run();
    let cancelled = session.effects.cancel_flag().load(Ordering::SeqCst);
    let stopped = result.as_ref().is_err_and(|e| cancelled || is_interrupt(e));
    let (code, status) = match &result {
        Ok(()) => match session.asked_exit() {
            Some(n) if n != OK => (n, format!("exit {n}")),
            _ => (OK, "ok".to_string()),
        },
        Err(_) if stopped => (stopped_code(), report_stopped(&printer).to_string()),
        Err(e) => {
            report_failure(&printer, &session, e, source, &scope, false);
            (FAILED, "failed".to_string())
        }
    };
    // What to do next: after the recap for a person, before it in JSON (whose last line is the
    // recap).
    let next = if code == OK && result.is_ok() && !common.plan {
        session.next()
    } else {
        Vec::new()
    };
    if printer.is_json() {
        show_next(&printer, &next);
    }
    session
        .effects
        .recap(t0.elapsed().as_millis(), result.is_err() && !stopped);
    if !printer.is_json() {
        show_next(&printer, &next);
    }
    if let Err(e) = &result {
        show_continue(&printer, &session, args, common, e, source, stopped);
    }
    let mut end =
        json!({"event": "run_end", "status": status, "ms": t0.elapsed().as_millis() as u64});
    if stopped {
        end["signal"] = json!(signals::stop_signal().map(signals::signal_name));
    }
    if let Some(p) = session.effects.journal_path() {
        tracing::info!("journal: {}", p.display());
    }
    session.effects.close_journal(end);
    // As in eval: the process's exit frees the engine.
    std::mem::forget(engine);
    code
}

/// What the run's session is given of the command line.
fn run_options(args: &RunArgs, common: &Common, script: Option<PathBuf>) -> RunOptions {
    RunOptions {
        script,
        profile: args.profile.clone(),
        target: args.target.clone(),
        sets: args.sets.iter().cloned().collect(),
        only: if args.preflight && !args.only.iter().any(|s| s == "preflight") {
            let mut o = args.only.clone();
            o.push("preflight".into());
            o
        } else {
            args.only.clone()
        },
        from: args.from.clone(),
        jobs: common.jobs as usize,
        interactive: false,
        yes: args.yes,
        graph: args.graph.clone(),
        commands: crate::cli::subcommands(),
        snapshot_after: args.snapshot_after.clone(),
    }
}

/// The command line checked against the script before anything runs: the stages it names, the
/// `--set` keys and values, `--from` with `--only`, the profile and target files (their notices
/// said). A usage error's exit code when one is wrong.
fn check_args(
    printer: &Printer,
    engine: &Engine,
    program: &Program,
    args: &RunArgs,
) -> Result<(), u8> {
    let source = &program.source;
    let stages = &program.stages;
    let mut wanted: Vec<&str> = args.only.iter().map(String::as_str).collect();
    wanted.extend(args.from.as_deref());
    wanted.extend(args.snapshot_after.iter().map(String::as_str));
    if args.preflight {
        wanted.push("preflight");
    }
    check_names(printer, "stage", &wanted, stages, source)?;
    check_sets(printer, engine, program, args)?;
    if let Some(from) = &args.from {
        let after: Vec<&String> = stages.iter().skip_while(|s| *s != from).collect();
        let only: Vec<&str> = wanted_only(args);
        if !only.is_empty() && !after.iter().any(|s| only.contains(&s.as_str())) {
            return Err(usage_error(
                printer,
                format!(
                    "--from {from} with --only {} leaves no stage to run: in {source} the stages from {from} on are {}",
                    only.join(" --only "),
                    after.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                Some("drop --from, or name a stage that comes after it".into()),
            ));
        }
    }
    for (kind, name) in [
        (paths::LabFile::Profile, &args.profile),
        (paths::LabFile::Target, &args.target),
    ] {
        if let Some(n) = name {
            if let Err(e) = paths::lab_file(kind, n, Some(&args.file)) {
                return Err(usage_error(printer, e.to_string(), None));
            }
            if let Some(m) = paths::lab_file_notice(kind, n, Some(&args.file)) {
                notice(printer, &m);
            }
        }
    }
    if let Some(n) = paths::script_notice(&args.file) {
        notice(printer, &n);
    }
    Ok(())
}

/// The `--set` values: a script's own parameter by a name it reads, a value its literal default
/// takes; a profile key (with a '.') only for a script that loads a profile.
fn check_sets(
    printer: &Printer,
    engine: &Engine,
    program: &Program,
    args: &RunArgs,
) -> Result<(), u8> {
    let source = &program.source;
    // The modules are read for their parameters only when there are `--set` values to check.
    let params = if args.sets.is_empty() {
        Params::default()
    } else {
        program.params(engine)
    };
    // A KEY with a '.' is a profile key, which profile::load checks against the profile.
    let keys: Vec<&str> = args
        .sets
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !crate::session::is_profile_key(k))
        .collect();
    check_names(printer, "--set key", &keys, &params.names, source)?;
    if let Some((k, _)) = args
        .sets
        .iter()
        .find(|(k, _)| crate::session::is_profile_key(k))
    {
        if !program.imports(engine, "profile") {
            return Err(usage_error(
                printer,
                format!(
                    "--set {k}: a KEY with a '.' is a profile key, and {source} loads no profile (it imports no \"profile\")"
                ),
                Some("a script's own parameters are plain names (param(\"name\", ..))".into()),
            ));
        }
    }
    for (k, v) in &args.sets {
        for (_, default) in params.defaults.iter().filter(|(n, _)| n == k) {
            if let Err(e) = crate::modules::core::parse_param(k, v, default) {
                return Err(usage_error(printer, e.to_string(), None));
            }
        }
    }
    Ok(())
}

/// The lab's state lock for a run that applies (`None` for a plan, which changes nothing),
/// waited for with `--wait`; the exit code when it cannot be had.
fn lock_for_run(
    printer: &Printer,
    session: &Session,
    args: &RunArgs,
    common: &Common,
) -> Result<Option<LockHeld>, u8> {
    if common.plan {
        return Ok(None);
    }
    let waiting = |m: &str| printer.status(m);
    match crate::effects::lock::acquire(
        &paths::state_dir(),
        args.wait,
        session.effects.cancel_flag(),
        &waiting,
    ) {
        Ok(()) => Ok(Some(LockHeld)),
        Err(e) if e.is_interrupted() => {
            let _ended = signals::end_of_run();
            printer.error(
                &signals::stopped_message(),
                json!({"kind": signals::stopped_status()}),
            );
            Err(stopped_code())
        }
        Err(e) => {
            printer.error(e.message(), json!({"kind": "locked"}));
            Err(FAILED)
        }
    }
}

/// The secrets file checked, then the run's journal opened with its header (a plan writes none:
/// its output is the record); the exit code when either fails, nothing changed.
fn start_journal(
    printer: &Printer,
    session: &Session,
    run_id: &str,
    args: &RunArgs,
    common: &Common,
    source: &str,
) -> Result<(), u8> {
    if let Err(e) = session.secrets.check() {
        printer.error(e.message(), json!({"kind": "secrets"}));
        printer.hint("nothing was changed");
        return Err(FAILED);
    }
    if common.plan {
        return Ok(());
    }
    let header = json!({
        "event": "run",
        "run_id": run_id,
        "script": source,
        "mode": "apply",
        "profile": args.profile,
        "target": args.target,
        "only": args.only,
        "from": args.from,
        "set": args.sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "jobs": common.jobs,
        "labsh": env!("CARGO_PKG_VERSION"),
    });
    // A run whose journal cannot be written changes nothing.
    if let Err(e) = open_journal(session, run_id, header) {
        printer.error(e.message(), json!({"kind": "journal"}));
        printer.hint(&format!(
            "nothing was changed: a run is journaled before it changes anything; free space \
             in {}, or make it writable, and run again",
            paths::state_dir().display()
        ));
        return Err(FAILED);
    }
    Ok(())
}

/// A run or `-e` stopped by a signal, said; its status.
fn report_stopped(printer: &Printer) -> &'static str {
    let what = signals::stopped_status();
    printer.error(
        &signals::stopped_message(),
        json!({"kind": what, "signal": signals::stop_signal().map(signals::signal_name)}),
    );
    what
}

/// The error a run or `-e` ended with: shown with its stage, its hint and (`advice_now`, or
/// when no stage failed) its advice, and journaled.
fn report_failure(
    printer: &Printer,
    session: &Session,
    e: &EvalAltResult,
    source: &str,
    scope: &Scope,
    advice_now: bool,
) {
    let d = Diagnostic::from_eval(e, Some(source)).with_keys_from(e, source, scope);
    let mut extra = d.to_json();
    if let Some(st) = session.failed_stage() {
        extra["stage"] = json!(st);
    }
    printer.error(&d.render(), extra.clone());
    if let Some(h) = &d.hint {
        printer.hint(h);
    }
    // What to do: said with the stage to continue from when one failed (see show_continue),
    // else here.
    if advice_now || session.failed_stage().is_none() {
        if let Some(a) = &d.advice {
            printer.hint(a);
        }
    }
    // Journaled (a journal still unwritten stays so: nothing was changed).
    let mut ev = json!({"event": "error", "message": d.render()});
    if let Some(st) = extra.get("stage") {
        ev["stage"] = st.clone();
    }
    session.effects.journal(ev);
}

/// After a failed or stopped run's recap: the stage to continue from and the command that does,
/// after what to do first when the failure says it; or that advice alone, outside any stage.
fn show_continue(
    printer: &Printer,
    session: &Session,
    args: &RunArgs,
    common: &Common,
    e: &EvalAltResult,
    source: &str,
    stopped: bool,
) {
    let advice = Diagnostic::from_eval(e, Some(source)).advice;
    if let Some(st) = session.failed_stage() {
        let cmd = args.continue_command(common, &st);
        let what = if stopped {
            format!("was {}", signals::stopped_message())
        } else {
            "failed".to_string()
        };
        printer.status(&match &advice {
            // The failure says what to do first.
            Some(a) => format!("stage '{st}' {what}: {a}:\n  {cmd}"),
            None => format!("stage '{st}' {what}; to continue from it:\n  {cmd}"),
        });
        // In JSON mode, also an event on stdout for the program that reads them.
        if printer.is_json() {
            printer.event(json!({"event": "continue", "stage": st, "stopped": stopped,
                                 "advice": advice, "command": cmd}));
        }
        session
            .effects
            .journal(json!({"event": "continue", "stage": st, "command": cmd}));
    } else if let Some(a) = &advice {
        // A failure outside any stage (a script of no stages, `labsh snapshot`): what to do is
        // said on its own.
        printer.hint(a);
    }
}

/// What the script said to do next (`what_next`) at the end of a run that ended well: a block
/// of lines on stderr, or one `next` event in JSON mode.
fn show_next(printer: &Printer, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    if printer.is_json() {
        printer.event(json!({"event": "next", "lines": lines}));
        return;
    }
    printer.status_masked(&printer.paint(crate::printer::Tone::Bold, "what next:"));
    for l in lines {
        printer.status(&format!("  {}", escaped(l, false)));
    }
}

/// Opens the run's journal with its first line: an error naming the journal when it cannot be
/// created or written.
fn open_journal(session: &Session, run_id: &str, header: serde_json::Value) -> Result<(), Error> {
    let mut j = Journal::create(&paths::journal_dir(), run_id)?;
    j.write(header);
    if let Some(e) = j.error() {
        let e = Error::failed(e);
        j.discard();
        return Err(e);
    }
    session.effects.set_journal(JournalSlot::Open(j));
    Ok(())
}

/// `labsh -e EXPR`.
pub fn eval(expr: &str, common: &Common) -> u8 {
    let t0 = Instant::now();
    let printer = Arc::new(Printer::new(common.out.json));
    let header =
        json!({"event": "run", "script": "-e", "mode": if common.plan { "plan" } else { "apply" }});
    let journal = if common.plan {
        JournalSlot::None
    } else {
        JournalSlot::Lazy {
            dir: paths::journal_dir(),
            id: journal::new_run_id(),
            header,
        }
    };
    let options = RunOptions {
        jobs: common.jobs as usize,
        commands: crate::cli::subcommands(),
        ..Default::default()
    };
    let cwd = std::env::current_dir().ok();
    let (session, engine) = setup(
        printer.clone(),
        mode_of(common),
        journal,
        options,
        cwd.clone(),
    );
    end_when_forced(&session, t0, false);
    let Some(program) = Program::load(&engine, &printer, "-e", expr, cwd) else {
        return FAILED;
    };
    // A change takes the lab's state lock first (one run per lab state at a time), given back
    // at the end.
    session.effects.lock_on_change(Some(paths::state_dir()));
    let _held = LockHeld;
    let mut scope = Scope::new();
    let result = engine.eval_ast_with_scope::<rhai::Dynamic>(&mut scope, &program.ast);
    let _ended = signals::end_of_run();
    let stopped = result
        .as_ref()
        .is_err_and(|e| is_interrupt(e) || session.effects.cancel_flag().load(Ordering::SeqCst));
    let code = match (result, session.asked_exit()) {
        // `exit(N)`: its value is the exit code, not a result to print.
        (Ok(_), Some(n)) => n,
        (Ok(v), None) => {
            show_result(&printer, &v);
            OK
        }
        (Err(_), _) if stopped => {
            report_stopped(&printer);
            stopped_code()
        }
        (Err(e), _) => {
            report_failure(&printer, &session, &e, "-e", &scope, true);
            FAILED
        }
    };
    // The sandbox keeps what was done to it, as a run's does (a stopped one is left as a
    // stopped run leaves it).
    let saved = if common.plan || stopped {
        Ok(false)
    } else {
        crate::modules::virt::client::save_changed_sandboxes(&session.effects)
    };
    let code = match saved {
        Err(e) => {
            printer.error(&format!("cannot save the sandbox: {e}"), json!({}));
            FAILED
        }
        Ok(_) => code,
    };
    if !session.effects.stats().is_empty() || printer.is_json() {
        session
            .effects
            .recap(t0.elapsed().as_millis(), code == FAILED && !stopped);
    }
    let mut end = json!({"event": "run_end", "ms": t0.elapsed().as_millis() as u64});
    end["status"] = if stopped {
        end["signal"] = json!(signals::stop_signal().map(signals::signal_name));
        json!(signals::stopped_status())
    } else if code == OK {
        json!("ok")
    } else if session.asked_exit() == Some(code) {
        json!(format!("exit {code}"))
    } else {
        json!("failed")
    };
    session.effects.close_journal(end);
    // The process ends here: its exit frees the engine's function tables (thousands of entries)
    // faster than freeing them one by one. Nothing of the session waits for a drop (the journal
    // is written line by line, locks are released with their descriptors).
    std::mem::forget(engine);
    code
}

/// The value `-e` ended with: a `result` event in JSON; for a person tables, indented maps and
/// wrapped text; for a program text as it is and anything else as JSON; `()` not at all.
fn show_result(printer: &Printer, v: &Dynamic) {
    if printer.is_json() {
        printer.event(json!({"event": "result", "value": value::to_json(v)}));
    } else if v.is_unit() {
    } else if printer.stdout_is_terminal() {
        printer.out_masked(&value::pretty(v, printer.width()));
    } else if v.is_string() {
        printer.out(&value::show(v));
    } else {
        printer.out_json(value::to_json(v));
    }
}

/// `labsh journal [RUN_ID] [--timeline FILE]`. What the journals hold is shown with its control
/// characters escaped ([`escaped`], the printer's): stored text never reaches the terminal raw.
pub fn journal_cmd(run_id: Option<&str>, timeline: Option<&Path>, common: &Common) -> u8 {
    let printer = Printer::new(common.out.json);
    let dir = paths::journal_dir();
    let Some(id) = run_id else {
        return list_journals(&printer, &dir);
    };
    match journal::events(&dir, id) {
        Ok((id, events)) => {
            if let Some(file) = timeline {
                let svg = crate::effects::timeline::svg(&id, &events);
                #[expect(
                    clippy::disallowed_methods,
                    reason = "labsh journal --timeline writes the file the user named: not a lab's effect"
                )]
                return match std::fs::write(file, svg) {
                    Ok(()) => {
                        printer.status(&format!("timeline of run {id}: {}", file.display()));
                        OK
                    }
                    Err(e) => {
                        printer.error(&format!("cannot write {}: {e}", file.display()), json!({}));
                        FAILED
                    }
                };
            }
            for ev in events {
                if printer.is_json() {
                    printer.event(ev);
                } else {
                    printer.out(&render_event(&ev));
                }
            }
            OK
        }
        Err(e) => {
            printer.error(&escaped(&e.message, false), json!({}));
            if e.usage {
                USAGE
            } else {
                FAILED
            }
        }
    }
}

/// `labsh journal`: the runs of the journal folder `dir`, one a line (or a `journal` event
/// each), the damaged journals named and skipped.
fn list_journals(printer: &Printer, dir: &Path) -> u8 {
    let listing = match journal::list(dir) {
        Ok(l) => l,
        Err(e) => {
            printer.error(&escaped(e.message(), false), json!({}));
            return FAILED;
        }
    };
    for d in &listing.damaged {
        if printer.is_json() {
            printer.event(json!({"event": "journal_damaged", "run_id": d.id, "file": d.path.display().to_string(), "error": d.why}));
            continue;
        }
        printer.warn(&escaped(
            &format!(
                "skipped the journal {}, which is damaged: {}",
                d.path.display(),
                d.why
            ),
            false,
        ));
    }
    if listing.runs.is_empty() {
        printer.status(&format!(
            "no runs yet in {}",
            escaped(&dir.display().to_string(), false)
        ));
        return OK;
    }
    if !printer.is_json() {
        printer.out(&format!(
            "{:<26}  {:<6} {:<11} {:<8} {:<8} {:>4} {:>7} {:>7} {:>6}  SCRIPT",
            "RUN", "MODE", "STATUS", "PROFILE", "TARGET", "OK", "CHANGED", "PLANNED", "FAILED"
        ));
    }
    for r in listing.runs {
        if printer.is_json() {
            printer.event(json!({"event": "journal", "run_id": r.id, "started": r.started, "script": r.script, "profile": r.profile, "target": r.target, "mode": r.mode, "status": r.status, "totals": r.totals, "error": r.error}));
            continue;
        }
        let t = &r.totals;
        let n = |k: &str| {
            t[k].as_u64()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into())
        };
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                escaped(s, false)
            }
        };
        printer.out(&format!(
            "{:<26}  {:<6} {:<11} {:<8} {:<8} {:>4} {:>7} {:>7} {:>6}  {}",
            escaped(&r.id, false),
            escaped(&r.mode, false),
            escaped(&r.status, false),
            or(&r.profile, "seed"),
            or(&r.target, "sandbox"),
            n("ok"),
            n("changed"),
            n("planned"),
            n("failed"),
            escaped(&r.script, false)
        ));
        if let Some(e) = &r.error {
            printer.out(&format!("{:<28}error: {}", "", escaped(e, false)));
        }
    }
    OK
}

/// One journal event as a line (or, for a multi-line message, lines) for a person, every
/// stored text escaped.
fn render_event(ev: &serde_json::Value) -> String {
    let s = |k: &str| escaped(ev[k].as_str().unwrap_or(""), false);
    let ts = s("ts");
    let body = match ev["event"].as_str().unwrap_or("") {
        "run" => format!("run {} ({})", s("script"), s("mode")),
        "stage" => format!("stage {} {}", s("stage"), s("status")),
        "effect" => {
            let mut b = format!("  {:<8} {} {}", s("outcome"), s("op"), s("target"));
            if let Some(e) = ev["error"].as_str() {
                b.push_str(&format!(": {}", escaped(e, true)));
            }
            b
        }
        "recap" => format!("recap {}", ev["totals"]),
        "run_end" => match ev["signal"].as_str() {
            Some(sig) => format!("end {} by {}", s("status"), escaped(sig, false)),
            None => format!("end {}", s("status")),
        },
        "error" => format!(
            "error: {}",
            escaped(ev["message"].as_str().unwrap_or(""), true)
        ),
        "continue" => format!("continue with: {}", s("command")),
        // JSON escapes the control characters of its strings.
        other => format!("{} {ev}", escaped(other, false)),
    };
    format!("{ts}  {body}")
}

/// Writes the reference's `pages` into `dir` (made when missing) and returns the files written.
/// A page whose file holds it already is left alone; a file at a page's path that is a link is
/// refused, never written through; files that hold something else are overwritten only with
/// `yes` or when the user says so on the terminal (without one, the error says to pass --yes).
/// Each file is written aside and renamed over, so nothing is half written.
fn write_reference(
    dir: &Path,
    pages: Vec<(String, String)>,
    yes: bool,
    printer: &Printer,
) -> Result<Vec<String>, Error> {
    let mut todo = Vec::new();
    let mut replaced = Vec::new();
    for (name, text) in pages {
        let file = dir.join(&name);
        match std::fs::symlink_metadata(&file) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::refused(format!(
                    "{} is a symbolic link: labsh doc does not write through one; remove it or choose another folder",
                    file.display()
                )))
            }
            Ok(m) if !m.is_file() => {
                return Err(Error::invalid(format!(
                    "{} is not a regular file; remove it or choose another folder",
                    file.display()
                )))
            }
            Ok(_) => {
                if std::fs::read_to_string(&file).is_ok_and(|t| t == text) {
                    continue;
                }
                replaced.push(file.display().to_string());
            }
            Err(_) => {}
        }
        todo.push((file, text));
    }
    if !replaced.is_empty() && !yes {
        let what = match replaced.len() {
            1 => replaced[0].clone(),
            n => format!("{} and {} more", replaced[0], n - 1),
        };
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Error::refused(format!(
                "{what} exist(s) with other text; pass --yes to overwrite (no terminal to ask on)"
            )));
        }
        printer.status(&format!("overwrite {what}? [y/N] "));
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the answer")?;
        if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Error::refused(format!("{what} left as it is")));
        }
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "labsh doc --markdown writes into the folder the user named: not a lab's effect"
    )]
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    #[expect(
        clippy::disallowed_methods,
        reason = "labsh doc --markdown writes into the folder the user named: not a lab's effect"
    )]
    for (file, text) in todo {
        let path = file.display().to_string();
        let tmp = crate::effects::files::temp_path(&path);
        let r = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .and_then(|_| std::fs::rename(&tmp, &file));
        if let Err(e) = r {
            if let Err(e2) = std::fs::remove_file(&tmp) {
                tracing::debug!("cannot remove {tmp}: {e2}");
            }
            return Err(Error::failed(format!("cannot write {path}: {e}")));
        }
        written.push(path);
    }
    Ok(written)
}

/// `labsh doc [TOPIC] [--markdown DIR [--yes]]`.
pub fn doc_cmd(
    topic: Option<&str>,
    markdown_dir: Option<&Path>,
    yes: bool,
    common: &crate::cli::Common,
) -> u8 {
    let printer = Arc::new(Printer::new(common.out.json));
    let (_s, engine) = setup(
        printer.clone(),
        crate::effects::Mode::Plan,
        crate::effects::JournalSlot::None,
        Default::default(),
        None,
    );
    let cat = crate::engine::catalog::Catalog::full(&engine);
    if let Some(dir) = markdown_dir {
        return match write_reference(dir, crate::doc::markdown(&cat), yes, &printer) {
            Ok(files) => {
                for f in files {
                    printer.status(&format!("wrote {f}"));
                }
                OK
            }
            Err(e) => {
                printer.error(e.message(), serde_json::json!({}));
                FAILED
            }
        };
    }
    let topics = crate::modules::topics();
    let text = match topic {
        None => {
            let mut text = crate::doc::overview(&cat);
            text.push_str("\n\nTopics (labsh doc TOPIC):");
            for (name, summary, _) in &topics {
                text.push_str(&format!("\n  {name:<12} {summary}"));
            }
            text
        }
        // The profile's keys, from the schema its checks read (stdlib/profile.rhai), then the
        // module's functions.
        Some(t) if t.trim() == "profile" => {
            let keys = engine
                .compile("import \"profile\" as profile;\nprofile::reference()")
                .map_err(|e| e.to_string())
                .and_then(|ast| {
                    engine
                        .eval_ast::<String>(&ast)
                        .map_err(|e| Diagnostic::from_eval(&e, Some("profile")).render())
                });
            match (
                keys,
                crate::doc::topic(&cat, "profile").map_err(String::from),
            ) {
                (Ok(k), Ok(f)) => format!("{k}\n{f}"),
                (Err(e), _) | (_, Err(e)) => {
                    printer.error(&e, serde_json::json!({}));
                    return FAILED;
                }
            }
        }
        Some(t) => match topics.iter().find(|(name, _, _)| *name == t.trim()) {
            Some((_, _, text)) => text(),
            None => match crate::doc::topic(&cat, t) {
                Ok(s) => s,
                Err(e) => {
                    printer.error(e.message(), serde_json::json!({}));
                    return USAGE;
                }
            },
        },
    };
    printer.out(&text);
    OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_event_is_rendered_escaped() {
        let ev = json!({
            "ts": "2026-01-01T00:00:00Z",
            "event": "effect",
            "outcome": "failed",
            "op": "run",
            "target": "echo \u{1b}[2J",
            "error": "exit 1\n    \u{1b}]0;title\u{7}",
        });
        let line = render_event(&ev);
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{7}'),
            "{line:?}"
        );
        assert!(
            line.contains("echo \\x1b[2J: exit 1\n    \\x1b]0;title\\x07"),
            "{line}"
        );
        let end =
            json!({"ts": "t", "event": "run_end", "status": "terminated", "signal": "SIGHUP"});
        assert_eq!(render_event(&end), "t  end terminated by SIGHUP");
    }
}
