//! The line editor's helper: completion from the engine's metadata, highlighting, history hints,
//! and multi-line input decided by the Rhai compiler.

use nu_ansi_term::{Color, Style};
use rhai::{Engine, LexError, ParseErrorType};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

pub const COMMANDS: &[&str] = &[
    ":help", ":plan", ":load", ":save", ":edit", ":vars", ":journal", ":quit",
];

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "return",
    "break", "continue", "throw", "try", "catch", "import", "export", "as", "private", "true",
    "false", "switch", "this", "global",
];

pub struct LabHelper {
    pub engine: Arc<Engine>,
    /// `fn` and `module::fn` names, module names and keywords.
    pub names: Vec<String>,
    /// Names of methods (global functions), for completion after a dot.
    pub methods: Vec<String>,
    /// Variables and functions defined in the session so far.
    pub defined: Arc<Mutex<Vec<String>>>,
    pub color: bool,
    hinter: HistoryHinter,
    /// The lab's node names (`ssh::node("`), read once, at the first completion that wants them.
    nodes: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
    nodes_read: Arc<std::sync::OnceLock<Vec<String>>>,
}

/// The lab's node names for `ssh::node("`, from the profile alone (stdlib/access.rhai
/// `ssh_names`; the target is not resolved, so a completion changes nothing), or none when it
/// cannot be read.
fn lab_node_names(engine: &Engine) -> Vec<String> {
    let script = "import \"profile\" as profile;\nimport \"access\" as access;\nlet i = run_info();\naccess::ssh_names(#{ p: profile::load(i.profile, i.script).profile })";
    engine
        .eval::<rhai::Array>(script)
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

/// Functions whose string argument is a node of the lab.
const NODE_FNS: &[&str] = &["ssh::node("];

impl LabHelper {
    pub fn new(engine: Arc<Engine>, names: Vec<String>, methods: Vec<String>, color: bool) -> Self {
        let e = engine.clone();
        LabHelper {
            engine,
            names,
            methods,
            defined: Arc::new(Mutex::new(Vec::new())),
            color,
            hinter: HistoryHinter::new(),
            nodes: Arc::new(move || lab_node_names(&e)),
            nodes_read: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The node names inside the string argument of `ssh::node(` (`None` elsewhere); `start`
    /// is where the string's text starts ([`node_word_start`]).
    fn node_candidates(&self, line: &str, start: usize, word: &str) -> Option<Vec<String>> {
        let before = line[..start].strip_suffix('"')?.trim_end();
        if !NODE_FNS.iter().any(|f| before.ends_with(f)) {
            return None;
        }
        let names = self.nodes_read.get_or_init(|| (self.nodes)());
        Some(
            names
                .iter()
                .filter(|n| n.starts_with(word))
                .cloned()
                .collect(),
        )
    }

    /// Candidates for `word` (the text before the cursor back to the last separator).
    pub fn candidates(&self, line: &str, start: usize, word: &str) -> Vec<String> {
        if start == 0 && word.starts_with(':') {
            return COMMANDS
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| c.to_string())
                .collect();
        }
        if let Some(nodes) = self.node_candidates(line, start, word) {
            return nodes;
        }
        let after_dot = line[..start].ends_with('.');
        let mut out: Vec<String> = if after_dot {
            self.methods
                .iter()
                .filter(|m| m.starts_with(word))
                .cloned()
                .collect()
        } else {
            let mut v: Vec<String> = self
                .names
                .iter()
                .filter(|n| n.starts_with(word))
                .cloned()
                .collect();
            if let Ok(d) = self.defined.lock() {
                v.extend(d.iter().filter(|n| n.starts_with(word)).cloned());
            }
            v.extend(
                KEYWORDS
                    .iter()
                    .filter(|k| k.starts_with(word))
                    .map(|k| k.to_string()),
            );
            v
        };
        out.sort();
        out.dedup();
        out
    }
}

/// Where the text of a string argument of `ssh::node(` starts, when the cursor is in one: a
/// node's name has `-` and `.` in it, which end a word elsewhere.
fn node_word_start(line: &str, pos: usize) -> Option<usize> {
    let q = line[..pos].rfind('"')?;
    let before = line[..q].trim_end();
    NODE_FNS
        .iter()
        .any(|f| before.ends_with(f))
        .then_some(q + 1)
}

fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0)
}

impl Completer for LabHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = node_word_start(line, pos).unwrap_or_else(|| word_start(line, pos));
        let word = &line[start..pos];
        let c = self
            .candidates(line, start, word)
            .into_iter()
            .map(|s| Pair {
                display: s.clone(),
                replacement: s,
            })
            .collect();
        Ok((start, c))
    }
}

impl Hinter for LabHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

/// Colours a line of Rhai: keywords, strings, numbers, comments and `module::` prefixes.
pub fn highlight_rhai(line: &str) -> String {
    let kw = Color::Magenta.bold();
    let string = Color::Green.normal();
    let number = Color::Cyan.normal();
    let comment = Style::new().dimmed();
    let module = Color::Blue.normal();
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            let rest: String = chars[i..].iter().collect();
            out.push_str(&comment.paint(rest).to_string());
            break;
        }
        if c == '"' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            let s: String = chars[i..end].iter().collect();
            out.push_str(&string.paint(s).to_string());
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '.' || chars[j] == '_')
            {
                j += 1;
            }
            let s: String = chars[i..j].iter().collect();
            out.push_str(&number.paint(s).to_string());
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let s: String = chars[i..j].iter().collect();
            if KEYWORDS.contains(&s.as_str()) {
                out.push_str(&kw.paint(s).to_string());
            } else if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                out.push_str(&module.paint(s).to_string());
            } else {
                out.push_str(&s);
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

impl Highlighter for LabHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color || line.starts_with(':') {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_rhai(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.color {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(Style::new().dimmed().paint(hint).to_string())
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// Whether `input` is an unfinished statement that more lines would complete.
pub fn is_incomplete(engine: &Engine, input: &str) -> bool {
    if input.trim_start().starts_with(':') {
        return false;
    }
    let Err(e) = engine.compile(input) else {
        return false;
    };
    let last_line = input.lines().count().max(1);
    let at_end = e.position().line().is_none_or(|l| l >= last_line);
    match e.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::MissingToken(..) => at_end,
        ParseErrorType::BadInput(LexError::UnterminatedString) => true,
        _ => false,
    }
}

impl Validator for LabHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if is_incomplete(&self.engine, ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for LabHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_is_decided_by_the_compiler() {
        let e = Engine::new();
        assert!(is_incomplete(&e, "fn f(x) {"));
        assert!(is_incomplete(&e, "let s = \"abc"));
        assert!(is_incomplete(&e, "let a = [1,\n2,"));
        assert!(!is_incomplete(&e, "let s = \"{\";"));
        assert!(!is_incomplete(&e, "1 + 1"));
        assert!(!is_incomplete(&e, "let = 5;"));
        assert!(!is_incomplete(&e, ":plan on"));
    }

    #[test]
    fn completion_of_functions_modules_and_commands() {
        let h = LabHelper::new(
            Arc::new(Engine::new()),
            vec!["par_map".into(), "parallel".into(), "virt::list".into()],
            vec!["par_map".into(), "trim".into()],
            false,
        );
        assert_eq!(h.candidates("par", 0, "par"), vec!["par_map", "parallel"]);
        assert_eq!(h.candidates(":pl", 0, ":pl"), vec![":plan"]);
        assert_eq!(h.candidates("virt::l", 0, "virt::l"), vec!["virt::list"]);
        assert_eq!(h.candidates("x.tr", 2, "tr"), vec!["trim"]);
        assert_eq!(word_start("let x = virt::li", 16), 8);
    }

    #[test]
    fn node_names_complete_inside_ssh_node() {
        let mut h = LabHelper::new(Arc::new(Engine::new()), vec![], vec![], false);
        h.nodes = Arc::new(|| {
            vec![
                "undercloud".into(),
                "overcloud-controller-0".into(),
                "overcloud-novacompute-0".into(),
            ]
        });
        let line = "ssh::run(ssh::node(\"overcloud-c";
        let start = node_word_start(line, line.len()).unwrap();
        assert_eq!(&line[start..], "overcloud-c");
        assert_eq!(
            h.candidates(line, start, &line[start..]),
            vec!["overcloud-controller-0"]
        );
        let line = "ssh::node( \"";
        assert_eq!(h.candidates(line, line.len(), "").len(), 3);
        // Elsewhere a string is not a node.
        assert_eq!(node_word_start("print(\"u", 8), None);
        assert!(!h
            .candidates("print(\"u", 7, "u")
            .contains(&"undercloud".to_string()));
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let src = r#"let x = virt::list("a b") + 12; // note"#;
        let h = highlight_rhai(src);
        let plain: String = {
            // strip ANSI escapes
            let mut out = String::new();
            let mut skip = false;
            for c in h.chars() {
                if c == '\u{1b}' {
                    skip = true;
                } else if skip && c == 'm' {
                    skip = false;
                } else if !skip {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(plain, src);
        assert_ne!(h, src);
    }
}
