//! Tool calling, made deterministic: which offered tool the "model" calls, with
//! which arguments, under which id, and what it says about a tool's result.
//!
//! A real model decides from the conversation; the fake follows two rules a
//! test can steer:
//!
//! * **Calling.** When the request offers `tools` and the last user message
//!   *names* one of them (its `function.name` as a whole word: `get_time` is
//!   named in "use get_time now" but not in "get_times"), the reply calls each
//!   named tool once, in the order the message names them. When one offered
//!   name contains another (`time.now` and `now`), the longer match wins.
//! * **Arguments** come from the tool's JSON schema (`parameters`): every
//!   property listed in `required`, in that order, gets a value — the
//!   message's own `name=value` for it when there is one (`timezone=UTC`,
//!   `a=2`: JSON when it parses as JSON and the property is not a string,
//!   text otherwise), else the schema's `default`, `const`, first `enum` value
//!   or first of `examples`, else a value of its `type` (see [`example`]).
//!   Properties that are not required are sent only when the message gives
//!   them as `name=value`. That is how a test makes a call succeed
//!   (`timezone=Europe/Paris`) or fail (`timezone=Mars/Base`).
//!
//! Ollama writes arguments as an ordered object, so [`OrderedJson`] keeps
//! the order above on the wire. Ids are `call_` plus 8 characters of
//! `[a-z0-9]`, like Ollama's `toolCallId()`, but derived from the tool's name,
//! its index and the length of the conversation instead of a random source,
//! so two runs send the same bytes and two turns get different ids.

use serde_json::Value;

use crate::wire::OrderedJson;

/// One entry of the request's `tools`: `{"type":"function","function":{...}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OfferedTool {
    pub name: String,
    /// The JSON schema of the arguments (`Value::Null` when absent).
    pub parameters: Value,
}

/// Reads the request's `tools` field. Entries without a function name are
/// skipped (a model could not call them); a `tools` that is not an array is a
/// decoding error, as in Go.
pub(crate) fn offered(tools: Option<&Value>) -> Result<Vec<OfferedTool>, String> {
    let items = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
            "json: cannot unmarshal {} into Go struct field ChatRequest.tools of type api.Tools",
            crate::request::kind(other)
        ))
        }
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let function = item.get("function")?;
            let name = function.get("name")?.as_str()?.to_string();
            (!name.is_empty()).then(|| OfferedTool {
                name,
                parameters: function.get("parameters").cloned().unwrap_or(Value::Null),
            })
        })
        .collect())
}

/// A character that can be part of a tool name's word (so it cannot border a
/// match).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// The offered tools that `message` names, in the order it names them, each
/// once.
pub(crate) fn named_in<'t>(message: &str, tools: &'t [OfferedTool]) -> Vec<&'t OfferedTool> {
    // Every whole-word occurrence: (start, end, tool).
    let mut hits: Vec<(usize, usize, &OfferedTool)> = Vec::new();
    for tool in tools {
        for (start, _) in message.match_indices(tool.name.as_str()) {
            let end = start + tool.name.len();
            let before = message[..start].chars().next_back();
            let after = message[end..].chars().next();
            if !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char) {
                hits.push((start, end, tool));
            }
        }
    }
    // Earliest first; at the same start the longest; then drop overlaps.
    hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut named: Vec<&OfferedTool> = Vec::new();
    let mut covered_to = 0;
    for (start, end, tool) in hits {
        if start < covered_to {
            continue;
        }
        covered_to = end;
        if !named.iter().any(|t| t.name == tool.name) {
            named.push(tool);
        }
    }
    named
}

/// `name=value` pairs written in the message, in order.
fn assignments(message: &str) -> Vec<(&str, &str)> {
    message
        .split_whitespace()
        .filter_map(|word| {
            let (name, value) = word.split_once('=')?;
            let value = value.trim_end_matches([',', ';']);
            (!name.is_empty() && !value.is_empty()).then_some((name, value))
        })
        .collect()
}

/// The first type a schema allows: `"type": "string"` or `"type":
/// ["string", "null"]` (the first that is not `null`).
fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null")),
        _ if schema.get("properties").is_some() => Some("object"),
        _ => None,
    }
}

/// The schema of a property, looking through a first `anyOf`/`oneOf` branch.
fn resolved(schema: &Value) -> &Value {
    for key in ["anyOf", "oneOf", "allOf"] {
        if schema.get("type").is_none() {
            if let Some(first) = schema.get(key).and_then(|v| v.get(0)) {
                return first;
            }
        }
    }
    schema
}

/// A deterministic value the schema accepts: its `default`, `const`, first
/// `enum` or first of `examples` when it has one; else, by type, a string
/// (`"example"`, or a sample of its `format`: date-time, date, time, email,
/// uri, uuid), the `minimum` (or 1) for numbers, `true`, an array of one
/// example item (empty when `items` is missing), an object of its required
/// properties, `null`.
pub(crate) fn example(schema: &Value) -> OrderedJson {
    let schema = resolved(schema);
    for key in ["default", "const"] {
        if let Some(v) = schema.get(key) {
            return OrderedJson::Plain(v.clone());
        }
    }
    for key in ["enum", "examples"] {
        if let Some(first) = schema.get(key).and_then(|v| v.get(0)) {
            return OrderedJson::Plain(first.clone());
        }
    }
    let plain = |v: Value| OrderedJson::Plain(v);
    match schema_type(schema) {
        Some("string") => plain(Value::from(
            match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => "2026-01-01T00:00:00Z",
                Some("date") => "2026-01-01",
                Some("time") => "00:00:00",
                Some("email") => "user@example.com",
                Some("uri" | "url") => "https://example.com/",
                Some("uuid") => "00000000-0000-4000-8000-000000000000",
                _ => "example",
            },
        )),
        Some("integer") => plain(
            schema
                .get("minimum")
                .and_then(Value::as_i64)
                .map_or(Value::from(1), Value::from),
        ),
        Some("number") => plain(
            schema
                .get("minimum")
                .filter(|m| m.is_number())
                .cloned()
                .unwrap_or(Value::from(1)),
        ),
        Some("boolean") => plain(Value::Bool(true)),
        Some("array") => OrderedJson::Array(schema.get("items").map(example).into_iter().collect()),
        Some("object") => object(schema, &[]),
        Some("null") => plain(Value::Null),
        _ => plain(Value::from("example")),
    }
}

/// An object for `schema`: its required properties in order, each from the
/// message's `given` pairs when there, else [`example`]; then the other
/// `given` pairs that name a (non-required) property of the schema.
fn object(schema: &Value, given: &[(&str, &str)]) -> OrderedJson {
    let properties = schema.get("properties");
    let property = |name: &str| properties.and_then(|p| p.get(name)).unwrap_or(&Value::Null);
    let value_of = |name: &str| -> OrderedJson {
        match given.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => from_text(text, property(name)),
            None => example(property(name)),
        }
    };
    let mut entries: Vec<(String, OrderedJson)> = Vec::new();
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        if !entries.iter().any(|(n, _)| n == name) {
            entries.push((name.to_string(), value_of(name)));
        }
    }
    for (name, _) in given {
        let known = properties.and_then(|p| p.get(*name)).is_some();
        if known && !entries.iter().any(|(n, _)| n == name) {
            entries.push((name.to_string(), value_of(name)));
        }
    }
    OrderedJson::Object(entries)
}

/// The value of `name=text` from a message, typed by the property's schema.
fn from_text(text: &str, schema: &Value) -> OrderedJson {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let value = match (schema_type(resolved(schema)), parsed) {
        // A string property takes the text, unquoted if it was a JSON string.
        (Some("string"), Some(Value::String(s))) => Value::String(s),
        (Some("string"), _) => Value::from(text),
        (_, Some(v)) => v,
        (_, None) => Value::from(text),
    };
    OrderedJson::Plain(value)
}

/// The arguments of a call to `tool` named in `message`.
pub(crate) fn arguments(tool: &OfferedTool, message: &str) -> OrderedJson {
    object(&tool.parameters, &assignments(message))
}

/// `call_` + 8 characters of `[a-z0-9]`, from FNV-1a over the inputs.
pub(crate) fn call_id(name: &str, index: usize, conversation_len: usize) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for b in format!("{name}\u{0}{index}\u{0}{conversation_len}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = String::from("call_");
    for _ in 0..8 {
        id.push(char::from(ALPHABET[(h % 36) as usize]));
        h /= 36;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, parameters: Value) -> OfferedTool {
        OfferedTool {
            name: name.into(),
            parameters,
        }
    }

    fn wire(v: &OrderedJson) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn offered_reads_function_names_and_schemas() {
        let tools = json!([
            {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"description": "no name"}},
            {"type": "function", "function": {"name": "b"}},
        ]);
        let read = offered(Some(&tools)).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].name, "a");
        assert_eq!(read[1].parameters, Value::Null);
        assert!(offered(None).unwrap().is_empty());
        assert!(offered(Some(&json!("x"))).is_err());
    }

    #[test]
    fn names_are_matched_as_whole_words_in_order() {
        let tools = [
            tool("echo", Value::Null),
            tool("get_time", Value::Null),
            tool("time.now", Value::Null),
            tool("now", Value::Null),
        ];
        let names = |m: &str| -> Vec<String> {
            named_in(m, &tools).iter().map(|t| t.name.clone()).collect()
        };
        assert_eq!(names("use get_time, then echo"), ["get_time", "echo"]);
        assert_eq!(names("get_times echoes"), Vec::<String>::new());
        assert_eq!(names("call time.now"), ["time.now"], "longest match wins");
        assert_eq!(names("now and time.now"), ["now", "time.now"]);
        assert_eq!(names("echo echo echo"), ["echo"], "once each");
    }

    #[test]
    fn required_properties_get_schema_values_in_required_order() {
        let schema = json!({
            "type": "object",
            "properties": {
                "zone": {"type": "string"},
                "count": {"type": "integer", "minimum": 3},
                "ratio": {"type": "number"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "verbose": {"type": "boolean", "default": false},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "examples": ["t1"]}},
                "where": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
                "maybe": {"type": ["null", "integer"]},
                "optional": {"type": "string"},
            },
            "required": ["zone", "count", "ratio", "unit", "verbose", "when", "tags", "where", "maybe"],
        });
        let args = arguments(&tool("t", schema), "please call t");
        assert_eq!(
            wire(&args),
            r#"{"zone":"example","count":3,"ratio":1,"unit":"celsius","verbose":false,"when":"2026-01-01T00:00:00Z","tags":["t1"],"where":{"lat":1},"maybe":1}"#
        );
    }

    #[test]
    fn the_message_can_give_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "timezone": {"type": "string"},
                "a": {"type": "number"},
                "code": {"type": "string"},
                "extra": {"type": "boolean"},
            },
            "required": ["timezone", "a", "code"],
        });
        let args = arguments(
            &tool("t", schema),
            "t timezone=Europe/Paris, a=2.5 code=42 extra=true unknown=1",
        );
        assert_eq!(
            wire(&args),
            r#"{"timezone":"Europe/Paris","a":2.5,"code":"42","extra":true}"#
        );
    }

    #[test]
    fn no_schema_means_no_arguments() {
        assert_eq!(wire(&arguments(&tool("t", Value::Null), "t")), "{}");
    }

    #[test]
    fn call_ids_look_like_ollamas_and_are_stable() {
        let id = call_id("get_time", 0, 1);
        assert_eq!(id.len(), 13);
        assert!(id.starts_with("call_"));
        assert!(id[5..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_eq!(id, call_id("get_time", 0, 1));
        assert_ne!(id, call_id("get_time", 1, 1));
        assert_ne!(id, call_id("get_time", 0, 3));
    }
}
