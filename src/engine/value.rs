//! Showing Rhai values to people and to JSON, with secrets masked.

use crate::effects::secret::Secret;
use rhai::Dynamic;
use serde_json::Value;

/// A value as the REPL and `-e` show it: strings bare at the top level, everything else in Rhai
/// literal syntax.
pub fn show(d: &Dynamic) -> String {
    if d.is_string() {
        return d.clone().into_string().unwrap_or_default();
    }
    literal(d)
}

/// A value in Rhai literal syntax.
pub fn literal(d: &Dynamic) -> String {
    if let Some(s) = d.read_lock::<Secret>() {
        return s.mask();
    }
    if d.is_string() {
        return format!("{:?}", d.clone().into_string().unwrap_or_default());
    }
    if d.is_array() {
        let a = d.clone().into_array().unwrap_or_default();
        let items: Vec<String> = a.iter().map(literal).collect();
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
                format!("{key}: {}", literal(v))
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
}
