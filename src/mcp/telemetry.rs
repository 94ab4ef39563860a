//! The telemetry of a tool call: the GenAI `execute_tool` span's attributes, the MCP client
//! span `tools/call {tool}`, its `traceparent` in `params._meta`, and the
//! `mcp.client.operation.duration` histogram.
//!
//! Two spans describe one tool call, on purpose. `execute_tool {name}` (INTERNAL, made by
//! the chat turn) is the *agent's* view: the model asked for a tool, the user approved it,
//! it ran. `tools/call {name}` (CLIENT, made here) is the *protocol's* view: one JSON-RPC
//! request to one server, with its request id and error code. The MCP conventions describe
//! this nesting ("MCP tool call execution spans are compatible with GenAI execute_tool
//! spans").
//!
//! **Propagation over a pipe.** HTTP carries `traceparent` in a header; JSON-RPC over stdio
//! has no headers, so the MCP conventions put it in the request's `params._meta`. The
//! server extracts it and parents its SERVER span on our CLIENT span: one trace across two
//! processes. The global propagator (installed by `telemetry::init`) writes the fields,
//! exactly as `telemetry::propagation` does for HTTP.

use std::collections::HashMap;

use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::propagation::Injector;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::telemetry::names::{attr, tools};

/// The instruments of MCP client calls, made once from the caller's `Meter`.
#[derive(Clone)]
pub struct McpMetrics {
    operation_duration: Histogram<f64>,
}

impl McpMetrics {
    pub fn new(meter: &Meter) -> McpMetrics {
        McpMetrics {
            operation_duration: meter
                .f64_histogram(tools::MCP_CLIENT_OPERATION_DURATION)
                .with_unit("s")
                .with_description(
                    "The duration of the MCP request as observed on the sender, from the \
                     time it was sent until the response was received",
                )
                // The conventions' ExplicitBucketBoundaries advice.
                .with_boundaries(tools::MCP_DURATION_BUCKETS.to_vec())
                .build(),
        }
    }

    /// One finished request. The attributes are the low-cardinality subset of the span's:
    /// no request id, no session id (each would make a new time series per call).
    pub(crate) fn record(&self, seconds: f64, call: &CallFacts<'_>, error_type: Option<&str>) {
        let mut attributes = vec![
            KeyValue::new(tools::MCP_METHOD_NAME, tools::METHOD_TOOLS_CALL),
            KeyValue::new(tools::GEN_AI_TOOL_NAME, call.tool.to_string()),
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, tools::EXECUTE_TOOL),
            KeyValue::new(tools::NETWORK_TRANSPORT, tools::TRANSPORT_PIPE),
        ];
        if let Some(version) = call.protocol_version {
            attributes.push(KeyValue::new(
                tools::MCP_PROTOCOL_VERSION,
                version.to_string(),
            ));
        }
        if let Some(error_type) = error_type {
            attributes.push(KeyValue::new(attr::ERROR_TYPE, error_type.to_string()));
        }
        if let Some(code) = call.rpc_status_code {
            attributes.push(KeyValue::new(
                tools::RPC_RESPONSE_STATUS_CODE,
                code.to_string(),
            ));
        }
        self.operation_duration.record(seconds, &attributes);
    }
}

/// What the instrumentation knows about one `tools/call` request.
pub(crate) struct CallFacts<'a> {
    /// The tool's name on its server (what goes on the wire).
    pub tool: &'a str,
    pub protocol_version: Option<&'a str>,
    pub session_id: Option<&'a str>,
    /// Set once the response is a JSON-RPC error.
    pub rpc_status_code: Option<i32>,
}

/// Starts the CLIENT span `tools/call {tool}` as a child of `parent` (the caller's
/// `execute_tool` span) and returns the context that holds it.
pub(crate) fn start_call_span(
    tracer: &BoxedTracer,
    parent: &Context,
    call: &CallFacts<'_>,
) -> Context {
    let mut attributes = vec![
        KeyValue::new(tools::MCP_METHOD_NAME, tools::METHOD_TOOLS_CALL),
        KeyValue::new(tools::GEN_AI_TOOL_NAME, call.tool.to_string()),
        // Recommended for tool calls, so backends can treat this span like other tool spans.
        KeyValue::new(attr::GEN_AI_OPERATION_NAME, tools::EXECUTE_TOOL),
        KeyValue::new(tools::NETWORK_TRANSPORT, tools::TRANSPORT_PIPE),
    ];
    if let Some(version) = call.protocol_version {
        attributes.push(KeyValue::new(
            tools::MCP_PROTOCOL_VERSION,
            version.to_string(),
        ));
    }
    if let Some(session) = call.session_id {
        attributes.push(KeyValue::new(tools::MCP_SESSION_ID, session.to_string()));
    }
    let span = tracer
        .span_builder(format!("{} {}", tools::METHOD_TOOLS_CALL, call.tool))
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    parent.with_span(span)
}

/// The `traceparent` (and `tracestate`, when there is one) naming `cx`'s span, as the
/// `params._meta` entries of an MCP request.
pub(crate) fn trace_meta(cx: &Context) -> HashMap<String, String> {
    struct MetaInjector<'a>(&'a mut HashMap<String, String>);
    impl Injector for MetaInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_string(), value);
        }
    }
    let mut meta = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut MetaInjector(&mut meta));
    });
    meta
}

/// The attributes of the INTERNAL span `execute_tool {name}` that the chat turn starts
/// around a tool call (GenAI "Execute tool span"): `name` is the name the model called,
/// `call_id` Ollama's `call_xxxxxxxx` when it sent one. Content-capture attributes
/// (`gen_ai.tool.call.arguments`/`.result`) are the caller's to add.
pub fn execute_tool_attributes(
    name: &str,
    call_id: Option<&str>,
    description: Option<&str>,
) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(attr::GEN_AI_OPERATION_NAME, tools::EXECUTE_TOOL),
        KeyValue::new(tools::GEN_AI_TOOL_NAME, name.to_string()),
        KeyValue::new(tools::GEN_AI_TOOL_TYPE, tools::TOOL_TYPE_FUNCTION),
    ];
    if let Some(id) = call_id.filter(|id| !id.is_empty()) {
        attributes.push(KeyValue::new(tools::GEN_AI_TOOL_CALL_ID, id.to_string()));
    }
    if let Some(description) = description.filter(|d| !d.is_empty()) {
        attributes.push(KeyValue::new(
            tools::GEN_AI_TOOL_DESCRIPTION,
            description.to_string(),
        ));
    }
    attributes
}

/// The span name `execute_tool {name}`.
pub fn execute_tool_span_name(name: &str) -> String {
    format!("{} {name}", tools::EXECUTE_TOOL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(attrs: &[KeyValue], key: &str) -> Option<String> {
        attrs
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    }

    #[test]
    fn execute_tool_attributes_follow_the_genai_conventions() {
        let attrs = execute_tool_attributes("get_current_time", Some("call_ab12cd34"), Some("Now"));
        assert_eq!(
            get(&attrs, "gen_ai.operation.name").as_deref(),
            Some("execute_tool")
        );
        assert_eq!(
            get(&attrs, "gen_ai.tool.name").as_deref(),
            Some("get_current_time")
        );
        assert_eq!(
            get(&attrs, "gen_ai.tool.call.id").as_deref(),
            Some("call_ab12cd34")
        );
        assert_eq!(get(&attrs, "gen_ai.tool.type").as_deref(), Some("function"));
        assert_eq!(
            get(&attrs, "gen_ai.tool.description").as_deref(),
            Some("Now")
        );
        assert_eq!(execute_tool_span_name("x"), "execute_tool x");

        let bare = execute_tool_attributes("t", None, Some(""));
        assert_eq!(get(&bare, "gen_ai.tool.call.id"), None);
        assert_eq!(get(&bare, "gen_ai.tool.description"), None);
    }
}
