//! Checking a model's tool arguments against the tool's JSON Schema before calling it.
//!
//! Models invent arguments: a missing required property, a number sent as a string. Sending
//! those to the server costs a round trip and returns an error in each server's own words;
//! checking first gives the model one clear, uniform message to correct itself with. The
//! check is deliberately shallow (an object, its `required` properties, and the basic
//! `type` of each property present): the server stays the authority on the rest.

use serde_json::{Map, Value};

/// Why the arguments do not fit the schema, in words a model can act on.
pub(crate) fn check_arguments(
    schema: &Map<String, Value>,
    arguments: &Value,
) -> Result<(), String> {
    let Some(arguments) = arguments.as_object() else {
        return Err(format!(
            "arguments must be a JSON object, got {}",
            kind_of(arguments)
        ));
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        let missing: Vec<&str> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| !arguments.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing required argument{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .map(|m| format!("\"{m}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for (name, value) in arguments {
        let Some(expected) = properties
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("type"))
        else {
            continue;
        };
        let allowed: Vec<&str> = match expected {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| has_type(value, t)) {
            return Err(format!(
                "argument \"{name}\" must be {}, got {}",
                allowed.join(" or "),
                kind_of(value)
            ));
        }
    }
    Ok(())
}

/// Whether `value` is of JSON Schema type `t`; an unknown type name accepts anything.
fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64() || is_whole_float(value),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn is_whole_float(value: &Value) -> bool {
    value.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_matching_arguments() {
        let s = schema(json!({
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "integer"},
                           "tz": {"type": ["string", "null"]}, "free": {}},
            "required": ["a", "b"]
        }));
        assert_eq!(check_arguments(&s, &json!({"a": 1.5, "b": 2})), Ok(()));
        assert_eq!(
            check_arguments(&s, &json!({"a": 1, "b": 2.0, "tz": null, "free": [1]})),
            Ok(())
        );
        // Properties the schema does not describe are the server's business.
        assert_eq!(
            check_arguments(&s, &json!({"a": 1, "b": 2, "extra": "x"})),
            Ok(())
        );
    }

    #[test]
    fn names_missing_required_arguments() {
        let s = schema(json!({"type": "object", "required": ["a", "b"]}));
        assert_eq!(
            check_arguments(&s, &json!({})),
            Err("missing required arguments \"a\", \"b\"".into())
        );
        assert_eq!(
            check_arguments(&s, &json!({"a": 1})),
            Err("missing required argument \"b\"".into())
        );
    }

    #[test]
    fn names_the_wrong_type() {
        let s = schema(json!({"properties": {"a": {"type": "number"}, "n": {"type": "integer"}}}));
        assert_eq!(
            check_arguments(&s, &json!({"a": "1"})),
            Err("argument \"a\" must be number, got string".into())
        );
        assert_eq!(
            check_arguments(&s, &json!({"n": 1.5})),
            Err("argument \"n\" must be integer, got number".into())
        );
    }

    #[test]
    fn arguments_must_be_an_object() {
        let s = schema(json!({"type": "object"}));
        assert_eq!(
            check_arguments(&s, &json!("x")),
            Err("arguments must be a JSON object, got string".into())
        );
    }
}
