//! Error rendering: the message, `file:line:column`, the line itself with a caret under the
//! position, the call chain that led there, and a hint when there is one. A native function's
//! error is the crate's [`Error`]: its kind and advice come with it, and one that names its own
//! place in what the user gave (a profile's file and key) is shown as it is, without frames.

use super::sources;
use crate::error::{Error, Kind};
use rhai::{Dynamic, EvalAltResult, Map, ParseError, Position, Scope};

#[derive(Debug, Clone, Default)]
pub struct Diagnostic {
    pub message: String,
    pub source: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Innermost first: "in call to function 'f'", "in module 'x'".
    pub chain: Vec<String>,
    pub hint: Option<String>,
    /// What to do before running again (the error's own advice).
    pub advice: Option<String>,
    /// What kind of failure it is, when the error is the crate's.
    pub kind: Option<Kind>,
}

fn pos_of(p: Position) -> (Option<usize>, Option<usize>) {
    (p.line(), p.position())
}

/// Rust's names of Rhai's types, as a script writer names them.
pub fn friendly_types(msg: &str) -> String {
    let mut s = msg.to_string();
    for (from, to) in [
        ("&str | ImmutableString | String", "string"),
        ("alloc::string::String", "string"),
        ("rhai::ImmutableString", "string"),
        ("ImmutableString", "string"),
        ("&mut ", ""),
        ("&str", "string"),
        ("rhai::Map", "map"),
        ("rhai::Array", "array"),
        ("rhai::FnPtr", "function"),
        ("rhai::Dynamic", "any value"),
        ("alloc::vec::Vec<rhai::Dynamic>", "array"),
        (
            "std::collections::BTreeMap<rhai::ImmutableString, rhai::Dynamic>",
            "map",
        ),
    ] {
        s = s.replace(from, to);
    }
    // Whole words only: `i64` but not `ui64x`.
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |w: &mut String, out: &mut String| {
        out.push_str(match w.as_str() {
            "i64" | "i32" | "u64" | "u32" | "usize" | "INT" => "int",
            "f64" | "f32" | "FLOAT" => "float",
            "String" => "string",
            "Map" => "map",
            "Array" => "array",
            "FnPtr" => "function",
            "Dynamic" => "any value",
            other => other,
        });
        w.clear();
    };
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The dotted expression (`p.vms.ctrl`) that ends just before column `col` (1-based) of `line`.
fn chain_before(line: &str, col: usize) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut end = col.checked_sub(1)?;
    // The position is at the property; the dot before it ends the chain.
    while end > 0 && chars.get(end - 1) != Some(&'.') {
        end -= 1;
    }
    let end = end.checked_sub(1)?;
    let mut start = end;
    while start > 0 {
        let c = chars[start - 1];
        if c.is_alphanumeric() || c == '_' || c == '.' {
            start -= 1;
        } else {
            break;
        }
    }
    let chain: String = chars[start..end].iter().collect();
    (!chain.is_empty()).then_some(chain)
}

/// A clearer message for reading a property of `()` (a map key that is missing) or of a value
/// that has none, naming the key where the source line shows it.
fn property_message(prop: &str, typ: &str, source: Option<&str>, pos: Position) -> String {
    let typ = friendly_types(typ);
    if typ != "()" {
        return format!("a value of type {typ} has no property '{prop}'");
    }
    let line = source.and_then(super::sources::get).and_then(|t| {
        pos.line()
            .and_then(|l| t.lines().nth(l - 1).map(str::to_string))
    });
    match line.and_then(|l| pos.position().and_then(|c| chain_before(&l, c))) {
        Some(chain) => match chain.rsplit_once('.') {
            Some((map, key)) => format!(
                "{chain} is (): the map {map} has no key '{key}', so '.{prop}' cannot be read"
            ),
            None => format!("{chain} is (), so '.{prop}' cannot be read"),
        },
        None => format!("'.{prop}' of (): a map key that is missing?"),
    }
}

/// The map expression (`p.vms.ctrl`) whose key `.prop` at `pos` of `source` is read, when the
/// source line shows it as a dotted name.
fn map_expr_at(source: Option<&str>, pos: Position) -> Option<String> {
    let text = sources::get(source?)?;
    let line = text.lines().nth(pos.line()?.checked_sub(1)?)?.to_string();
    chain_before(&line, pos.position()?).filter(|c| !c.starts_with('.') && !c.ends_with('.'))
}

/// The keys written in the map literals (`#{ count: 3 }`) of every script and module compiled
/// so far: what a missing key is most likely a misspelling of when the map itself is gone.
fn keys_in_sources() -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for text in sources::all() {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !(c.is_alphabetic() || c == '_') || (i > 0 && is_word(chars[i - 1])) {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let colon = chars.get(j) == Some(&':') && chars.get(j + 1) != Some(&':');
            let after_colon = start > 0 && chars[start - 1] == ':';
            if colon && !after_colon {
                let k: String = chars[start..i].iter().collect();
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The message for reading a key a map does not have (Rhai's `fail_on_invalid_map_property`):
/// the map as the line names it, and a did-you-mean from the keys the sources write, unless the
/// key is one of them (then it is missing from this map, not misspelled).
fn missing_key_message(prop: &str, source: Option<&str>, pos: Position) -> String {
    let map = map_expr_at(source, pos).unwrap_or_else(|| "the map".into());
    let keys = keys_in_sources();
    let hint = if keys.iter().any(|k| k == prop) {
        String::new()
    } else {
        crate::util::suggest::hint(prop, keys.iter().map(String::as_str))
    };
    format!("no key '{prop}' in {map}{hint}")
}

/// The innermost error of `err` and whether it was raised at the top level of the source
/// (no function call or module between).
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, bool) {
    let mut cur = err;
    let mut top = true;
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
            | EvalAltResult::ErrorInModule(_, inner, _) => {
                top = false;
                cur = inner;
            }
            other => return (other, top),
        }
    }
}

/// The message of an error without Rhai's own position suffix and wrapper words.
fn bare_message(e: &EvalAltResult) -> String {
    friendly_types(&bare_message_raw(e))
}

fn bare_message_raw(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorRuntime(d, _) | EvalAltResult::ErrorTerminated(d, _)
            if d.is::<Error>() =>
        {
            d.read_lock::<Error>()
                .map(|e| e.message().to_string())
                .unwrap_or_default()
        }
        EvalAltResult::ErrorRuntime(d, _) => {
            if d.is_string() {
                d.clone().into_string().unwrap_or_default()
            } else {
                super::value::literal(d)
            }
        }
        EvalAltResult::ErrorTerminated(d, _) => d
            .clone()
            .into_string()
            .unwrap_or_else(|_| "interrupted".into()),
        EvalAltResult::ErrorParsing(p, _) => p.to_string(),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let (thing, limit) = if what.contains("string") {
                ("a string", format!("{} MiB", super::MAX_STRING_SIZE >> 20))
            } else if what.contains("array") {
                ("an array", format!("{} items", super::MAX_ARRAY_SIZE))
            } else {
                ("a map", format!("{} entries", super::MAX_MAP_SIZE))
            };
            format!(
                "{thing} grew over {limit}, the most one value may hold: a loop without an end?"
            )
        }
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "more than {} nested calls: a function that calls itself without end?",
            super::MAX_CALL_LEVELS
        ),
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            let mut m = format!("unknown function, or wrong argument types: {sig}");
            if sig.contains("()") {
                m.push_str(" (a () among them: a map key that is missing?)");
            }
            m
        }
        _ => strip_position(&e.to_string()),
    }
}

/// Drops Rhai's " (line N, position M)" suffix: the location is shown on its own line.
fn strip_position(msg: &str) -> String {
    if let Some(i) = msg.rfind(" (line ") {
        if msg.ends_with(')') {
            return msg[..i].to_string();
        }
    }
    msg.to_string()
}

impl Diagnostic {
    pub fn from_parse(err: &ParseError, source: &str) -> Self {
        let (line, column) = pos_of(err.position());
        Diagnostic {
            message: err.err_type().to_string(),
            source: Some(source.to_string()),
            line,
            column,
            ..Default::default()
        }
    }

    /// Walks to the innermost error: its message and position are what the user needs.
    pub fn from_eval(err: &EvalAltResult, top_source: Option<&str>) -> Self {
        let mut d = Diagnostic {
            source: top_source.map(str::to_string),
            ..Default::default()
        };
        let mut cur = err;
        let mut source = top_source.map(str::to_string);
        let mut outer_pos = cur.position();
        loop {
            match cur {
                EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                    let what = if name.starts_with("anon$") {
                        "in closure".to_string()
                    } else {
                        format!("in call to function '{name}'")
                    };
                    d.chain.push(format_at(&what, source.as_deref(), *pos));
                    if !src.is_empty() {
                        source = Some(src.clone());
                    }
                    outer_pos = inner.position();
                    cur = inner;
                }
                EvalAltResult::ErrorInModule(name, inner, pos) => {
                    d.chain.push(format_at(
                        &format!("in module '{name}'"),
                        source.as_deref(),
                        *pos,
                    ));
                    source = Some(name.clone());
                    outer_pos = inner.position();
                    cur = inner;
                }
                EvalAltResult::ErrorParsing(p, pos) => {
                    d.message = p.to_string();
                    let (line, column) = pos_of(*pos);
                    d.line = line;
                    d.column = column;
                    d.source = source;
                    d.chain.reverse();
                    return d;
                }
                EvalAltResult::ErrorRuntime(v, _)
                    if v.read_lock::<Error>().is_some_and(|e| e.at_input()) =>
                {
                    // It names its own file and key: no frames, no caret.
                    if let Some(e) = v.read_lock::<Error>() {
                        d.message = e.message().to_string();
                        d.advice = e.advice().map(str::to_string);
                        d.kind = Some(e.kind());
                    }
                    d.source = None;
                    d.chain.clear();
                    return d;
                }
                other => {
                    d.message = bare_message(other);
                    if let EvalAltResult::ErrorRuntime(v, _)
                    | EvalAltResult::ErrorTerminated(v, _) = other
                    {
                        if let Some(e) = v.read_lock::<Error>() {
                            d.advice = e.advice().map(str::to_string);
                            d.kind = Some(e.kind());
                        }
                    }
                    let p = if other.position().is_none() {
                        outer_pos
                    } else {
                        other.position()
                    };
                    if let EvalAltResult::ErrorPropertyNotFound(prop, _) = other {
                        d.message = missing_key_message(prop, source.as_deref(), p);
                    }
                    if let EvalAltResult::ErrorDotExpr(m, _) = other {
                        if let Some(rest) = m.strip_prefix("Unknown property '") {
                            if let Some((prop, tail)) = rest.split_once('\'') {
                                let typ = tail
                                    .rsplit_once("type '")
                                    .map(|(_, t)| t.trim_end_matches('\''))
                                    .unwrap_or("");
                                d.message = property_message(prop, typ, source.as_deref(), p);
                            }
                        }
                    }
                    let (line, column) = pos_of(p);
                    d.line = line;
                    d.column = column;
                    d.source = source;
                    d.chain.reverse();
                    return d;
                }
            }
        }
    }

    /// For a key missing from a map that the top level of `source` reads through a variable
    /// (`p.vms.ctrl.cuont` typed in the REPL or `-e`), the did-you-mean from that map's own keys,
    /// found in `scope`, and the keys it has as the hint.
    pub fn with_keys_from(mut self, err: &EvalAltResult, source: &str, scope: &Scope) -> Self {
        let (EvalAltResult::ErrorPropertyNotFound(prop, pos), true) = innermost(err) else {
            return self;
        };
        let Some(expr) = map_expr_at(Some(source), *pos) else {
            return self;
        };
        let mut parts = expr.split('.');
        let Some(mut cur) = parts.next().and_then(|v| scope.get_value::<Dynamic>(v)) else {
            return self;
        };
        for part in parts {
            let next = cur.read_lock::<Map>().and_then(|m| m.get(part).cloned());
            match next {
                Some(v) => cur = v,
                None => return self,
            }
        }
        let Some(map) = cur.read_lock::<Map>() else {
            return self;
        };
        let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        self.message = format!(
            "no key '{prop}' in {expr}{}",
            crate::util::suggest::hint(prop, keys.iter().copied())
        );
        self.hint = Some(if keys.is_empty() {
            format!("{expr} is an empty map")
        } else {
            format!(
                "{expr} has {}; `\"{prop}\" in {expr}` asks whether a key is there",
                keys.join(", ")
            )
        });
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col`, or as much of it as is known.
    pub fn location(&self) -> Option<String> {
        match (&self.source, self.line, self.column) {
            (Some(s), Some(l), Some(c)) => Some(format!("{s}:{l}:{c}")),
            (Some(s), Some(l), None) => Some(format!("{s}:{l}")),
            (None, Some(l), Some(c)) => Some(format!("line {l}, column {c}")),
            (Some(s), None, _) => Some(s.clone()),
            _ => None,
        }
    }

    /// The full text: message, location, source line with caret, chain, and hint.
    pub fn render(&self) -> String {
        let mut out = self.message.clone();
        if let Some(loc) = self.location() {
            out.push_str(&format!("\n  --> {loc}"));
        }
        if let (Some(src), Some(line)) = (&self.source, self.line) {
            if let Some(text) = sources::get(src) {
                if let Some(l) = text.lines().nth(line.saturating_sub(1)) {
                    let num = line.to_string();
                    let pad = " ".repeat(num.len());
                    out.push_str(&format!("\n {pad} |\n {num} | {l}"));
                    if let Some(col) = self.column {
                        let lead: String = l
                            .chars()
                            .take(col.saturating_sub(1))
                            .map(|c| if c == '\t' { '\t' } else { ' ' })
                            .collect();
                        out.push_str(&format!("\n {pad} | {lead}^"));
                    }
                }
            }
        }
        for c in &self.chain {
            out.push_str(&format!("\n  {c}"));
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut j = serde_json::json!({
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "chain": self.chain,
            "hint": self.hint,
        });
        if let Some(k) = self.kind {
            j["kind"] = k.name().into();
        }
        if let Some(a) = &self.advice {
            j["advice"] = a.clone().into();
        }
        j
    }
}

fn format_at(what: &str, source: Option<&str>, pos: Position) -> String {
    match (source, pos.line(), pos.position()) {
        (Some(s), Some(l), Some(c)) => format!("{what} at {s}:{l}:{c}"),
        (None, Some(l), Some(c)) => format!("{what} at line {l}, column {c}"),
        _ => what.to_string(),
    }
}

/// A compile-time problem found by the checker, at a position of `source`.
pub fn at(source: &str, pos: Position, message: impl Into<String>) -> Diagnostic {
    let (line, column) = pos_of(pos);
    Diagnostic {
        message: message.into(),
        source: Some(source.to_string()),
        line,
        column,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_position() {
        sources::register("t.rhai", "let a = 1;\nlet b = foo(a);\n");
        let d = at("t.rhai", Position::new(2, 9), "unknown function 'foo'");
        let r = d.render();
        assert!(r.contains("--> t.rhai:2:9"), "{r}");
        assert!(r.contains("2 | let b = foo(a);"), "{r}");
        assert!(r.contains("  |         ^"), "{r}");
    }

    #[test]
    fn innermost_runtime_error_wins() {
        let e = rhai::Engine::new()
            .eval::<i64>("fn f(x) { throw \"bad \" + x }\nf(1)")
            .unwrap_err();
        let d = Diagnostic::from_eval(&e, Some("s.rhai"));
        assert_eq!(d.message, "bad 1");
        assert_eq!(d.line, Some(1));
        assert_eq!(d.chain.len(), 1, "{:?}", d.chain);
    }
}
