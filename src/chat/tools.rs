//! Tools in a turn: who may run a tool call (the user's consent), and running one as the
//! GenAI conventions' `execute_tool {name}` span around the MCP client's `tools/call`.
//!
//! Nothing runs without consent: interactively the front end asks for each call
//! (`[y]es / [n]o / [a]lways this tool`); piped, only what `--allow-tools` /
//! `--allow-tool NAME` allow. A refused call is answered to the model as text it can read,
//! so the conversation goes on. The MCP side — servers, the call, its CLIENT span that
//! carries `traceparent` to the server — is [`crate::mcp`].

use std::time::{Duration, Instant};

use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

use crate::mcp::{
    execute_tool_attributes, execute_tool_span_name, CallTelemetry, McpMetrics, McpServers,
};
use crate::ollama::wire::ToolCall;
use crate::telemetry::names::{attr, event, tools as names};
use crate::telemetry::Telemetry;
use crate::text::truncate;

/// What the user (or the policy) decided about one call: `llm.tool.decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    /// Approved, and every later call of this tool in the session too.
    Always,
    Denied,
    /// Piped mode without `--allow-tools` / `--allow-tool NAME`.
    NotAllowed,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Always => "always",
            Decision::Denied => "denied",
            Decision::NotAllowed => "not_allowed",
        }
    }

    fn runs(&self) -> bool {
        matches!(self, Decision::Approved | Decision::Always)
    }
}

/// The user cancelled the turn while being asked (Ctrl-C at the question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Decides whether a call may run.
pub trait Approver {
    fn decide(&mut self, shown_name: &str, arguments: &Value) -> Result<Decision, Cancelled>;
}

/// The piped policy: `--allow-tools` (everything) or `--allow-tool NAME` (repeatable).
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    pub all: bool,
    pub names: Vec<String>,
}

impl Approver for AllowList {
    fn decide(&mut self, shown_name: &str, _arguments: &Value) -> Result<Decision, Cancelled> {
        let bare = shown_name.rsplit('.').next().unwrap_or(shown_name);
        let allowed = self.all || self.names.iter().any(|n| n == shown_name || n == bare);
        Ok(if allowed {
            Decision::Approved
        } else {
            Decision::NotAllowed
        })
    }
}

/// The MCP servers of this session and how calls are run.
pub struct ToolBox {
    pub servers: McpServers,
    pub metrics: McpMetrics,
    /// `--tool-timeout`.
    pub timeout: Duration,
}

/// Where a call happens: the turn's context and what every span of it carries.
pub(crate) struct CallSite<'a> {
    pub telemetry: &'a Telemetry,
    pub turn_cx: &'a Context,
    pub conversation: &'a [KeyValue; 2],
    pub capture_content: bool,
}

/// What one call left behind: the `tool` message's text, a line for the user, and its
/// `llm.tool.calls` status.
pub(crate) struct CallRecord {
    pub content: String,
    pub notice: String,
}

impl ToolBox {
    /// The tools in Ollama's request shape.
    pub fn definitions(&self) -> Vec<Value> {
        self.servers.ollama_tools()
    }

    /// Asks, then runs `call` inside an `execute_tool` span under `turn_cx`. `None` when
    /// the turn was cancelled (at the question or during the call).
    pub(crate) async fn run(
        &self,
        site: CallSite<'_>,
        call: &ToolCall,
        approver: &mut dyn Approver,
        cancel: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> Option<CallRecord> {
        let CallSite {
            telemetry,
            turn_cx,
            conversation,
            capture_content,
        } = site;
        let name = &call.function.name;
        let info = self.servers.tool(name);
        let shown = info
            .as_ref()
            .map(|t| format!("{}.{}", t.server, t.tool))
            .unwrap_or_else(|| name.clone());
        let decision = approver.decide(&shown, &call.function.arguments).ok()?;

        let tracer = &telemetry.tracer;
        let mut attributes = execute_tool_attributes(
            name,
            call.id.as_deref(),
            info.as_ref().and_then(|t| t.description.as_deref()),
        );
        attributes.extend(conversation.iter().cloned());
        attributes.push(KeyValue::new(attr::LLM_TOOL_DECISION, decision.as_str()));
        if capture_content {
            attributes.push(KeyValue::new(
                names::GEN_AI_TOOL_CALL_ARGUMENTS,
                call.function.arguments.to_string(),
            ));
        }
        let span = tracer
            .span_builder(execute_tool_span_name(name))
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(tracer, turn_cx);
        let tool_cx = turn_cx.with_span(span);
        let started = Instant::now();

        let (content, status, error_type, notice) = if !decision.runs() {
            let why = match decision {
                Decision::NotAllowed => "not allowed (run with --allow-tools or --allow-tool NAME)",
                _ => "declined by the user",
            };
            (
                format!("The tool call {name} was not run: {why}."),
                metric_status::DENIED,
                None,
                format!("{shown}: {why}"),
            )
        } else {
            let call_future = self
                .servers
                .call(
                    name,
                    call.function.arguments.clone(),
                    self.timeout,
                    CallTelemetry {
                        tracer,
                        metrics: &self.metrics,
                        parent: &tool_cx,
                    },
                )
                .with_context(tool_cx.clone());
            let outcome = tokio::select! {
                biased;
                _ = cancel => None,
                outcome = call_future => Some(outcome),
            };
            let Some(outcome) = outcome else {
                let span = tool_cx.span();
                span.set_attribute(KeyValue::new(attr::LLM_CANCELLED, true));
                span.add_event(event::CANCELLED, vec![]);
                span.end();
                return None;
            };
            let content = outcome.model_content(name);
            let took = started.elapsed();
            let notice = match outcome.notice(name) {
                Some(line) => line,
                None => format!(
                    "ran {shown} in {} ms, {} bytes of result",
                    took.as_millis(),
                    content.len()
                ),
            };
            let status = if outcome.is_success() {
                metric_status::SUCCESS
            } else {
                metric_status::ERROR
            };
            (content, status, outcome.error_type(), notice)
        };

        let span = tool_cx.span();
        if capture_content {
            span.set_attribute(KeyValue::new(
                names::GEN_AI_TOOL_CALL_RESULT,
                truncate(&content, 4096),
            ));
        }
        if let Some(kind) = &error_type {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, kind.clone()));
            span.set_status(Status::error(truncate(&notice, 1024)));
        }
        span.end();
        telemetry.metrics.tool_call(name, status);
        Some(CallRecord { content, notice })
    }
}

/// Values of the `status` label of `llm.tool.calls`.
mod metric_status {
    pub const SUCCESS: &str = "success";
    pub const ERROR: &str = "error";
    pub const DENIED: &str = "denied";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--allow-tool NAME` matches the shown `server.tool` or the bare tool name.
    #[test]
    fn allow_list() {
        let mut none = AllowList::default();
        assert_eq!(
            none.decide("time.get_current_time", &Value::Null),
            Ok(Decision::NotAllowed)
        );
        let mut one = AllowList {
            all: false,
            names: vec!["get_current_time".into()],
        };
        assert_eq!(
            one.decide("time.get_current_time", &Value::Null),
            Ok(Decision::Approved)
        );
        assert_eq!(
            one.decide("time.convert_time", &Value::Null),
            Ok(Decision::NotAllowed)
        );
        let mut all = AllowList {
            all: true,
            names: vec![],
        };
        assert_eq!(all.decide("x.y", &Value::Null), Ok(Decision::Approved));
    }
}
