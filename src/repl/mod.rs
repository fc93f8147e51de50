//! The REPL: variables, functions and imports persist between lines; `:plan`, `:load`, `:save`,
//! `:edit`; errors drawn with a caret; Ctrl-C stops the running line, Ctrl-D leaves.

pub mod helper;
mod history;
mod save;

use crate::cli::Common;
use crate::effects::journal;
use crate::effects::{JournalSlot, Mode};
use crate::engine::catalog::{Catalog, CORE};
use crate::engine::diag::Diagnostic;
use crate::engine::{analyze, resolver, sources, value};
use crate::paths;
use crate::printer::{Printer, Tone};
use crate::runner::{self, Program};
use crate::session::{RunOptions, Session};
use helper::LabHelper;
use rhai::{Engine, Scope, AST};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

struct Repl {
    session: Arc<Session>,
    engine: Arc<Engine>,
    natives: analyze::Natives,
    printer: Arc<Printer>,
    scope: Scope<'static>,
    /// Functions defined so far.
    functions: AST,
    /// `import` statements so far, replayed before each line.
    imports: Vec<String>,
    /// What ran without error, for `:save`.
    accepted: Vec<save::Entry>,
    cwd: Option<PathBuf>,
    counter: usize,
}

fn new_journal(plan: bool) -> JournalSlot {
    JournalSlot::Lazy {
        dir: paths::journal_dir(),
        id: journal::new_run_id(),
        header: json!({"event": "run", "script": "(repl)", "mode": if plan { "plan" } else { "apply" }}),
    }
}

/// Starts the REPL. Returns the exit code.
pub fn start(common: &Common) -> u8 {
    let printer = Arc::new(Printer::new(false));
    let options = RunOptions {
        jobs: common.jobs as usize,
        interactive: true,
        ..Default::default()
    };
    let cwd = std::env::current_dir().ok();
    let (session, engine) = runner::setup(
        printer.clone(),
        runner::mode_of(common),
        new_journal(common.plan),
        options,
        cwd.clone(),
    );
    // A change takes the lab's state lock first; it is given back after each line.
    session.effects.lock_on_change(Some(paths::state_dir()));
    let engine = Arc::new(engine);
    let (names, methods) = completions(&engine);
    let helper = LabHelper::new(engine.clone(), names, methods, printer.color_stdout());
    let defined = helper.defined.clone();
    let history = paths::history_file();
    let mut rl = match line_editor(helper, &history) {
        Ok(r) => r,
        Err(e) => {
            printer.error(&e, json!({}));
            return runner::FAILED;
        }
    };
    let mut repl = Repl {
        session,
        natives: analyze::Natives::new(),
        engine,
        printer: printer.clone(),
        scope: Scope::new(),
        functions: AST::empty(),
        imports: Vec::new(),
        accepted: Vec::new(),
        cwd,
        counter: 0,
    };
    printer.status(&format!(
        "labsh {} — help() for the reference, :help for commands, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    ));
    let mut interrupted_at_prompt = false;
    loop {
        let prompt = if repl.session.effects.is_plan() {
            "labsh(plan)> "
        } else {
            "labsh> "
        };
        match rl.readline(prompt) {
            Ok(line) => {
                interrupted_at_prompt = false;
                if line.trim().is_empty() {
                    continue;
                }
                if !repl.take_line(&mut rl, &history, &line) {
                    break;
                }
                if let Ok(mut d) = defined.lock() {
                    *d = repl.defined_names();
                }
            }
            // Ctrl-C at the prompt drops the line; a second one in a row leaves.
            Err(ReadlineError::Interrupted) => {
                if interrupted_at_prompt {
                    break;
                }
                interrupted_at_prompt = true;
                printer.status("(Ctrl-C again or Ctrl-D to leave)");
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                printer.error(&format!("cannot read input: {e}"), json!({}));
                return runner::FAILED;
            }
        }
    }
    // The session's journal, if it wrote one, ends as a run does.
    repl.session
        .effects
        .journal(json!({"event": "run_end", "status": "ok"}));
    runner::OK
}

/// What completes from the start: the native functions and modules (a stdlib module once it is
/// imported, under its alias: see defined_names), and the method names.
fn completions(engine: &Engine) -> (Vec<String>, Vec<String>) {
    let cat = Catalog::of(engine);
    let mut names = cat.completions();
    names.extend(
        cat.modules
            .keys()
            .filter(|m| *m != CORE)
            .map(|m| format!("{m}::")),
    );
    let mut methods: Vec<String> = analyze_method_names(engine);
    methods.sort();
    methods.dedup();
    (names, methods)
}

/// The line editor with `helper`, its history read from `history` (opened by history.rs:
/// private, never through a link; one that cannot be read is a warning); what went wrong when
/// it cannot start.
fn line_editor(
    helper: LabHelper,
    history: &Path,
) -> Result<Editor<LabHelper, FileHistory>, String> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(rustyline::CompletionType::List)
        .history_ignore_dups(true)
        .and_then(|c| c.max_history_size(history::MAX))
        .map(|c| c.build())
        .map_err(|e| format!("cannot configure the line editor: {e}"))?;
    let mut rl: Editor<LabHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot start the line editor: {e}"))?;
    rl.set_helper(Some(helper));
    match history::load(history) {
        Ok(entries) => {
            for e in entries {
                #[expect(
                    clippy::let_underscore_must_use,
                    reason = "rustyline's history in memory: an entry it refuses is only not offered again"
                )]
                let _ = rl.add_history_entry(e);
            }
        }
        Err(e) => tracing::warn!("{e}"),
    }
    Ok(rl)
}

/// An input that cannot be cut into its statements, as one statement.
fn whole(text: &str) -> save::Unit {
    save::Unit {
        start: 0,
        end: text.len(),
        kind: save::Kind::Statement {
            text: save::terminated(text),
            binding: None,
        },
    }
}

fn analyze_method_names(engine: &Engine) -> Vec<String> {
    crate::engine::catalog::all_signatures(engine)
        .into_iter()
        .filter(|(ns, name, params)| {
            ns.is_none()
                && !params.is_empty()
                && name.chars().next().is_some_and(|c| c.is_alphabetic())
                && !name.contains('$')
        })
        .map(|(_, name, _)| name)
        .collect()
}

impl Repl {
    /// A line read at the prompt: kept in the history (memory and file), then run as a
    /// `:command` (which may ask the user a question) or as code. False to leave.
    fn take_line(
        &mut self,
        rl: &mut Editor<LabHelper, FileHistory>,
        history: &Path,
        line: &str,
    ) -> bool {
        if rl.add_history_entry(line).unwrap_or(false) {
            if let Err(e) = history::append(history, line) {
                tracing::warn!("{e}");
            }
        }
        let trimmed = line.trim();
        if trimmed.starts_with(':') {
            let mut ask = |question: &str| {
                rl.readline(question)
                    .is_ok_and(|a| matches!(a.trim(), "y" | "yes"))
            };
            return self.command(trimmed, &mut ask);
        }
        self.eval_line(line);
        true
    }

    fn defined_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.scope.iter().map(|(n, _, _)| n.to_string()).collect();
        v.extend(self.functions.iter_functions().map(|f| f.name.to_string()));
        for i in &self.imports {
            // import "PATH" as ALIAS;
            let Some((path, alias)) = i
                .strip_prefix("import ")
                .and_then(|r| r.rsplit_once(" as "))
            else {
                continue;
            };
            let alias = alias.trim_end_matches(';');
            let path = path.trim().trim_matches('"');
            v.push(format!("{alias}::"));
            let text = resolver::find(self.cwd.as_deref(), None, path)
                .and_then(|f| resolver::text_of(&f).ok())
                .map(|(_, t)| t);
            if let Some(m) = text.and_then(|t| crate::engine::catalog::script_module(path, &t)) {
                v.extend(m.functions.iter().map(|f| format!("{alias}::{}", f.name)));
            }
        }
        v.sort();
        v.dedup();
        v
    }

    fn show_error(&self, d: &Diagnostic) {
        self.printer.error(&d.render(), json!({}));
        for h in d.hint.iter().chain(&d.advice) {
            self.printer.hint(h);
        }
    }

    /// Compiles and checks `text` (named `source`), then runs its top-level statements one by
    /// one in the session's scope, stopping at the first that fails. Returns what ran, for
    /// `:save`: the input's functions with it once a statement of it ran (or when it has none).
    fn eval_source(&mut self, source: &str, text: &str) -> Vec<save::Entry> {
        let plan = self.session.effects.is_plan();
        let before = || {
            self.prelude(&self.imports)
                .map(|p| p.merge(&self.functions))
        };
        let program = match Program::compile_in(
            &self.engine,
            &self.natives,
            &self.scope,
            before,
            source,
            text,
            self.cwd.clone(),
        ) {
            Ok(p) => p,
            Err(diags) => {
                for d in &diags {
                    self.show_error(d);
                }
                return Vec::new();
            }
        };
        let ast = program.ast;
        let input_fns = ast.clone_functions_only();
        // The statements one by one, so that what ran is known; an input that cannot be cut
        // runs whole.
        let units = save::units(text).unwrap_or_else(|| vec![whole(text)]);
        let t0 = Instant::now();
        let session = self.session.clone();
        let fx = &session.effects;
        fx.reset_stats();
        let mut imports = self.imports.clone();
        let mut ran: Vec<save::Entry> = Vec::new();
        let mut functions: Vec<save::Entry> = Vec::new();
        let mut last = rhai::Dynamic::UNIT;
        let mut failed = false;
        for u in &units {
            if let save::Kind::Function(..) = u.kind {
                functions.push(u.entry(text, plan));
                continue;
            }
            let result = self.run_unit(source, text, u, &imports, &input_fns);
            match result {
                Ok(v) => {
                    last = v;
                    if let save::Kind::Import(i) = &u.kind {
                        if !imports.contains(i) {
                            imports.push(i.clone());
                        }
                    }
                    ran.push(u.entry(text, plan));
                }
                Err(e) => {
                    if fx.cancel_flag().load(Ordering::SeqCst) {
                        self.printer.error("interrupted", json!({}));
                    } else {
                        let d = Diagnostic::from_eval(&e, Some(source));
                        self.show_error(&d.with_keys_from(&e, source, &self.scope));
                    }
                    failed = true;
                    break;
                }
            }
        }
        crate::effects::lock::release();
        fx.cancel_flag().store(false, Ordering::SeqCst);
        if !failed && !last.is_unit() {
            self.printer
                .out_masked(&value::pretty(&last, self.printer.width()));
        }
        // The sandbox keeps what was done to it, as a run's does.
        if !plan && !ran.is_empty() {
            if let Err(e) = crate::modules::virt::client::save_changed_sandboxes(fx) {
                self.printer
                    .error(&format!("cannot save the sandbox: {e}"), json!({}));
            }
        }
        self.recap(t0);
        let has_statements = units
            .iter()
            .any(|u| !matches!(u.kind, save::Kind::Function(..)));
        if !ran.is_empty() || !has_statements {
            self.functions += input_fns;
            self.imports = imports;
            functions.extend(ran);
            ran = functions;
        }
        ran
    }

    /// What the input's statements did, in one line (and journaled), when they did anything.
    fn recap(&self, t0: Instant) {
        let fx = &self.session.effects;
        let stats = fx.stats();
        if stats.is_empty() {
            return;
        }
        let (mut o, mut c, mut p, mut f) = (0, 0, 0, 0);
        for s in &stats {
            o += s.ok;
            c += s.changed;
            p += s.planned;
            f += s.failed;
        }
        let line = format!(
            "ok={o} changed={c} planned={p} failed={f} ({})",
            crate::effects::fmt_ms(t0.elapsed().as_millis())
        );
        // labsh's own counts, coloured: written as they are.
        self.printer
            .status_masked(&self.printer.paint(Tone::Dim, &line));
        fx.journal(json!({"event": "recap", "stages": stats, "totals": {"ok": o, "changed": c, "planned": p, "failed": f}}));
    }

    /// The session's imports as an AST run before each statement.
    fn prelude(&self, imports: &[String]) -> Option<AST> {
        match self.engine.compile(imports.join("\n")) {
            Ok(mut p) => {
                p.set_source("(imports)");
                Some(p)
            }
            Err(e) => {
                self.show_error(&Diagnostic::from_parse(&e, "(imports)"));
                None
            }
        }
    }

    /// Runs the statement or import `u` of `text` with the session's imports and functions and
    /// the input's own functions; its value.
    fn run_unit(
        &mut self,
        source: &str,
        text: &str,
        u: &save::Unit,
        imports: &[String],
        input_fns: &AST,
    ) -> Result<rhai::Dynamic, Box<rhai::EvalAltResult>> {
        let mut one = self
            .engine
            .compile_with_scope(&self.scope, u.alone(text))
            .map_err(|e| Box::new(rhai::EvalAltResult::from(e)))?;
        one.set_source(source);
        let prelude = self.engine.compile(imports.join("\n")).map_err(|e| {
            let e: Box<rhai::EvalAltResult> = rhai::EvalAltResult::from(e).into();
            e
        })?;
        let mut ast = prelude.merge(&self.functions).merge(input_fns).merge(&one);
        ast.set_source(source);
        self.engine
            .eval_ast_with_scope::<rhai::Dynamic>(&mut self.scope, &ast)
    }

    fn eval_line(&mut self, line: &str) {
        self.counter += 1;
        let source = format!("repl[{}]", self.counter);
        let ran = self.eval_source(&source, line);
        self.accepted.extend(ran);
    }

    /// Runs a `:command`; `ask` puts a yes/no question to the user. Returns false to leave.
    fn command(&mut self, line: &str, ask: &mut dyn FnMut(&str) -> bool) -> bool {
        let mut parts = line.splitn(2, char::is_whitespace);
        let cmd = parts.next().unwrap_or("");
        let arg = parts.next().unwrap_or("").trim();
        let p = self.printer.clone();
        match cmd {
            ":quit" | ":exit" | ":q" => return false,
            ":help" => p.out(
                ":plan on|off    plan mode: show changes instead of making them\n\
                 :load FILE      run a script in this session\n\
                 :save FILE      write this session's accepted lines as a script\n\
                 :edit MODULE    edit a stdlib module (copied to your override folder first), then reload it\n\
                 :vars           list variables\n\
                 :journal        where this session's journal is\n\
                 :quit           leave (or Ctrl-D)\n\
                 help()          the reference; help(\"virt\") a module; help(\"run\") a function",
            ),
            ":plan" => match arg {
                "on" | "off" => {
                    let plan = arg == "on";
                    self.session
                        .effects
                        .set_mode(if plan { Mode::Plan } else { Mode::Apply });
                    // The journal so far ends; the next changes start a new one.
                    self.session
                        .effects
                        .journal(json!({"event": "run_end", "status": "ok"}));
                    self.session.effects.set_journal(new_journal(plan));
                    p.status(&format!("plan mode {arg}"));
                }
                "" => p.out(if self.session.effects.is_plan() { "plan mode is on" } else { "plan mode is off" }),
                other => p.error(&format!(":plan takes on or off, not {other:?}"), json!({})),
            },
            ":load" => {
                if arg.is_empty() {
                    p.error(":load needs a file", json!({}));
                } else {
                    match sources::read(Path::new(arg), "script") {
                        Ok(text) => {
                            let ran = self.eval_source(arg, &text);
                            self.accepted.extend(ran);
                        }
                        Err(e) => p.error(e.message(), json!({})),
                    }
                }
            }
            ":save" => {
                if arg.is_empty() {
                    p.error(":save needs a file", json!({}));
                } else {
                    self.save(arg, ask);
                }
            }
            ":edit" => self.edit(arg),
            ":vars" => {
                for (name, constant, v) in self.scope.iter() {
                    let kind = if constant { "const" } else { "let" };
                    p.out(&format!("{kind} {name} = {}", value::literal(&v)));
                }
            }
            ":journal" => match self.session.effects.journal_path() {
                Some(path) => p.out(&path.display().to_string()),
                None => p.out("nothing journaled yet in this session"),
            },
            other => {
                let hint = crate::util::suggest::hint(other, helper::COMMANDS.iter().copied());
                p.error(&format!("unknown command {other}{hint}; :help lists them"), json!({}));
            }
        }
        true
    }

    /// `:save FILE`: never through a symbolic link or into what is not a regular file; an
    /// existing file only when the user says so.
    fn save(&self, arg: &str, ask: &mut dyn FnMut(&str) -> bool) {
        let p = &self.printer;
        match std::fs::symlink_metadata(arg) {
            Ok(m) if m.file_type().is_symlink() => {
                p.error(
                    &format!("{arg} is a symbolic link: :save does not write through one"),
                    json!({}),
                );
                p.hint("give :save the path of the file itself, or another name");
                return;
            }
            Ok(m) if !m.is_file() => {
                p.error(
                    &format!(
                        "{arg} is not a regular file ({}): :save writes a script file",
                        paths::file_kind(&m)
                    ),
                    json!({}),
                );
                return;
            }
            Ok(_) => {
                if !ask(&format!("{arg} exists: overwrite it? [y/N] ")) {
                    p.status(&format!("{arg} left as it was"));
                    return;
                }
            }
            Err(_) => {}
        }
        let (text, n) = save::script(&self.accepted);
        match write_no_follow(Path::new(arg), &text) {
            Ok(()) => p.status(&format!(
                "saved {n} statement(s) and definition(s) to {arg}; `labsh run {arg}` does it again"
            )),
            Err(e) => p.error(&format!("cannot write {arg}: {e}"), json!({})),
        }
    }

    fn edit(&mut self, name: &str) {
        let p = self.printer.clone();
        if name.is_empty() {
            p.error(
                &format!(":edit needs a module name: {}", stdlib_names()),
                json!({}),
            );
            return;
        }
        let name = name.trim_end_matches(".rhai");
        #[expect(
            clippy::disallowed_methods,
            reason = ":edit copies a stdlib module into the user's override folder: the user's own file, not a lab's"
        )]
        let path = match resolver::find(self.cwd.as_deref(), None, name) {
            Some(resolver::Found::File(f)) => f,
            Some(resolver::Found::Embedded(n, text)) => {
                let dir = paths::user_lib_dir();
                let f = dir.join(format!("{n}.rhai"));
                if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&f, text))
                {
                    p.error(
                        &format!("cannot copy {n} to {}: {e}", f.display()),
                        json!({}),
                    );
                    return;
                }
                p.status(&format!("copied stdlib module {n} to {}", f.display()));
                f
            }
            None => {
                p.error(
                    &format!("no module {name}; the stdlib has: {}", stdlib_names()),
                    json!({}),
                );
                return;
            }
        };
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let mut words = editor.split_whitespace();
        let Some(prog) = words.next() else {
            p.error("$EDITOR is empty", json!({}));
            return;
        };
        #[expect(
            clippy::disallowed_methods,
            clippy::disallowed_types,
            reason = ":edit opens the user's $EDITOR on the terminal: the user's own session, not a step of a lab (no plan, no journal, no timeout)"
        )]
        let status = std::process::Command::new(prog)
            .args(words)
            .arg(&path)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                p.error(&format!("{editor} exited with {s}"), json!({}));
                return;
            }
            Err(e) => {
                p.error(&format!("cannot start {editor}: {e}"), json!({}));
                return;
            }
        }
        self.reload(name, &path);
    }

    fn reload(&mut self, name: &str, path: &Path) {
        let p = self.printer.clone();
        let text = match sources::read(path, "module") {
            Ok(t) => t,
            Err(e) => {
                p.error(e.message(), json!({}));
                return;
            }
        };
        let source = path.display().to_string();
        sources::register(&source, &text);
        if let Err(e) = self.engine.compile(&text) {
            self.show_error(&Diagnostic::from_parse(&e, &source));
            p.hint(&format!(
                "fix it with :edit {name}; until then importing {name} fails"
            ));
            return;
        }
        let import = format!("import {name:?} as {name};");
        if !self
            .imports
            .iter()
            .any(|i| i.starts_with(&format!("import {name:?}")))
        {
            self.imports.push(import.clone());
            // A saved session imports it as the session did.
            self.accepted.push(save::Entry::Import(import));
        }
        p.status(&format!("reloaded {name} from {}", path.display()));
    }
}

/// Writes `text` to `path`, refusing a symbolic link planted there since it was looked at.
#[expect(
    clippy::disallowed_methods,
    reason = ":save writes the session into the file the user named: not a lab's effect"
)]
fn write_no_follow(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The stdlib's modules, for a message.
fn stdlib_names() -> String {
    resolver::embedded_names().collect::<Vec<_>>().join(", ")
}
