//! GenAI message capture: the conversation as the semantic conventions' JSON, for
//! `gen_ai.input.messages` and `gen_ai.output.messages`.
//!
//! LLM-observability backends (Langfuse, Phoenix, Grafana's agent views) show a chat from
//! these two attributes, in the exact shapes of the conventions' schemas
//! (`gen-ai-input-messages.json`, `gen-ai-output-messages.json`): each message is a `role`
//! and a list of typed `parts` — `text`, `reasoning` (a thinking model's `thinking`),
//! `tool_call`, `tool_call_response`. Captured only when content capture is on.
//!
//! A conversation grows with every turn, a span should not: each text part is truncated
//! like the reply is, and only the newest messages that fit in [`MAX_INPUT_BYTES`] are
//! kept (always at least the last one), with the total count recorded beside them.

use serde_json::{json, Value};

use crate::ollama::wire::{Message, Role};
use crate::text::truncate;

/// The most characters of one text part.
pub const MAX_PART_CHARS: usize = 4096;
/// The most bytes of `gen_ai.input.messages` (older messages are left out first).
pub const MAX_INPUT_BYTES: usize = 32 * 1024;

/// `gen_ai.input.messages`: the newest messages of `messages` that fit, as JSON, and how
/// many of them that is.
pub fn input_messages(messages: &[Message]) -> (String, usize) {
    let mut kept: Vec<Value> = Vec::new();
    let mut bytes = 2; // the brackets
    for message in messages.iter().rev() {
        let value = message_json(message);
        let size = value.to_string().len() + 1;
        if !kept.is_empty() && bytes + size > MAX_INPUT_BYTES {
            break;
        }
        bytes += size;
        kept.push(value);
    }
    kept.reverse();
    let count = kept.len();
    (Value::Array(kept).to_string(), count)
}

/// `gen_ai.output.messages`: the reply (reasoning first, then text and tool calls) with the
/// conventions' finish reason.
pub fn output_messages(reply: &Message, finish_reason: &str) -> String {
    let mut message = message_json(reply);
    message["finish_reason"] = Value::from(finish_reason);
    Value::Array(vec![message]).to_string()
}

/// Ollama's `done_reason` as a GenAI finish reason: `stop` and `length` are the same;
/// a reply that ended in tool calls is `tool_call` (Ollama says `stop` there too).
pub fn finish_reason(done_reason: Option<&str>, called_tools: bool) -> &'static str {
    match done_reason {
        _ if called_tools => "tool_call",
        Some("length") => "length",
        _ => "stop",
    }
}

fn message_json(message: &Message) -> Value {
    let text =
        |content: &str| json!({"type": "text", "content": truncate(content, MAX_PART_CHARS)});
    let mut parts = Vec::new();
    match message.role {
        Role::Tool => parts.push(json!({
            "type": "tool_call_response",
            "response": truncate(&message.content, MAX_PART_CHARS),
        })),
        _ => {
            if let Some(thinking) = message.thinking.as_deref().filter(|t| !t.is_empty()) {
                parts.push(
                    json!({"type": "reasoning", "content": truncate(thinking, MAX_PART_CHARS)}),
                );
            }
            if !message.content.is_empty() || message.tool_calls.is_empty() {
                parts.push(text(&message.content));
            }
            for call in &message.tool_calls {
                parts.push(json!({
                    "type": "tool_call",
                    "id": call.id,
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                }));
            }
        }
    }
    let mut value = json!({"role": message.role.as_str(), "parts": parts});
    if let (Role::Tool, Some(name)) = (message.role, &message.tool_name) {
        value["name"] = Value::from(name.as_str());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ollama::wire::{ToolCall, ToolCallFunction};

    /// Every kind of message maps to its parts, reasoning before text.
    #[test]
    fn parts_by_role() {
        let mut assistant = Message::assistant("It is noon.", Some("Check the time.".into()));
        assistant.tool_calls.push(ToolCall {
            id: Some("call_abc12345".into()),
            function: ToolCallFunction {
                index: Some(0),
                name: "get_current_time".into(),
                arguments: json!({"timezone": "UTC"}),
            },
        });
        let messages = [
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Time?"),
            assistant,
            Message::tool_result("get_current_time", "12:00"),
        ];
        let (json, count) = input_messages(&messages);
        assert_eq!(count, 4);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v[0],
            json!({"role": "system", "parts": [{"type": "text", "content": "Be brief."}]})
        );
        assert_eq!(
            v[2]["parts"][0],
            json!({"type": "reasoning", "content": "Check the time."})
        );
        assert_eq!(v[2]["parts"][1]["type"], "text");
        assert_eq!(v[2]["parts"][2]["name"], "get_current_time");
        assert_eq!(
            v[3]["parts"][0],
            json!({"type": "tool_call_response", "response": "12:00"})
        );
        let out: Value = serde_json::from_str(&output_messages(&messages[2], "tool_call")).unwrap();
        assert_eq!(out[0]["finish_reason"], "tool_call");
    }

    /// A long conversation keeps its newest messages within the byte budget.
    #[test]
    fn input_is_bounded_newest_first() {
        let messages: Vec<Message> = (0..200)
            .map(|i| Message::new(Role::User, format!("{i} {}", "x".repeat(1000))))
            .collect();
        let (json, count) = input_messages(&messages);
        assert!(json.len() <= MAX_INPUT_BYTES, "{}", json.len());
        assert!(count > 10 && count < 200, "{count}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert!(v[count - 1]["parts"][0]["content"]
            .as_str()
            .unwrap()
            .starts_with("199 "));
        // One huge message is still sent, truncated.
        let (json, count) = input_messages(&[Message::new(Role::User, "y".repeat(100_000))]);
        assert_eq!(count, 1);
        assert!(json.len() < 5000);
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason(Some("stop"), false), "stop");
        assert_eq!(finish_reason(Some("length"), false), "length");
        assert_eq!(finish_reason(Some("stop"), true), "tool_call");
        assert_eq!(finish_reason(None, false), "stop");
    }
}
