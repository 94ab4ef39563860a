//! Serde types for Ollama's `/api/chat` and `/api/tags` JSON, as the server writes them.
//!
//! Field names and optionality follow `api/types.go` of ollama/ollama: every metric on the
//! final chunk is `omitempty` (a zero is left out, not sent as 0), `done_reason` exists only
//! on the `done:true` object, and `message.content` is always present but may be empty.
//! Unknown fields are ignored so newer servers (thinking, tool calls, logprobs) still parse.

use serde::{Deserialize, Serialize};

/// One message of the conversation, as sent in `messages[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role as Ollama spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
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
    pub options: ChatOptions,
}

/// The `options` object: the sampling parameters we send.
#[derive(Debug, Serialize)]
pub struct ChatOptions {
    pub temperature: f64,
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

/// The `message` of a chunk: only `content` matters to a text chat.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkMessage {
    #[serde(default)]
    pub content: String,
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
            options: ChatOptions { temperature: 0.5 },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"options":{"temperature":0.5}}"#
        );
    }
}
