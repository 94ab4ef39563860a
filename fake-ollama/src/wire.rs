//! The JSON bodies Ollama writes, byte for byte.
//!
//! A client under test should not care about key order or escaping, but a fake
//! that is "faithful" has to produce the bytes a real server produces, so that a
//! client which happens to depend on them (or a test comparing raw bytes with a
//! transcript) sees no difference. Two properties of Go's `encoding/json` matter:
//!
//! * **Key order is the Go struct's field order.** `serde_json::json!` would sort
//!   the keys (its map is a `BTreeMap` unless the `preserve_order` feature is on,
//!   and turning that on would change the map type for the whole workspace), so
//!   every body here is a `#[derive(Serialize)]` struct whose fields are declared
//!   in Go's order. Go *maps* are written with sorted keys, which is what a
//!   `BTreeMap` gives us for `model_info`.
//! * **`<`, `>` and `&` are escaped** as `\u003c`, `\u003e`, `\u0026` (and U+2028,
//!   U+2029 as `\u2028`, `\u2029`), because Go's encoder is HTML-safe by default.
//!   `serde_json` writes them raw. Those characters can only occur inside JSON
//!   strings, so replacing them in the finished text is exact; see [`to_go_json`].
//!
//! `omitempty` fields become `Option`s or `skip_serializing_if = "is_zero"`.

use serde::Serialize;
use std::collections::BTreeMap;

/// Serialises `value` compactly, then applies Go's HTML-safe escaping.
pub(crate) fn to_go_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail: no maps with non-string keys,
    // no custom `Serialize` impls that return errors.
    let plain = serde_json::to_string(value).expect("response bodies always serialise");
    go_escape(&plain)
}

/// Rewrites the characters Go escapes and `serde_json` does not.
///
/// Only valid on JSON text produced by `serde_json`: there the five characters
/// appear only inside string literals and never after a backslash.
pub(crate) fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `api.Message` as the server writes it: `content` is always present (no
/// `omitempty`); `thinking` and `tool_calls` only when non-empty, in Go's
/// field order (`role`, `content`, `thinking`, `images`, `tool_calls`, ...).
/// The fake never sends `images`.
#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub role: &'static str,
    pub content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallJson<'a>>>,
}

impl<'a> Message<'a> {
    /// An assistant message with only `content`.
    pub fn text(content: &'a str) -> Message<'a> {
        Message {
            role: "assistant",
            content,
            thinking: None,
            tool_calls: None,
        }
    }
}

/// `api.ToolCall`: `{"id":"call_…","function":{"index":0,"name":…,"arguments":{…}}}`.
/// There is no `type` field in Ollama's answer (requests' `tools` have one).
#[derive(Serialize)]
pub(crate) struct ToolCallJson<'a> {
    pub id: &'a str,
    pub function: FunctionJson<'a>,
}

/// `api.ToolCallFunction`: `index` is always written, `arguments` is an object.
#[derive(Serialize)]
pub(crate) struct FunctionJson<'a> {
    pub index: usize,
    pub name: &'a str,
    pub arguments: &'a OrderedJson,
}

/// A JSON value whose objects keep the order their keys were inserted in, as
/// Go's `ToolCallFunctionArguments` (an ordered map) does. `serde_json::Value`
/// would sort them (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrderedJson {
    /// Anything that is not an object: written as `serde_json` writes it.
    Plain(serde_json::Value),
    /// An array whose elements may hold ordered objects.
    Array(Vec<OrderedJson>),
    /// An object, keys in this order.
    Object(Vec<(String, OrderedJson)>),
}

impl OrderedJson {
    /// The same value as a `serde_json::Value` (keys sorted, as usual).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            OrderedJson::Plain(v) => v.clone(),
            OrderedJson::Array(items) => items.iter().map(OrderedJson::to_value).collect(),
            OrderedJson::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl Serialize for OrderedJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            OrderedJson::Plain(v) => v.serialize(serializer),
            OrderedJson::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            OrderedJson::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// `api.Metrics`, flattened into the chat response as Go embeds it. Every field is
/// `omitempty`, so zero means "left out". Durations are integer nanoseconds.
#[derive(Serialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Metrics {
    #[serde(skip_serializing_if = "is_zero")]
    pub total_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub load_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_duration: u64,
}

/// `api.ChatResponse`: one NDJSON line of a stream, the single body of a
/// `stream:false` answer, and the `load`/`unload` answer.
#[derive(Serialize)]
pub(crate) struct ChatResponse<'a> {
    pub model: &'a str,
    pub created_at: String,
    pub message: Message<'a>,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<&'a str>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// `gin.H{"error": ...}`: the body of every error, before or inside a stream.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// `{"error":"<message>"}` with no trailing newline.
pub(crate) fn error_json(message: &str) -> String {
    to_go_json(&ErrorBody { error: message })
}

/// `{"version":"0.12.6"}`.
#[derive(Serialize)]
pub(crate) struct VersionResponse<'a> {
    pub version: &'a str,
}

/// `api.ModelDetails`.
#[derive(Serialize, Clone)]
pub(crate) struct ModelDetails {
    pub parent_model: String,
    pub format: String,
    pub family: String,
    pub families: Vec<String>,
    pub parameter_size: String,
    pub quantization_level: String,
}

/// One entry of `GET /api/tags` (`api.ListModelResponse`).
#[derive(Serialize)]
pub(crate) struct ListModel {
    pub name: String,
    pub model: String,
    pub modified_at: String,
    pub size: u64,
    pub digest: String,
    pub details: ModelDetails,
    pub capabilities: Vec<&'static str>,
}

/// `GET /api/tags` (`api.ListResponse`).
#[derive(Serialize)]
pub(crate) struct ListResponse {
    pub models: Vec<ListModel>,
}

/// `POST /api/show` (`api.ShowResponse`, the fields the fake fills in).
#[derive(Serialize)]
pub(crate) struct ShowResponse {
    pub license: String,
    pub modelfile: String,
    pub parameters: String,
    pub template: String,
    pub details: ModelDetails,
    pub model_info: BTreeMap<String, serde_json::Value>,
    pub capabilities: Vec<&'static str>,
    pub modified_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_characters_are_escaped_like_go() {
        let msg = Message::text("<tag> & more \u{2028} é 🙂 \"q\" \\ \n");
        assert_eq!(
            to_go_json(&msg),
            r#"{"role":"assistant","content":"\u003ctag\u003e \u0026 more \u2028 é 🙂 \"q\" \\ \n"}"#
        );
    }

    #[test]
    fn final_chunk_matches_the_transcript_byte_for_byte() {
        // Last line of ollama-transcripts/chat-stream-ok.ndjson.
        let expected = r#"{"model":"llama3.2","created_at":"2026-08-22T10:15:03.523914Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":171902334,"load_duration":18743211,"prompt_eval_count":31,"prompt_eval_duration":40211000,"eval_count":9,"eval_duration":98442000}"#;
        let chunk = ChatResponse {
            model: "llama3.2",
            created_at: "2026-08-22T10:15:03.523914Z".into(),
            message: Message::text(""),
            done: true,
            done_reason: Some("stop"),
            metrics: Metrics {
                total_duration: 171_902_334,
                load_duration: 18_743_211,
                prompt_eval_count: 31,
                prompt_eval_duration: 40_211_000,
                eval_count: 9,
                eval_duration: 98_442_000,
            },
        };
        assert_eq!(to_go_json(&chunk), expected);
    }

    #[test]
    fn intermediate_chunk_leaves_out_done_reason_and_zero_metrics() {
        let expected = r#"{"model":"llama3.2","created_at":"2026-08-22T10:15:09.34936Z","message":{"role":"assistant","content":" \u003c"},"done":false}"#;
        let chunk = ChatResponse {
            model: "llama3.2",
            created_at: "2026-08-22T10:15:09.34936Z".into(),
            message: Message::text(" <"),
            done: false,
            done_reason: None,
            metrics: Metrics::default(),
        };
        assert_eq!(to_go_json(&chunk), expected);
    }

    #[test]
    fn thinking_and_tool_calls_follow_content_in_go_order() {
        let arguments = OrderedJson::Object(vec![
            ("zone".into(), OrderedJson::Plain("UTC".into())),
            ("a".into(), OrderedJson::Plain(1.into())),
        ]);
        let msg = Message {
            role: "assistant",
            content: "",
            thinking: Some("hmm <"),
            tool_calls: Some(vec![ToolCallJson {
                id: "call_ab12cd34",
                function: FunctionJson {
                    index: 0,
                    name: "get_time",
                    arguments: &arguments,
                },
            }]),
        };
        assert_eq!(
            to_go_json(&msg),
            r#"{"role":"assistant","content":"","thinking":"hmm \u003c","tool_calls":[{"id":"call_ab12cd34","function":{"index":0,"name":"get_time","arguments":{"zone":"UTC","a":1}}}]}"#
        );
        assert_eq!(
            arguments.to_value(),
            serde_json::json!({"a": 1, "zone": "UTC"})
        );
    }

    #[test]
    fn error_body_has_no_newline() {
        assert_eq!(
            error_json("model 'llama3.2' not found"),
            r#"{"error":"model 'llama3.2' not found"}"#
        );
    }
}
