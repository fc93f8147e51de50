//! `:save FILE`: the session as a script that `labsh check` accepts and that does what the
//! session did: imports first, the last definition of each function, then every statement that
//! ran, in order, each terminated; what was typed under `:plan on` kept inside `planned(..)`,
//! never as a real action.
//!
//! An input is cut into its top-level pieces ([`units`]) as the compiler reads it, so that the
//! REPL runs them one by one and keeps exactly those that ran: of `a(); b(); c()` where `b()`
//! fails, `a();` is saved, `b()` and `c()` are not.

use rhai::{Engine, OptimizationLevel, Stmt, AST};

/// One top-level piece of an input: where it is in the text and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A statement to run: its text terminated, and `let`/`const` NAME with its expression's
    /// text when it is one (a plan keeps the name bound to the planned value).
    Statement {
        text: String,
        binding: Option<(String, String, String)>,
    },
    /// A function definition: name, arity.
    Function(String, usize),
    /// `import "PATH" as ALIAS;`, written as the REPL replays it.
    Import(String),
}

/// One piece of the session that ran, as it will be saved.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Import(String),
    /// A function definition: name, arity, its text.
    Function(String, usize, String),
    /// A statement that ran, typed in plan mode or not.
    Statement {
        text: String,
        binding: Option<(String, String, String)>,
        plan: bool,
    },
}

impl Unit {
    /// The entry this unit saves as, typed in plan mode or not.
    pub fn entry(&self, text: &str, plan: bool) -> Entry {
        match &self.kind {
            Kind::Statement { text, binding } => Entry::Statement {
                text: text.clone(),
                binding: binding.clone(),
                plan,
            },
            Kind::Function(name, arity) => Entry::Function(
                name.clone(),
                *arity,
                text[self.start..self.end].trim().to_string(),
            ),
            Kind::Import(t) => Entry::Import(t.clone()),
        }
    }

    /// `text` with everything before the unit blanked (newlines kept) and nothing after it: it
    /// compiles to the unit alone with the positions it has in the whole input, so errors point
    /// into the line as it was typed.
    pub fn alone(&self, text: &str) -> String {
        let mut out: String = text[..self.start]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.push_str(&text[self.start..self.end]);
        out
    }
}

/// Why a plan-mode line is kept planned.
const WHY: &str = "typed under :plan on in the REPL";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Semi,
    Other,
}

/// The tokens of code in `text` (strings, characters and numbers as one, comments and
/// whitespace left out), with their byte spans: enough to find where a statement may end and
/// where its last token is.
fn tokens(text: &str) -> Vec<(usize, usize, Tok)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i),
            b'"' | b'\'' => {
                i = skip_quoted(b, i, c);
                out.push((start, i, Tok::Other));
            }
            b'`' => {
                i = skip_backtick(b, i);
                out.push((start, i, Tok::Other));
            }
            b'#' if b.get(i + 1) == Some(&b'{') => {
                i += 2;
                out.push((start, i, Tok::Open));
            }
            b'#' if matches!(b.get(i + 1), Some(b'"' | b'#')) => {
                i = skip_raw(b, i);
                out.push((start, i, Tok::Other));
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                out.push((start, i, Tok::Open));
            }
            b')' | b']' | b'}' => {
                i += 1;
                out.push((start, i, Tok::Close));
            }
            b';' => {
                i += 1;
                out.push((start, i, Tok::Semi));
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push((start, i, Tok::Other));
            }
            _ => {
                i += 1;
                out.push((start, i, Tok::Other));
            }
        }
    }
    out
}

/// Past a `/* */` comment starting at `i` (they nest).
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Past a string or character in `q` quotes starting at `i`.
fn skip_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Past a raw string `#"..."#` (any number of `#`) starting at `i`.
fn skip_raw(b: &[u8], mut i: usize) -> usize {
    let mut hashes = 0;
    while b.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    if b.get(i) != Some(&b'"') {
        return i;
    }
    i += 1;
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Past a backtick string starting at `i`, with the code of its `${..}` parts.
fn skip_backtick(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'`' => return i + 1,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                i += 2;
                let mut depth = 1;
                while i < b.len() && depth > 0 {
                    match b[i] {
                        b'"' | b'\'' => i = skip_quoted(b, i, b[i]),
                        b'`' => i = skip_backtick(b, i),
                        b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i),
                        b'{' => {
                            depth += 1;
                            i += 1;
                        }
                        b'}' => {
                            depth -= 1;
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
            }
            _ => i += 1,
        }
    }
    i
}

/// An engine that only parses, as written: no optimizing away of a statement.
fn parser() -> Engine {
    let mut e = Engine::new_raw();
    e.set_optimization_level(OptimizationLevel::None);
    e.set_max_expr_depths(
        crate::engine::MAX_EXPR_DEPTH,
        crate::engine::MAX_FN_EXPR_DEPTH,
    );
    e
}

/// The functions `ast` defines by name (closures left out).
fn named_functions(ast: &AST) -> impl Iterator<Item = rhai::ScriptFnMetadata<'_>> {
    ast.iter_functions()
        .filter(|f| !f.name.starts_with("anon$"))
}

/// How many pieces `ast` holds: its statements (empty ones not counted) and its functions.
fn pieces(ast: &AST) -> usize {
    ast.statements()
        .iter()
        .filter(|s| !matches!(s, Stmt::Noop(..)))
        .count()
        + named_functions(ast).count()
}

/// `text` (one statement) ending in `;`, put after its last token so that a comment after it
/// stays a comment; a block (`if .. { }`) as it is.
pub fn terminated(text: &str) -> String {
    match tokens(text).last() {
        Some((s, e, Tok::Close)) if &text[*s..*e] == "}" => text.trim().to_string(),
        Some((_, _, Tok::Semi)) | None => text.trim().to_string(),
        Some((_, e, _)) => format!("{};{}", &text[..*e], &text[*e..])
            .trim()
            .to_string(),
    }
}

/// The top-level pieces of `text` (which compiles), in order: each is the longest stretch from
/// the end of the one before that the compiler reads as one statement, function or import.
/// `None` when the text cannot be cut so (then the REPL runs it whole, as one statement).
pub fn units(text: &str) -> Option<Vec<Unit>> {
    let engine = parser();
    let whole = engine.compile(text).ok()?;
    let toks = tokens(text);
    // Where a piece may end: after a `;` or a closing bracket at the top level, or at the end.
    let mut ends = Vec::new();
    let mut depth = 0i64;
    for (_, e, t) in &toks {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    ends.push(*e);
                }
            }
            Tok::Semi if depth == 0 => ends.push(*e),
            _ => {}
        }
    }
    ends.push(text.len());
    ends.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    while toks.iter().any(|(s, _, _)| *s >= start) {
        let mut best: Option<(usize, AST)> = None;
        for &end in ends.iter().filter(|e| **e > start) {
            match engine.compile(&text[start..end]) {
                Ok(ast) => match pieces(&ast) {
                    0 => {}
                    1 => best = Some((end, ast)),
                    _ => break,
                },
                Err(_) => continue,
            }
        }
        let (end, ast) = best?;
        out.push(Unit {
            start,
            end,
            kind: kind_of(text, start, end, &ast, &toks),
        });
        start = end;
    }
    // The cut reads as the whole does, or it is not used.
    let stmts = out
        .iter()
        .filter(|u| !matches!(u.kind, Kind::Function(..)))
        .count();
    let fns = out.len() - stmts;
    (pieces(&whole) == out.len() && named_functions(&whole).count() == fns).then_some(out)
}

/// What the piece `text[start..end]` (compiled as `ast`, one statement or function) is.
fn kind_of(text: &str, start: usize, end: usize, ast: &AST, toks: &[(usize, usize, Tok)]) -> Kind {
    if let Some(f) = named_functions(ast).next() {
        return Kind::Function(f.name.to_string(), f.params.len());
    }
    let stmt = ast
        .statements()
        .iter()
        .find(|s| !matches!(s, Stmt::Noop(..)));
    if let Some(Stmt::Import(x, _)) = stmt {
        if let rhai::Expr::StringConstant(p, _) = &x.0 {
            return Kind::Import(format!("import {:?} as {};", p.as_str(), x.1.name));
        }
    }
    let own: Vec<&(usize, usize, Tok)> = toks
        .iter()
        .filter(|(s, e, _)| *s >= start && *e <= end)
        .collect();
    let first = own.first().map_or(start, |t| t.0);
    let last = own.last().copied();
    // A block statement needs no `;`; anything else gets one after its last token, before a
    // comment that follows it.
    let block = matches!(
        stmt,
        Some(
            Stmt::If(..)
                | Stmt::Switch(..)
                | Stmt::While(..)
                | Stmt::For(..)
                | Stmt::Block(..)
                | Stmt::TryCatch(..)
        )
    );
    let text_of = match last {
        Some((_, _, Tok::Semi)) => text[first..end].trim_end().to_string(),
        Some((_, e, _)) if !block => format!("{};{}", &text[first..*e], &text[*e..end])
            .trim_end()
            .to_string(),
        _ => text[first..end].trim_end().to_string(),
    };
    let binding = match stmt {
        Some(Stmt::Var(x, ..)) => {
            // `let NAME = EXPR`: the expression is what follows the first `=`.
            let eq = own.iter().position(|(s, e, _)| &text[*s..*e] == "=");
            let code_end = match last {
                Some((s, _, Tok::Semi)) => *s,
                Some((_, e, _)) => *e,
                None => end,
            };
            let kw = own.first().map(|(s, e, _)| text[*s..*e].to_string());
            match (eq, kw) {
                (Some(i), Some(kw)) if kw == "let" || kw == "const" => Some((
                    kw,
                    x.0.name.to_string(),
                    text[own[i].1..code_end].trim().to_string(),
                )),
                _ => None,
            }
        }
        _ => None,
    };
    Kind::Statement {
        text: text_of,
        binding,
    }
}

/// The script text of the session's entries, and how many entries it holds.
pub fn script(entries: &[Entry]) -> (String, usize) {
    let mut imports: Vec<&str> = vec![];
    let mut functions: Vec<(&str, usize, &str)> = vec![];
    let mut statements: Vec<String> = vec![];
    for e in entries {
        match e {
            Entry::Import(t) => {
                if !imports.contains(&t.as_str()) {
                    imports.push(t);
                }
            }
            Entry::Function(n, a, body) => {
                // Only the last definition of a function counts.
                functions.retain(|(fn_, fa, _)| !(*fn_ == n.as_str() && *fa == *a));
                functions.push((n, *a, body));
            }
            Entry::Statement {
                text, plan: false, ..
            } => statements.push(text.clone()),
            Entry::Statement {
                text,
                binding,
                plan: true,
            } => statements.push(match binding {
                Some((kw, name, expr)) => {
                    format!("{kw} {name} = planned({WHY:?}, || {{ {expr} }});")
                }
                None => format!("planned({WHY:?}, || {{\n{}\n}});", text.trim_end()),
            }),
        }
    }
    let mut out = String::from("// Saved from the labsh REPL.\n");
    for i in &imports {
        out.push_str(i);
        out.push('\n');
    }
    for (_, _, body) in &functions {
        out.push_str(body.trim_end());
        out.push('\n');
    }
    for s in &statements {
        out.push_str(s.trim_end());
        out.push('\n');
    }
    (out, imports.len() + functions.len() + statements.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<String> {
        units(text)
            .unwrap_or_else(|| panic!("{text:?} was not cut"))
            .iter()
            .map(|u| match &u.kind {
                Kind::Statement { text, .. } => text.clone(),
                Kind::Function(n, a) => format!("fn {n}/{a}"),
                Kind::Import(t) => t.clone(),
            })
            .collect()
    }

    #[test]
    fn an_input_is_cut_into_its_statements_each_terminated() {
        assert_eq!(cut("let m = #{a: 1}"), ["let m = #{a: 1};"]);
        assert_eq!(
            cut("let x = 1; print(x)  // shown\n"),
            ["let x = 1;", "print(x);  // shown"]
        );
        assert_eq!(
            cut("if x { 1 } else { 2 }\nlet s = \"; }\"; p.ocp"),
            ["if x { 1 } else { 2 }", "let s = \"; }\";", "p.ocp;"]
        );
        assert_eq!(
            cut("fn f(a) { a }\nimport \"seed\" as seed;\nrun([\"echo\"]).stdout.len()"),
            [
                "fn f/1",
                "import \"seed\" as seed;",
                "run([\"echo\"]).stdout.len();"
            ]
        );
        assert_eq!(
            cut("let v = `a ${#{b: \"}\"}.b} c`; v.map(|c| { c })"),
            ["let v = `a ${#{b: \"}\"}.b} c`;", "v.map(|c| { c });"]
        );
        assert_eq!(cut("/* a } */ x\n/* b */"), ["x;\n/* b */"]);
        // A closure is no function of the input's.
        assert_eq!(
            cut("seed::vm_list(p).map(|v| v.name).len()"),
            ["seed::vm_list(p).map(|v| v.name).len();"]
        );
        assert_eq!(terminated("x + 1 // c"), "x + 1; // c");
        assert_eq!(terminated("if a { b }"), "if a { b }");
    }

    #[test]
    fn a_unit_alone_keeps_its_place_in_the_input() {
        let text = "let a = 1;\nlet b = nope(a);";
        let us = units(text).unwrap();
        let alone = us[1].alone(text);
        assert_eq!(alone, "          \nlet b = nope(a);");
    }

    fn entries(lines: &[(&str, bool)]) -> Vec<Entry> {
        lines
            .iter()
            .flat_map(|(l, plan)| {
                units(l)
                    .unwrap()
                    .into_iter()
                    .map(|u| u.entry(l, *plan))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_saved_script_is_what_the_session_did() {
        let es = entries(&[
            ("fn mib(vm) { vm * 2 }", false),
            ("let x = 1", false),
            ("x + 1", false),
            ("fn mib(vm) {\n  vm * 1024\n}", false),
            ("import \"seed\" as seed", false),
            ("run([\"touch\", \"/tmp/x\"])", true),
            ("let y = run([\"true\"])", true),
            ("let m = #{a: 1}", false),
            ("print(mib(x))", false),
        ]);
        let (text, n) = script(&es);
        assert_eq!(n, 8, "{text}");
        assert!(text.contains("fn mib(vm) {\n  vm * 1024\n}"), "{text}");
        assert!(!text.contains("vm * 2"), "{text}");
        assert!(
            text.contains("let x = 1;\nx + 1;\n") && text.contains("let m = #{a: 1};\n"),
            "{text}"
        );
        assert!(text.contains("planned(\"typed under :plan on in the REPL\", || {\nrun([\"touch\", \"/tmp/x\"]);\n});"), "{text}");
        assert!(
            text.contains(
                "let y = planned(\"typed under :plan on in the REPL\", || { run([\"true\"]) });"
            ),
            "{text}"
        );
        assert!(text.find("import \"seed\"").unwrap() < text.find("fn mib").unwrap());
        // It compiles.
        Engine::new().compile(&text).unwrap();
    }
}
