//! A script as `labsh run`, `labsh check`, `labsh -e`, `labsh status` and the REPL take it: compiled
//! and checked once, with its stages, and its parameters and imports read from the modules the
//! check resolved (each module found, read and compiled once).

use crate::engine::analyze::{self, Modules, Natives};
use crate::engine::diag::Diagnostic;
use crate::engine::sources;
use crate::printer::Printer;
use rhai::{Dynamic, Engine, Scope, AST};
use serde_json::json;
use std::path::{Path, PathBuf};

/// A compiled script that passed the static checks.
pub struct Program {
    /// The name its errors show (the file, `-e`, `repl[N]`).
    pub source: String,
    pub ast: AST,
    /// Where its imports are looked for besides the importer's folder.
    pub dir: Option<PathBuf>,
    /// Its literal `stage(..)` names, in order.
    pub stages: Vec<String>,
    modules: Modules,
}

/// The parameters a script can be given with `--set`: the literal `param(..)` names of the
/// script and of the modules it imports (the stdlib's `target::setup` reads `uri`, `images` and
/// `out` for the scripts that call it), each once in the order found, and their literal defaults.
#[derive(Default)]
pub struct Params {
    pub names: Vec<String>,
    pub defaults: Vec<(String, Dynamic)>,
}

impl Program {
    /// Compiles `text` (named `source`) and checks it; its problems, none of it run.
    pub fn compile(
        engine: &Engine,
        source: &str,
        text: &str,
        dir: Option<PathBuf>,
    ) -> Result<Program, Vec<Diagnostic>> {
        sources::register(source, text);
        let mut ast = engine
            .compile(text)
            .map_err(|e| vec![Diagnostic::from_parse(&e, source)])?;
        ast.set_source(source);
        let modules = Modules::new();
        let diags = analyze::check_with(engine, &Natives::new(), &ast, dir.as_deref(), &modules);
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Program::of(source, ast, dir, modules))
    }

    /// [`Program::compile`], its problems printed (and counted when there are more than one).
    pub fn load(
        engine: &Engine,
        printer: &Printer,
        source: &str,
        text: &str,
        dir: Option<PathBuf>,
    ) -> Option<Program> {
        match Program::compile(engine, source, text, dir) {
            Ok(p) => Some(p),
            Err(diags) => {
                for d in &diags {
                    super::print_diag(printer, d);
                }
                if diags.len() > 1 {
                    printer.error(
                        &format!("{} problems in {source}; nothing was run", diags.len()),
                        json!({}),
                    );
                }
                None
            }
        }
    }

    /// A REPL input: compiled in the session's `scope` and checked with what the session has
    /// before it (`before`, asked once the input compiles: its imports and functions, or `None`
    /// when they do not compile, which it has said), its own AST kept without them. What the
    /// checker cannot see, the variables of earlier lines, is not reported as an unknown
    /// function.
    pub fn compile_in(
        engine: &Engine,
        natives: &Natives,
        scope: &Scope,
        before: impl FnOnce() -> Option<AST>,
        source: &str,
        text: &str,
        dir: Option<PathBuf>,
    ) -> Result<Program, Vec<Diagnostic>> {
        sources::register(source, text);
        let mut ast = engine
            .compile_with_scope(scope, text)
            .map_err(|e| vec![Diagnostic::from_parse(&e, source)])?;
        ast.set_source(source);
        let Some(before) = before() else {
            return Err(Vec::new());
        };
        let mut checked = before.merge(&ast);
        checked.set_source(source);
        let modules = Modules::new();
        let diags: Vec<Diagnostic> =
            analyze::check_with(engine, natives, &checked, dir.as_deref(), &modules)
                .into_iter()
                .filter(|d| {
                    !scope.contains(
                        d.message
                            .trim_start_matches("unknown function '")
                            .trim_end_matches('\''),
                    )
                })
                .collect();
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Program::of(source, ast, dir, modules))
    }

    fn of(source: &str, ast: AST, dir: Option<PathBuf>, modules: Modules) -> Program {
        Program {
            source: source.to_string(),
            stages: analyze::stage_names(&ast),
            ast,
            dir,
            modules,
        }
    }

    fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Its parameters (see [`Params`]), from the modules the check read.
    pub fn params(&self, engine: &Engine) -> Params {
        let imported = self.modules.closure(engine, &self.ast, self.dir());
        let mut p = Params::default();
        for a in std::iter::once(&self.ast).chain(imported.iter().map(|m| &**m)) {
            for (n, _) in analyze::literal_calls(a, "param") {
                if !p.names.contains(&n) {
                    p.names.push(n);
                }
            }
            p.defaults.extend(analyze::literal_defaults(a, "param"));
        }
        p
    }

    /// Whether it or a module it imports (at any depth) imports the module `name`.
    pub fn imports(&self, engine: &Engine, name: &str) -> bool {
        self.modules.imports(engine, &self.ast, self.dir(), name)
    }

    /// Whether it is a profile variant: it defines `fn overrides()`.
    pub fn is_profile(&self) -> bool {
        self.ast
            .iter_functions()
            .any(|f| f.name == "overrides" && f.params.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::analyze::Loaded;
    use std::rc::Rc;

    fn engine() -> Engine {
        let mut e = Engine::new();
        e.register_fn("param", |_n: &str, d: i64| d);
        e
    }

    fn write(dir: &Path, name: &str, text: &str) {
        #[expect(clippy::disallowed_methods, reason = "a test's own fixture")]
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn the_parameters_and_imports_are_read_from_the_modules_the_check_compiled() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "inner.rhai",
            "fn deep() { param(\"depth\", 3) }\n",
        );
        write(
            t.path(),
            "outer.rhai",
            "import \"inner\" as inner;\nfn f() { param(\"width\", 2) }\n",
        );
        let e = engine();
        let text = "import \"outer\" as outer;\nparam(\"count\", 1);\nouter::f();\n";
        let p = Program::compile(&e, "main.rhai", text, Some(t.path().to_path_buf()))
            .unwrap_or_else(|d| panic!("{:?}", d.iter().map(|d| d.render()).collect::<Vec<_>>()));
        let params = p.params(&e);
        assert_eq!(params.names, ["count", "width", "depth"]);
        assert_eq!(params.defaults.len(), 3);
        assert!(p.imports(&e, "inner"));
        assert!(!p.imports(&e, "profile"));
        // The module the check compiled is the one the parameters were read from: found, read
        // and compiled once.
        let Loaded::Compiled { ast: checked, .. } =
            &*p.modules.load(&e, p.dir(), "main.rhai", "outer")
        else {
            panic!("outer.rhai was not compiled");
        };
        let closure = p.modules.closure(&e, &p.ast, p.dir());
        assert!(closure.iter().any(|m| Rc::ptr_eq(m, checked)));
    }

    #[test]
    fn a_script_with_problems_is_no_program() {
        let e = engine();
        let Err(d) = Program::compile(&e, "bad.rhai", "nope(1);\nparam(\"x\", 1);", None) else {
            panic!("a script calling an unknown function compiled");
        };
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unknown function 'nope'");
        let Err(d) = Program::compile(&e, "bad.rhai", "let = ;", None) else {
            panic!("a script that does not parse compiled");
        };
        assert_eq!(d.len(), 1);
    }
}
