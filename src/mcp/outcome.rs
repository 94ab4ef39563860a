//! How a tool call ended, as a value: every failure is an outcome the model reads and the
//! user sees in one line, never an error that ends the turn.

use std::time::Duration;

use crate::telemetry::names::tools;

/// Tool results longer than this are cut before they reach the model (and the history):
/// a runaway tool must not fill the context window.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

/// The end of one [`super::McpServers::call`].
#[derive(Clone, Debug, PartialEq)]
pub enum ToolOutcome {
    /// The tool ran; its text content, concatenated and bounded.
    Success { text: String, truncated: bool },
    /// The tool ran and reported a failure (`isError: true`); its text explains it.
    ToolError { text: String },
    /// No server offers a tool by this name.
    UnknownTool,
    /// The arguments do not fit the tool's input schema; nothing was sent.
    InvalidArguments { reason: String },
    /// The tool's server is still starting or has failed.
    Unavailable { server: String, reason: String },
    /// No answer in time; `notifications/cancelled` was sent for the request.
    Timeout { after: Duration },
    /// The server's pipe closed mid-call (it exited or crashed).
    Crashed { server: String, reason: String },
    /// The server answered with a JSON-RPC error.
    RpcError { code: i32, message: String },
    /// The server answered something that is not a tool result.
    UnexpectedResponse,
}

impl ToolOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, ToolOutcome::Success { .. })
    }

    /// The low-cardinality `error.type` for the `execute_tool` span; `None` on success.
    pub fn error_type(&self) -> Option<String> {
        let kind = match self {
            ToolOutcome::Success { .. } => return None,
            ToolOutcome::ToolError { .. } => tools::ERROR_TOOL_ERROR,
            ToolOutcome::UnknownTool => tools::ERROR_UNKNOWN_TOOL,
            ToolOutcome::InvalidArguments { .. } => tools::ERROR_INVALID_ARGUMENTS,
            ToolOutcome::Unavailable { .. } => tools::ERROR_SERVER_UNAVAILABLE,
            ToolOutcome::Timeout { .. } => tools::ERROR_TIMEOUT,
            ToolOutcome::Crashed { .. } => tools::ERROR_CONNECTION_CLOSED,
            // The conventions: the JSON-RPC error code, as a string.
            ToolOutcome::RpcError { code, .. } => return Some(code.to_string()),
            ToolOutcome::UnexpectedResponse => tools::ERROR_UNEXPECTED_RESPONSE,
        };
        Some(kind.to_string())
    }

    /// The `content` of the `tool` message sent back to the model: the result, or what went
    /// wrong in words it can act on (retry with other arguments, use another tool, give up).
    pub fn model_content(&self, tool: &str) -> String {
        match self {
            ToolOutcome::Success { text, .. } => text.clone(),
            ToolOutcome::ToolError { text } => format!("Error from tool {tool}: {text}"),
            ToolOutcome::UnknownTool => format!("Error: there is no tool named {tool}."),
            ToolOutcome::InvalidArguments { reason } => {
                format!("Error: invalid arguments for tool {tool}: {reason}.")
            }
            ToolOutcome::Unavailable { reason, .. } => {
                format!("Error: tool {tool} is unavailable: {reason}.")
            }
            ToolOutcome::Timeout { after } => {
                format!("Error: tool {tool} did not answer within {}.", secs(*after))
            }
            ToolOutcome::Crashed { .. } => {
                format!("Error: the server of tool {tool} stopped during the call.")
            }
            ToolOutcome::RpcError { code, message } => {
                format!("Error from tool {tool}: {message} (JSON-RPC error {code}).")
            }
            ToolOutcome::UnexpectedResponse => {
                format!("Error: tool {tool} returned something that is not a tool result.")
            }
        }
    }

    /// One line for the user when the call did not succeed; `None` on success.
    pub fn notice(&self, tool: &str) -> Option<String> {
        let line = match self {
            ToolOutcome::Success { .. } => return None,
            ToolOutcome::ToolError { text } => {
                format!("tool {tool} reported an error: {}", first_line(text))
            }
            ToolOutcome::UnknownTool => format!("the model called an unknown tool {tool}"),
            ToolOutcome::InvalidArguments { reason } => {
                format!("the model's arguments for {tool} do not fit its schema: {reason}")
            }
            ToolOutcome::Unavailable { server, reason } => {
                format!("tool {tool} is unavailable: server {server} {reason}")
            }
            ToolOutcome::Timeout { after } => {
                format!("tool {tool} timed out after {} (cancelled)", secs(*after))
            }
            ToolOutcome::Crashed { server, reason } => {
                format!("server {server} stopped during {tool}: {reason}")
            }
            ToolOutcome::RpcError { code, message } => {
                format!(
                    "tool {tool} failed: {} (JSON-RPC error {code})",
                    first_line(message)
                )
            }
            ToolOutcome::UnexpectedResponse => {
                format!("tool {tool} returned something that is not a tool result")
            }
        };
        Some(line)
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// Cuts `text` to at most `max` bytes on a character boundary; `true` when it cut.
pub(crate) fn bound(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_an_error_type_a_model_text_and_a_one_line_notice() {
        let failures = [
            ToolOutcome::ToolError {
                text: "boom\ndetails".into(),
            },
            ToolOutcome::UnknownTool,
            ToolOutcome::InvalidArguments {
                reason: "missing required argument \"a\"".into(),
            },
            ToolOutcome::Unavailable {
                server: "time".into(),
                reason: "is still starting".into(),
            },
            ToolOutcome::Timeout {
                after: Duration::from_millis(1500),
            },
            ToolOutcome::Crashed {
                server: "time".into(),
                reason: "exited".into(),
            },
            ToolOutcome::RpcError {
                code: -32602,
                message: "bad params".into(),
            },
            ToolOutcome::UnexpectedResponse,
        ];
        for outcome in failures {
            assert!(!outcome.is_success());
            assert!(outcome.error_type().is_some(), "{outcome:?}");
            assert!(outcome.model_content("t").contains('t'), "{outcome:?}");
            let notice = outcome.notice("t").unwrap();
            assert!(!notice.contains('\n'), "{notice:?}");
        }
        assert_eq!(
            ToolOutcome::RpcError {
                code: -32602,
                message: String::new()
            }
            .error_type()
            .as_deref(),
            Some("-32602")
        );
        assert_eq!(
            ToolOutcome::Timeout {
                after: Duration::from_secs(60)
            }
            .model_content("t"),
            "Error: tool t did not answer within 60 s."
        );
    }

    #[test]
    fn success_is_the_text_itself() {
        let ok = ToolOutcome::Success {
            text: "12:00".into(),
            truncated: false,
        };
        assert!(ok.is_success());
        assert_eq!(ok.error_type(), None);
        assert_eq!(ok.notice("t"), None);
        assert_eq!(ok.model_content("t"), "12:00");
    }

    #[test]
    fn bound_cuts_on_a_character_boundary() {
        let mut s = "aé".repeat(10);
        assert!(bound(&mut s, 4)); // "aé" is 3 bytes: 4 falls inside the second é
        assert_eq!(s, "aéa");
        let mut short = "abc".to_string();
        assert!(!bound(&mut short, 10));
    }
}
