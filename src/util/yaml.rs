//! YAML read into JSON values (merge keys applied), and JSON values written as YAML.

use serde_json::{Map, Value};
use std::path::Path;

/// Parses YAML text into a JSON value; empty text is an empty map. An error is the parser's
/// first line, with the line and column.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let s = e.to_string();
        s.lines().next().unwrap_or("invalid YAML").to_string()
    })
}

/// Parses a YAML file (bounded by [`super::read`]); errors name the file and the line.
pub fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = super::read::text(path)?;
    parse_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// YAML text of a JSON value; strings a YAML 1.1 reader would take for booleans are quoted.
pub fn yaml_text(v: &Value) -> Result<String, String> {
    serde_saphyr::to_string(v).map_err(|e| format!("cannot write YAML: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_read_and_written() {
        assert_eq!(parse_yaml("").unwrap(), json!({}));
        assert_eq!(
            parse_yaml("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n").unwrap()["x"],
            json!({"a": 1, "c": 2})
        );
        assert!(parse_yaml("a: [1,").unwrap_err().contains("line"));
        let v = json!({"on": "yes", "n": 3});
        assert_eq!(parse_yaml(&yaml_text(&v).unwrap()).unwrap(), v);
        let (_dir, p) = crate::util::testing::temp_file("c.yaml", "a: [1,");
        assert!(read_yaml(&p)
            .unwrap_err()
            .starts_with(&p.display().to_string()));
    }
}
