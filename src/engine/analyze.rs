//! Static checks on a compiled script, before anything runs: unknown functions, literal arguments
//! of the wrong type, and the names of the script's stages and parameters.

use super::catalog;
use super::diag::{self, Diagnostic};
use super::resolver;
use rhai::{ASTNode, Dynamic, Engine, Expr, Position, Stmt, AST};
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::util::suggest::edit_distance;

/// The stages a script names (its literal `stage(..)` calls), in order.
pub fn stage_names(ast: &AST) -> Vec<String> {
    literal_calls(ast, "stage")
        .into_iter()
        .map(|s| s.0)
        .collect()
}

/// Calls to `fname` whose first argument is a string literal: (literal, position). For `stage`,
/// calls to functions named `..._stage` count too.
pub fn literal_calls(ast: &AST, fname: &str) -> Vec<(String, Position)> {
    let mut out = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(node) = path.last() {
            let call = match node {
                ASTNode::Expr(Expr::FnCall(x, pos)) => Some((x, *pos)),
                ASTNode::Stmt(Stmt::FnCall(x, pos)) => Some((x, *pos)),
                _ => None,
            };
            if let Some((x, pos)) = call {
                // `stage` also finds a script's own wrappers named `..._stage` (lab_stage("l1", ...)).
                let wrapper = fname == "stage" && x.name.ends_with("_stage");
                if (x.name == fname || wrapper) && x.namespace.is_empty() {
                    if let Some(Expr::StringConstant(s, _)) = x.args.first() {
                        if !out
                            .iter()
                            .any(|(n, _): &(String, Position)| n == s.as_str())
                        {
                            out.push((s.to_string(), pos));
                        }
                    }
                }
            }
        }
        true
    });
    out
}

/// The `import` statements of `ast` whose path is a literal: (path, position).
fn literal_imports(ast: &AST) -> Vec<(String, Position)> {
    let mut out = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(x, pos))) = path.last() {
            if let Expr::StringConstant(p, _) = &x.0 {
                out.push((p.to_string(), *pos));
            }
        }
        true
    });
    out
}

/// A module an `import` names, as it was found, read and compiled.
pub enum Loaded {
    /// No file or stdlib module of that name.
    NotFound,
    /// Found, but it could not be read (a folder, a FIFO, not UTF-8, too large).
    Unreadable(crate::error::Error),
    /// Read, but it does not compile.
    Broken {
        origin: String,
        error: rhai::ParseError,
    },
    /// Read and compiled; `origin` is the source name its errors show.
    Compiled { origin: String, ast: Rc<AST> },
}

/// The modules one program's imports name, each found, read and compiled once: the checks, the
/// parameters `--set` is checked against and the question whether it loads a profile all read
/// them from here. Keyed by the importer's source name and the literal path, as the resolver
/// finds a module from where it is imported.
#[derive(Default)]
pub struct Modules {
    loaded: RefCell<HashMap<(String, String), Rc<Loaded>>>,
    closure: OnceCell<Vec<Rc<AST>>>,
}

impl Modules {
    pub fn new() -> Modules {
        Modules::default()
    }

    /// The module `path` imported from `from`, looked for beside `script_dir` too.
    pub fn load(
        &self,
        engine: &Engine,
        script_dir: Option<&Path>,
        from: &str,
        path: &str,
    ) -> Rc<Loaded> {
        let key = (from.to_string(), path.to_string());
        if let Some(l) = self.loaded.borrow().get(&key) {
            return l.clone();
        }
        let loaded = Rc::new(match resolver::find(script_dir, Some(from), path) {
            None => Loaded::NotFound,
            Some(found) => match resolver::text_of(&found) {
                Err(e) => Loaded::Unreadable(e),
                Ok((origin, text)) => {
                    super::sources::register(&origin, &text);
                    match engine.compile(text) {
                        Ok(ast) => Loaded::Compiled {
                            origin,
                            ast: Rc::new(ast),
                        },
                        Err(error) => Loaded::Broken { origin, error },
                    }
                }
            },
        });
        self.loaded.borrow_mut().insert(key, loaded.clone());
        loaded
    }

    /// The modules `ast` imports with a literal path, and those they import in turn, each once,
    /// compiled: where the `param(..)` names a script can be given with `--set` are found too, so
    /// a stdlib function may read a parameter for the scripts that call it. A module that cannot
    /// be found, read or compiled is left out (the checker reports it). Read once.
    pub fn closure(&self, engine: &Engine, ast: &AST, script_dir: Option<&Path>) -> &[Rc<AST>] {
        self.closure.get_or_init(|| {
            let mut seen: HashSet<String> = HashSet::new();
            let mut out = Vec::new();
            let mut todo: Vec<(String, String)> = literal_imports(ast)
                .into_iter()
                .map(|(p, _)| (ast.source().unwrap_or("(script)").to_string(), p))
                .collect();
            while let Some((from, path)) = todo.pop() {
                let Loaded::Compiled { origin, ast: m } =
                    &*self.load(engine, script_dir, &from, &path)
                else {
                    continue;
                };
                if !seen.insert(origin.clone()) {
                    continue;
                }
                todo.extend(
                    literal_imports(m)
                        .into_iter()
                        .map(|(p, _)| (origin.clone(), p)),
                );
                out.push(m.clone());
            }
            out
        })
    }

    /// Whether `ast` or a module it imports (at any depth) imports the module `name` by that
    /// literal path (`import "profile" as p`).
    pub fn imports(
        &self,
        engine: &Engine,
        ast: &AST,
        script_dir: Option<&Path>,
        name: &str,
    ) -> bool {
        let has = |a: &AST| literal_imports(a).iter().any(|(p, _)| p == name);
        has(ast) || self.closure(engine, ast, script_dir).iter().any(|a| has(a))
    }
}

/// A module as the import graph sees it: who it is (its canonical path, or its stdlib origin),
/// the source name its errors show, and its literal imports.
struct Node {
    id: String,
    origin: String,
    imports: Vec<(String, Position)>,
}

/// The module `found`, as a node of the import graph; `None` when it cannot be read or
/// compiled (the checker reports that where it is imported).
fn node_of(engine: &Engine, found: &resolver::Found) -> Option<Node> {
    type Imports = Vec<(String, Position)>;
    type Cache = HashMap<String, (Option<SystemTime>, Imports)>;
    /// The imports of each module read so far, by source name, with the file's modification
    /// time: the REPL checks every line, and the stdlib is not compiled again for each.
    /// Process-wide: a cache of files, checked against their modification time.
    static IMPORTS: Mutex<Option<Cache>> = Mutex::new(None);
    let (origin, id, stamp) = match found {
        resolver::Found::File(p) => (
            p.display().to_string(),
            std::fs::canonicalize(p)
                .map(|c| c.display().to_string())
                .unwrap_or_else(|_| p.display().to_string()),
            std::fs::metadata(p).and_then(|m| m.modified()).ok(),
        ),
        resolver::Found::Embedded(n, _) => {
            let o = resolver::embedded_origin(n);
            (o.clone(), o, None)
        }
    };
    let cached = IMPORTS.lock().ok().and_then(|g| {
        g.as_ref()
            .and_then(|m| m.get(&origin))
            .filter(|(t, _)| *t == stamp)
            .map(|(_, i)| i.clone())
    });
    let imports = match cached {
        Some(i) => i,
        None => {
            let (_, text) = resolver::text_of(found).ok()?;
            let imports = literal_imports(&engine.compile(&text).ok()?);
            if let Ok(mut g) = IMPORTS.lock() {
                g.get_or_insert_with(HashMap::new)
                    .insert(origin.clone(), (stamp, imports.clone()));
            }
            imports
        }
    };
    Some(Node {
        id,
        origin,
        imports,
    })
}

/// The import cycles reachable from `ast` (a script importing itself included): one problem
/// for each, at the `import` that closes it, naming every file on the way. Modules are
/// resolved as the run resolves them.
pub fn import_cycles(engine: &Engine, ast: &AST, script_dir: Option<&Path>) -> Vec<Diagnostic> {
    let source = ast.source().unwrap_or("(script)").to_string();
    let root = Node {
        id: std::fs::canonicalize(&source)
            .map(|c| c.display().to_string())
            .unwrap_or_else(|_| source.clone()),
        origin: source,
        imports: literal_imports(ast),
    };
    let mut diags = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut reported: HashSet<Vec<String>> = HashSet::new();
    // Depth first: the stack holds the chain of modules from the script, each with the index of
    // its next import to follow.
    let mut stack: Vec<(Node, usize)> = vec![(root, 0)];
    while let Some((node, next)) = stack.last_mut() {
        let Some((path, pos)) = node.imports.get(*next).cloned() else {
            let (node, _) = stack.pop().expect("the stack is not empty here");
            done.insert(node.id);
            continue;
        };
        *next += 1;
        let from = node.origin.clone();
        let Some(found) = resolver::find(script_dir, Some(&from), &path) else {
            continue;
        };
        let Some(target) = node_of(engine, &found) else {
            continue;
        };
        if let Some(i) = stack.iter().position(|(n, _)| n.id == target.id) {
            let mut ids: Vec<String> = stack[i..].iter().map(|(n, _)| n.id.clone()).collect();
            // The same cycle reached again from another of its modules is reported once.
            let least = ids
                .iter()
                .enumerate()
                .min_by_key(|(_, id)| *id)
                .map_or(0, |(k, _)| k);
            ids.rotate_left(least);
            if !reported.insert(ids) {
                continue;
            }
            let names: Vec<&str> = stack[i..]
                .iter()
                .map(|(n, _)| n.origin.as_str())
                .chain(std::iter::once(target.origin.as_str()))
                .collect();
            let message = if names.len() == 2 {
                format!("{} imports itself (import {path:?})", names[0])
            } else {
                format!("import cycle: {}", names.join(" -> "))
            };
            diags.push(diag::at(&from, pos, message).with_hint(
                "a module cannot import, directly or through others, a file that imports it: \
                 move what they share into a module of its own",
            ));
            continue;
        }
        if done.contains(&target.id) {
            continue;
        }
        stack.push((target, 0));
    }
    diags
}

/// The literal second arguments of the calls to `fname` whose first argument is a literal string
/// (`param("strict", false)`), by that string: the defaults `--set` values are checked against
/// before a run starts.
pub fn literal_defaults(ast: &AST, fname: &str) -> Vec<(String, Dynamic)> {
    let mut out = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(x, _))) | Some(ASTNode::Stmt(Stmt::FnCall(x, _))) => {
                Some(x)
            }
            _ => None,
        };
        if let Some(x) = call.filter(|x| x.name == fname && x.namespace.is_empty()) {
            if let (Some(Expr::StringConstant(n, _)), Some(d)) = (x.args.first(), x.args.get(1)) {
                let v = match d {
                    Expr::StringConstant(s, _) => Some(Dynamic::from(s.clone())),
                    Expr::IntegerConstant(i, _) => Some(Dynamic::from(*i)),
                    Expr::FloatConstant(f, _) => Some(Dynamic::from(**f)),
                    Expr::BoolConstant(b, _) => Some(Dynamic::from(*b)),
                    Expr::DynamicConstant(d, _) => Some((**d).clone()),
                    _ => None,
                };
                if let Some(v) = v {
                    out.push((n.to_string(), v));
                }
            }
        }
        true
    });
    out
}

/// Words Rhai handles itself rather than as registered functions.
const KEYWORD_FNS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_fn",
    "is_def_var",
    "eval",
    "this",
    "fn_name",
    "is_anonymous",
    "global",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Array,
    Map,
    Fn,
    Unit,
    Char,
}

fn kind_of_dynamic(d: &Dynamic) -> Option<Kind> {
    type Is = fn(&Dynamic) -> bool;
    const KINDS: &[(Is, Kind)] = &[
        (Dynamic::is_string, Kind::Str),
        (Dynamic::is_int, Kind::Int),
        (Dynamic::is_float, Kind::Float),
        (Dynamic::is_bool, Kind::Bool),
        (Dynamic::is_array, Kind::Array),
        (Dynamic::is_map, Kind::Map),
        (Dynamic::is_fnptr, Kind::Fn),
        (Dynamic::is_unit, Kind::Unit),
        (Dynamic::is_char, Kind::Char),
    ];
    KINDS.iter().find(|(is, _)| is(d)).map(|&(_, k)| k)
}

fn kind_of(e: &Expr) -> Option<Kind> {
    match e {
        Expr::StringConstant(..) | Expr::InterpolatedString(..) => Some(Kind::Str),
        Expr::IntegerConstant(..) => Some(Kind::Int),
        Expr::FloatConstant(..) => Some(Kind::Float),
        Expr::BoolConstant(..) => Some(Kind::Bool),
        Expr::CharConstant(..) => Some(Kind::Char),
        Expr::Array(..) => Some(Kind::Array),
        Expr::Map(..) => Some(Kind::Map),
        Expr::Unit(..) => Some(Kind::Unit),
        Expr::DynamicConstant(d, _) => kind_of_dynamic(d),
        _ => None,
    }
}

/// Whether a parameter declared with type `typ` (as the metadata shows it) can take a `k`.
fn accepts(typ: Option<&str>, k: Kind) -> bool {
    let Some(t) = typ else { return true };
    let t = t
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim()
        .to_ascii_lowercase();
    let want = match t.as_str() {
        "string" | "str" | "immutablestring" => Kind::Str,
        "int" | "i64" => Kind::Int,
        "float" | "f64" => Kind::Float,
        "bool" => Kind::Bool,
        "array" | "vec<dynamic>" => Kind::Array,
        "map" => Kind::Map,
        "fnptr" | "fn" => Kind::Fn,
        "char" => Kind::Char,
        "()" => Kind::Unit,
        _ => return true,
    };
    want == k
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Str => "a string",
        Kind::Int => "an integer",
        Kind::Float => "a float",
        Kind::Bool => "a bool",
        Kind::Array => "an array",
        Kind::Map => "a map",
        Kind::Fn => "a function",
        Kind::Unit => "()",
        Kind::Char => "a char",
    }
}

type Sig = Vec<Option<String>>;

#[derive(Clone, Default)]
struct Known {
    /// (namespace or "", name) -> parameter type lists. `None` lists: script functions.
    fns: HashMap<(String, String), Vec<Option<Sig>>>,
    /// Names callable as methods (any namespace-free function).
    names: HashSet<String>,
}

impl Known {
    fn add(&mut self, ns: &str, name: &str, sig: Option<Sig>) {
        if ns.is_empty() {
            self.names.insert(name.to_string());
        }
        self.fns
            .entry((ns.to_string(), name.to_string()))
            .or_default()
            .push(sig);
    }
}

/// The engine's native functions (standard library included), read from its metadata once, when
/// a call is first checked against them (a script that calls nothing never reads them): the REPL
/// checks every line against them.
#[derive(Clone, Default)]
pub struct Natives(OnceLock<Known>);

impl Natives {
    /// The natives of one engine (the one `check` is given each time), read at their first use.
    pub fn new() -> Natives {
        Natives::default()
    }

    fn known(&self, engine: &Engine) -> &Known {
        self.0.get_or_init(|| {
            let mut known = Known::default();
            for (ns, name, params) in catalog::all_signatures(engine) {
                known.add(ns.as_deref().unwrap_or(""), &name, Some(params));
            }
            known
        })
    }
}

/// The functions a call may reach: the natives, the script's own and those of the modules it
/// imports, and what cannot be checked.
struct Reach<'a> {
    /// The source the problems are named by.
    source: &'a str,
    natives: &'a Natives,
    engine: &'a Engine,
    local: Known,
    /// The script's variables: a call of one by name (a function pointer) is not unknown.
    variables: HashSet<String>,
    /// Namespaces whose functions cannot be known: a module imported by a computed path, or one
    /// that could not be read or compiled.
    opaque_ns: HashSet<String>,
    /// Namespaces below an imported module ("alias::"): its own imports, trusted.
    nested_ns: HashSet<String>,
    /// The private functions of each imported module, by alias.
    private: HashSet<(String, String)>,
}

impl Reach<'_> {
    fn sigs(&self, ns: &str, name: &str) -> Option<Vec<&Option<Sig>>> {
        let key = (ns.to_string(), name.to_string());
        let native = self.natives.known(self.engine).fns.get(&key);
        let local = self.local.fns.get(&key);
        if native.is_none() && local.is_none() {
            return None;
        }
        Some(native.into_iter().chain(local).flatten().collect())
    }

    fn is_method(&self, name: &str) -> bool {
        let natives = self.natives.known(self.engine);
        let key = (String::new(), name.to_string());
        [natives, &self.local]
            .iter()
            .any(|k| k.names.contains(name) || k.fns.contains_key(&key))
    }

    fn keys(&self) -> impl Iterator<Item = &(String, String)> {
        self.natives
            .known(self.engine)
            .fns
            .keys()
            .chain(self.local.fns.keys())
    }

    /// Whether calls into `ns` are not checked.
    fn trusted(&self, ns: &str) -> bool {
        self.opaque_ns.contains(ns) || self.nested_ns.iter().any(|n| ns.starts_with(n.as_str()))
    }

    /// The native signatures of `c`'s function, when `c` is a call of a function the checks
    /// read (not a method, not into a namespace they trust) that is known.
    fn function_sigs(&self, c: &Call) -> Option<Vec<&Option<Sig>>> {
        if c.method || self.trusted(&c.ns) {
            return None;
        }
        self.sigs(&c.ns, &c.name)
    }
}

/// What a script declares: its variables, its imports with a literal path (path, alias,
/// position), and the aliases of those whose path is computed at run time.
#[derive(Default)]
struct Declared {
    variables: HashSet<String>,
    imports: Vec<(String, String, Position)>,
    dynamic: Vec<String>,
}

impl Declared {
    fn of(ast: &AST) -> Declared {
        let mut d = Declared::default();
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Stmt(Stmt::Import(x, pos))) => {
                    if let Expr::StringConstant(p, _) = &x.0 {
                        d.imports.push((p.to_string(), x.1.name.to_string(), *pos));
                    } else {
                        d.dynamic.push(x.1.name.to_string());
                    }
                }
                Some(ASTNode::Stmt(Stmt::Var(x, ..))) => {
                    d.variables.insert(x.0.name.to_string());
                }
                Some(ASTNode::Expr(Expr::Variable(x, ..))) => {
                    d.variables.insert(x.1.to_string());
                }
                _ => {}
            }
            true
        });
        d
    }
}

impl<'a> Reach<'a> {
    /// What the calls of `ast` may reach: its own functions, and each imported module's under
    /// its alias (read from `modules`); a module that cannot be found, read or compiled is a
    /// problem in `diags`, at its `import`.
    fn of(
        engine: &'a Engine,
        natives: &'a Natives,
        ast: &'a AST,
        (script_dir, modules): (Option<&Path>, &Modules),
        declared: Declared,
        diags: &mut Vec<Diagnostic>,
    ) -> Reach<'a> {
        let source = ast.source().unwrap_or("(script)");
        let mut reach = Reach {
            source,
            natives,
            engine,
            local: Known::default(),
            variables: declared.variables,
            opaque_ns: declared.dynamic.into_iter().collect(),
            nested_ns: HashSet::new(),
            private: HashSet::new(),
        };
        for f in ast.iter_functions() {
            // Script functions are untyped: only their arity is checked.
            reach
                .local
                .add("", f.name, Some(vec![None; f.params.len()]));
        }
        for (path, alias, pos) in &declared.imports {
            match &*modules.load(engine, script_dir, source, path) {
                Loaded::Compiled { ast: m, .. } => reach.add_module(alias, m),
                Loaded::Broken { origin, error } => {
                    let mut d = Diagnostic::from_parse(error, origin);
                    d.chain.push(format!(
                        "in module '{path}' imported at {source}:{}",
                        pos.line().unwrap_or(0)
                    ));
                    diags.push(d);
                    reach.opaque_ns.insert(alias.clone());
                }
                Loaded::Unreadable(e) => {
                    diags.push(diag::at(source, *pos, e.clone()));
                    reach.opaque_ns.insert(alias.clone());
                }
                Loaded::NotFound => diags.push(diag::at(
                    source,
                    *pos,
                    format!(
                        "module {path:?} not found (looked beside the script, in LABSH_PATH, in {}, and in the stdlib: {})",
                        crate::paths::user_lib_dir().display(),
                        resolver::embedded_names().collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        reach
    }

    /// The functions of the module `m`, imported as `alias`.
    fn add_module(&mut self, alias: &str, m: &AST) {
        for f in m.iter_functions() {
            if f.access != rhai::FnAccess::Private {
                self.local
                    .add(alias, f.name, Some(vec![None; f.params.len()]));
            } else {
                self.private.insert((alias.to_string(), f.name.to_string()));
            }
        }
        // The modules it imports are its sub-modules (`alias::inner::f`): they are not followed,
        // calls into them are trusted.
        if m.statements().iter().any(|s| matches!(s, Stmt::Import(..))) {
            self.nested_ns.insert(format!("{alias}::"));
        }
    }
}

/// A call the checks read: a function or method called by name (no operator, no keyword, no
/// closure), with what is known of its arguments.
struct Call {
    name: String,
    /// Its namespace ("" for none), without the trailing `::`.
    ns: String,
    pos: Position,
    method: bool,
    /// The kind of each argument that is a literal.
    args: Vec<Option<Kind>>,
}

impl Call {
    fn full(&self) -> String {
        if self.ns.is_empty() {
            self.name.clone()
        } else {
            format!("{}::{}", self.ns, self.name)
        }
    }
}

/// The calls of `ast`, in the order the walk meets them.
fn calls_of(ast: &AST) -> Vec<Call> {
    let mut out = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let (x, pos, method) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(x, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(x, pos))) => (x, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(x, pos))) => (x, *pos, true),
            _ => return true,
        };
        let name = x.name.as_str();
        if x.is_operator_call() || KEYWORD_FNS.contains(&name) || name.contains('$') {
            return true;
        }
        out.push(Call {
            name: name.to_string(),
            ns: if x.namespace.is_empty() {
                String::new()
            } else {
                x.namespace.to_string().trim_end_matches("::").to_string()
            },
            pos,
            method,
            args: x.args.iter().map(kind_of).collect(),
        });
        true
    });
    out
}

/// A rule: the problem of one call, if it has one.
type Rule = fn(&Reach, &Call) -> Option<Diagnostic>;

/// A method no function of that name can be.
fn unknown_method(r: &Reach, c: &Call) -> Option<Diagnostic> {
    (c.method && !r.is_method(&c.name))
        .then(|| diag::at(r.source, c.pos, format!("unknown method '{}'", c.name)))
}

/// A function that is not there (a variable holding one is), or is private to its module; the
/// closest known name suggested.
fn unknown_function(r: &Reach, c: &Call) -> Option<Diagnostic> {
    if c.method || r.trusted(&c.ns) || r.sigs(&c.ns, &c.name).is_some() {
        return None;
    }
    if c.ns.is_empty() && r.variables.contains(&c.name) {
        return None;
    }
    let full = c.full();
    if r.private.contains(&(c.ns.clone(), c.name.clone())) {
        return Some(diag::at(
            r.source,
            c.pos,
            format!(
                "'{full}' is private to module {}: only its own functions call it",
                c.ns
            ),
        ));
    }
    let mut d = diag::at(r.source, c.pos, format!("unknown function '{full}'"));
    if let Some(s) = suggest(r.keys(), &c.ns, &c.name) {
        d = d.with_hint(format!("did you mean '{s}'?"));
    }
    Some(d)
}

/// A known function called with a number of arguments none of its signatures takes.
fn wrong_arity(r: &Reach, c: &Call) -> Option<Diagnostic> {
    let sigs = r.function_sigs(c)?;
    let arity = c.args.len();
    if sigs
        .iter()
        .any(|s| s.as_ref().is_none_or(|s| s.len() == arity))
    {
        return None;
    }
    let arities: Vec<String> = sigs
        .iter()
        .filter_map(|s| s.as_ref().map(|s| s.len().to_string()))
        .collect();
    Some(diag::at(
        r.source,
        c.pos,
        format!(
            "'{}' takes {} argument(s), not {arity}",
            c.full(),
            arities.join(" or ")
        ),
    ))
}

/// A known function whose literal arguments no native signature of the same arity takes.
fn wrong_types(r: &Reach, c: &Call) -> Option<Diagnostic> {
    let sigs = r.function_sigs(c)?;
    let same_arity: Vec<&Option<Sig>> = sigs
        .into_iter()
        .filter(|s| s.as_ref().is_none_or(|s| s.len() == c.args.len()))
        .collect();
    let ok = same_arity.is_empty()
        || same_arity.iter().any(|s| match s {
            None => true,
            Some(params) => params
                .iter()
                .zip(&c.args)
                .all(|(t, k)| k.is_none_or(|k| accepts(t.as_deref(), k))),
        });
    if ok {
        return None;
    }
    let full = c.full();
    let got: Vec<&str> = c
        .args
        .iter()
        .map(|k| k.map(kind_name).unwrap_or("?"))
        .collect();
    let wanted: Vec<String> = same_arity
        .iter()
        .filter_map(|s| s.as_ref())
        .map(|p| {
            format!(
                "({})",
                p.iter()
                    .map(|t| t.clone().unwrap_or_else(|| "?".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    Some(
        diag::at(
            r.source,
            c.pos,
            format!(
                "wrong argument types for '{full}': got ({})",
                got.join(", ")
            ),
        )
        .with_hint(format!(
            "'{full}' takes {}; `help(\"{full}\")` shows how to call it",
            super::diag::friendly_types(&wanted.join(" or "))
        )),
    )
}

/// Checks `ast`, its problems named by the AST's source (the file it was compiled from).
/// `script_dir` is where its imports are looked for.
pub fn check(
    engine: &Engine,
    natives: &Natives,
    ast: &AST,
    script_dir: Option<&Path>,
) -> Vec<Diagnostic> {
    check_with(engine, natives, ast, script_dir, &Modules::new())
}

/// [`check`], the modules the script imports read from (and kept in) `modules`: the modules it
/// imports (a problem for each that cannot be read or compiled), then one pass over its calls
/// for each rule, then its import cycles.
pub fn check_with(
    engine: &Engine,
    natives: &Natives,
    ast: &AST,
    script_dir: Option<&Path>,
    modules: &Modules,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let reach = Reach::of(
        engine,
        natives,
        ast,
        (script_dir, modules),
        Declared::of(ast),
        &mut diags,
    );
    let calls = calls_of(ast);
    const RULES: [Rule; 4] = [unknown_method, unknown_function, wrong_arity, wrong_types];
    // A call breaks one rule at most; the problems are told in the order of the calls.
    let mut found: Vec<(usize, Diagnostic)> = RULES
        .iter()
        .flat_map(|rule| {
            calls
                .iter()
                .enumerate()
                .filter_map(|(i, c)| rule(&reach, c).map(|d| (i, d)))
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by_key(|(i, _)| *i);
    diags.extend(found.into_iter().map(|(_, d)| d));
    diags.extend(import_cycles(engine, ast, script_dir));
    diags
}

/// The closest known name, if any is close.
fn suggest<'a>(
    keys: impl Iterator<Item = &'a (String, String)>,
    ns: &str,
    name: &str,
) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for (kns, kname) in keys {
        if kns != ns {
            continue;
        }
        let d = edit_distance(name, kname);
        if d <= 2.max(name.len() / 4) && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            let full = if ns.is_empty() {
                kname.clone()
            } else {
                format!("{ns}::{kname}")
            };
            best = Some((d, full));
        }
    }
    best.map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_calls_found_in_order() {
        let e = Engine::new();
        let ast = e
            .compile(
                "fn s(n, f) {}\nstage(\"a\", || 1);\nlet x = stage(\"b\", || 2);\nstage(y, || 3);",
            )
            .unwrap();
        assert_eq!(stage_names(&ast), vec!["a", "b"]);
    }

    #[test]
    fn unknown_functions_and_literal_types_are_reported() {
        let mut e = Engine::new();
        e.register_fn("takes_array", |_a: rhai::Array| 1_i64);
        let mut ast = e
            .compile("fn mine(x) { x }\nmine(1);\ntakes_array([1]);\ntakes_array(\"no\");\nnope(2);\n[1].len();\n[1].nomethod();")
            .unwrap();
        ast.set_source("t.rhai");
        let d = check(&e, &Natives::new(), &ast, None);
        let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].starts_with("wrong argument types for 'takes_array'"),
            "{msgs:?}"
        );
        assert_eq!(msgs[1], "unknown function 'nope'");
        assert_eq!(msgs[2], "unknown method 'nomethod'");
        assert_eq!(d[1].line, Some(5));
    }

    #[test]
    fn each_rule_is_told_in_the_order_of_the_calls() {
        let mut e = Engine::new();
        e.register_fn("takes_array", |_a: rhai::Array| 1_i64);
        let mut ast = e
            .compile("fn mine(x) { x }\nnope(2);\nmine(1, 2);\n[1].nomethod();\ntakes_array(\"no\");\nlet f = 1;\nf(3);\nmine(nope2(1));")
            .unwrap();
        ast.set_source("t.rhai");
        let d = check(&e, &Natives::new(), &ast, None);
        let got: Vec<(Option<usize>, &str)> =
            d.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(2), "unknown function 'nope'"),
                (Some(3), "'mine' takes 1 argument(s), not 2"),
                (Some(4), "unknown method 'nomethod'"),
                (
                    Some(5),
                    "wrong argument types for 'takes_array': got (a string)"
                ),
                (Some(8), "unknown function 'nope2'"),
            ]
        );
    }
}
