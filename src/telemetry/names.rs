//! Every span, attribute, event and metric name this program emits, in one place.
//!
//! Telemetry names are an API: dashboards, alert rules and tests outside the crate match
//! on them, so a rename here is a breaking change. Keeping them together also makes the
//! origin of each name visible at a glance:
//!
//! * `gen_ai.*`, `server.*`, `error.type`, `http.*`, `url.*` come from the OpenTelemetry
//!   semantic conventions (GenAI v1.41.0, HTTP v1.x). The `opentelemetry-semantic-conventions`
//!   crate marks its `GEN_AI_*` constants deprecated (they moved to a separate repository),
//!   so we spell them out here.
//! * `llm.*`, `chat.*` and `ollama.*` are this project's own names, kept for the dashboards
//!   of the original Python example this chatbot reimplements. Provider-specific values
//!   (Ollama's server-side timings) live under `ollama.*`, never under `gen_ai.*`.

/// Name of the instrumentation scope (the "tracer"/"meter" name) of every signal we emit.
pub const SCOPE: &str = "chatbot-otel";
/// `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` sets one.
pub const DEFAULT_SERVICE_NAME: &str = "llm-chatbot-otel";

/// Span names: the tree of one conversation turn.
pub mod span {
    /// INTERNAL root span of one turn: prompt in, reply out.
    pub const CHAT_INTERACTION: &str = "chat_interaction";
    /// CLIENT span of the GenAI "chat" operation: request plus the whole stream.
    pub const GENERATE_RESPONSE: &str = "generate_response";
    /// CLIENT span of the HTTP `POST /api/chat`, up to the response headers.
    pub const OLLAMA_REQUEST: &str = "ollama_request";
    /// INTERNAL span reading the NDJSON body up to the final chunk.
    pub const PROCESS_STREAMING_RESPONSE: &str = "process_streaming_response";
    /// INTERNAL span writing the turn's JSON log line (a `tracing` span, bridged).
    pub const LOG_INTERACTION: &str = "log_interaction";
    /// INTERNAL root of its own trace: the user's verdict on a reply, *linked* to the
    /// `chat_interaction` it judges (possibly from an earlier session).
    pub const USER_FEEDBACK: &str = "user_feedback";
    /// The one span `chatbot-otel doctor` exports to prove the export path works.
    pub const DOCTOR_CHECK: &str = "doctor_check";
}

/// Span event names.
pub mod event {
    /// The first piece of reply text (`message.content`) arrived.
    pub const FIRST_TOKEN: &str = "first_token";
    /// The first piece of the model's reasoning (`message.thinking`) arrived.
    pub const THINKING_STARTED: &str = "thinking_started";
    /// The user pressed Ctrl-C while the reply streamed.
    pub const CANCELLED: &str = "cancelled";
    /// The conventions' event for an error, on the span where it happened.
    pub const EXCEPTION: &str = "exception";
}

/// Attribute keys (span attributes, and metric attributes where noted).
pub mod attr {
    // --- this project's own keys -------------------------------------------------------
    /// Resource attribute: `true` when the replies come from the built-in demo model.
    pub const CHATBOT_DEMO: &str = "chatbot.demo";
    /// 1-based number of the turn within this session.
    pub const CHAT_TURN: &str = "chat.turn";
    pub const LLM_MODEL: &str = "llm.model";
    pub const LLM_TEMPERATURE: &str = "llm.temperature";
    /// The user's prompt (only when content capture is on).
    pub const LLM_PROMPT: &str = "llm.prompt";
    /// The model's reply (only when content capture is on).
    pub const LLM_RESPONSE: &str = "llm.response";
    pub const LLM_TOKENS_INPUT: &str = "llm.tokens.input";
    pub const LLM_TOKENS_OUTPUT: &str = "llm.tokens.output";
    pub const LLM_TOKENS_TOTAL: &str = "llm.tokens.total";
    pub const LLM_DURATION_MS: &str = "llm.duration_ms";
    /// On `execute_tool`: `approved`, `always`, `denied` or `not_allowed` (see `chat::tools`).
    pub const LLM_TOOL_DECISION: &str = "llm.tool.decision";
    /// How many tool calls a turn made, on its log record (`tool_calls` in the file).
    pub const CHAT_TOOL_CALLS: &str = "chat.tool_calls";
    /// The tools offered to the model, as JSON (content capture only), on `generate_response`.
    pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
    /// Metric attribute of `llm.tool.calls`: the tool's name.
    pub const METRIC_TOOL: &str = "tool";
    /// `true` on the spans of a turn the user cancelled (not an error).
    pub const LLM_CANCELLED: &str = "llm.cancelled";
    /// Number of NDJSON chunks read from the stream.
    pub const LLM_STREAM_CHUNKS: &str = "llm.stream.chunks";
    /// The model's reasoning text (only when content capture is on), on `generate_response`.
    /// Not `llm.thinking`: an attribute may not also be the namespace of others
    /// (`llm.thinking.duration_ms`), as OpenTelemetry Weaver's registry rules say.
    pub const LLM_THINKING: &str = "llm.thinking.content";
    /// Milliseconds from the first thinking chunk to the first content chunk (or the end).
    pub const LLM_THINKING_DURATION_MS: &str = "llm.thinking.duration_ms";
    /// Number of chunks that carried thinking text.
    pub const LLM_THINKING_CHUNKS: &str = "llm.thinking.chunks";
    /// The request's `think` value as sent: `true`, `false` or a level.
    pub const OLLAMA_REQUEST_THINK: &str = "ollama.request.think";
    /// Ollama `options` with no GenAI attribute of their own.
    pub const OLLAMA_REQUEST_NUM_CTX: &str = "ollama.request.num_ctx";
    pub const OLLAMA_REQUEST_MIN_P: &str = "ollama.request.min_p";
    pub const OLLAMA_REQUEST_REPEAT_PENALTY: &str = "ollama.request.repeat_penalty";
    pub const OLLAMA_REQUEST_REPEAT_LAST_N: &str = "ollama.request.repeat_last_n";
    /// Ollama's server-side timings from the final chunk, converted from ns to seconds.
    pub const OLLAMA_TOTAL_DURATION: &str = "ollama.total_duration";
    pub const OLLAMA_LOAD_DURATION: &str = "ollama.load_duration";
    pub const OLLAMA_PROMPT_EVAL_DURATION: &str = "ollama.prompt_eval_duration";
    pub const OLLAMA_EVAL_DURATION: &str = "ollama.eval_duration";
    /// Ollama's `done_reason` (`stop`, `length`, `load`, `unload`).
    pub const OLLAMA_DONE_REASON: &str = "ollama.done_reason";

    /// `success`/`error`/`cancelled` of a turn, on its log record (`status` in the file).
    pub const CHAT_STATUS: &str = "chat.status";
    /// The turn's `chat_interaction` span id, on its log record, for `/feedback --trace`.
    pub const CHAT_ROOT_SPAN_ID: &str = "chat.root_span_id";
    /// Turns attempted in the session, on the `chatbot.exiting` record.
    pub const CHAT_TURNS: &str = "chat.turns";
    /// How many messages the request carried (system, history, the new prompt).
    pub const CHAT_MESSAGES_SENT: &str = "chat.messages.sent";
    /// How many of them fit in `gen_ai.input.messages` (the newest; see `chat::capture`).
    pub const CHAT_MESSAGES_CAPTURED: &str = "chat.messages.captured";
    /// The Ollama URL (credentials redacted), on the `chatbot.started` record.
    pub const CHATBOT_OLLAMA_URL: &str = "chatbot.ollama.url";
    /// The signal that ended the program at the prompt, on the `chatbot.exiting` record.
    pub const CHATBOT_SIGNAL: &str = "chatbot.signal";
    /// Whether telemetry is exported, on the `chatbot.started` record.
    pub const CHATBOT_TELEMETRY_ENABLED: &str = "chatbot.telemetry.enabled";

    // --- OpenTelemetry GenAI semantic conventions (v1.41.0) ----------------------------
    /// One id for every turn of a conversation (a UUID; `/clear` starts a new one).
    pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// The messages sent, as the conventions' JSON (content capture only).
    pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// The reply, as the conventions' JSON with its finish reason (content capture only).
    pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
    pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
    pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
    pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
    pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
    pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
    /// Ollama's `num_predict`.
    pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
    pub const GEN_AI_REQUEST_TOP_K: &str = "gen_ai.request.top_k";
    pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
    /// Ollama's `stop` (a string array).
    pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
    /// The exact level string sent as `think` (`low`…`max`); unset for a boolean `think`.
    /// From the conventions' development line (genai-2026.md), not yet in v1.41.
    pub const GEN_AI_REQUEST_REASONING_LEVEL: &str = "gen_ai.request.reasoning.level";
    pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
    /// Metric attribute of `gen_ai.client.token.usage`: `input` or `output`.
    pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
    /// Value of `gen_ai.operation.name` for `/api/chat`.
    pub const OPERATION_CHAT: &str = "chat";
    /// Value of `gen_ai.provider.name`: not in the well-known list, so a lowercase custom value.
    pub const PROVIDER_OLLAMA: &str = "ollama";

    // --- general semantic conventions (stable) ----------------------------------------
    /// The conversation id again, under the general name Langfuse and Phoenix group by.
    pub const SESSION_ID: &str = "session.id";
    /// OpenInference's names for a trace's input and output, which Phoenix and Langfuse
    /// show in their session views; on `chat_interaction` (content capture only).
    pub const INPUT_VALUE: &str = "input.value";
    pub const OUTPUT_VALUE: &str = "output.value";
    pub const SERVER_ADDRESS: &str = "server.address";
    pub const SERVER_PORT: &str = "server.port";
    /// Low-cardinality class of a failure; the values are [`crate::ollama::ErrorKind`].
    pub const ERROR_TYPE: &str = "error.type";
    /// Attributes of the `exception` event.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    pub const URL_FULL: &str = "url.full";
    /// Pre-1.20 HTTP names, only with `OTEL_SEMCONV_STABILITY_OPT_IN=http/dup` (the HTTP
    /// conventions' migration switch), for dashboards that still query them.
    pub const HTTP_METHOD_OLD: &str = "http.method";
    pub const HTTP_URL_OLD: &str = "http.url";
    pub const HTTP_STATUS_CODE_OLD: &str = "http.status_code";

    /// `good` or `bad`, on `user_feedback`.
    pub const FEEDBACK_RATING: &str = "feedback.rating";
    /// The user's comment on a reply (only when content capture is on).
    pub const FEEDBACK_COMMENT: &str = "feedback.comment";
    /// Attribute of the span link from `user_feedback` to the judged turn.
    pub const LINK_TYPE: &str = "link.type";
    pub const LINK_TYPE_FEEDBACK: &str = "feedback";

    // --- metric-only attribute keys (become Prometheus labels as written) -------------
    pub const METRIC_MODEL: &str = "model";
    pub const METRIC_STATUS: &str = "status";
    pub const METRIC_TOKEN_TYPE: &str = "type";
    pub const METRIC_ERROR_TYPE: &str = "error_type";
    pub const METRIC_RATING: &str = "rating";
}

/// Log event names (the OTLP log record's `EventName`). The JSON log file keeps the
/// original example's flat field names; [`log::FILE_NAMES`] maps each attribute to it.
pub mod log {
    pub const TURN: &str = "chatbot.turn";
    pub const STARTED: &str = "chatbot.started";
    pub const EXITING: &str = "chatbot.exiting";

    /// OTLP attribute → JSON log file field (a dot in the file name nests: `tokens.input`).
    pub const FILE_NAMES: &[(&str, &str)] = &[
        (super::attr::CHAT_TURN, "turn"),
        (super::attr::GEN_AI_REQUEST_MODEL, "model"),
        (super::attr::GEN_AI_USAGE_INPUT_TOKENS, "tokens.input"),
        (super::attr::GEN_AI_USAGE_OUTPUT_TOKENS, "tokens.output"),
        (super::attr::LLM_TOKENS_TOTAL, "tokens.total"),
        (super::attr::LLM_DURATION_MS, "duration_ms"),
        (super::attr::LLM_THINKING_DURATION_MS, "thinking_ms"),
        (super::attr::CHAT_STATUS, "status"),
        (super::attr::ERROR_TYPE, "error_type"),
        (super::attr::CHAT_ROOT_SPAN_ID, "root_span_id"),
        (super::attr::GEN_AI_CONVERSATION_ID, "conversation_id"),
        (super::attr::CHAT_TURNS, "turns"),
        (super::attr::CHATBOT_OLLAMA_URL, "ollama"),
        (super::attr::CHATBOT_TELEMETRY_ENABLED, "telemetry"),
        (super::attr::CHAT_TOOL_CALLS, "tool_calls"),
        (super::attr::CHATBOT_SIGNAL, "signal"),
    ];
}

/// Resource attribute keys we set ourselves.
pub mod resource {
    pub const SERVICE_NAME: &str = "service.name";
    pub const SERVICE_VERSION: &str = "service.version";
    pub const HOST_NAME: &str = "host.name";
    /// From `DEPLOYMENT_ENVIRONMENT` (the conventions' current name, not the deprecated
    /// `deployment.environment`).
    pub const DEPLOYMENT_ENVIRONMENT_NAME: &str = "deployment.environment.name";
}

/// Metric instrument names. The comment gives the Prometheus name the collector's
/// `prometheus` exporter derives (unit suffix, `_total` for monotonic sums).
pub mod metric {
    /// `llm_requests_total{model,status}`
    pub const LLM_REQUESTS: &str = "llm.requests";
    /// `llm_request_duration_seconds{model}`
    pub const LLM_REQUEST_DURATION: &str = "llm.request.duration";
    /// `llm_tokens_total{model,type}`
    pub const LLM_TOKENS: &str = "llm.tokens";
    /// `llm_errors_total{model,error_type}`
    pub const LLM_ERRORS: &str = "llm.errors";
    /// `llm_time_to_first_token_seconds{model}`: to the first *content* chunk
    pub const LLM_TIME_TO_FIRST_TOKEN: &str = "llm.time_to_first_token";
    /// `llm_thinking_duration_seconds{model}`: first thinking chunk to first content chunk
    pub const LLM_THINKING_DURATION: &str = "llm.thinking.duration";
    /// `llm_tool_calls_total{tool,status}`: status `success`, `error` or `denied`
    pub const LLM_TOOL_CALLS: &str = "llm.tool.calls";
    /// `llm_requests_active{model}` (an UpDownCounter: no `_total`)
    pub const LLM_REQUESTS_ACTIVE: &str = "llm.requests.active";
    /// `llm_feedback_total{model,rating}`
    pub const LLM_FEEDBACK: &str = "llm.feedback";
    /// GenAI semconv, Required: `gen_ai_client_operation_duration_seconds`
    pub const GEN_AI_CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    /// GenAI semconv: `gen_ai_client_token_usage`
    pub const GEN_AI_CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// GenAI semconv (v1.41, streaming only): `gen_ai_client_operation_time_to_first_chunk_seconds`;
    /// the first chunk of either kind, thinking included (the conventions' meaning)
    pub const GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK: &str =
        "gen_ai.client.operation.time_to_first_chunk";

    /// The GenAI conventions' development line names (genai-2026.md), emitted as well as the
    /// v1.41 ones with `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`.
    pub const GEN_AI_CLIENT_INFERENCE_DURATION: &str = "gen_ai.client.inference.duration";
    pub const GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK: &str =
        "gen_ai.client.inference.time_to_first_chunk";

    /// Values of the `status` label of `llm.requests`.
    pub const STATUS_SUCCESS: &str = "success";
    pub const STATUS_ERROR: &str = "error";
    pub const STATUS_CANCELLED: &str = "cancelled";
}

/// Histogram bucket boundaries. The SDK's defaults (0, 5, 10, 25, … 10000) are meant for
/// milliseconds: every sample in seconds would land in the first buckets and
/// `histogram_quantile` would return nonsense.
pub mod buckets {
    /// For our `llm.*` second-scale histograms: a chat turn takes 0.1 s to minutes.
    pub const SECONDS: &[f64] = &[
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ];
    /// GenAI semconv advice for `gen_ai.client.operation.duration` and time to first chunk.
    pub const GEN_AI_DURATION: &[f64] = &[
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];
    /// GenAI semconv advice for `gen_ai.client.token.usage`.
    pub const GEN_AI_TOKENS: &[f64] = &[
        1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
        4194304.0, 16777216.0, 67108864.0,
    ];
}

// =====================================================================================
// Tools through MCP (issue 10). Kept in one block so the tool-calling contract can be
// read at a glance: the GenAI `execute_tool` span, the MCP client span and its metric.
// =====================================================================================

/// Names of tool execution: the GenAI "Execute tool span" (v1.41.0 `gen-ai-spans.md`) and
/// the MCP client conventions (v1.41.0 `mcp.md`).
pub mod tools {
    /// Prefix of the INTERNAL span `execute_tool {gen_ai.tool.name}`, and the value of
    /// `gen_ai.operation.name` on it.
    pub const EXECUTE_TOOL: &str = "execute_tool";
    /// `mcp.method.name` of a tool call, and the prefix of the CLIENT span `tools/call {tool}`.
    pub const METHOD_TOOLS_CALL: &str = "tools/call";

    // --- GenAI attributes of a tool call ----------------------------------------------
    pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
    pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
    pub const GEN_AI_TOOL_DESCRIPTION: &str = "gen_ai.tool.description";
    /// Opt-In (content capture): the arguments as a JSON string.
    pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
    /// Opt-In (content capture): the result text, truncated.
    pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
    /// Value of `gen_ai.tool.type`: a tool run by the application (here, through MCP).
    pub const TOOL_TYPE_FUNCTION: &str = "function";

    // --- MCP client span and metric attributes -----------------------------------------
    pub const MCP_METHOD_NAME: &str = "mcp.method.name";
    /// Only when the server gave one (Streamable HTTP); a stdio session has none.
    pub const MCP_SESSION_ID: &str = "mcp.session.id";
    /// The protocol version the handshake settled on, e.g. `2025-06-18`.
    pub const MCP_PROTOCOL_VERSION: &str = "mcp.protocol.version";
    pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
    /// The JSON-RPC error code of an error response, as a string (`-32602`).
    pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";
    pub const NETWORK_TRANSPORT: &str = "network.transport";
    /// Value of `network.transport` for the stdio transport.
    pub const TRANSPORT_PIPE: &str = "pipe";

    // --- values of `error.type` on `tools/call` and in its metric ---------------------
    /// The conventions' value for a `CallToolResult` with `isError: true`.
    pub const ERROR_TOOL_ERROR: &str = "tool_error";
    /// No response within the call's timeout (`notifications/cancelled` was sent).
    pub const ERROR_TIMEOUT: &str = "timeout";
    /// The server's pipe closed before it answered: it exited or crashed mid-call.
    pub const ERROR_CONNECTION_CLOSED: &str = "connection_closed";
    /// The server answered something that is not a tool result.
    pub const ERROR_UNEXPECTED_RESPONSE: &str = "unexpected_response";
    /// On `execute_tool` only (no request was sent): no ready server offers the tool,
    /// the arguments do not fit its schema, or its server is starting or failed.
    pub const ERROR_UNKNOWN_TOOL: &str = "unknown_tool";
    pub const ERROR_INVALID_ARGUMENTS: &str = "invalid_arguments";
    pub const ERROR_SERVER_UNAVAILABLE: &str = "server_unavailable";

    /// MCP semconv: `mcp_client_operation_duration_seconds{mcp_method_name,…}`.
    pub const MCP_CLIENT_OPERATION_DURATION: &str = "mcp.client.operation.duration";
    /// MCP semconv advice for `mcp.client.operation.duration` (seconds).
    pub const MCP_DURATION_BUCKETS: &[f64] = &[
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ];
}
