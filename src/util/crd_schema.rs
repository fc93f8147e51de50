//! A custom resource checked against its CRD's structural OpenAPI schema (the openAPIV3Schema of
//! a CustomResourceDefinition version), as the API server reads one: `type`, `nullable`,
//! `required`, `enum`, `properties` against `additionalProperties` and
//! `x-kubernetes-preserve-unknown-fields`, `items`, `x-kubernetes-int-or-string`, and the bounds
//! (`minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`). A field the schema does
//! not know is a problem: the API server drops it (or refuses it under strict field validation),
//! so what labsh meant is lost. `pattern` and `format` are not read (the crate has no regular
//! expressions); CEL rules (`x-kubernetes-validations`) are the operators' and not read either.
//! A required field with a `default` is not missing (the API server defaults it first); one an
//! operator's mutating webhook fills is, here: the caller knows which those are.
//! Pure: values in, problems out.

use serde_json::{Map, Value};

/// One thing wrong with a resource: where (a dotted path, `spec.networks[0].name`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem of `value` against `schema`, in key order. The top level's `apiVersion`, `kind`
/// and `metadata` are the API server's TypeMeta and ObjectMeta, which a CRD's schema leaves open
/// or out: only their types are checked here.
#[cfg(test)]
pub fn validate(value: &Value, schema: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    check(value, schema, "", &mut out);
    out
}

/// The schema entry of a fixture (`{"schemas": [{kind, apiVersion, schema, ...}]}`, as
/// tools/rhoso-crds.py writes it) for a resource's kind, and the resource checked against it:
/// its apiVersion the entry's, `metadata.name` given, then the schema.
pub fn validate_resource(resource: &Value, fixture: &Value) -> Vec<Problem> {
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or("");
    let entries = fixture
        .get("schemas")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let Some(entry) = entries
        .iter()
        .find(|e| e.get("kind").and_then(Value::as_str) == Some(kind))
    else {
        let kinds: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.get("kind").and_then(Value::as_str))
            .collect();
        let hint = crate::util::suggest::hint(kind, kinds.iter().copied());
        return vec![Problem {
            path: "kind".into(),
            message: format!("no schema for kind \"{kind}\"{hint}"),
        }];
    };
    let mut out = Vec::new();
    let want = entry
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let got = resource
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if want != got {
        out.push(Problem {
            path: "apiVersion".into(),
            message: format!("\"{got}\" is not the {kind}'s, \"{want}\""),
        });
    }
    match resource.pointer("/metadata/name") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => out.push(Problem {
            path: "metadata.name".into(),
            message: "required, a non-empty string".into(),
        }),
    }
    if let Some(schema) = entry.get("schema") {
        check(resource, schema, "", &mut out);
    }
    out
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// Whether `v` is of the OpenAPI `ty`.
fn of_type(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => is_integer(v),
        "number" => v.is_number(),
        _ => true,
    }
}

fn check(v: &Value, schema: &Value, path: &str, out: &mut Vec<Problem>) {
    let mut problem = |message: String| {
        out.push(Problem {
            path: path.to_string(),
            message,
        })
    };
    if v.is_null() {
        if !flag(schema, "nullable") && schema.as_object().is_some_and(|s| !s.is_empty()) {
            problem("null where the schema allows none (the API server drops it)".into());
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(is_integer(v) || v.is_string()) {
            problem(format!("an integer or a string, not {}", type_name(v)));
        }
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        if !of_type(v, ty) {
            problem(format!("{ty}, not {}", type_name(v)));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        let listed = options.contains(v)
            || (is_integer(v) && options.iter().any(|o| o.as_f64() == v.as_f64()));
        if !listed {
            let shown: Vec<String> = options.iter().map(Value::to_string).collect();
            problem(format!("{v} is not one of {}", shown.join(", ")));
        }
    }
    bounds(v, schema, &mut problem);
    match v {
        Value::Object(map) => check_object(map, schema, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn bounds(v: &Value, schema: &Value, problem: &mut impl FnMut(String)) {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let count = |k: &str| schema.get(k).and_then(Value::as_u64);
    if let Some(x) = v.as_f64() {
        if let Some(min) = num("minimum") {
            if x < min {
                problem(format!("{v} is below the minimum {min}"));
            }
        }
        if let Some(max) = num("maximum") {
            if x > max {
                problem(format!("{v} is above the maximum {max}"));
            }
        }
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if let Some(min) = count("minLength") {
            if n < min {
                problem(format!("{n} characters, fewer than minLength {min}"));
            }
        }
        if let Some(max) = count("maxLength") {
            if n > max {
                problem(format!("{n} characters, more than maxLength {max}"));
            }
        }
    }
    if let Some(a) = v.as_array() {
        let n = a.len() as u64;
        if let Some(min) = count("minItems") {
            if n < min {
                problem(format!("{n} items, fewer than minItems {min}"));
            }
        }
        if let Some(max) = count("maxItems") {
            if n > max {
                problem(format!("{n} items, more than maxItems {max}"));
            }
        }
    }
}

fn check_object(map: &Map<String, Value>, schema: &Value, path: &str, out: &mut Vec<Problem>) {
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            // The API server gives a missing field its schema's default before it validates.
            let defaulted = props
                .and_then(|p| p.get(key))
                .is_some_and(|s| s.get("default").is_some());
            if !map.contains_key(key) && !defaulted {
                out.push(Problem {
                    path: at(path, key),
                    message: "required, missing".into(),
                });
            }
        }
    }
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let additional = schema.get("additionalProperties");
    for (key, value) in map {
        let here = at(path, key);
        // The top level's apiVersion, kind and metadata are the API server's (TypeMeta and
        // ObjectMeta), whether the CRD's schema lists them or not.
        let own = match key.as_str() {
            "metadata" => Some("object"),
            "apiVersion" | "kind" => Some("string"),
            _ => None,
        };
        if let (true, Some(ty)) = (path.is_empty(), own) {
            if !of_type(value, ty) {
                out.push(Problem {
                    path: here,
                    message: format!("{ty}, not {}", type_name(value)),
                });
            }
            continue;
        }
        if let Some(sub) = props.and_then(|p| p.get(key)) {
            check(value, sub, &here, out);
            continue;
        }
        match additional {
            Some(Value::Bool(true)) => {}
            Some(sub @ Value::Object(_)) => check(value, sub, &here, out),
            _ if preserve => {}
            _ => {
                let known = props.map(|p| p.keys().map(String::as_str).collect::<Vec<_>>());
                let hint = known
                    .map(|k| crate::util::suggest::hint(key, k))
                    .unwrap_or_default();
                out.push(Problem {
                    path: here,
                    message: format!("unknown field \"{key}\"{hint}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(v: Value, s: Value) -> Vec<String> {
        validate(&v, &s).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn types_are_checked_and_an_integer_is_a_number() {
        let s = json!({"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "number"},
            "d": {"type": "boolean"}, "e": {"type": "array"}}});
        assert!(msgs(
            json!({"a": "x", "b": 1, "c": 1, "d": true, "e": []}),
            s.clone()
        )
        .is_empty());
        assert!(msgs(json!({"c": 1.5, "b": 2.0}), s.clone()).is_empty());
        assert_eq!(
            msgs(json!({"a": 1, "b": "1", "c": "x", "d": "yes", "e": {}}), s),
            [
                "a: string, not integer",
                "b: integer, not string",
                "c: number, not string",
                "d: boolean, not string",
                "e: array, not object"
            ]
        );
        assert_eq!(
            msgs(
                json!({"b": 1.5}),
                json!({"properties": {"b": {"type": "integer"}}})
            ),
            ["b: integer, not number"]
        );
    }

    #[test]
    fn required_keys_are_named_where_they_are_missing() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "required": ["networks"], "properties": {"networks": {"type": "array"}}}}});
        assert_eq!(
            msgs(json!({"spec": {}}), s.clone()),
            ["spec.networks: required, missing"]
        );
        assert!(msgs(json!({"spec": {"networks": []}}), s).is_empty());
        // A required field with a default is given it by the API server before validation.
        let d = json!({"type": "object", "required": ["requeue"],
            "properties": {"requeue": {"type": "integer", "default": 15}}});
        assert!(msgs(json!({}), d).is_empty());
    }

    #[test]
    fn an_enum_holds_only_its_values() {
        let s =
            json!({"properties": {"mode": {"type": "string", "enum": ["Manual", "Automatic"]}}});
        assert!(msgs(json!({"mode": "Manual"}), s.clone()).is_empty());
        assert_eq!(
            msgs(json!({"mode": "manual"}), s),
            ["mode: \"manual\" is not one of \"Manual\", \"Automatic\""]
        );
    }

    #[test]
    fn an_unknown_field_is_a_problem_with_the_nearest_known_name() {
        let s = json!({"type": "object", "properties": {"octavia": {"type": "object",
            "properties": {"enabled": {"type": "boolean"}}}}});
        assert_eq!(
            msgs(json!({"octavia": {"enabeld": true}}), s),
            ["octavia.enabeld: unknown field \"enabeld\" (did you mean 'enabled'?)"]
        );
    }

    #[test]
    fn preserve_unknown_fields_and_additional_properties_let_other_keys_through() {
        let preserve = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"known": {"type": "string"}}});
        assert!(msgs(
            json!({"anything": {"at": 1}, "known": "x"}),
            preserve.clone()
        )
        .is_empty());
        // Known properties are still checked under preserve-unknown-fields.
        assert_eq!(
            msgs(json!({"known": 1}), preserve),
            ["known: string, not integer"]
        );
        let map = json!({"type": "object", "additionalProperties": {"type": "string"}});
        assert!(msgs(json!({"a": "1", "b": "2"}), map.clone()).is_empty());
        assert_eq!(msgs(json!({"a": 1}), map), ["a: string, not integer"]);
        let open = json!({"type": "object", "additionalProperties": true});
        assert!(msgs(json!({"a": [1]}), open).is_empty());
        // No properties, no additionalProperties, no preserve: nothing is known.
        assert_eq!(
            msgs(json!({"a": 1}), json!({"type": "object", "properties": {}})),
            ["a: unknown field \"a\""]
        );
    }

    #[test]
    fn items_are_checked_each_at_its_index() {
        let s = json!({"type": "array", "items": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}}}});
        assert_eq!(
            msgs(json!([{"name": "a"}, {}, {"name": 3}]), s),
            [
                "[1].name: required, missing",
                "[2].name: string, not integer"
            ]
        );
    }

    #[test]
    fn int_or_string_takes_either_and_nothing_else() {
        let s = json!({"properties": {"port": {"anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": true}}});
        assert!(msgs(json!({"port": 8080}), s.clone()).is_empty());
        assert!(msgs(json!({"port": "25%"}), s.clone()).is_empty());
        assert_eq!(
            msgs(json!({"port": true}), s),
            ["port: an integer or a string, not boolean"]
        );
    }

    #[test]
    fn null_only_where_nullable() {
        let s = json!({"properties": {"a": {"type": "string"}, "b": {"type": "string", "nullable": true}}});
        assert!(msgs(json!({"b": null}), s.clone()).is_empty());
        assert_eq!(
            msgs(json!({"a": null}), s),
            ["a: null where the schema allows none (the API server drops it)"]
        );
    }

    #[test]
    fn bounds_are_checked() {
        let s = json!({"properties": {
            "vlan": {"type": "integer", "maximum": 4094, "minimum": 1},
            "name": {"type": "string", "minLength": 1, "maxLength": 3},
            "list": {"type": "array", "minItems": 1, "maxItems": 2}}});
        assert!(msgs(json!({"vlan": 20, "name": "ab", "list": [1]}), s.clone()).is_empty());
        assert_eq!(
            msgs(
                json!({"vlan": 5000, "name": "", "list": [1, 2, 3]}),
                s.clone()
            ),
            [
                "list: 3 items, more than maxItems 2",
                "name: 0 characters, fewer than minLength 1",
                "vlan: 5000 is above the maximum 4094"
            ]
        );
        assert_eq!(
            msgs(json!({"vlan": 0}), s),
            ["vlan: 0 is below the minimum 1"]
        );
    }

    #[test]
    fn a_resource_is_found_by_kind_and_its_api_version_and_name_checked() {
        let fixture = json!({"schemas": [{"kind": "NetConfig",
            "apiVersion": "network.openstack.org/v1beta1",
            "schema": {"type": "object", "properties": {"apiVersion": {"type": "string"},
                "kind": {"type": "string"}, "metadata": {"type": "object"},
                "spec": {"type": "object", "required": ["networks"],
                    "properties": {"networks": {"type": "array"}}}}}}]});
        let good = json!({"apiVersion": "network.openstack.org/v1beta1", "kind": "NetConfig",
            "metadata": {"name": "netconfig"}, "spec": {"networks": []}});
        assert!(validate_resource(&good, &fixture).is_empty());
        // metadata is the API server's ObjectMeta: its keys are not the CRD schema's to judge.
        let labelled = json!({"apiVersion": "network.openstack.org/v1beta1", "kind": "NetConfig",
            "metadata": {"name": "n", "namespace": "openstack", "labels": {"a": "b"}},
            "spec": {"networks": []}});
        assert!(validate_resource(&labelled, &fixture).is_empty());
        // A CRD whose schema names only spec (NetworkAttachmentDefinition's) still takes them.
        let bare = json!({"schemas": [{"kind": "NetworkAttachmentDefinition",
            "apiVersion": "k8s.cni.cncf.io/v1",
            "schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}]});
        let nad = json!({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": {"name": "ctlplane"}, "spec": {}});
        assert!(validate_resource(&nad, &bare).is_empty());
        let bad = json!({"apiVersion": "network.openstack.org/v1", "kind": "NetConfig",
            "metadata": {}, "spec": {}});
        let got: Vec<String> = validate_resource(&bad, &fixture)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "apiVersion: \"network.openstack.org/v1\" is not the NetConfig's, \"network.openstack.org/v1beta1\"",
                "metadata.name: required, a non-empty string",
                "spec.networks: required, missing"
            ]
        );
        let unknown = json!({"kind": "NetConfg"});
        assert_eq!(
            validate_resource(&unknown, &fixture)[0].to_string(),
            "kind: no schema for kind \"NetConfg\" (did you mean 'NetConfig'?)"
        );
    }
}
