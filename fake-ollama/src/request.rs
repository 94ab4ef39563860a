//! Decoding the `POST /api/chat` body as Ollama does, with its error texts.
//!
//! Ollama binds the body with gin's `ShouldBindJSON` into `api.ChatRequest`;
//! a field of the wrong type fails with Go's decoder message (`json: cannot
//! unmarshal string into Go struct field ChatRequest.stream of type bool`),
//! which the fake imitates for the fields it reads. Unknown fields are
//! ignored, as gin does.

use serde_json::Value;

use crate::thinking::Think;
use crate::tools::{self, OfferedTool};

/// The fields of the request body the fake acts on.
pub(crate) struct ChatRequest {
    /// The model name exactly as sent.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    /// `keep_alive` is zero: with no messages, unload instead of load.
    pub unload: bool,
    pub think: Think,
    pub tools: Vec<OfferedTool>,
}

pub(crate) struct ChatMessage {
    /// Lowercased, as Ollama does.
    pub role: String,
    pub content: String,
    /// For `role: "tool"`: the tool whose result this is.
    pub tool_name: String,
}

impl ChatMessage {
    /// The tool's name for a quote, or "the tool" when the client sent none
    /// (`tool_name` is optional in Ollama).
    pub fn tool(&self) -> &str {
        if self.tool_name.is_empty() {
            "the tool"
        } else {
            &self.tool_name
        }
    }
}

impl ChatRequest {
    /// Decodes the body roughly as Go's `ShouldBindJSON` into `api.ChatRequest`
    /// would. Error texts follow Go's where they are simple to imitate; for
    /// syntax errors the decoder's own text is used (it differs from Go's).
    pub fn parse(body: &[u8]) -> Result<ChatRequest, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err("missing request body".into());
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let Value::Object(obj) = &value else {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type api.ChatRequest",
                kind(&value)
            ));
        };
        let field_error = |field: &str, v: &Value, go_type: &str| {
            format!(
                "json: cannot unmarshal {} into Go struct field ChatRequest.{field} of type {go_type}",
                kind(v)
            )
        };

        let model = match obj.get("model") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(field_error("model", v, "string")),
        };
        let messages = match obj.get("messages") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut messages = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(m) = item else {
                        return Err(field_error("messages", item, "api.Message"));
                    };
                    let text_field = |name: &str| match m.get(name) {
                        None | Some(Value::Null) => Ok(String::new()),
                        Some(Value::String(s)) => Ok(s.clone()),
                        Some(v) => Err(field_error(&format!("messages.{name}"), v, "string")),
                    };
                    // Checked for their type only: the fake does not use them.
                    text_field("thinking")?;
                    text_field("tool_call_id")?;
                    messages.push(ChatMessage {
                        role: text_field("role")?.to_lowercase(),
                        content: text_field("content")?,
                        tool_name: text_field("tool_name")?,
                    });
                }
                messages
            }
            Some(v) => return Err(field_error("messages", v, "[]api.Message")),
        };
        let stream = match obj.get("stream") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(field_error("stream", v, "bool")),
        };
        let think = Think::parse(obj.get("think"))?;
        let tools = tools::offered(obj.get("tools"))?;
        if model.is_empty() {
            return Err("model is required".into());
        }
        let unload = obj.get("keep_alive").is_some_and(is_zero_duration);
        Ok(ChatRequest {
            model,
            messages,
            stream,
            unload,
            think,
            tools,
        })
    }

    pub fn last_user_message(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
    }

    /// The `tool` messages at the end of the conversation (the results the
    /// client sends back after the model's calls), in order. Empty when the
    /// last message is not a tool result.
    pub fn trailing_tool_results(&self) -> Vec<&ChatMessage> {
        let count = self
            .messages
            .iter()
            .rev()
            .take_while(|m| m.role == "tool")
            .count();
        self.messages[self.messages.len() - count..]
            .iter()
            .collect()
    }
}

/// The JSON type name Go uses in its unmarshalling errors.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `0`, `0.0`, `"0"`, `"0s"`, `"0m"`...
fn is_zero_duration(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => {
            let number = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
            number.parse::<f64>() == Ok(0.0)
        }
        _ => false,
    }
}
