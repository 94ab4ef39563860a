//! `chatbot_otel::mcp` against REAL MCP servers, no stand-ins: `mcp-server-time` (PyPI),
//! `@modelcontextprotocol/server-everything` (npm), and our own `tests/mcp_server/
//! traced_server.py` (the official Python SDK plus the OpenTelemetry Python SDK).
//!
//! `scripts/mcp/install.sh` installs them into `.mcp/` (or `$CHATBOT_MCP_DIR`); the first
//! test that needs a server runs it, once per test run (well under a second when they are
//! already there), so `cargo test --workspace` works on a fresh clone. A server still
//! missing after that FAILS the test and says why: a skipped test proves nothing.
//! Run this group alone with `cargo test --test integration mcp_real::`.
//!
//! Our side's spans go to the SDK's in-memory exporter; the traced server's spans cross a
//! real process boundary to an in-process OTLP/HTTP receiver, where the test checks they
//! are children of our `tools/call` span.

use std::path::PathBuf;
use std::time::Duration;

use chatbot_otel::mcp::{
    execute_tool_attributes, execute_tool_span_name, CallTelemetry, McpConfig, McpMetrics,
    McpServers, ServerState, ToolOutcome,
};
use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{json, Value};

use crate::support::in_memory::str_attr;
use crate::support::*;

/// Generous: the first start of a Python or Node server compiles bytecode.
const STARTUP: Duration = Duration::from_secs(60);
const CALL: Duration = Duration::from_secs(30);

// --- where the installed servers are ------------------------------------------------------

fn mcp_dir() -> PathBuf {
    std::env::var_os("CHATBOT_MCP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".mcp"))
}

/// Runs `scripts/mcp/install.sh` once for the whole test binary; its output goes to the
/// test's captured output, its failure into the assertion message of `installed`.
fn ensure_installed() -> &'static Result<(), String> {
    static INSTALL: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INSTALL.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mcp/install.sh");
        match std::process::Command::new("bash").arg(&script).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "{} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run {}: {e}", script.display())),
        }
    })
}

/// `relative` under the install directory; fails the test when it is not installed.
fn installed(relative: &str) -> String {
    let installing = ensure_installed();
    let path = mcp_dir().join(relative);
    assert!(
        path.exists(),
        "{} is missing ({:?}): scripts/mcp/install.sh installs the real MCP servers these \
         tests use into .mcp/, or into $CHATBOT_MCP_DIR",
        path.display(),
        installing
    );
    path.display().to_string()
}

fn python() -> String {
    installed("venv/bin/python")
}

pub(crate) fn time_server() -> Value {
    json!({"command": installed("venv/bin/mcp-server-time"), "args": []})
}

pub(crate) fn everything_server() -> Value {
    json!({
        "command": "node",
        "args": [installed("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "stdio"]
    })
}

pub(crate) fn traced_server(env: Value) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_server/traced_server.py");
    json!({"command": python(), "args": [script.display().to_string()], "env": env})
}

fn config(servers: Value) -> McpConfig {
    McpConfig::parse(&json!({ "mcpServers": servers }).to_string()).unwrap()
}

async fn started(servers: Value) -> McpServers {
    let servers = McpServers::start(&config(servers), STARTUP);
    servers.wait_settled(STARTUP).await;
    for status in servers.statuses() {
        assert!(
            matches!(status.state, ServerState::Ready { .. }),
            "server {} did not start: {:?}; its stderr: {:?}",
            status.name,
            status.state,
            servers.stderr_tail(&status.name)
        );
    }
    servers
}

// --- our side's telemetry, in memory ------------------------------------------------------

struct Telemetry {
    spans: InMemorySpanExporter,
    tracer: BoxedTracer,
    metrics: McpMetrics,
    metric_exporter: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
    _tracer_provider: SdkTracerProvider,
}

impl Telemetry {
    fn new() -> Telemetry {
        // The `traceparent` in `_meta` is written by the global propagator, as in the binary.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let spans = InMemorySpanExporter::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let metric_exporter = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metric_exporter.clone()).build())
            .build();
        Telemetry {
            spans,
            tracer: BoxedTracer::new(Box::new(tracer_provider.tracer("chatbot-otel"))),
            metrics: McpMetrics::new(&meter_provider.meter("chatbot-otel")),
            metric_exporter,
            meter_provider,
            _tracer_provider: tracer_provider,
        }
    }

    /// Runs `name` as the chat turn will: inside an `execute_tool {name}` INTERNAL span.
    async fn call(
        &self,
        servers: &McpServers,
        name: &str,
        arguments: Value,
        timeout: Duration,
    ) -> ToolOutcome {
        let description = servers.tool(name).and_then(|t| t.description);
        let span = self
            .tracer
            .span_builder(execute_tool_span_name(name))
            .with_kind(SpanKind::Internal)
            .with_attributes(execute_tool_attributes(
                name,
                Some("call_test0001"),
                description.as_deref(),
            ))
            .start(&self.tracer);
        let cx = Context::new().with_span(span);
        let outcome = servers
            .call(name, arguments, timeout, self.call_telemetry(&cx))
            .await;
        cx.span().end();
        outcome
    }

    fn call_telemetry<'a>(&'a self, parent: &'a Context) -> CallTelemetry<'a> {
        CallTelemetry {
            tracer: &self.tracer,
            metrics: &self.metrics,
            parent,
        }
    }

    fn finished(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    fn named(&self, name: &str) -> Vec<SpanData> {
        self.finished()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// Each `mcp.client.operation.duration` point of the last export.
    fn duration_points(&self) -> Vec<DurationPoint> {
        self.meter_provider.force_flush().unwrap();
        let exported = self.metric_exporter.get_finished_metrics().unwrap();
        let mut out = Vec::new();
        let Some(last) = exported.last() else {
            return out;
        };
        for m in last.scope_metrics().flat_map(|s| s.metrics()) {
            if m.name() != "mcp.client.operation.duration" {
                continue;
            }
            assert_eq!(m.unit(), "s");
            if let AggregatedMetrics::F64(MetricData::Histogram(h)) = m.data() {
                for p in h.data_points() {
                    out.push(DurationPoint {
                        count: p.count(),
                        bounds: p.bounds().collect(),
                        attrs: p
                            .attributes()
                            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                            .collect(),
                    });
                }
            }
        }
        out
    }
}

#[derive(Debug)]
struct DurationPoint {
    count: u64,
    bounds: Vec<f64>,
    attrs: Vec<(String, String)>,
}

fn text(outcome: &ToolOutcome) -> &str {
    match outcome {
        ToolOutcome::Success { text, .. } => text,
        other => panic!("expected a successful call, got {other:?}"),
    }
}

/// Polls `check` every 50 ms for up to 20 s (a deadline for slow machines, not a timing
/// assertion).
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(value) = check() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

fn assert_child(parent: &SpanData, child: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id()
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

// --- the tests ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_server_lists_its_tools_and_answers_in_a_traced_call() {
    let servers = McpServers::start(&config(json!({ "time": time_server() })), STARTUP);
    // start() never waits for the server: it is still starting when the caller gets it.
    assert_eq!(servers.statuses()[0].state, ServerState::Starting);
    servers.wait_settled(STARTUP).await;
    let status = &servers.statuses()[0];
    assert!(
        matches!(status.state, ServerState::Ready { tools: 2 }),
        "{status:?}"
    );
    let version = status
        .protocol_version
        .clone()
        .expect("a negotiated protocol version");

    let names: Vec<String> = servers.tools().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["get_current_time", "convert_time"]);
    let ollama = servers.ollama_tools();
    assert_eq!(ollama[0]["type"], "function");
    assert_eq!(ollama[0]["function"]["name"], "get_current_time");
    assert_eq!(
        ollama[0]["function"]["parameters"]["required"],
        json!(["timezone"])
    );
    assert!(ollama[0]["function"]["description"]
        .as_str()
        .unwrap()
        .contains("time"));

    let telemetry = Telemetry::new();
    let outcome = telemetry
        .call(
            &servers,
            "get_current_time",
            json!({"timezone": "UTC"}),
            CALL,
        )
        .await;
    let reply: Value = serde_json::from_str(text(&outcome)).expect("the time server answers JSON");
    assert_eq!(reply["timezone"], "UTC");
    assert!(
        reply["datetime"].as_str().is_some_and(|d| d.contains('T')),
        "{reply}"
    );

    // execute_tool get_current_time  INTERNAL
    // └── tools/call get_current_time  CLIENT
    let execute = &telemetry.named("execute_tool get_current_time")[0];
    let call = &telemetry.named("tools/call get_current_time")[0];
    assert_child(execute, call);
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(str_attr(call, "mcp.method.name"), "tools/call");
    assert_eq!(str_attr(call, "gen_ai.tool.name"), "get_current_time");
    assert_eq!(str_attr(call, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(str_attr(call, "network.transport"), "pipe");
    assert_eq!(str_attr(call, "mcp.protocol.version"), version);
    assert!(!str_attr(call, "jsonrpc.request.id").is_empty());
    assert!(call
        .attributes
        .iter()
        .all(|kv| kv.key.as_str() != "error.type"));
    assert_eq!(call.status, opentelemetry::trace::Status::Unset);
    assert_eq!(str_attr(execute, "gen_ai.tool.call.id"), "call_test0001");
    assert_eq!(str_attr(execute, "gen_ai.tool.type"), "function");

    let points = telemetry.duration_points();
    assert_eq!(points.len(), 1, "{points:?}");
    let DurationPoint {
        count,
        bounds,
        attrs,
    } = &points[0];
    assert_eq!(*count, 1);
    assert_eq!(
        bounds,
        &[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0]
    );
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(attr("mcp.method.name"), Some("tools/call"));
    assert_eq!(attr("gen_ai.tool.name"), Some("get_current_time"));
    assert_eq!(attr("network.transport"), Some("pipe"));
    assert_eq!(attr("mcp.protocol.version"), Some(version.as_str()));
    assert_eq!(attr("error.type"), None);
    assert_eq!(
        attr("jsonrpc.request.id"),
        None,
        "no per-request labels on a metric"
    );

    servers.shutdown(Duration::from_secs(10)).await;
    assert_eq!(
        servers.statuses()[0].state,
        ServerState::Failed {
            reason: "shut down".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_server_echoes_adds_and_clashing_names_get_prefixed() {
    let servers = started(json!({
        "everything": everything_server(),
        "again": everything_server(),
        "time": time_server(),
    }))
    .await;
    let names: Vec<String> = servers.tools().into_iter().map(|t| t.name).collect();
    // Both everything servers offer `echo`: each is prefixed by its server. The time
    // server's tools clash with nobody and keep their names.
    assert!(names.contains(&"everything.echo".to_string()), "{names:?}");
    assert!(names.contains(&"again.echo".to_string()), "{names:?}");
    assert!(!names.contains(&"echo".to_string()), "{names:?}");
    assert!(names.contains(&"get_current_time".to_string()), "{names:?}");

    let telemetry = Telemetry::new();
    let echo = telemetry
        .call(
            &servers,
            "again.echo",
            json!({"message": "hello over a pipe"}),
            CALL,
        )
        .await;
    assert_eq!(text(&echo), "Echo: hello over a pipe");
    // The span names the tool as its server knows it (what went on the wire).
    let call = &telemetry.named("tools/call echo")[0];
    assert_eq!(str_attr(call, "gen_ai.tool.name"), "echo");

    let sum = telemetry
        .call(
            &servers,
            "everything.get-sum",
            json!({"a": 2, "b": 3.5}),
            CALL,
        )
        .await;
    assert_eq!(text(&sum), "The sum of 2 and 3.5 is 5.5.");
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_and_unknown_tools_never_reach_the_server() {
    let servers = started(json!({ "everything": everything_server() })).await;
    let telemetry = Telemetry::new();

    let outcome = telemetry
        .call(&servers, "get-sum", json!({"a": "two", "b": 3}), CALL)
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::InvalidArguments {
            reason: "argument \"a\" must be number, got string".into()
        }
    );
    assert!(outcome.model_content("get-sum").contains("must be number"));
    let outcome = telemetry.call(&servers, "echo", json!({}), CALL).await;
    assert_eq!(
        outcome,
        ToolOutcome::InvalidArguments {
            reason: "missing required argument \"message\"".into()
        }
    );
    let outcome = telemetry
        .call(&servers, "no_such_tool", json!({}), CALL)
        .await;
    assert_eq!(outcome, ToolOutcome::UnknownTool);
    assert_eq!(
        outcome.notice("no_such_tool").unwrap(),
        "the model called an unknown tool no_such_tool"
    );

    let calls: Vec<String> = telemetry
        .finished()
        .into_iter()
        .map(|s| s.name.to_string())
        .filter(|n| n.starts_with("tools/call"))
        .collect();
    assert!(calls.is_empty(), "no request was sent, yet: {calls:?}");
    assert!(telemetry.duration_points().is_empty());
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_is_error_result_is_a_tool_error_on_the_span() {
    let servers = started(json!({ "traced": traced_server(json!({})) })).await;
    let telemetry = Telemetry::new();
    let outcome = telemetry
        .call(
            &servers,
            "fail",
            json!({"reason": "the disk is on fire"}),
            CALL,
        )
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::ToolError {
            // The Python SDK's wording for a `ToolError` raised by the tool.
            text: "Error executing tool fail: the disk is on fire".into()
        }
    );
    assert_eq!(
        outcome.model_content("fail"),
        "Error from tool fail: Error executing tool fail: the disk is on fire"
    );
    let call = &telemetry.named("tools/call fail")[0];
    assert_eq!(str_attr(call, "error.type"), "tool_error");
    assert!(matches!(
        call.status,
        opentelemetry::trace::Status::Error { .. }
    ));
    let points = telemetry.duration_points();
    assert!(
        points[0]
            .attrs
            .contains(&("error.type".into(), "tool_error".into())),
        "{points:?}"
    );
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_rpc_error_sets_the_status_code() {
    let servers = started(json!({ "traced": traced_server(json!({})) })).await;
    let telemetry = Telemetry::new();
    let outcome = telemetry
        .call(&servers, "reject", json!({"code": -32602}), CALL)
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::RpcError {
            code: -32602,
            message: "rejected with code -32602".into()
        }
    );
    let call = &telemetry.named("tools/call reject")[0];
    // The conventions: both carry the JSON-RPC code; the status is the error's message.
    assert_eq!(str_attr(call, "error.type"), "-32602");
    assert_eq!(str_attr(call, "rpc.response.status_code"), "-32602");
    assert_eq!(
        call.status,
        opentelemetry::trace::Status::error("rejected with code -32602")
    );
    let points = telemetry.duration_points();
    assert!(
        points[0]
            .attrs
            .contains(&("rpc.response.status_code".into(), "-32602".into())),
        "{points:?}"
    );
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_cancels_the_request_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let servers = started(json!({
        "traced": traced_server(json!({"TRACED_SERVER_EVENTS": events.display().to_string()})),
        "everything": everything_server(),
    }))
    .await;
    let telemetry = Telemetry::new();

    let outcome = telemetry
        .call(
            &servers,
            "sleep",
            json!({"seconds": 120}),
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::Timeout {
            after: Duration::from_secs(1)
        }
    );
    // The server got `notifications/cancelled` and stopped the handler.
    eventually("the server to report the cancellation", || {
        let log = std::fs::read_to_string(&events).unwrap_or_default();
        (log == "started\ncancelled\n").then_some(())
    })
    .await;
    let call = &telemetry.named("tools/call sleep")[0];
    assert_eq!(str_attr(call, "error.type"), "timeout");

    // The same with the npm server's slow tool; the server stays usable afterwards.
    let outcome = telemetry
        .call(
            &servers,
            "trigger-long-running-operation",
            json!({"duration": 60, "steps": 60}),
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::Timeout {
            after: Duration::from_secs(1)
        }
    );
    let echo = telemetry
        .call(&servers, "echo", json!({"message": "still here"}), CALL)
        .await;
    assert_eq!(text(&echo), "Echo: still here");
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_call_sends_the_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let servers = started(json!({
        "traced": traced_server(json!({"TRACED_SERVER_EVENTS": events.display().to_string()})),
    }))
    .await;
    let telemetry = Telemetry::new();
    let parent = Context::new();
    {
        // What Ctrl-C does to the turn: the call's future is dropped mid-flight.
        let call = servers.call(
            "sleep",
            json!({"seconds": 120}),
            CALL,
            telemetry.call_telemetry(&parent),
        );
        tokio::pin!(call);
        tokio::select! {
            outcome = &mut call => panic!("the call ended by itself: {outcome:?}"),
            _ = eventually("the tool to start", || {
                std::fs::read_to_string(&events).unwrap_or_default().contains("started").then_some(())
            }) => {}
        }
    }
    eventually("the server to report the cancellation", || {
        let log = std::fs::read_to_string(&events).unwrap_or_default();
        (log == "started\ncancelled\n").then_some(())
    })
    .await;
    let call = &telemetry.named("tools/call sleep")[0];
    assert!(
        call.events.iter().any(|e| e.name == "cancelled"),
        "{:?}",
        call.events
    );
    assert!(call
        .attributes
        .iter()
        .all(|kv| kv.key.as_str() != "error.type"));
    servers.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_crash_mid_call_is_an_outcome_and_the_server_is_marked_failed() {
    let servers = started(json!({ "traced": traced_server(json!({})) })).await;
    // The server's stderr was captured, not inherited by our terminal.
    assert!(
        servers
            .stderr_tail("traced")
            .contains(&"traced server: starting".to_string()),
        "{:?}",
        servers.stderr_tail("traced")
    );
    let telemetry = Telemetry::new();
    let outcome = telemetry.call(&servers, "crash", json!({}), CALL).await;
    assert_eq!(
        outcome,
        ToolOutcome::Crashed {
            server: "traced".into(),
            reason: "its pipe closed: traced server: crashing on purpose".into()
        }
    );
    let call = &telemetry.named("tools/call crash")[0];
    assert_eq!(str_attr(call, "error.type"), "connection_closed");
    let state = eventually("the server to be marked failed", || {
        let state = servers.statuses()[0].state.clone();
        matches!(state, ServerState::Failed { .. }).then_some(state)
    })
    .await;
    assert_eq!(
        state,
        ServerState::Failed {
            reason: "exited: traced server: crashing on purpose".into()
        }
    );
    assert!(
        servers.tools().is_empty(),
        "a failed server offers no tools"
    );
    let again = telemetry
        .call(&servers, "traced_echo", json!({"text": "x"}), CALL)
        .await;
    assert_eq!(again, ToolOutcome::UnknownTool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_span_arrives_in_the_chatbot_trace_as_a_child_of_tools_call() {
    let receiver = OtlpReceiver::start().await;
    let servers = started(json!({
        "traced": traced_server(json!({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint()})),
    }))
    .await;
    let telemetry = Telemetry::new();
    let outcome = telemetry
        .call(
            &servers,
            "traced_echo",
            json!({"text": "across processes"}),
            CALL,
        )
        .await;

    let client = &telemetry.named("tools/call traced_echo")[0];
    let trace_id = client.span_context.trace_id().to_string();
    let span_id = client.span_context.span_id().to_string();
    // What the server read from `params._meta.traceparent`: our CLIENT span.
    assert_eq!(
        text(&outcome),
        format!("across processes (traceparent 00-{trace_id}-{span_id}-01)")
    );

    let spans = eventually("the server's spans at the OTLP receiver", || {
        let spans = receiver.spans();
        spans
            .iter()
            .any(|s| s.name == "traced_echo.work")
            .then_some(spans)
    })
    .await;
    let server = spans
        .iter()
        .find(|s| s.kind == "server" && s.name == "tools/call traced_echo")
        .unwrap_or_else(|| {
            panic!(
                "no SERVER span; received {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(
        server.trace_id, trace_id,
        "the server span is in the chatbot's trace"
    );
    assert_eq!(
        server.parent_span_id, span_id,
        "and is a child of tools/call"
    );
    assert_eq!(
        server.resource.get("service.name"),
        Some(&json!("mcp-traced-server"))
    );
    let work = spans.iter().find(|s| s.name == "traced_echo.work").unwrap();
    assert_eq!(work.trace_id, trace_id);
    assert_eq!(work.parent_span_id, server.span_id);
    servers.shutdown(Duration::from_secs(10)).await;
}
