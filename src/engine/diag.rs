//! Error rendering: the message, `file:line:column`, the line itself with a caret under the
//! position, the call chain that led there, and a hint when there is one.

use super::sources;
use rhai::{EvalAltResult, ParseError, Position};

#[derive(Debug, Clone, Default)]
pub struct Diagnostic {
    pub message: String,
    pub source: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Innermost first: "in call to function 'f'", "in module 'x'".
    pub chain: Vec<String>,
    pub hint: Option<String>,
}

fn pos_of(p: Position) -> (Option<usize>, Option<usize>) {
    (p.line(), p.position())
}

/// The message of an error without Rhai's own position suffix and wrapper words.
fn bare_message(e: &EvalAltResult) -> String {
    match e {
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
            format!("unknown function, or wrong argument types: {sig}")
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
                other => {
                    d.message = bare_message(other);
                    let p = if other.position().is_none() {
                        outer_pos
                    } else {
                        other.position()
                    };
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
        serde_json::json!({
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "chain": self.chain,
            "hint": self.hint,
        })
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
