//! The catalog of native functions, read from the engine's metadata: the single source for `help`,
//! `labsh doc`, REPL completion and the checker. Doc text comes from the `///` comments on the
//! bindings.

use rhai::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
struct RawModule {
    #[serde(default)]
    modules: BTreeMap<String, RawModule>,
    #[serde(default)]
    functions: Vec<FnMeta>,
    #[serde(default)]
    doc: String,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FnMeta {
    pub name: String,
    pub num_params: usize,
    pub signature: String,
    #[serde(default)]
    pub doc_comments: Vec<String>,
    /// The keys of its option map, from the binding's spec (empty: it takes none).
    #[serde(skip)]
    pub options: &'static [crate::modules::opts::OptField],
}

/// `run(argv: Array) -> Result<Map, Box<EvalAltResult>>` reads `run(argv: Array) -> Map`.
fn clean_signature(sig: &str) -> String {
    let mut s = sig.to_string();
    if let Some(i) = s.find("-> Result<") {
        let inner = &s[i + "-> Result<".len()..];
        if let Some(j) = inner.rfind(", Box<EvalAltResult>>") {
            s = format!("{}-> {}", &s[..i], &inner[..j]);
        }
    }
    if let Some(i) = s.find("-> Res<") {
        if s.ends_with('>') {
            s = format!("{}-> {}", &s[..i], &s[i + "-> Res<".len()..s.len() - 1]);
        }
    }
    // Rust spellings of Rhai types, as a script writer names them.
    s.trim_end_matches(" -> ()")
        .replace("&mut ", "")
        .replace("&str", "string")
        .replace("ImmutableString", "string")
        .replace("-> String", "-> string")
        .replace(": i64", ": int")
        .replace("-> i64", "-> int")
        .replace(": f64", ": float")
        .replace("-> f64", "-> float")
}

impl FnMeta {
    /// The doc comment as plain text (without `///`).
    pub fn doc(&self) -> String {
        doc_text(&self.doc_comments)
    }

    /// The first sentence of the doc.
    pub fn summary(&self) -> String {
        let doc = self.doc();
        let para: Vec<&str> = doc
            .lines()
            .map(str::trim)
            .skip_while(|l| l.is_empty())
            .take_while(|l| !l.is_empty() && !l.starts_with("```"))
            .collect();
        let para = para.join(" ");
        match para.find(". ") {
            Some(i) => para[..=i].to_string(),
            None => para,
        }
    }

    /// Its options, one line each: `name: type (required) — what it is`.
    pub fn option_lines(&self) -> Vec<String> {
        self.options
            .iter()
            .map(|o| {
                let req = if o.required { ", required" } else { "" };
                format!("{}: {}{req} — {}", o.name(), (o.typ)(), o.doc.trim())
            })
            .collect()
    }

    /// The ```rhai examples in the doc.
    #[cfg(test)]
    pub fn examples(&self) -> Vec<String> {
        examples(&self.doc())
    }
}

/// Joins `///` or `/** */` comment lines into text.
pub fn doc_text(comments: &[String]) -> String {
    let mut lines = Vec::new();
    for c in comments {
        for l in c.lines() {
            let l = l.trim_start();
            let l = l
                .strip_prefix("///")
                .or_else(|| l.strip_prefix("//!"))
                .unwrap_or(l);
            lines.push(l.strip_prefix(' ').unwrap_or(l).to_string());
        }
    }
    lines.join("\n").trim().to_string()
}

/// The code of each ```rhai block in `doc`.
#[cfg(test)]
pub fn examples(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for l in doc.lines() {
        let t = l.trim();
        match &mut cur {
            None if t.starts_with("```rhai") => cur = Some(String::new()),
            Some(_) if t.starts_with("```") => out.extend(cur.take()),
            Some(c) => {
                c.push_str(l);
                c.push('\n');
            }
            None => {}
        }
    }
    out
}

#[derive(Clone, Debug, Default)]
pub struct ModuleDoc {
    pub doc: String,
    pub functions: Vec<FnMeta>,
    /// A stdlib module (Rhai), imported with `import "NAME" as NAME;`.
    pub stdlib: bool,
}

/// The leading `//` comment of a stdlib file: its module doc.
fn header(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("//"))
        .map(|l| {
            l.trim_start_matches('/')
                .strip_prefix(' ')
                .unwrap_or(l.trim_start_matches('/'))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// A stdlib module's functions (not private), with their `///` docs, from its text.
pub fn script_module(name: &str, text: &str) -> Option<ModuleDoc> {
    let mut engine = Engine::new_raw();
    engine.set_max_expr_depths(256, 128);
    let ast = engine.compile(text).ok()?;
    let mut functions: Vec<FnMeta> = ast
        .iter_functions()
        // Closures compile to functions named `anon$<hash>`: not the module's own.
        .filter(|f| f.access != rhai::FnAccess::Private && !f.name.starts_with("anon$"))
        .map(|f| FnMeta {
            name: f.name.to_string(),
            num_params: f.params.len(),
            signature: format!("{}({})", f.name, f.params.join(", ")),
            doc_comments: f.comments.iter().map(|c| c.to_string()).collect(),
            options: &[],
        })
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name).then(a.num_params.cmp(&b.num_params)));
    let _ = name;
    Some(ModuleDoc {
        doc: header(text),
        functions,
        stdlib: true,
    })
}

/// Native functions by module. The global functions are listed under [`CORE`].
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub modules: BTreeMap<String, ModuleDoc>,
}

/// The name under which the global (un-namespaced) functions are documented.
pub const CORE: &str = "core";

impl Catalog {
    /// labsh's own functions (no Rhai standard library).
    pub fn of(engine: &Engine) -> Catalog {
        let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let mut raw: RawModule = serde_json::from_str(&json).unwrap_or_default();
        for f in raw.functions.iter_mut().chain(
            raw.modules
                .values_mut()
                .flat_map(|m| m.functions.iter_mut()),
        ) {
            f.signature = clean_signature(&f.signature);
        }
        let mut modules = BTreeMap::new();
        let mut core_fns: Vec<FnMeta> = raw
            .functions
            .into_iter()
            .filter(|f| !f.doc_comments.is_empty())
            .collect();
        core_fns.sort_by(|a, b| {
            (&a.name, a.num_params, &a.signature).cmp(&(&b.name, b.num_params, &b.signature))
        });
        modules.insert(
            CORE.to_string(),
            ModuleDoc {
                doc: doc_text(&[raw.doc]),
                functions: core_fns,
                stdlib: false,
            },
        );
        for (name, m) in raw.modules {
            modules.insert(
                name,
                ModuleDoc {
                    doc: doc_text(&[m.doc]),
                    functions: m.functions,
                    stdlib: false,
                },
            );
        }
        let mut cat = Catalog { modules };
        cat.attach_options();
        cat
    }

    /// Each binding's options, on its overloads that take a map (on all of them when none does:
    /// `cloud::connect` takes a name or a map, as a Dynamic).
    fn attach_options(&mut self) {
        for (ns, func, fields) in crate::modules::options() {
            let ns = if ns.is_empty() { CORE } else { ns };
            let Some(m) = self.modules.get_mut(ns) else {
                continue;
            };
            let takes_map = |f: &FnMeta| f.signature.contains(": Map");
            let any_map = m.functions.iter().any(|f| f.name == func && takes_map(f));
            for f in m.functions.iter_mut() {
                if f.name == func && (!any_map || takes_map(f)) {
                    f.options = fields;
                }
            }
        }
    }

    /// labsh's native functions and the stdlib's modules (as the resolver finds them: a user's
    /// override of one is the one documented): what `help`, `labsh doc` and completion show.
    pub fn full(engine: &Engine) -> Catalog {
        let mut cat = Catalog::of(engine);
        for name in super::resolver::embedded_names() {
            let text = match super::resolver::find(None, None, name) {
                Some(super::resolver::Found::File(p)) => std::fs::read_to_string(p).ok(),
                Some(super::resolver::Found::Embedded(_, t)) => Some(t.to_string()),
                None => None,
            };
            if let Some(m) = text.and_then(|t| script_module(name, &t)) {
                cat.modules.entry(name.to_string()).or_insert(m);
            }
        }
        cat
    }

    /// Every overload of `name` (`fn` or `module::fn`).
    pub fn lookup(&self, name: &str) -> Vec<(&str, &FnMeta)> {
        let (module, func) = match name.rsplit_once("::") {
            Some((m, f)) => (Some(m), f),
            None => (None, name),
        };
        let mut out = Vec::new();
        for (mname, m) in &self.modules {
            if module.is_some_and(|want| want != mname) {
                continue;
            }
            for f in &m.functions {
                if f.name == func {
                    out.push((mname.as_str(), f));
                }
            }
        }
        out
    }

    /// Names to complete: `fn` for core functions, `module::fn` for the others.
    pub fn completions(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for (mname, m) in &self.modules {
            for f in &m.functions {
                if f.name.starts_with("get$") || f.name.starts_with("set$") {
                    continue;
                }
                v.push(if mname == CORE {
                    f.name.clone()
                } else {
                    format!("{mname}::{}", f.name)
                });
            }
        }
        v.sort();
        v.dedup();
        v
    }
}

/// A function's namespace (`None`: global), name and parameter types (`None`: untyped).
pub type Signature = (Option<String>, String, Vec<Option<String>>);

/// Every function name the engine knows, standard library included: (namespace, name, params),
/// with each parameter's type as the engine's JSON metadata shows it. Read from the engine's
/// function records directly: no doc comments are copied, nothing is serialized.
pub fn all_signatures(engine: &Engine) -> Vec<Signature> {
    let mut all = engine.collect_fn_metadata(
        None,
        |f| {
            // The metadata lists the static modules' own functions, not their sub-modules'.
            let ns = match f.namespace.as_str() {
                "" => None,
                ns if ns.contains("::") => return None,
                ns => Some(ns.to_string()),
            };
            let m = f.metadata;
            let mut params: Vec<Option<String>> = m
                .params_info
                .iter()
                .map(|p| {
                    let typ = p.split_once(':').map_or("", |(_, t)| t.trim());
                    match typ {
                        "" | "?" | "_" => None,
                        t => Some(display_type(t).into_owned()),
                    }
                })
                .collect();
            params.resize(m.num_params, None);
            Some((ns, m.name.to_string(), params))
        },
        true,
    );
    // The metadata's order: the global functions, then each module by name; within each, by
    // name and number of parameters (a stable sort: overloads keep the engine's order).
    all.sort_by(|a, b| (&a.0, &a.1, a.2.len()).cmp(&(&b.0, &b.1, b.2.len())));
    all
}

/// A parameter's Rust type as Rhai's metadata displays it (rhai's
/// `format_param_type_for_display` for a parameter): `rhai::` dropped, spaces removed, `INT`,
/// `FLOAT`, ranges and results spelled out.
fn display_type(typ: &str) -> std::borrow::Cow<'_, str> {
    const ERR: &str = ", Box<EvalAltResult>>";
    let typ = typ.trim();
    if let Some(x) = typ.strip_prefix("rhai::") {
        return display_type(x);
    }
    if let Some(x) = typ.strip_prefix("&mut ") {
        let r = display_type(x);
        return if r == x {
            typ.into()
        } else {
            format!("&mut {r}").into()
        };
    }
    if typ.contains(' ') {
        return display_type(&typ.replace(' ', "")).into_owned().into();
    }
    let wrapped = |prefix: &str, suffix: &str| {
        typ.strip_prefix(prefix)
            .and_then(|t| t.strip_suffix(suffix))
            .map(|inner| display_type(inner).trim().to_string())
    };
    match typ {
        "INT" => "i64".into(),
        "FLOAT" => "f64".into(),
        "ExclusiveRange" => "Range<i64>".into(),
        "InclusiveRange" => "RangeInclusive<i64>".into(),
        "RhaiResult" => format!("Result<Dynamic{ERR}").into(),
        _ => {
            if let Some(i) = wrapped("Range<", ">") {
                format!("Range<{i}>").into()
            } else if let Some(i) = wrapped("RangeInclusive<", ">") {
                format!("RangeInclusive<{i}>").into()
            } else if let Some(i) = wrapped("RhaiResultOf<", ">") {
                format!("Result<{i}{ERR}").into()
            } else if let Some(i) = wrapped("Result<", ",Box<EvalAltResult>>") {
                format!("Result<{i}{ERR}").into()
            } else {
                typ.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct JsonModule {
        #[serde(default)]
        modules: BTreeMap<String, JsonModule>,
        #[serde(default)]
        functions: Vec<JsonFn>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct JsonFn {
        name: String,
        num_params: usize,
        #[serde(default)]
        params: Vec<JsonParam>,
    }

    #[derive(Deserialize)]
    struct JsonParam {
        #[serde(default, rename = "type")]
        typ: Option<String>,
    }

    /// The signatures as the engine's JSON metadata has them: what [`all_signatures`] must equal.
    fn signatures_from_json(engine: &Engine) -> Vec<Signature> {
        let json = engine.gen_fn_metadata_to_json(true).unwrap();
        let raw: JsonModule = serde_json::from_str(&json).unwrap();
        let conv = |f: &JsonFn| {
            let mut params: Vec<Option<String>> = f.params.iter().map(|p| p.typ.clone()).collect();
            params.resize(f.num_params, None);
            params
        };
        let mut out: Vec<Signature> = raw
            .functions
            .iter()
            .map(|f| (None, f.name.clone(), conv(f)))
            .collect();
        for (m, md) in &raw.modules {
            for f in &md.functions {
                out.push((Some(m.clone()), f.name.clone(), conv(f)));
            }
        }
        out
    }

    #[test]
    fn signatures_are_the_metadatas() {
        let dir = tempfile::tempdir().unwrap();
        let (_s, engine) = crate::runner::setup_with(
            std::sync::Arc::new(crate::printer::Printer::plain()),
            crate::effects::Mode::Plan,
            crate::effects::JournalSlot::None,
            Default::default(),
            None,
            crate::effects::secret::SecretsFile::new(dir.path().join("secrets")),
        );
        let fast = all_signatures(&engine);
        let json = signatures_from_json(&engine);
        assert!(json.len() > 500, "{}", json.len());
        assert_eq!(fast.len(), json.len());
        assert!(fast
            .iter()
            .any(|(ns, _, params)| ns.as_deref() == Some("virt")
                && params.iter().any(|t| t.as_deref() == Some("&str"))));
        for (a, b) in fast.iter().zip(&json) {
            assert_eq!(a, b);
        }
        for (t, want) in [
            ("rhai::INT", "i64"),
            ("&mut rhai::Array", "&mut Array"),
            ("&mut Secret", "&mut Secret"),
            ("Vec < Dynamic >", "Vec<Dynamic>"),
            ("RhaiResultOf<INT>", "Result<i64, Box<EvalAltResult>>"),
            ("Range<INT>", "Range<i64>"),
        ] {
            assert_eq!(display_type(t), want);
        }
    }

    #[test]
    fn examples_are_extracted() {
        let doc = "Does x.\n\n```rhai\nlet a = 1;\n```\ntext\n```rhai\nb()\n```";
        assert_eq!(examples(doc), vec!["let a = 1;\n", "b()\n"]);
        assert_eq!(
            doc_text(&["/// one".into(), "///   two".into()]),
            "one\n  two"
        );
        assert_eq!(
            clean_signature("run(argv: Array) -> Result<Map, Box<EvalAltResult>>"),
            "run(argv: Array) -> Map"
        );
        assert_eq!(
            clean_signature("sleep(s: f64) -> Result<(), Box<EvalAltResult>>"),
            "sleep(s: float)"
        );
        assert_eq!(
            clean_signature("write(path: &str) -> Res<bool>"),
            "write(path: string) -> bool"
        );
        assert_eq!(
            clean_signature("sleep(s: f64) -> Result<(), Box<EvalAltResult>>"),
            "sleep(s: float)"
        );
        assert_eq!(
            clean_signature("mac(lab: &str, vm: &str, index: i64) -> String"),
            "mac(lab: string, vm: string, index: int) -> string"
        );
    }
}
