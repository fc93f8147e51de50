//! YAML read into JSON values (merge keys applied), and JSON values written as YAML.

use crate::error::{Context, Error};
use serde_json::{Map, Value};
use std::path::Path;

/// Parses YAML text into a JSON value; empty text is an empty map. An error is the parser's
/// first line, with the line and column.
pub fn parse_yaml(text: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let s = e.to_string();
        Error::invalid(s.lines().next().unwrap_or("invalid YAML"))
    })
}

/// Parses a YAML file (bounded by [`super::read`]); errors name the file and the line.
pub fn read_yaml(path: &Path) -> Result<Value, Error> {
    let text = super::read::text(path)?;
    parse_yaml(&text).with_context(|| format!("{}", path.display()))
}

/// YAML text of a JSON value; strings a YAML 1.1 reader would take for booleans are quoted.
pub fn yaml_text(v: &Value) -> Result<String, Error> {
    serde_saphyr::to_string(v).context("cannot write YAML")
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
        assert!(parse_yaml("a: [1,").unwrap_err().message().contains("line"));
        let v = json!({"on": "yes", "n": 3});
        assert_eq!(parse_yaml(&yaml_text(&v).unwrap()).unwrap(), v);
        let (_dir, p) = crate::util::testing::temp_file("c.yaml", "a: [1,");
        assert!(read_yaml(&p)
            .unwrap_err()
            .message()
            .starts_with(&p.display().to_string()));
    }
}
