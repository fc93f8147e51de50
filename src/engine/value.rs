//! Showing Rhai values to people and to JSON, with secrets masked. A [`Secret`] is its mask
//! everywhere; an [`Error`] a script caught is its message, as a string would be; what [`pretty`] lays out for a person has every string in it masked as data
//! before it is laid out, so a weak secret never changes a key, a column header or the layout.

use crate::effects::secret::Secret;
use crate::error::Error;
use rhai::Dynamic;
use serde_json::Value;

/// A value as the REPL and `-e` show it: strings bare at the top level, everything else in Rhai
/// literal syntax.
pub fn show(d: &Dynamic) -> String {
    if d.is_string() {
        return d.clone().into_string().unwrap_or_default();
    }
    if let Some(e) = d.read_lock::<Error>() {
        return e.message().to_string();
    }
    literal(d)
}

/// A value in Rhai literal syntax.
pub fn literal(d: &Dynamic) -> String {
    literal_with(d, false)
}

/// A value in Rhai literal syntax, each string in it masked as data when `masked` (its map keys
/// and punctuation as they are).
fn literal_with(d: &Dynamic, masked: bool) -> String {
    if let Some(s) = d.read_lock::<Secret>() {
        return s.mask();
    }
    let error = d.read_lock::<Error>().map(|e| e.message().to_string());
    if d.is_string() || error.is_some() {
        let s = error.unwrap_or_else(|| d.clone().into_string().unwrap_or_default());
        if masked {
            return format!("{:?}", crate::redact::data(&s));
        }
        return format!("{s:?}");
    }
    if d.is_array() {
        let a = d.clone().into_array().unwrap_or_default();
        let items: Vec<String> = a.iter().map(|x| literal_with(x, masked)).collect();
        return format!("[{}]", items.join(", "));
    }
    if d.is_map() {
        let m = d
            .read_lock::<rhai::Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| {
                let key = if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                {
                    k.to_string()
                } else {
                    format!("{:?}", k.as_str())
                };
                format!("{key}: {}", literal_with(v, masked))
            })
            .collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if d.is_unit() {
        return "()".into();
    }
    d.to_string()
}

/// A value as JSON. Secrets become their mask; function pointers their name.
pub fn to_json(d: &Dynamic) -> Value {
    to_json_with(d, &mut |s| Value::String(s.mask()))
}

/// A value as JSON, each secret turned into what `secret` makes of it (its mask for output, its
/// value for a file that must hold it).
pub fn to_json_with(d: &Dynamic, secret: &mut dyn FnMut(&Secret) -> Value) -> Value {
    if let Some(s) = d.read_lock::<Secret>() {
        return secret(&s);
    }
    if let Some(e) = d.read_lock::<Error>() {
        return Value::String(e.message().to_string());
    }
    if d.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = d.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = d.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = d.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null);
    }
    if d.is_string() {
        return Value::String(d.clone().into_string().unwrap_or_default());
    }
    if d.is_array() {
        return Value::Array(
            d.clone()
                .into_array()
                .unwrap_or_default()
                .iter()
                .map(|x| to_json_with(x, secret))
                .collect(),
        );
    }
    if d.is_map() {
        let m = d
            .read_lock::<rhai::Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        return Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), to_json_with(v, secret)))
                .collect(),
        );
    }
    Value::String(d.to_string())
}

/// A value laid out for a person at a terminal `width` columns wide: an array of maps as a table
/// (a column per key, `name` first), a map of several entries indented with its nesting, long
/// strings wrapped between words; small values as literals. Every string in it is masked as
/// data before it is laid out (keys and headers are not): the text is printed as it is.
pub fn pretty(d: &Dynamic, width: usize) -> String {
    let mut j = to_json(d);
    crate::redact::json_data(&mut j);
    let literal = |d: &Dynamic| literal_with(d, true);
    let width = width.max(40);
    if let Some(t) = table(&j, width) {
        return t;
    }
    match &j {
        Value::Object(m) if !m.is_empty() => {
            let one = literal(d);
            if one.chars().count() <= width && m.values().all(|v| !v.is_object()) {
                return one;
            }
            let mut out = String::new();
            tree(&j, 0, width, &mut out);
            out.trim_end().to_string()
        }
        Value::Array(a) if !a.is_empty() => {
            let one = literal(d);
            if one.chars().count() <= width {
                return one;
            }
            let mut out = String::new();
            tree(&j, 0, width, &mut out);
            out.trim_end().to_string()
        }
        Value::String(s) if s.chars().count() > width => wrap(&format!("{s:?}"), width, 0),
        _ => literal(d),
    }
}

/// A scalar (or a short compound) as one line.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "()".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Text cut to `n` columns, with an ellipsis when cut.
fn cut(s: &str, n: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= n {
        return s;
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// An array of maps as a table, when it is one.
fn table(j: &Value, width: usize) -> Option<String> {
    let rows = j.as_array()?;
    if rows.is_empty() || !rows.iter().all(|r| r.is_object()) {
        return None;
    }
    let mut cols: Vec<String> = vec![];
    for r in rows {
        for k in r.as_object()?.keys() {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    // The name and the id first, as people look for them.
    for first in ["id", "name"] {
        if let Some(i) = cols.iter().position(|c| c == first) {
            let c = cols.remove(i);
            cols.insert(0, c);
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| r.get(c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    let mut w: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].replace('\n', " ").chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(1)
        })
        .collect();
    // Narrow the widest columns until the table fits the terminal.
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    while total(&w) > width {
        let (i, max) = w.iter().copied().enumerate().max_by_key(|(_, x)| *x)?;
        if max <= 8 {
            break;
        }
        w[i] = max - 1;
    }
    let line = |vals: Vec<String>| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{:<width$}", cut(v, w[i]), width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(cols.iter().map(|c| c.to_uppercase()).collect())];
    for r in cells {
        out.push(line(r));
    }
    Some(out.join("\n"))
}

/// `v` indented `depth` levels, one entry a line, nested maps and arrays below their key.
fn tree(v: &Value, depth: usize, width: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(o) if !o.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        tree(x, depth + 1, width, out);
                    }
                    Value::Array(a)
                        if !a.is_empty()
                            && inline(x).chars().count() + pad.len() + k.len() + 2 > width =>
                    {
                        out.push_str(&format!("{pad}{k}:\n"));
                        tree(x, depth + 1, width, out);
                    }
                    _ => {
                        let text = format!("{pad}{k}: {}", inline(x));
                        out.push_str(&wrap(&text, width, pad.len() + k.len() + 2));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                match x {
                    Value::Object(_) | Value::Array(_)
                        if inline(x).chars().count() + pad.len() + 2 > width =>
                    {
                        out.push_str(&format!("{pad}-\n"));
                        tree(x, depth + 1, width, out);
                    }
                    _ => {
                        out.push_str(&wrap(
                            &format!("{pad}- {}", inline(x)),
                            width,
                            pad.len() + 2,
                        ));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&format!("{pad}{}\n", inline(other)));
        }
    }
}

/// A JSON value in Rhai's literal syntax, on one line.
fn inline(v: &Value) -> String {
    literal(&from_json(v))
}

/// `text` wrapped between words at `width`, later lines indented `indent` columns.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut lines: Vec<String> = vec![];
    let mut cur = String::new();
    for word in text.split(' ') {
        let len = cur.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
            cur.push_str(&" ".repeat(indent.min(width / 2)));
        } else if len > 0 && !cur.trim().is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.trim().is_empty() {
        lines.push(cur);
    }
    lines.join("\n")
}

/// JSON to a Rhai value.
pub fn from_json(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(0.0).into(),
        },
        Value::String(s) => s.clone().into(),
        Value::Array(a) => Dynamic::from_array(a.iter().map(from_json).collect()),
        Value::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), from_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_json() {
        let mut m = rhai::Map::new();
        m.insert("a".into(), Dynamic::from(1_i64));
        m.insert("b c".into(), Dynamic::from("x"));
        m.insert(
            "s".into(),
            Dynamic::from(Secret::new("pw", "value-json-test")),
        );
        let d = Dynamic::from_map(m);
        assert_eq!(literal(&d), r#"#{a: 1, "b c": "x", s: «secret pw»}"#);
        let j = to_json(&d);
        assert_eq!(j["s"], "«secret pw»");
        assert_eq!(j["a"], 1);
        let back = from_json(&serde_json::json!({"k": [1, 2.5, true, null]}));
        assert_eq!(literal(&back), "#{k: [1, 2.5, true, ()]}");
        assert_eq!(show(&Dynamic::from("hi")), "hi");
    }

    #[test]
    fn arrays_of_maps_are_tables_and_big_maps_are_indented() {
        let rows = from_json(&serde_json::json!([
            {"state": "running", "name": "undercloud", "vcpus": 8},
            {"state": "shut off", "name": "overcloud-ctrl01", "vcpus": 4},
        ]));
        let t = pretty(&rows, 80);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME              STATE     VCPUS");
        assert_eq!(lines[2], "overcloud-ctrl01  shut off  4");
        let m = from_json(
            &serde_json::json!({"name": "lab", "host": {"cpus": 32, "images": "/var/lib/libvirt/images"}, "nics": ["a", "b"]}),
        );
        let p = pretty(&m, 40);
        assert!(p.contains("host:\n  cpus: 32\n"), "{p}");
        // A long string wraps between words, never inside one.
        let long = Dynamic::from("word ".repeat(30));
        for l in pretty(&long, 40).lines() {
            assert!(l.chars().count() <= 40 && !l.ends_with("wor"), "{l}");
        }
        // A narrow terminal narrows the widest column.
        let wide = from_json(&serde_json::json!([{"name": "x", "xml": "y".repeat(200)}]));
        assert!(pretty(&wide, 60).lines().all(|l| l.chars().count() <= 60));
    }
}
