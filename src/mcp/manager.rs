//! [`McpServers`]: every configured server, started in the background, with its state and
//! tools, and the one entry point that calls a tool.
//!
//! Servers start concurrently at launch and the chat never waits for them beyond a budget
//! ([`McpServers::wait_settled`]): a slow `uvx` download must not hold the prompt. Each
//! server is `starting`, then `ready` with its tools or `failed` with a one-line reason;
//! a ready server whose pipe closes later becomes `failed` too, and its tools disappear.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest,
    ContentBlock, RequestId, RequestMetaObject, ServerResult,
};
use rmcp::service::{Peer, PeerRequestOptions, RoleClient, ServiceError};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use super::config::{McpConfig, ServerConfig};
use super::outcome::{bound, ToolOutcome, MAX_RESULT_BYTES};
use super::server::{self, StderrTail};
use super::telemetry::{self as mcp_telemetry, CallFacts, McpMetrics};
use crate::telemetry::names::{attr, event, tools};

/// How long a server may take from spawn to its tool list. Generous: the first `uvx` or
/// `npx` run downloads the server.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server has to exit after its stdin closes before it is killed. A server
/// exits at end-of-file in milliseconds, unless it is busy, such as in a tool call we
/// have just cancelled; then waiting longer would only hold up the chatbot's exit.
const STOP_GRACE: Duration = Duration::from_millis(400);

/// What [`McpServers::shutdown`] is given at exit: the grace, plus time for the kill.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_millis(500);

/// Where a server is in its life.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerState {
    Starting,
    Ready { tools: usize },
    Failed { reason: String },
}

/// One server as `/tools` and `doctor` show it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerStatus {
    pub name: String,
    pub state: ServerState,
    /// The version the handshake settled on, once ready.
    pub protocol_version: Option<String>,
}

/// A tool offered to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolInfo {
    /// The name the model sees and calls: the tool's own name, or `server.tool` when two
    /// ready servers offer a tool by the same name.
    pub name: String,
    pub server: String,
    /// The tool's name on its server (what `tools/call` sends).
    pub tool: String,
    pub description: Option<String>,
    /// The tool's JSON Schema for its arguments.
    pub input_schema: Map<String, Value>,
}

impl ToolInfo {
    /// The entry of Ollama's `tools` request field.
    pub fn ollama_tool(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description.clone().unwrap_or_default(),
                "parameters": Value::Object(self.input_schema.clone()),
            }
        })
    }
}

/// What the telemetry of one call needs from the caller.
pub struct CallTelemetry<'a> {
    pub tracer: &'a BoxedTracer,
    pub metrics: &'a McpMetrics,
    /// The caller's context, holding its `execute_tool` span: the parent of `tools/call`.
    pub parent: &'a Context,
}

/// A running connection.
struct Live {
    peer: Peer<RoleClient>,
    protocol_version: Option<String>,
    tools: Vec<rmcp::model::Tool>,
}

enum Slot {
    Starting,
    Ready(Live),
    Failed(String),
}

struct Entry {
    name: String,
    slot: Slot,
    tail: StderrTail,
}

struct Shared {
    entries: Mutex<Vec<Entry>>,
    /// Counts settling steps: +1 when a server leaves `Starting`, +1 when its connection is
    /// gone (a failed start counts both at once). `wait_settled` and `shutdown` wait on it.
    settled: watch::Sender<usize>,
    /// Set once to stop every connection's service loop (which kills its child).
    shutdown: watch::Sender<bool>,
}

/// The configured MCP servers. Cheap to clone; every clone sees the same servers.
#[derive(Clone)]
pub struct McpServers {
    shared: Arc<Shared>,
}

impl McpServers {
    /// Starts every server of `config` in the background and returns at once. Must be
    /// called inside a tokio runtime (else every server is `failed`). `startup_timeout` bounds each server's spawn + handshake + tool list.
    pub fn start(config: &McpConfig, startup_timeout: Duration) -> McpServers {
        let shared = Arc::new(Shared {
            entries: Mutex::new(
                config
                    .servers
                    .iter()
                    .map(|s| Entry {
                        name: s.name.clone(),
                        slot: Slot::Starting,
                        tail: StderrTail::default(),
                    })
                    .collect(),
            ),
            settled: watch::channel(0).0,
            shutdown: watch::channel(false).0,
        });
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // A caller bug, but not worth a panic: no server can run without a runtime.
            for entry in lock(&shared).iter_mut() {
                entry.slot = Slot::Failed("not started: no tokio runtime".into());
            }
            shared.settled.send_replace(2 * config.servers.len());
            return McpServers { shared };
        };
        for (index, server) in config.servers.iter().enumerate() {
            runtime.spawn(run_server(
                shared.clone(),
                index,
                server.clone(),
                startup_timeout,
            ));
        }
        McpServers { shared }
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Waits until no server is `starting`, or `budget` has passed, whichever is first.
    pub async fn wait_settled(&self, budget: Duration) {
        // The counter only says that something changed; the states say whether all have
        // settled (a failed start counts two steps, so a count could be reached early).
        let shared = &self.shared;
        let mut rx = shared.settled.subscribe();
        let all_settled = |_: &usize| {
            !lock(shared)
                .iter()
                .any(|e| matches!(e.slot, Slot::Starting))
        };
        let _ = tokio::time::timeout(budget, reached(&mut rx, all_settled)).await;
    }

    /// Every server with its state, in the config's order.
    pub fn statuses(&self) -> Vec<ServerStatus> {
        self.lock()
            .iter()
            .map(|e| {
                let (state, protocol_version) = match &e.slot {
                    Slot::Starting => (ServerState::Starting, None),
                    Slot::Ready(live) => (
                        ServerState::Ready {
                            tools: live.tools.len(),
                        },
                        live.protocol_version.clone(),
                    ),
                    Slot::Failed(reason) => (
                        ServerState::Failed {
                            reason: reason.clone(),
                        },
                        None,
                    ),
                };
                ServerStatus {
                    name: e.name.clone(),
                    state,
                    protocol_version,
                }
            })
            .collect()
    }

    /// The last lines server `name` wrote to stderr (for `doctor` and bug reports).
    pub fn stderr_tail(&self, name: &str) -> Vec<String> {
        self.lock()
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.tail.lines())
            .unwrap_or_default()
    }

    /// The tools of every ready server, named as the model will see them.
    pub fn tools(&self) -> Vec<ToolInfo> {
        let entries = self.lock();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for e in entries.iter() {
            if let Slot::Ready(live) = &e.slot {
                for t in &live.tools {
                    *count.entry(t.name.as_ref()).or_default() += 1;
                }
            }
        }
        let mut out = Vec::new();
        for e in entries.iter() {
            let Slot::Ready(live) = &e.slot else { continue };
            for t in &live.tools {
                let clash = count.get(t.name.as_ref()).copied().unwrap_or(0) > 1;
                out.push(ToolInfo {
                    name: if clash {
                        format!("{}.{}", e.name, t.name)
                    } else {
                        t.name.to_string()
                    },
                    server: e.name.clone(),
                    tool: t.name.to_string(),
                    description: t.description.as_ref().map(|d| d.to_string()),
                    input_schema: (*t.input_schema).clone(),
                });
            }
        }
        out
    }

    /// The tool the model calls `name`, if a ready server offers it.
    pub fn tool(&self, name: &str) -> Option<ToolInfo> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    /// True when no server is `starting` any more: each is ready or failed.
    pub fn all_settled(&self) -> bool {
        !self.lock().iter().any(|e| matches!(e.slot, Slot::Starting))
    }

    /// Does a ready server offer a tool that `--allow-tool name` names? The same rule as
    /// the piped approver's: the tool's own name, or `server.tool`.
    pub fn offers(&self, name: &str) -> bool {
        self.tools().iter().any(|t| {
            let qualified = format!("{}.{}", t.server, t.tool);
            let bare = qualified.rsplit('.').next().unwrap_or(&qualified);
            name == qualified || name == bare
        })
    }

    /// Ollama's `tools` request field for every ready tool.
    pub fn ollama_tools(&self) -> Vec<Value> {
        self.tools().iter().map(ToolInfo::ollama_tool).collect()
    }

    /// Calls the tool the model named `name` with `arguments`, waiting at most `timeout`.
    ///
    /// Never fails: every ending is a [`ToolOutcome`]. Dropping the returned future (the
    /// user pressed Ctrl-C) sends `notifications/cancelled` for the request in flight and
    /// ends the `tools/call` span with a `cancelled` event.
    pub async fn call(
        &self,
        name: &str,
        arguments: Value,
        timeout: Duration,
        telemetry: CallTelemetry<'_>,
    ) -> ToolOutcome {
        let Some(info) = self.tool(name) else {
            // A tool of a server that is starting or failed is "unavailable", not unknown.
            return self
                .unavailable_owner(name)
                .unwrap_or(ToolOutcome::UnknownTool);
        };
        let arguments = match arguments {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        if let Err(reason) = super::schema::check_arguments(&info.input_schema, &arguments) {
            return ToolOutcome::InvalidArguments { reason };
        }
        let Some((peer, protocol_version)) = self.live_peer(&info.server) else {
            return ToolOutcome::Unavailable {
                server: info.server.clone(),
                reason: "stopped".to_string(),
            };
        };

        let mut facts = CallFacts {
            tool: &info.tool,
            protocol_version: protocol_version.as_deref(),
            // stdio has no session id; Streamable HTTP's `Mcp-Session-Id` would go here.
            session_id: None,
            rpc_status_code: None,
        };
        let cx = mcp_telemetry::start_call_span(telemetry.tracer, telemetry.parent, &facts);

        // `params._meta` carries the trace context, as HTTP headers would.
        let mut meta = RequestMetaObject::new();
        for (key, value) in mcp_telemetry::trace_meta(&cx) {
            meta.0.insert(key, Value::String(value));
        }
        let mut params = CallToolRequestParams::new(info.tool.clone());
        params.arguments = arguments.as_object().cloned();
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));

        let started = Instant::now();
        let handle = match peer
            .send_request_with_option(request, PeerRequestOptions::no_options().with_meta(meta))
            .await
        {
            Ok(handle) => handle,
            Err(_) => {
                let outcome = self.crashed(&info.server).await;
                finish(&cx, &telemetry, &facts, started, &outcome);
                return outcome;
            }
        };
        let id = handle.id.clone();
        cx.span()
            .set_attribute(KeyValue::new(tools::JSONRPC_REQUEST_ID, id.to_string()));

        // Until disarmed, dropping this guard tells the server to stop working on it.
        let mut guard = CancelOnDrop {
            peer: Some(peer.clone()),
            id: id.clone(),
            cx: cx.clone(),
        };
        let response = tokio::time::timeout(timeout, handle.await_response()).await;
        guard.disarm();

        let outcome = match response {
            Err(_) => {
                send_cancel(&peer, id, "timeout").await;
                ToolOutcome::Timeout { after: timeout }
            }
            Ok(Ok(ServerResult::CallToolResult(result))) => {
                let mut text = result_text(&result.content, result.structured_content.as_ref());
                let truncated = bound(&mut text, MAX_RESULT_BYTES);
                if result.is_error == Some(true) {
                    ToolOutcome::ToolError { text }
                } else {
                    ToolOutcome::Success { text, truncated }
                }
            }
            Ok(Ok(_)) => ToolOutcome::UnexpectedResponse,
            Ok(Err(ServiceError::McpError(error))) => {
                facts.rpc_status_code = Some(error.code.0);
                ToolOutcome::RpcError {
                    code: error.code.0,
                    message: error.message.to_string(),
                }
            }
            Ok(Err(ServiceError::Timeout { .. })) => ToolOutcome::Timeout { after: timeout },
            Ok(Err(_)) => self.crashed(&info.server).await,
        };
        finish(&cx, &telemetry, &facts, started, &outcome);
        outcome
    }

    /// Stops every server: closes each pipe, so a well-behaved server exits, and kills the
    /// child if it has not exited after a short grace (400 ms). Waits at most `budget`
    /// ([`SHUTDOWN_BUDGET`] leaves room for the grace and the kill).
    pub async fn shutdown(&self, budget: Duration) {
        self.shared.shutdown.send_replace(true);
        let total = self.lock().len();
        let mut rx = self.shared.settled.subscribe();
        let _ = tokio::time::timeout(budget, reached(&mut rx, |n| *n >= 2 * total)).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        lock(&self.shared)
    }

    fn live_peer(&self, server: &str) -> Option<(Peer<RoleClient>, Option<String>)> {
        self.lock()
            .iter()
            .find(|e| e.name == server)
            .and_then(|e| match &e.slot {
                Slot::Ready(live) => Some((live.peer.clone(), live.protocol_version.clone())),
                _ => None,
            })
    }

    /// `Unavailable` when `name` is `server.tool` of a server that is not ready.
    fn unavailable_owner(&self, name: &str) -> Option<ToolOutcome> {
        let entries = self.lock();
        let server = entries.iter().find(|e| {
            name.strip_prefix(e.name.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        })?;
        let reason = match &server.slot {
            Slot::Starting => "is still starting".to_string(),
            Slot::Failed(reason) => format!("failed: {reason}"),
            Slot::Ready(_) => return None,
        };
        Some(ToolOutcome::Unavailable {
            server: server.name.clone(),
            reason,
        })
    }

    /// The outcome of a call whose pipe closed, quoting the server's last stderr line.
    async fn crashed(&self, server: &str) -> ToolOutcome {
        let tail = self
            .lock()
            .iter()
            .find(|e| e.name == server)
            .map(|e| e.tail.clone())
            .unwrap_or_default();
        // The stderr reader may still be reading the server's last words.
        tokio::time::sleep(Duration::from_millis(100)).await;
        ToolOutcome::Crashed {
            server: server.to_string(),
            reason: server::with_stderr("its pipe closed", &tail),
        }
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<Entry>> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    shared
        .entries
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Ends the `tools/call` span and records the duration metric for `outcome`.
fn finish(
    cx: &Context,
    telemetry: &CallTelemetry<'_>,
    facts: &CallFacts<'_>,
    started: Instant,
    outcome: &ToolOutcome,
) {
    let span = cx.span();
    let error_type = outcome.error_type();
    if let Some(error_type) = &error_type {
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type.clone()));
        let description = match outcome {
            // The conventions: the status description is the JSON-RPC error's message.
            ToolOutcome::RpcError { message, .. } => message.clone(),
            other => other.notice(facts.tool).unwrap_or_default(),
        };
        span.set_status(Status::error(description));
    }
    if let Some(code) = facts.rpc_status_code {
        span.set_attribute(KeyValue::new(
            tools::RPC_RESPONSE_STATUS_CODE,
            code.to_string(),
        ));
    }
    span.end();
    telemetry.metrics.record(
        started.elapsed().as_secs_f64(),
        facts,
        error_type.as_deref(),
    );
}

/// Sends `notifications/cancelled` for a request the caller abandoned.
struct CancelOnDrop {
    peer: Option<Peer<RoleClient>>,
    id: RequestId,
    cx: Context,
}

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.peer = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(peer) = self.peer.take() else { return };
        // Not an error: the user chose to stop. Marked as the chat turn marks a cancel;
        // no duration is recorded (the server never answered).
        let span = self.cx.span();
        span.add_event(event::CANCELLED, vec![]);
        span.set_attribute(KeyValue::new(attr::LLM_CANCELLED, true));
        span.end();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let id = self.id.clone();
            runtime.spawn(async move { send_cancel(&peer, id, "cancelled by the user").await });
        }
    }
}

async fn send_cancel(peer: &Peer<RoleClient>, id: RequestId, reason: &str) {
    let _ = peer
        .notify_cancelled(CancelledNotificationParam::new(
            Some(id),
            Some(reason.to_string()),
        ))
        .await;
}

/// The text the model reads: every text block, in order; other blocks named in brackets.
fn result_text(content: &[ContentBlock], structured: Option<&Value>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for block in content {
        match block {
            ContentBlock::Text(t) => parts.push(t.text.clone()),
            ContentBlock::Image(i) => parts.push(format!("[image {}]", i.mime_type)),
            ContentBlock::Audio(a) => parts.push(format!("[audio {}]", a.mime_type)),
            ContentBlock::ResourceLink(r) => parts.push(format!("[resource {}]", r.uri)),
            _ => parts.push("[embedded resource]".to_string()),
        }
    }
    if parts.is_empty() {
        if let Some(structured) = structured {
            return structured.to_string();
        }
    }
    parts.join("\n")
}

/// Waits until the watched value satisfies `done` (or its sender is gone). Unlike
/// `wait_for` itself, the future holds no borrow of the value, so it stays `Send`.
async fn reached<T>(rx: &mut watch::Receiver<T>, done: impl FnMut(&T) -> bool) {
    let _ = rx.wait_for(done).await;
}

/// One server's life: connect, then serve until its pipe closes or we shut down.
async fn run_server(shared: Arc<Shared>, index: usize, config: ServerConfig, timeout: Duration) {
    let tail = lock(&shared)[index].tail.clone();
    let set = |slot: Slot| lock(&shared)[index].slot = slot;
    let mut shutdown = shared.shutdown.subscribe();
    let connected = tokio::select! {
        result = server::connect(&config, &tail, timeout) => result,
        _ = reached(&mut shutdown, |stop| *stop) => Err(server::StartFailure { reason: "shut down".into() }),
    };
    match connected {
        Err(failure) => {
            set(Slot::Failed(failure.reason));
            shared.settled.send_modify(|n| *n += 2);
        }
        Ok(connected) => {
            let server::Connected {
                service,
                peer,
                protocol_version,
                tools,
                mut stderr_reader,
                mut child,
            } = connected;
            set(Slot::Ready(Live {
                peer,
                protocol_version,
                tools,
            }));
            shared.settled.send_modify(|n| *n += 1);
            let cancel = service.cancellation_token();
            let waiting = service.waiting();
            tokio::pin!(waiting);
            tokio::select! {
                _ = &mut waiting => {
                    // Its stdout closed: it exited, or soon will (else it is killed).
                    server::stop(&mut child, STOP_GRACE).await;
                    server::drain(&mut stderr_reader).await;
                    set(Slot::Failed(server::with_stderr("exited", &tail)));
                }
                _ = reached(&mut shutdown, |stop| *stop) => {
                    // The service loop closes the pipe; the server has the grace to exit.
                    cancel.cancel();
                    server::stop(&mut child, STOP_GRACE).await;
                    // Its loop ends once the pipe is closed; not waited for beyond a moment
                    // (it may still be draining replies nobody will read).
                    let _ = tokio::time::timeout(Duration::from_millis(100), waiting).await;
                    set(Slot::Failed("shut down".into()));
                }
            }
            shared.settled.send_modify(|n| *n += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_tool_has_the_request_shape() {
        let info = ToolInfo {
            name: "time.now".into(),
            server: "time".into(),
            tool: "now".into(),
            description: Some("The time".into()),
            input_schema: json!({"type": "object", "properties": {}})
                .as_object()
                .unwrap()
                .clone(),
        };
        assert_eq!(
            info.ollama_tool(),
            json!({"type": "function", "function": {"name": "time.now", "description": "The time",
                   "parameters": {"type": "object", "properties": {}}}})
        );
    }

    #[test]
    fn result_text_joins_text_blocks() {
        let content = vec![ContentBlock::text("a"), ContentBlock::text("b")];
        assert_eq!(result_text(&content, None), "a\nb");
        assert_eq!(result_text(&[], Some(&json!({"t": 1}))), r#"{"t":1}"#);
    }

    #[tokio::test]
    async fn a_missing_command_fails_with_a_reason_and_offers_no_tools() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {"ghost": {"command": "/nonexistent/mcp-server-ghost"}}}"#,
        )
        .unwrap();
        let servers = McpServers::start(&config, DEFAULT_STARTUP_TIMEOUT);
        servers.wait_settled(Duration::from_secs(5)).await;
        assert_eq!(
            servers.statuses()[0].state,
            ServerState::Failed {
                reason: "command not found: /nonexistent/mcp-server-ghost".into()
            }
        );
        assert!(servers.tools().is_empty());
        assert_eq!(
            servers
                .call("ghost.x", json!({}), Duration::from_secs(1), no_telemetry())
                .await,
            ToolOutcome::Unavailable {
                server: "ghost".into(),
                reason: "failed: command not found: /nonexistent/mcp-server-ghost".into()
            }
        );
    }

    /// A server that failed at once does not end the wait for one still starting.
    #[tokio::test]
    async fn waiting_lasts_until_every_server_has_settled() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {
                "ghost": {"command": "/nonexistent/mcp-server-ghost"},
                "mute": {"command": "sleep", "args": ["600"]}
            }}"#,
        )
        .unwrap();
        let servers = McpServers::start(&config, Duration::from_secs(1));
        servers.wait_settled(Duration::from_secs(10)).await;
        let states: Vec<ServerState> = servers.statuses().into_iter().map(|s| s.state).collect();
        assert!(
            !states.contains(&ServerState::Starting),
            "returned while a server was starting: {states:?}"
        );
        servers.shutdown(Duration::from_secs(2)).await;
    }

    /// `all_settled` is false while one server is starting; a failed server offers no tool.
    #[tokio::test]
    async fn settled_and_offered() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {
                "ghost": {"command": "/nonexistent/mcp-server-ghost"},
                "mute": {"command": "sleep", "args": ["600"]}
            }}"#,
        )
        .unwrap();
        let servers = McpServers::start(&config, Duration::from_secs(30));
        servers.wait_settled(Duration::from_millis(300)).await;
        assert_eq!(servers.statuses()[1].state, ServerState::Starting);
        assert!(!servers.all_settled());
        assert!(!servers.offers("x") && !servers.offers("ghost.x"));
        servers.shutdown(Duration::from_secs(2)).await;
        assert!(servers.all_settled());
    }

    #[tokio::test]
    async fn waiting_is_bounded_by_the_budget_and_a_silent_server_times_out() {
        // `sleep` never answers the handshake.
        let config =
            McpConfig::parse(r#"{"mcpServers": {"mute": {"command": "sleep", "args": ["600"]}}}"#)
                .unwrap();
        let servers = McpServers::start(&config, Duration::from_secs(2));
        servers.wait_settled(Duration::from_millis(200)).await;
        assert_eq!(servers.statuses()[0].state, ServerState::Starting);
        assert_eq!(
            servers
                .call("mute.x", json!({}), Duration::from_secs(1), no_telemetry())
                .await,
            ToolOutcome::Unavailable {
                server: "mute".into(),
                reason: "is still starting".into()
            }
        );
        servers.wait_settled(Duration::from_secs(30)).await;
        assert_eq!(
            servers.statuses()[0].state,
            ServerState::Failed {
                reason: "did not finish the MCP handshake within 2 s".into()
            }
        );
    }

    #[tokio::test]
    async fn a_program_that_is_not_an_mcp_server_fails_the_handshake_with_its_last_words() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {"bogus": {"command": "sh",
                "args": ["-c", "read request; echo hello; echo 'not an MCP server' >&2"]}}}"#,
        )
        .unwrap();
        let servers = McpServers::start(&config, DEFAULT_STARTUP_TIMEOUT);
        servers.wait_settled(Duration::from_secs(30)).await;
        // It reads the `initialize` request, answers garbage and exits. (The SDK's words in
        // the parentheses are its own; only our framing and the server's last words are ours.)
        let ServerState::Failed { reason } = servers.statuses()[0].state.clone() else {
            panic!("{:?}", servers.statuses());
        };
        assert!(reason.starts_with("failed the MCP handshake ("), "{reason}");
        assert!(reason.ends_with("): not an MCP server"), "{reason}");
        assert!(!reason.contains('\n'), "{reason}");
    }

    fn no_telemetry() -> CallTelemetry<'static> {
        use std::sync::OnceLock;
        static TRACER: OnceLock<BoxedTracer> = OnceLock::new();
        static METRICS: OnceLock<McpMetrics> = OnceLock::new();
        static PARENT: OnceLock<Context> = OnceLock::new();
        CallTelemetry {
            tracer: TRACER.get_or_init(|| opentelemetry::global::tracer("test")),
            metrics: METRICS.get_or_init(|| McpMetrics::new(&opentelemetry::global::meter("test"))),
            parent: PARENT.get_or_init(Context::new),
        }
    }
}
