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
use crate::runner;
use crate::session::{RunOptions, Session};
use helper::LabHelper;
use rhai::{Engine, Scope, Stmt, AST};
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
    // Native modules complete from the start; a stdlib module once it is imported, under its
    // alias (see defined_names).
    let cat = Catalog::of(&engine);
    let mut names = cat.completions();
    names.extend(
        cat.modules
            .keys()
            .filter(|m| *m != CORE)
            .map(|m| format!("{m}::")),
    );
    let methods: Vec<String> = {
        let mut m: Vec<String> = analyze_method_names(&engine);
        m.sort();
        m.dedup();
        m
    };
    let helper = LabHelper::new(engine.clone(), names, methods, printer.color_stdout());
    let defined = helper.defined.clone();

    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(rustyline::CompletionType::List)
        .history_ignore_dups(true)
        .and_then(|c| c.max_history_size(history::MAX))
        .map(|c| c.build());
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            printer.error(&format!("cannot configure the line editor: {e}"), json!({}));
            return runner::FAILED;
        }
    };
    let mut rl: Editor<LabHelper, FileHistory> = match Editor::with_config(config) {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!("cannot start the line editor: {e}"), json!({}));
            return runner::FAILED;
        }
    };
    rl.set_helper(Some(helper));
    // The history file is opened by history.rs: private, never through a link.
    let history = paths::history_file();
    match history::load(&history) {
        Ok(entries) => {
            for e in entries {
                let _ = rl.add_history_entry(e);
            }
        }
        Err(e) => tracing::warn!("{e}"),
    }

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
                if rl.add_history_entry(line.as_str()).unwrap_or(false) {
                    if let Err(e) = history::append(&history, &line) {
                        tracing::warn!("{e}");
                    }
                }
                let trimmed = line.trim();
                if trimmed.starts_with(':') {
                    if !repl.command(trimmed) {
                        break;
                    }
                } else {
                    repl.eval_line(&line);
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

fn import_text(stmt: &Stmt) -> Option<String> {
    if let Stmt::Import(x, _) = stmt {
        if let rhai::Expr::StringConstant(p, _) = &x.0 {
            return Some(format!("import {:?} as {};", p.as_str(), x.1.name));
        }
    }
    None
}

impl Repl {
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
        if let Some(h) = &d.hint {
            self.printer.hint(h);
        }
    }

    /// Compiles, checks and runs `text` (named `source`) in the session's scope.
    fn eval_source(&mut self, source: &str, text: &str) -> bool {
        sources::register(source, text);
        let mut ast = match self.engine.compile_with_scope(&self.scope, text) {
            Ok(a) => a,
            Err(e) => {
                self.show_error(&Diagnostic::from_parse(&e, source));
                return false;
            }
        };
        ast.set_source(source);
        let new_imports: Vec<String> = ast.statements().iter().filter_map(import_text).collect();
        let prelude_text = self.imports.join("\n");
        let prelude = match self.engine.compile(&prelude_text) {
            Ok(mut p) => {
                p.set_source("(imports)");
                p
            }
            Err(e) => {
                self.show_error(&Diagnostic::from_parse(&e, "(imports)"));
                return false;
            }
        };
        let mut checked = prelude.merge(&self.functions).merge(&ast);
        checked.set_source(source);
        let dir = self.cwd.clone();
        let diags = analyze::check(&self.engine, &self.natives, &checked, dir.as_deref());
        // Variables of earlier lines are not visible to the checker: only report functions.
        let diags: Vec<_> = diags
            .into_iter()
            .filter(|d| {
                !self.scope.contains(
                    d.message
                        .trim_start_matches("unknown function '")
                        .trim_end_matches('\''),
                )
            })
            .collect();
        if !diags.is_empty() {
            for d in &diags {
                self.show_error(d);
            }
            return false;
        }
        let t0 = Instant::now();
        let fx = &self.session.effects;
        fx.reset_stats();
        let result = self
            .engine
            .eval_ast_with_scope::<rhai::Dynamic>(&mut self.scope, &checked);
        crate::effects::lock::release();
        let interrupted = fx.cancel_flag().swap(false, Ordering::SeqCst);
        let ok = match result {
            Ok(v) => {
                if !v.is_unit() {
                    self.printer
                        .out_masked(&value::pretty(&v, self.printer.width()));
                }
                true
            }
            Err(e) => {
                if interrupted {
                    self.printer.error("interrupted", json!({}));
                } else {
                    self.show_error(&Diagnostic::from_eval(&e, Some(source)));
                }
                false
            }
        };
        let stats = fx.stats();
        if !stats.is_empty() {
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
            self.printer.status(&self.printer.paint(Tone::Dim, &line));
            fx.journal(json!({"event": "recap", "stages": stats, "totals": {"ok": o, "changed": c, "planned": p, "failed": f}}));
        }
        if ok {
            self.functions += ast.clone_functions_only();
            for i in new_imports {
                if !self.imports.contains(&i) {
                    self.imports.push(i);
                }
            }
        }
        ok
    }

    fn eval_line(&mut self, line: &str) {
        self.counter += 1;
        let source = format!("repl[{}]", self.counter);
        let plan = self.session.effects.is_plan();
        if self.eval_source(&source, line) {
            self.accept(line, plan);
        }
    }

    /// Keeps what `text` (which ran) did, for `:save`.
    fn accept(&mut self, text: &str, plan: bool) {
        if let Ok(ast) = self.engine.compile(text) {
            self.accepted.extend(save::classify(text, &ast, plan));
        }
    }

    /// Runs a `:command`. Returns false to leave.
    fn command(&mut self, line: &str) -> bool {
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
                            let plan = self.session.effects.is_plan();
                            if self.eval_source(arg, &text) {
                                self.accept(&text, plan);
                            }
                        }
                        Err(e) => p.error(&e, json!({})),
                    }
                }
            }
            ":save" => {
                if arg.is_empty() {
                    p.error(":save needs a file", json!({}));
                } else {
                    let (text, n) = save::script(&self.accepted);
                    match std::fs::write(arg, text) {
                        Ok(()) => p.status(&format!(
                            "saved {n} statement(s) and definition(s) to {arg}; `labsh run {arg}` does it again"
                        )),
                        Err(e) => p.error(&format!("cannot write {arg}: {e}"), json!({})),
                    }
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
                p.error(&e, json!({}));
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
            self.imports.push(import);
        }
        p.status(&format!("reloaded {name} from {}", path.display()));
    }
}

/// The stdlib's modules, for a message.
fn stdlib_names() -> String {
    resolver::embedded_names().collect::<Vec<_>>().join(", ")
}
