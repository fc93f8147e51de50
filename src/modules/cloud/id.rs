//! Ids as the API layer holds them: one the cloud knows, or the stand-in for something a plan
//! would create. Scripts and plans see a planned id as the text `(planned KIND NAME)`; the API
//! layer turns that text back into [`Id::Planned`] where it comes in, and branches on the type.

use serde_json::Value;
use std::fmt;

/// An id of a cloud object, or of one a plan would create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// What the cloud knows the object by: an id it gave, or (where a script names an object)
    /// the name or id to look up.
    Real(String),
    /// Something a plan would create: `kind` ("project", "network", ...) named `name`.
    Planned { kind: String, name: String },
}

const PREFIX: &str = "(planned ";

impl Id {
    pub fn planned(kind: &str, name: &str) -> Id {
        Id::Planned {
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }

    /// The id a script or an answer holds as text: `(planned KIND NAME)` is a planned id again,
    /// any other text is real.
    pub fn parse(text: &str) -> Id {
        let planned = text
            .strip_prefix(PREFIX)
            .and_then(|t| t.strip_suffix(')'))
            .and_then(|t| t.split_once(' '));
        match planned {
            Some((kind, name)) => Id::planned(kind, name),
            None => Id::Real(text.to_string()),
        }
    }

    /// The id in a JSON field (`v["id"]`, `v["uuid"]`); a missing one is the empty real id.
    pub fn from_json(v: &Value) -> Id {
        Id::parse(v.as_str().unwrap_or_default())
    }

    pub fn is_planned(&self) -> bool {
        matches!(self, Id::Planned { .. })
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Real(s) => f.write_str(s),
            Id::Planned { kind, name } => write!(f, "{PREFIX}{kind} {name})"),
        }
    }
}

/// As its text, in request bodies, plans and journals.
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_ids_read_back_as_they_were_written() {
        for (kind, name) in [
            ("project", "ocp-tenant"),
            ("rule", "sg ingress tcp 6443-6443 from 0.0.0.0/0"),
            ("network", "(planned network ext)"),
            ("port", ""),
        ] {
            let id = Id::planned(kind, name);
            let text = id.to_string();
            assert_eq!(text, format!("(planned {kind} {name})"));
            assert_eq!(Id::parse(&text), id);
            assert_eq!(serde_json::json!(id), Value::String(text));
        }
        assert_eq!(
            Id::parse("699eeaefb7b84291a75d389ec0f10ea2"),
            Id::Real("699eeaefb7b84291a75d389ec0f10ea2".into())
        );
        assert!(!Id::parse("ocp-tenant").is_planned());
        assert!(Id::parse("(planned node n1)").is_planned());
        assert_eq!(Id::from_json(&Value::Null), Id::Real(String::new()));
    }
}
