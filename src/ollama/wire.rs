//! Serde types for Ollama's `/api/chat` and `/api/tags` JSON, as the server writes them.
//!
//! Field names and optionality follow `api/types.go` of ollama/ollama: every metric on the
//! final chunk is `omitempty` (a zero is left out, not sent as 0), `done_reason` exists only
//! on the `done:true` object, and `message.content` is always present but may be empty.
//! Unknown fields are ignored so newer servers (tool calls, logprobs) still parse.
//!
//! Thinking models (qwen3, deepseek-r1, gpt-oss…) stream their reasoning in
//! `message.thinking` before the answer in `message.content`; the request's `think` field
//! asks for it (`true`/`false`, or a level), and an assistant message sent back in the
//! history carries its `thinking` as `ollama run` does.

use serde::{Deserialize, Serialize};

/// One message of the conversation, as sent in `messages[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// The model's reasoning before this (assistant) message, when it thought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// The tools an assistant message asked to run (sent back in the history as is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: which tool's result this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// One tool call of an assistant message, in Ollama's shape: `arguments` is an object,
/// there is no `type` field, and `function.index` orders the calls of one reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub function: ToolCallFunction,
}

/// The function part of a [`ToolCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallFunction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, sent back to the model.
    Tool,
}

impl Role {
    /// The role as Ollama spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            thinking: None,
            tool_calls: Vec::new(),
            tool_name: None,
        }
    }

    /// An assistant message with the reasoning that came before it (`None` or empty: none).
    pub fn assistant(content: impl Into<String>, thinking: Option<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
            thinking: thinking.filter(|t| !t.is_empty()),
            tool_calls: Vec::new(),
            tool_name: None,
        }
    }

    /// A tool's result for the model, as Ollama expects it back.
    pub fn tool_result(tool_name: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_name: Some(tool_name.into()),
            ..Message::new(Role::Tool, content)
        }
    }
}

/// The body of `POST /api/chat`.
#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    /// Ollama streams unless told `false`; we say `true` explicitly so the request reads clearly.
    pub stream: bool,
    pub options: &'a ChatOptions,
    /// Left out when the user chose nothing: a thinking-capable model then thinks by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think: Option<Think>,
    /// The tools the model may call, in Ollama's `{"type":"function","function":{…}}` shape.
    #[serde(skip_serializing_if = "<[serde_json::Value]>::is_empty")]
    pub tools: &'a [serde_json::Value],
}

/// The request's `think` field: a boolean, or a level for models that take one (gpt-oss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Think {
    Bool(bool),
    Level(ThinkLevel),
}

/// A reasoning effort, as Ollama spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkLevel {
    Low,
    Medium,
    High,
    Max,
}

impl ThinkLevel {
    pub fn as_str(&self) -> &'static str {
        match self {
            ThinkLevel::Low => "low",
            ThinkLevel::Medium => "medium",
            ThinkLevel::High => "high",
            ThinkLevel::Max => "max",
        }
    }
}

impl Think {
    /// The value as sent: `true`, `false`, or the level.
    pub fn as_str(&self) -> &'static str {
        match self {
            Think::Bool(true) => "true",
            Think::Bool(false) => "false",
            Think::Level(level) => level.as_str(),
        }
    }

    /// Parses what a user types after `--think` or `/set think` (empty means `true`, as a
    /// bare `--think` does in `ollama run`).
    pub fn parse(raw: &str) -> Option<Think> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "" | "true" => Think::Bool(true),
            "false" => Think::Bool(false),
            "low" => Think::Level(ThinkLevel::Low),
            "medium" => Think::Level(ThinkLevel::Medium),
            "high" => Think::Level(ThinkLevel::High),
            "max" => Think::Level(ThinkLevel::Max),
            _ => return None,
        })
    }
}

/// The `options` object: Ollama's model parameters. Only what the user set is sent, so
/// the model's own defaults (from its Modelfile) apply to the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatOptions {
    pub temperature: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<i64>,
}

/// One NDJSON line of a streamed reply. An error line has only `error`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChatChunk {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub message: Option<ChunkMessage>,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Present only on failure: `{"error":"..."}` (mid-stream, or as the only line on old servers).
    #[serde(default)]
    pub error: Option<String>,
    // Ollama's metrics, final chunk only. Spelled out rather than `#[serde(flatten)]`-ed
    // from `ServerMetrics`: flatten buffers every field of every line, ~20 % slower on
    // the per-chunk hot path. `metrics()` gathers them.
    #[serde(default)]
    total_duration: Option<u64>,
    #[serde(default)]
    load_duration: Option<u64>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    prompt_eval_duration: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    eval_duration: Option<u64>,
}

impl ChatChunk {
    /// Ollama's accounting from this chunk (all `None` except on the final one).
    pub fn metrics(&self) -> ServerMetrics {
        ServerMetrics {
            total_duration: self.total_duration,
            load_duration: self.load_duration,
            prompt_eval_count: self.prompt_eval_count,
            prompt_eval_duration: self.prompt_eval_duration,
            eval_count: self.eval_count,
            eval_duration: self.eval_duration,
        }
    }
}

/// The `message` of a chunk: the answer's text, or the reasoning's (never both in practice).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkMessage {
    #[serde(default)]
    pub content: String,
    /// Present only while a thinking model reasons (then `content` is `""`).
    #[serde(default)]
    pub thinking: String,
    /// Complete tool calls (Ollama sends each whole, never in pieces).
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
}

/// Ollama's own accounting, present on the final chunk only. Durations are nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerMetrics {
    pub total_duration: Option<u64>,
    pub load_duration: Option<u64>,
    pub prompt_eval_count: Option<u64>,
    pub prompt_eval_duration: Option<u64>,
    pub eval_count: Option<u64>,
    pub eval_duration: Option<u64>,
}

/// Body of `GET /api/tags`.
#[derive(Debug, Clone, Deserialize)]
pub struct TagsResponse {
    #[serde(default)]
    pub models: Vec<ModelInfo>,
}

/// One locally available model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub details: ModelDetails,
}

/// The `details` of a model in `/api/tags`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModelDetails {
    #[serde(default)]
    pub parameter_size: String,
    #[serde(default)]
    pub quantization_level: String,
}

/// Body of every Ollama error response: `{"error":"..."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The final chunk of a real transcript parses with all six metrics.
    #[test]
    fn final_chunk_parses_metrics() {
        let line = r#"{"model":"llama3.2","created_at":"2026-08-22T10:15:03.523914Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":171902334,"load_duration":18743211,"prompt_eval_count":31,"prompt_eval_duration":40211000,"eval_count":9,"eval_duration":98442000}"#;
        let chunk: ChatChunk = serde_json::from_str(line).unwrap();
        assert!(chunk.done);
        assert_eq!(chunk.done_reason.as_deref(), Some("stop"));
        assert_eq!(chunk.metrics().prompt_eval_count, Some(31));
        assert_eq!(chunk.metrics().eval_count, Some(9));
        assert_eq!(chunk.metrics().total_duration, Some(171_902_334));
    }

    /// Go escapes `<` as `\u003c`; any JSON parser must read it back.
    #[test]
    fn go_escapes_decode() {
        let line =
            r#"{"model":"m","message":{"role":"assistant","content":" \u003c"},"done":false}"#;
        let chunk: ChatChunk = serde_json::from_str(line).unwrap();
        assert_eq!(chunk.message.as_ref().unwrap().content, " <");
        assert_eq!(chunk.metrics(), ServerMetrics::default());
    }

    /// The request body is what Ollama expects, roles in lowercase.
    #[test]
    fn request_serialises() {
        let messages = [Message::new(Role::User, "hi")];
        let body = ChatRequest {
            model: "m",
            messages: &messages,
            stream: true,
            options: &ChatOptions {
                temperature: 0.5,
                ..ChatOptions::default()
            },
            think: None,
            tools: &[],
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"options":{"temperature":0.5}}"#
        );
    }

    /// `think` is a boolean or a level string; set options are sent, unset ones are not;
    /// an assistant message carries its thinking back.
    #[test]
    fn think_options_and_thinking_serialise() {
        let messages = [
            Message::new(Role::User, "hi"),
            Message::assistant("hello", Some("greet back".into())),
        ];
        let options = ChatOptions {
            temperature: 0.7,
            num_predict: Some(64),
            stop: vec!["\n\n".into()],
            ..ChatOptions::default()
        };
        let level = ChatRequest {
            model: "gpt-oss:20b",
            messages: &messages,
            stream: true,
            options: &options,
            think: Some(Think::Level(ThinkLevel::High)),
            tools: &[],
        };
        assert_eq!(
            serde_json::to_string(&level).unwrap(),
            r#"{"model":"gpt-oss:20b","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello","thinking":"greet back"}],"stream":true,"options":{"temperature":0.7,"num_predict":64,"stop":["\n\n"]},"think":"high"}"#
        );
        let off = ChatRequest {
            think: Some(Think::Bool(false)),
            ..level
        };
        assert!(serde_json::to_string(&off)
            .unwrap()
            .ends_with(r#""think":false}"#));
        assert_eq!(Think::parse(""), Some(Think::Bool(true)));
        assert_eq!(Think::parse("MAX"), Some(Think::Level(ThinkLevel::Max)));
        assert_eq!(Think::parse("extreme"), None);
    }

    /// A thinking chunk has `thinking` text and an empty `content`.
    #[test]
    fn thinking_chunk_parses() {
        let line = r#"{"model":"qwen3","created_at":"2026-08-22T10:15:03Z","message":{"role":"assistant","content":"","thinking":"Okay, "},"done":false}"#;
        let chunk: ChatChunk = serde_json::from_str(line).unwrap();
        let message = chunk.message.unwrap();
        assert_eq!(message.thinking, "Okay, ");
        assert_eq!(message.content, "");
    }
}
