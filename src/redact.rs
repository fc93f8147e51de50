//! The redaction filter: every secret value the process has seen, in each form output can carry
//! it, replaced by its mask in the data that output holds. Below the printer and the effects
//! seam, which both use it.
//!
//! Masking happens on values before they are serialized, never on a serialized line: a JSON
//! event or journal line is masked leaf by leaf ([`event`], [`json_data`]) and keeps its keys
//! and punctuation whatever a secret's value; a line for a person is made of labsh's own labels
//! (outcomes, stage names, column headers: [`label`]) and of data (a command's output, a target,
//! a message: [`data`]), each masked on its own before they are put together.
//!
//! A weak secret (short, a single word, whitespace or punctuation) is masked in data only, never
//! in labels, and named once in a warning ([`take_weak`]). A short line of a secret of several
//! lines is masked only where that line can be in output printed line by line ([`Anchor`]).

use base64::Engine as _;
use std::borrow::Cow;
use std::sync::{Arc, RwLock};

/// The text that stands for a secret named `name`.
pub fn mask(name: &str) -> String {
    format!("«secret {name}»")
}

/// How every mask starts: the text of a mask is never searched again.
const MASK_OPEN: &str = "«secret ";
const MASK_CLOSE: char = '»';

/// Shorter values are matched only where they make up a whole line of data: masking every `a`
/// would make output unreadable. The `secret()` binding refuses values this short.
pub const MIN_LEN: usize = 4;

/// A value shorter than this is weak: masked as data only, and named in a warning.
pub const STRONG_LEN: usize = 8;

/// Shorter encoded parts (a base64 middle) are not registered: they could stand for anything.
const MIN_ENCODED: usize = 8;

/// Where a text is shown: what labsh says itself, or the data it carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    /// A label of labsh's own (an outcome, a stage name, a program's name before its output):
    /// only strong forms are masked there.
    Label,
    /// Data (a command's output, a value, a message, a target): every form is masked.
    Data,
}

/// One form of a secret value that output can carry.
#[derive(Debug)]
struct Form {
    text: String,
    name: Arc<str>,
    /// Masked in data only.
    weak: bool,
    /// Where in a line of data it is matched.
    anchor: Anchor,
    /// Whitespace only: never matched in the indentation that starts a line of text.
    blank: bool,
}

/// Where in a line of data a form is matched. A short line of a secret of several lines is
/// matched only where that line of the secret can be: the first at the end of a line of output
/// (after what the program printed before the secret), the last at its start, the others as
/// whole lines; a value too short to be looked for anywhere, as a whole line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Anywhere,
    WholeLine,
    LineEnd,
    LineStart,
}

#[derive(Default)]
struct Known {
    /// Longest first, so a secret that contains another is masked whole.
    forms: Vec<Form>,
    /// For each first byte, the forms matched anywhere that start with it, longest first.
    by_first: Vec<Vec<usize>>,
    /// The forms anchored to a line's start or end, or matched as whole lines.
    lines: Vec<usize>,
    /// The names of weak secrets, and why, not warned about yet.
    unwarned: Vec<(String, &'static str)>,
    /// The names of weak secrets already named in a warning (or waiting to be).
    noted: Vec<String>,
}

impl Known {
    fn register(&mut self, name: &str, value: &str) {
        let weak_value = weakness(value);
        if let Some(why) = weak_value {
            if !self.noted.iter().any(|n| n == name) {
                self.noted.push(name.to_string());
                self.unwarned.push((name.to_string(), why));
            }
        }
        let name: Arc<str> = name.into();
        let mut added = false;
        for (text, anchor) in forms(value) {
            if self
                .forms
                .iter()
                .any(|f| f.text == text && f.anchor == anchor)
            {
                continue;
            }
            let weak = weak_value.is_some() || weakness(&text).is_some();
            let blank = text.chars().all(char::is_whitespace);
            self.forms.push(Form {
                text,
                name: name.clone(),
                weak,
                anchor,
                blank,
            });
            added = true;
        }
        if added {
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.text.len()));
        self.by_first = vec![Vec::new(); 256];
        self.lines.clear();
        for (i, f) in self.forms.iter().enumerate() {
            if f.anchor != Anchor::Anywhere {
                self.lines.push(i);
            } else if let Some(b) = f.text.as_bytes().first() {
                self.by_first[*b as usize].push(i);
            }
        }
    }
}

/// Every secret seen. Process-wide: a secret is masked in every line the process writes,
/// whichever run saw it.
static KNOWN: RwLock<Option<Known>> = RwLock::new(None);

/// Words a person might take for a password and labsh's own words: a secret that is one of them
/// is weak whatever its length.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "password123",
    "changeme",
    "changeit",
    "secret",
    "secret123",
    "admin",
    "admin123",
    "administrator",
    "root",
    "toor",
    "redhat",
    "openstack",
    "letmein",
    "welcome",
    "welcome1",
    "default",
    "qwerty",
    "qwertyuiop",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "iloveyou",
    "abc123",
    "test",
    "test123",
    "testing",
    "guest",
    "master",
    "dragon",
    "monkey",
    "sunshine",
    "football",
    "baseball",
    "superman",
    "trustno1",
    "p@ssw0rd",
    "p@ssword",
    "pass1234",
    "password!",
    "kubeadmin",
    "stack",
    "stackstack",
    "undercloud",
    "overcloud",
    "ironic",
    "libvirt",
    "changed",
    "planned",
    "failed",
    "stopped",
    "skipped",
    "interrupted",
    "running",
    "done",
    "status",
    "stage",
    "effect",
    "recap",
    "totals",
    "run_end",
    "warning",
    "message",
    "output",
    "stdout",
    "stderr",
    "target",
    "outcome",
];

/// Why `value` is weak, or `None` when it is strong.
fn weakness(value: &str) -> Option<&'static str> {
    let n = value.chars().count();
    if !value.chars().any(char::is_alphanumeric) {
        return Some("only whitespace and punctuation");
    }
    if n < STRONG_LEN {
        return Some("shorter than 8 characters");
    }
    if COMMON.contains(&value.to_lowercase().as_str()) {
        return Some("a common word");
    }
    // A word as people write one (`provision`, `Openshift`, `LABSH`), not random letters.
    let rest = value.chars().skip(1);
    let cased = value.chars().all(char::is_lowercase)
        || value.chars().all(char::is_uppercase)
        || (value.starts_with(char::is_uppercase) && rest.clone().all(char::is_lowercase));
    if n <= 16 && cased {
        return Some("a single word");
    }
    None
}

/// `value` as the inside of a JSON string; `ascii`: every other character as `\uXXXX`, as
/// Python's `json.dumps` writes it.
fn json_inner(value: &str, ascii: bool) -> String {
    let j = serde_json::to_string(value).unwrap_or_default();
    let inner = j
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default();
    if !ascii {
        return inner.to_string();
    }
    let mut out = String::new();
    for c in inner.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The shell-quoted forms of `value`: inside single quotes (`'\''` as the shell writes a quote
/// there, and `'"'"'` as Python's `shlex.quote` does), inside double quotes, with a backslash
/// before each special character (bash's `printf %q`), and inside `$'...'` (bash's `printf %q`
/// and `${V@Q}` for a value with characters its locale cannot print).
fn shell_forms(value: &str) -> Vec<String> {
    let mut out = vec![
        value.replace('\'', r"'\''"),
        value.replace('\'', r#"'"'"'"#),
    ];
    let mut dq = String::new();
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            dq.push('\\');
        }
        dq.push(c);
    }
    out.push(dq);
    if !value.chars().any(char::is_control) {
        let mut bs = String::new();
        for c in value.chars() {
            if " \t'\"\\|&;()<>!{}*[]?^$`#~=,".contains(c) {
                bs.push('\\');
            }
            bs.push(c);
        }
        out.push(bs);
    }
    out.push(ansi_c(value, false));
    out.push(ansi_c(value, true));
    out
}

/// `value` inside bash's `$'...'`, as bash writes it: backslash escapes for a quote, a
/// backslash and control characters, octal for other bytes it cannot print (`bytes`: every
/// non-ASCII byte, as in the C locale).
fn ansi_c(value: &str, bytes: bool) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\x1b' => out.push_str("\\E"),
            c if c.is_control() || (bytes && !c.is_ascii()) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The URL-encoded forms of `value`: percent-encoding of every byte but those `keep` leaves,
/// with `+` or `%20` for a space, in upper or lower case.
fn url_forms(value: &str) -> Vec<String> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let enc = |keep: &dyn Fn(u8) -> bool, plus: bool, lower: bool| {
        let mut s = String::new();
        for &b in value.as_bytes() {
            if keep(b) {
                s.push(b as char);
            } else if plus && b == b' ' {
                s.push('+');
            } else if lower {
                s.push_str(&format!("%{b:02x}"));
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        s
    };
    vec![
        // RFC 3986 (curl --data-urlencode, Python's quote(safe='')), either case.
        enc(&unreserved, false, false),
        enc(&unreserved, false, true),
        // Python's quote() keeps '/'.
        enc(&|b| unreserved(b) || b == b'/', false, false),
        // Forms: quote_plus, and the WHATWG form encoding.
        enc(&unreserved, true, false),
        enc(
            &|b| b.is_ascii_alphanumeric() || b"*-._".contains(&b),
            true,
            false,
        ),
        // JavaScript's encodeURIComponent.
        enc(
            &|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b),
            false,
            false,
        ),
    ]
}

/// The base64 forms of `value` (standard and URL-safe alphabets, padded or not): the whole
/// value encoded alone, and, for a value encoded inside a larger text, the part of the encoding
/// that depends on the value's bytes only. That part depends on where the value starts in the
/// text (its offset mod 3), so the three alignments are registered, each when long enough not to
/// stand for something else.
fn base64_forms(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let v = value.as_bytes();
    let mut out = vec![];
    for (padded, bare) in [(&STANDARD, &STANDARD_NO_PAD), (&URL_SAFE, &URL_SAFE_NO_PAD)] {
        out.push(padded.encode(v));
        out.push(bare.encode(v));
        for skip in 0..3 {
            let rest = v.get(skip..).unwrap_or_default();
            let whole = rest.len() / 3 * 3;
            out.push(bare.encode(&rest[..whole]));
        }
    }
    out.retain(|f| f.len() >= MIN_ENCODED);
    out
}

/// Every form of `value` that output can carry, and where in a line each is matched.
fn forms(value: &str) -> Vec<(String, Anchor)> {
    let mut out: Vec<(String, Anchor)> = vec![];
    let add = |f: String, anchor: Anchor, out: &mut Vec<(String, Anchor)>| {
        if f.is_empty() {
            return;
        }
        let short = f.chars().count() < MIN_LEN;
        let anchor = match anchor {
            _ if !short => Anchor::Anywhere,
            Anchor::Anywhere => Anchor::WholeLine,
            other => other,
        };
        out.push((f, anchor));
    };
    let anywhere = Anchor::Anywhere;
    add(value.to_string(), anywhere, &mut out);
    add(json_inner(value, false), anywhere, &mut out);
    add(json_inner(value, true), anywhere, &mut out);
    for f in shell_forms(value) {
        add(f, anywhere, &mut out);
    }
    for f in url_forms(value) {
        add(f, anywhere, &mut out);
    }
    for f in base64_forms(value) {
        add(f, anywhere, &mut out);
    }
    // Output is printed and streamed line by line: each line of a value of several lines is a
    // form too. A line of braces and commas holds nothing of the secret.
    if value.contains('\n') {
        let lines: Vec<&str> = value.split('\n').collect();
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let l = line.trim();
            if !l.chars().any(char::is_alphanumeric) {
                continue;
            }
            let anchor = match i {
                0 => Anchor::LineEnd,
                i if i == last => Anchor::LineStart,
                _ => Anchor::WholeLine,
            };
            add(l.to_string(), anchor, &mut out);
            add(json_inner(l, false), anchor, &mut out);
        }
    }
    out
}

/// Registers the secret `name` of value `value`: from now on every form of it is masked. A weak
/// value is noted for a warning ([`take_weak`]).
pub fn register(name: &str, value: &str) {
    if let Ok(mut guard) = KNOWN.write() {
        guard
            .get_or_insert_with(Known::default)
            .register(name, value);
    }
}

/// The weak secrets registered since the last call, each once in the process's life: their
/// names and why each is weak.
pub fn take_weak() -> Vec<(String, &'static str)> {
    KNOWN
        .write()
        .ok()
        .and_then(|mut k| k.as_mut().map(|k| std::mem::take(&mut k.unwarned)))
        .unwrap_or_default()
}

/// The warning that names a weak secret.
pub fn weak_warning(name: &str, why: &str) -> String {
    format!(
        "secret {name} is weak ({why}): it is masked only where it appears as data (output, \
         values, messages), never in labsh's own labels; use a longer, random value"
    )
}

/// Runs `f` on the registry, or returns `none` when nothing was registered yet.
fn with_known<R>(none: R, f: impl FnOnce(&Known) -> R) -> R {
    match KNOWN.read() {
        Ok(guard) => match guard.as_ref() {
            Some(k) if !k.forms.is_empty() => f(k),
            _ => none,
        },
        Err(_) => none,
    }
}

/// Masks every form of every secret in `text`, which is data: a command's output, a value, a
/// message.
pub fn data(text: &str) -> Cow<'_, str> {
    with_known(text.into(), |k| k.apply(text, Scope::Data))
}

/// Masks the strong forms of every secret in `text`, one of labsh's own labels (a stage's or
/// an operation's name): a weak secret never changes a label.
pub fn label(text: &str) -> Cow<'_, str> {
    with_known(text.into(), |k| k.apply(text, Scope::Label))
}

/// [`data`]: every form masked. What the writers of logs and lock files use.
pub fn redact(text: &str) -> Cow<'_, str> {
    data(text)
}

/// Whether `text` holds any form of a registered secret that says something of it (forms of
/// whitespace or punctuation only, and short lines, aside): a file holding it is private.
pub fn holds_secret(text: &str) -> bool {
    with_known(false, |k| k.holds(text))
}

/// Masks an event (a JSON line, a journal line) before it is serialized: its keys are never
/// changed; the values of its label keys (`event`, `outcome`, `stage`, ...) are masked as
/// labels, every other string in it as data.
pub fn event(value: &mut serde_json::Value) {
    with_known((), |k| k.event(value))
}

/// Masks every string in `value` as data, keys aside, before it is serialized.
pub fn json_data(value: &mut serde_json::Value) {
    with_known((), |k| k.walk(value, Scope::Data))
}

/// The keys of an event whose values are labsh's own labels: what happened (`event`,
/// `outcome`, `status`), where (`stage`, `op`, `source`, `chain`), when (`ts`, `run_id`).
const LABEL_KEYS: &[&str] = &[
    "event", "stage", "stages", "status", "op", "outcome", "ts", "run_id", "mode", "kind",
    "stream", "source", "chain", "labsh",
];

impl Known {
    fn applies(&self, f: &Form, scope: Scope) -> bool {
        scope == Scope::Data || !f.weak
    }

    /// Whether `text` holds a form matched anywhere that has a letter or digit: one pass over
    /// the text, however many forms there are.
    fn holds(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        (0..bytes.len()).any(|i| {
            self.by_first[bytes[i] as usize].iter().any(|&k| {
                let f = &self.forms[k];
                bytes[i..].starts_with(f.text.as_bytes())
                    && f.text.chars().any(char::is_alphanumeric)
            })
        })
    }

    fn event(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    let scope = if LABEL_KEYS.contains(&k.as_str()) {
                        Scope::Label
                    } else {
                        Scope::Data
                    };
                    self.walk(v, scope);
                }
            }
            other => self.walk(other, Scope::Data),
        }
    }

    fn walk(&self, value: &mut serde_json::Value, scope: Scope) {
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(m) = self.apply(s, scope) {
                    *s = m;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|v| self.walk(v, scope)),
            serde_json::Value::Object(m) => m.values_mut().for_each(|v| self.walk(v, scope)),
            _ => {}
        }
    }

    /// `text` with the forms that apply in `scope` masked: scanned once, longest form first at
    /// each place, masks already there left alone; a short form only as a whole line, a blank
    /// one never in the indentation that starts a line.
    fn apply<'t>(&self, text: &'t str, scope: Scope) -> Cow<'t, str> {
        let bytes = text.as_bytes();
        let mut out: Option<String> = None;
        let mut copied = 0;
        // Where the indentation of the current line ends (its start on a line of whitespace
        // only), and the anchored forms found in it, with where each starts.
        let mut indent_end = 0;
        let mut anchored: Vec<(usize, &Form)> = vec![];
        let mut i = 0;
        while i < bytes.len() {
            if i == 0 || bytes[i - 1] == b'\n' {
                let line_end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                let body = text[i..line_end].trim_end_matches('\r');
                let trimmed = body.trim();
                let lead = body.len() - body.trim_start().len();
                let (from, to) = (i + lead, i + lead + trimmed.len());
                indent_end = if trimmed.is_empty() { i } else { from };
                anchored.clear();
                if !trimmed.is_empty() {
                    for f in self.lines.iter().map(|&k| &self.forms[k]) {
                        if !self.applies(f, scope) {
                            continue;
                        }
                        let n = f.text.len();
                        let at = match f.anchor {
                            Anchor::WholeLine => (trimmed == f.text).then_some(from),
                            Anchor::LineStart => trimmed.starts_with(&f.text).then_some(from),
                            Anchor::LineEnd => trimmed.ends_with(&f.text).then(|| to - n),
                            Anchor::Anywhere => None,
                        };
                        if let Some(at) = at {
                            anchored.push((at, f));
                        }
                    }
                }
            }
            if text[i..].starts_with(MASK_OPEN) {
                i += text[i..]
                    .find(MASK_CLOSE)
                    .map_or(text.len() - i, |e| e + MASK_CLOSE.len_utf8());
                continue;
            }
            let found = self.by_first[bytes[i] as usize].iter().find_map(|&k| {
                let f = &self.forms[k];
                (self.applies(f, scope)
                    && !(f.blank && i < indent_end)
                    && text[i..].starts_with(&f.text))
                .then_some(f)
            });
            let pinned = anchored
                .iter()
                .filter(|(at, _)| *at == i)
                .map(|(_, f)| *f)
                .max_by_key(|f| f.text.len());
            let hit = match (found, pinned) {
                (Some(a), Some(b)) if b.text.len() > a.text.len() => Some(b),
                (a, b) => a.or(b),
            };
            match hit {
                Some(f) => {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(&text[copied..i]);
                    o.push_str(&mask(&f.name));
                    // A form that ends a line leaves the next line's start to be looked at.
                    i += f.text.len();
                    copied = i;
                }
                None => {
                    // On to the next character: forms start on character boundaries.
                    i += 1;
                    while i < bytes.len() && !text.is_char_boundary(i) {
                        i += 1;
                    }
                }
            }
        }
        match out {
            None => text.into(),
            Some(mut o) => {
                o.push_str(&text[copied..]);
                o.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A registry of the test's own (the process's is shared by every test).
    fn known(secrets: &[(&str, &str)]) -> Known {
        let mut k = Known::default();
        for (n, v) in secrets {
            k.register(n, v);
        }
        k
    }

    fn data_in(k: &Known, text: &str) -> String {
        k.apply(text, Scope::Data).into_owned()
    }

    #[test]
    fn values_are_masked_longest_first_and_masks_are_left_alone() {
        let k = known(&[
            ("short", "abcd-redact-unit"),
            ("long", "abcd-redact-unit-longer"),
            ("inner", "secret short"),
        ]);
        assert_eq!(
            data_in(&k, "x abcd-redact-unit-longer y abcd-redact-unit z"),
            "x «secret long» y «secret short» z"
        );
        assert_eq!(data_in(&k, "nothing here"), "nothing here");
        // A mask whose text holds another secret's value is not masked again.
        assert_eq!(data_in(&k, "«secret short»"), "«secret short»");
        assert!(matches!(k.apply("nothing", Scope::Data), Cow::Borrowed(_)));
    }

    #[test]
    fn every_line_of_a_multi_line_value_is_masked_a_short_one_where_its_line_can_be() {
        let v = "{\n  \"auths\": {\n    \"quay.io\": {\"auth\": \"bXVsdGktbGluZS11bml0\"}\n  }\n}\npw1\nzq";
        let k = known(&[("pull", v)]);
        assert_eq!(
            data_in(&k, "    \"quay.io\": {\"auth\": \"bXVsdGktbGluZS11bml0\"}"),
            "    «secret pull»"
        );
        // The tail of a failed command's error: each line indented.
        assert_eq!(
            data_in(&k, "failed:\n    pw1\n    zq\r\n"),
            "failed:\n    «secret pull»\n    «secret pull»\r\n"
        );
        // A short line is masked only where that line of the secret can be: the last one at the
        // start of a line, a middle one as a whole line; a line of braces is no form.
        assert_eq!(
            data_in(&k, "zq> and pw1 zq }"),
            "«secret pull»> and pw1 zq }"
        );
        assert_eq!(data_in(&k, "<pw1"), "<pw1");
        assert_eq!(data_in(&k, "}"), "}");
        let k2 = known(&[("first", "ab1\nmiddle-line\nyz")]);
        // Streamed line by line, and whole.
        let lines: Vec<String> = ["value: <ab1", "middle-line", "yz>"]
            .iter()
            .map(|l| data_in(&k2, l))
            .collect();
        assert_eq!(
            lines,
            [
                "value: <«secret first»",
                "«secret first»",
                "«secret first»>"
            ]
        );
        assert_eq!(
            data_in(&k2, "value: <ab1\nmiddle-line\nyz>\n"),
            "value: <«secret first»>\n"
        );
        assert_eq!(data_in(&k2, "ab1 yz"), "ab1 yz");
        let mut j = json!({"message": v, "json": serde_json::to_string(v).unwrap()});
        k.walk(&mut j, Scope::Data);
        assert_eq!(j["message"], "«secret pull»");
        assert_eq!(j["json"], "\"«secret pull»\"");
    }

    #[test]
    fn weak_values_are_masked_in_data_never_in_labels_and_named_once() {
        let mut k = known(&[
            ("word", "changed"),
            ("space", "    "),
            ("fragment", "{\"eve"),
            ("common", "Password"),
            ("strong", "Zx81-strong-unit-Qp"),
        ]);
        let weak: Vec<&str> = k.unwarned.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(weak, ["word", "space", "fragment", "common"]);
        assert_eq!(weakness("Provisioning"), Some("a single word"));
        // Random letters, as a generated value can be, are not a word.
        assert_eq!(weakness("qWmzKcTrYbNhvLpe"), None);
        k.unwarned.clear();
        k.register("word", "changed");
        assert!(k.unwarned.is_empty(), "named once");
        assert_eq!(k.apply("changed", Scope::Label), "changed");
        assert_eq!(data_in(&k, "it changed"), "it «secret word»");
        // A strong value is masked in labels too.
        assert_eq!(
            k.apply("stage Zx81-strong-unit-Qp", Scope::Label),
            "stage «secret strong»"
        );
        // Indentation is layout; whitespace between words, or a line of it, is data.
        assert_eq!(data_in(&k, "    indented"), "    indented");
        assert_eq!(data_in(&k, "a    b"), "a«secret space»b");
        assert_eq!(data_in(&k, "    \n"), "«secret space»\n");
        let mut ev = json!({"event": "effect", "outcome": "changed", "target": "t changed",
            "args": {"text": "{\"event\": 1}", "changed": true}, "stage": "changed"});
        k.event(&mut ev);
        assert_eq!(ev["outcome"], "changed");
        assert_eq!(ev["stage"], "changed");
        assert_eq!(ev["target"], "t «secret word»");
        assert_eq!(ev["args"]["text"], "«secret fragment»nt\": 1}");
        assert_eq!(ev["args"]["changed"], true);
        let back: serde_json::Value = serde_json::from_str(&ev.to_string()).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn encoded_forms_are_masked() {
        let v = "p'a\"ss w/rd\\ é+7Kq";
        let k = known(&[("enc", v)]);
        let shown = |s: &str| {
            let m = data_in(&k, s);
            assert!(m.contains("«secret enc»"), "{s} -> {m}");
            m
        };
        // JSON-escaped, as serde writes it and as Python's json.dumps does (\u00e9).
        shown(&serde_json::to_string(v).unwrap());
        shown("\"p'a\\\"ss w/rd\\\\ \\u00e9+7Kq\"");
        // Shell-quoted: single quotes (sh, and Python's shlex), double quotes, backslashes
        // (bash's printf %q).
        shown(r#"'p'\''a"ss w/rd\ é+7Kq'"#);
        shown(r#"'p'"'"'a"ss w/rd\ é+7Kq'"#);
        shown(r#""p'a\"ss w/rd\\ é+7Kq""#);
        shown(r#"p\'a\"ss\ w/rd\\\ é+7Kq"#);
        shown(r#"$'p\'a"ss w/rd\\ \303\251+7Kq'"#);
        // URL-encoded, a space as %20 and as +.
        shown("x=p%27a%22ss%20w%2Frd%5C%20%C3%A9%2B7Kq&y=1");
        shown("x=p%27a%22ss+w%2Frd%5C+%C3%A9%2B7Kq&y=1");
        // base64 of the value alone, and of a text holding it at each offset mod 3: at most a
        // group's worth of characters on each side stays.
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        assert_eq!(shown(&STANDARD.encode(v)), "«secret enc»");
        for pre in ["", "a", "ab", "abc"] {
            for post in ["", "\n", "tail"] {
                let text = format!("{pre}{v}{post}");
                for enc in [STANDARD.encode(&text), URL_SAFE_NO_PAD.encode(&text)] {
                    let m = shown(&enc);
                    let left = m.replace("«secret enc»", "");
                    assert!(left.len() <= 4 + 4 + 8, "{enc} -> {m}");
                }
            }
        }
    }

    #[test]
    fn a_text_holding_a_form_is_known() {
        let k = known(&[("held", "held-value-unit-91"), ("blank", "    ")]);
        assert!(k.holds("password = held-value-unit-91\n"));
        assert!(k.holds(&base64::engine::general_purpose::STANDARD.encode("held-value-unit-91")));
        assert!(!k.holds("password = other\n"));
        assert!(
            !k.holds("    indented\n"),
            "whitespace says nothing of a secret"
        );
    }

    #[test]
    fn the_process_registry_masks_what_is_registered() {
        register("process-unit", "process-unit-value-5e1");
        assert_eq!(data("a process-unit-value-5e1"), "a «secret process-unit»");
        assert!(holds_secret("process-unit-value-5e1"));
        let mut ev = json!({"event": "print", "text": "process-unit-value-5e1"});
        event(&mut ev);
        assert_eq!(ev["text"], "«secret process-unit»");
    }
}
