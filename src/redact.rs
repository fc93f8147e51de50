//! The redaction filter: every secret value the process has seen, in each form output can carry
//! it, replaced by its mask in whatever passes through (every printer line, journal line and log
//! line). Below the printer and the effects seam, which both use it.

use std::sync::RwLock;

/// The text that stands for a secret named `name`.
pub fn mask(name: &str) -> String {
    format!("«secret {name}»")
}

/// Values shorter than this are not searched for in output: masking every `a` would make output
/// unreadable. Secrets that short are refused when they are created.
pub const MIN_LEN: usize = 4;

static KNOWN: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

/// The forms of a value that output can carry: the value, and its JSON-escaped form (journals,
/// JSON lines); for a value of several lines (a pretty-printed pull secret) also each line, as
/// output is printed and streamed line by line.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let escaped = |v: &str| {
        let j = serde_json::to_string(v).unwrap_or_default();
        j[1..j.len().saturating_sub(1).max(1)].to_string()
    };
    out.push(escaped(value));
    if value.contains('\n') {
        for line in value.lines() {
            let l = line.trim();
            out.push(l.to_string());
            out.push(escaped(l));
        }
    }
    out.retain(|f| f.len() >= MIN_LEN);
    out.sort();
    out.dedup();
    out
}

pub fn register(name: &str, value: &str) {
    let Ok(mut known) = KNOWN.write() else {
        return;
    };
    for f in forms(value) {
        if !known.iter().any(|(v, _)| *v == f) {
            known.push((f, name.to_string()));
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
}

/// Replaces every known secret value in `text` by its mask.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(known) = KNOWN.read() else {
        return text.into();
    };
    if known.is_empty() || !known.iter().any(|(v, _)| text.contains(v.as_str())) {
        return text.into();
    }
    let mut out = text.to_string();
    for (value, name) in known.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &mask(name));
        }
    }
    out.into()
}
