//! Module resolution: `import "name" as name;` looks, in this order, in
//! 1. the folder of the file that imports (a script's own folder, or an overriding module's),
//! 2. the folder of the main script,
//! 3. each folder of `LABSH_PATH`,
//! 4. the user's override folder (`~/.config/labsh/stdlib`, where `:edit` puts copies),
//! 5. the stdlib embedded in the binary.
//!
//! The first `name.rhai` found wins, so a user overrides any stdlib module by copying it into one
//! of the first four places. The stdlib's own imports of each other skip the first two: a file
//! beside a script that is named like a stdlib module (`seed.rhai`) is the script's module, and
//! the stdlib's `profile` still gets the stdlib's `seed`; a module in `LABSH_PATH` or the
//! override folder replaces a stdlib module for the stdlib too, and labsh warns, naming the
//! file. Files are re-read when they change (the REPL's `:edit` relies on it).

use super::sources;
use crate::error::Error;
use crate::paths;
use crate::printer::Printer;
use rhai::module_resolvers::ModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, Scope};

type SharedModule = std::sync::Arc<Module>;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

include!(concat!(env!("OUT_DIR"), "/stdlib.rs"));

/// Names of the embedded stdlib modules.
pub fn embedded_names() -> impl Iterator<Item = &'static str> {
    STDLIB.iter().map(|(n, _)| *n)
}

/// The source name errors show for an embedded module.
pub fn embedded_origin(name: &str) -> String {
    format!("stdlib:{name}.rhai")
}

/// Whether `origin` (a source name) is an embedded stdlib module's.
pub fn is_embedded_origin(origin: &str) -> bool {
    origin
        .strip_prefix("stdlib:")
        .and_then(|n| n.strip_suffix(".rhai"))
        .is_some_and(|n| STDLIB.iter().any(|(m, _)| *m == n))
}

thread_local! {
    /// The modules being imported by this thread now, innermost last: a call's own, empty
    /// again when the import ends.
    static IMPORTING: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a module as being imported on this thread, to report cycles instead of recursing.
struct ImportGuard;

impl ImportGuard {
    fn enter(origin: &str) -> Result<ImportGuard, Error> {
        IMPORTING.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().position(|o| o == origin) {
                let mut chain: Vec<String> = s[i..].to_vec();
                chain.push(origin.to_string());
                return Err(Error::invalid(chain.join(" -> ")));
            }
            s.push(origin.to_string());
            Ok(ImportGuard)
        })
    }
}

impl Drop for ImportGuard {
    fn drop(&mut self) {
        IMPORTING.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

pub struct Resolver {
    script_dir: Option<PathBuf>,
    cache: Mutex<HashMap<String, (Option<SystemTime>, SharedModule)>>,
    /// Where the warning for a user module that replaces a stdlib one for the stdlib goes.
    printer: Option<std::sync::Arc<Printer>>,
    /// The files warned about, once each.
    warned: Mutex<Vec<PathBuf>>,
}

/// Where a module was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    File(PathBuf),
    Embedded(&'static str, &'static str),
}

impl Resolver {
    pub fn new(script_dir: Option<PathBuf>, printer: Option<std::sync::Arc<Printer>>) -> Self {
        Resolver {
            script_dir,
            cache: Mutex::new(HashMap::new()),
            printer,
            warned: Mutex::new(Vec::new()),
        }
    }

    /// Warns, once per file, that the user module `file` replaces the stdlib's `name` for the
    /// stdlib's own imports.
    fn warn_replaced(&self, name: &str, file: &Path) {
        let Some(printer) = &self.printer else { return };
        let Ok(mut warned) = self.warned.lock() else {
            return;
        };
        if warned.iter().any(|w| w == file) {
            return;
        }
        warned.push(file.to_path_buf());
        printer.warn(&format!(
            "{} replaces the stdlib module '{name}' for the stdlib's own imports too",
            file.display()
        ));
    }

    /// Finds the module `path` imported from the source `from`.
    pub fn find(&self, from: Option<&str>, path: &str) -> Option<Found> {
        find(self.script_dir.as_deref(), from, path)
    }
}

/// See the module doc for the order. A file that is there but is no regular file (a folder, a
/// FIFO) is found all the same, so that reading it names what it is.
pub fn find(script_dir: Option<&Path>, from: Option<&str>, path: &str) -> Option<Found> {
    let file_name = if path.ends_with(".rhai") {
        path.to_string()
    } else {
        format!("{path}.rhai")
    };
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    if Path::new(&file_name).is_absolute() {
        let p = PathBuf::from(&file_name);
        return exists(&p).then_some(Found::File(p));
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    // The stdlib's own imports are not looked for beside the script.
    if !from.is_some_and(is_embedded_origin) {
        if let Some(from) = from {
            let from = Path::new(from);
            if from.is_file() {
                if let Some(d) = from.parent() {
                    dirs.push(d.to_path_buf());
                }
            }
        }
        if let Some(d) = script_dir {
            dirs.push(d.to_path_buf());
        }
    }
    dirs.extend(paths::search_path());
    dirs.push(paths::user_lib_dir());
    let importer = from.and_then(|f| std::fs::canonicalize(f).ok());
    for d in dirs {
        let p = d.join(&file_name);
        if exists(&p) {
            // A script named like a module (l1.rhai importing "l1") means the module, not itself.
            if importer.is_some() && std::fs::canonicalize(&p).ok() == importer {
                continue;
            }
            return Some(Found::File(p));
        }
    }
    let stem = path.trim_end_matches(".rhai");
    STDLIB
        .iter()
        .find(|(n, _)| *n == stem)
        .map(|(n, s)| Found::Embedded(n, s))
}

/// The text of a module found by [`find`], and the source name its errors show.
pub fn text_of(found: &Found) -> Result<(String, String), Error> {
    match found {
        Found::File(p) => Ok((p.display().to_string(), sources::read(p, "module")?)),
        Found::Embedded(name, text) => Ok((embedded_origin(name), text.to_string())),
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let found = self
            .find(source, path)
            .ok_or_else(|| Box::new(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos)))?;
        if let (Found::File(p), Some(from)) = (&found, source) {
            let stem = path.trim_end_matches(".rhai");
            if is_embedded_origin(from) && STDLIB.iter().any(|(n, _)| *n == stem) {
                self.warn_replaced(stem, p);
            }
        }
        let stamp = match &found {
            Found::File(p) => mtime(p),
            Found::Embedded(..) => None,
        };
        let (origin, text) = text_of(&found).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                path.to_string(),
                Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(e), pos)),
                pos,
            ))
        })?;
        if let Ok(cache) = self.cache.lock() {
            if let Some((t, m)) = cache.get(&origin) {
                if *t == stamp {
                    return Ok(m.clone());
                }
            }
        }
        let _guard = match ImportGuard::enter(&origin) {
            Ok(g) => g,
            Err(cycle) => {
                return Err(Box::new(EvalAltResult::ErrorInModule(
                    origin.clone(),
                    Box::new(EvalAltResult::ErrorRuntime(
                        format!("import cycle: {cycle}").into(),
                        pos,
                    )),
                    pos,
                )))
            }
        };
        sources::register(&origin, &text);
        let wrap =
            |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(origin.clone(), e, pos));
        let mut ast = engine
            .compile(&text)
            .map_err(|e| wrap(EvalAltResult::from(e).into()))?;
        ast.set_source(origin.as_str());
        let mut m = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(wrap)?;
        m.build_index();
        let shared: SharedModule = m.into();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(origin, (stamp, shared.clone()));
        }
        Ok(shared)
    }
}
