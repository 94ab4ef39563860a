//! chatbot-otel: a terminal chatbot for a local Ollama, instrumented by hand with
//! OpenTelemetry traces, metrics and logs.
//!
//! Reading order for someone learning manual instrumentation:
//!
//! 1. [`telemetry::names`] — every span, attribute and metric name, in one place.
//! 2. [`chat::turn`] — one conversation turn as a tree of spans: starting spans with an
//!    explicit parent `Context`, span kinds, attributes, events, errors, cancellation,
//!    `traceparent` propagation, and the metrics recorded at the end.
//! 3. [`telemetry::metrics`] — instruments, units, bucket boundaries, attribute hygiene.
//! 4. [`telemetry::logs`] — JSON log lines carrying the trace context; the OTLP logs bridge.
//! 5. [`telemetry`] — providers, exporters, Resource, and a shutdown that cannot hang.
//!
//! The rest is the chatbot: [`config`] (flags > environment > defaults), [`ollama`] (the
//! HTTP client and NDJSON stream, free of telemetry), [`chat`] (the conversation),
//! [`repl`] (the terminal and piped front ends), [`app`] (wiring and exit codes).

pub mod app;
pub mod chat;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod mcp;
pub mod ollama;
pub mod repl;
pub mod telemetry;
pub mod text;
pub mod tls;
