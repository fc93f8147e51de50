//! `:save FILE`: the session as a script that `labsh check` accepts and that does what the
//! session did: imports first, the last definition of each function, then each accepted
//! statement terminated, in order; `help(..)` calls and bare values (shown, not used) left out;
//! what was typed under `:plan on` kept inside `planned(..)`, never as a real action.

use rhai::{Expr, Stmt, AST};

/// One accepted input of the session, as it will be saved.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Import(String),
    /// A function definition: name, arity, its text.
    Function(String, usize, String),
    /// Statements to run, typed in plan mode or not.
    Statements {
        text: String,
        plan: bool,
    },
}

/// Why a plan-mode line is kept planned.
const WHY: &str = "typed under :plan on in the REPL";

fn is_help(x: &rhai::FnCallExpr) -> bool {
    x.namespace.is_empty() && x.name == "help"
}

/// Whether a statement only shows a value: a variable, a literal, a property, an operator, an
/// index, or a call of `help`. Calls (and method calls) stay: they may act.
fn only_shows(s: &Stmt) -> bool {
    match s {
        Stmt::FnCall(x, _) => is_help(x) || x.is_operator_call(),
        Stmt::Expr(e) => match &**e {
            Expr::FnCall(x, _) => is_help(x) || x.is_operator_call(),
            Expr::MethodCall(..) | Expr::Stmt(..) => false,
            _ => true,
        },
        Stmt::Noop(..) => true,
        _ => false,
    }
}

/// The entries of one accepted input `text` (compiled as `ast`), typed in plan mode or not.
pub fn classify(text: &str, ast: &AST, plan: bool) -> Vec<Entry> {
    let mut out = vec![];
    for f in ast.iter_functions() {
        // The function's own text: from `fn NAME` to its closing brace.
        let body = function_text(text, f.name).unwrap_or_default();
        out.push(Entry::Function(f.name.to_string(), f.params.len(), body));
    }
    let stmts = ast.statements();
    if stmts.is_empty() || stmts.iter().all(only_shows) {
        return out;
    }
    let imports: Vec<&Stmt> = stmts
        .iter()
        .filter(|s| matches!(s, Stmt::Import(..)))
        .collect();
    if imports.len() == stmts.len() {
        for s in imports {
            if let Stmt::Import(x, _) = s {
                if let Expr::StringConstant(p, _) = &x.0 {
                    out.push(Entry::Import(format!(
                        "import {:?} as {};",
                        p.as_str(),
                        x.1.name
                    )));
                }
            }
        }
        return out;
    }
    // Only the statements: the functions' text is kept apart.
    let mut rest = text.to_string();
    for e in &out {
        if let Entry::Function(_, _, body) = e {
            rest = rest.replacen(body.as_str(), "", 1);
        }
    }
    let mut rest = rest.trim().to_string();
    if !rest.ends_with(';') && !rest.ends_with('}') {
        rest.push(';');
    }
    out.push(Entry::Statements { text: rest, plan });
    out
}

/// `fn NAME(...) { ... }` in `text`, matched by braces.
fn function_text(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("fn {name}("))?;
    let open = start + text[start..].find('{')?;
    let mut depth = 0usize;
    let mut in_str: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in text[open..].char_indices() {
        match in_str {
            Some(q) => {
                if c == q && prev != '\\' {
                    in_str = None;
                }
            }
            None => match c {
                '"' | '`' => in_str = Some(c),
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(text[start..open + i + 1].to_string());
                    }
                }
                _ => {}
            },
        }
        prev = c;
    }
    None
}

/// A single `let NAME = EXPR;` (or `const`): its keyword, name and expression.
fn single_let(text: &str) -> Option<(&str, &str, &str)> {
    let t = text.trim().trim_end_matches(';').trim();
    let (kw, rest) = t.split_once(' ')?;
    if kw != "let" && kw != "const" {
        return None;
    }
    let (name, expr) = rest.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        || expr.starts_with('=')
    {
        return None;
    }
    // One statement only: no further `;` outside strings would be easy to miss; be strict.
    if expr.contains(';') {
        return None;
    }
    Some((kw, name, expr.trim()))
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
            Entry::Statements { text, plan: false } => statements.push(text.clone()),
            Entry::Statements { text, plan: true } => statements.push(match single_let(text) {
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
    use rhai::Engine;

    fn entries(lines: &[(&str, bool)]) -> Vec<Entry> {
        let e = Engine::new();
        lines
            .iter()
            .flat_map(|(l, plan)| {
                let ast = e.compile(l).unwrap();
                classify(l, &ast, *plan)
            })
            .collect()
    }

    #[test]
    fn the_saved_script_is_what_the_session_did() {
        let es = entries(&[
            ("fn mib(vm) { vm * 2 }", false),
            ("let x = 1", false),
            ("help()", false),
            ("x", false),
            ("x + 1", false),
            ("fn mib(vm) {\n  vm * 1024\n}", false),
            ("import \"seed\" as seed", false),
            ("run([\"touch\", \"/tmp/x\"])", true),
            ("let y = run([\"true\"])", true),
            ("print(mib(x))", false),
        ]);
        let (text, n) = script(&es);
        assert_eq!(n, 6, "{text}");
        assert!(text.contains("fn mib(vm) {\n  vm * 1024\n}"), "{text}");
        assert!(!text.contains("vm * 2"), "{text}");
        assert!(
            !text.contains("help()") && !text.contains("\nx\n") && !text.contains("x + 1"),
            "{text}"
        );
        assert!(text.contains("let x = 1;"), "{text}");
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
