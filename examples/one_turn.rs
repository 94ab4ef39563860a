//! One instrumented chat turn, printed as the span tree a tracing backend would draw.
//!
//! ```text
//! cargo run --example one_turn
//! ```
//!
//! Nothing needs to be installed: the fake Ollama runs in this process, and the spans go to
//! the SDK's in-memory exporter instead of a collector. Read `src/chat/turn.rs` alongside the
//! output: every line below is a span, attribute or event that file records.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chatbot_otel::chat::ChatSession;
use chatbot_otel::ollama::OllamaClient;
use chatbot_otel::telemetry::Telemetry;
use fake_ollama::FakeOllama;
use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ollama = FakeOllama::start().await;

    // The SDK side: a tracer provider whose *simple* processor hands each span to the
    // exporter as soon as it ends (the binary uses a batch processor and OTLP instead).
    let exporter = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    // `log_interaction` is made with `tracing`; this layer turns our crate's `tracing`
    // spans into OTel spans, as the binary does.
    let bridge = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("chatbot-otel"))
        .with_filter(Targets::new().with_target("chatbot_otel", tracing::Level::TRACE));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(bridge))?;
    // The `traceparent` header is written by the global propagator, a no-op until set.
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    // The API side: the session only sees a `Telemetry` handle (a tracer and instruments).
    let telemetry = Telemetry::from_providers(tracer_provider.clone(), SdkMeterProvider::default());
    let client = OllamaClient::new(ollama.url().parse()?, Duration::from_secs(5));
    let mut session = ChatSession::new(
        client,
        Arc::new(telemetry),
        "llama3.1:8b".into(),
        0.7,
        None,
        true,
    );

    let mut reply = Vec::new();
    let report = session
        .send("Why is the sky blue?", &mut reply, std::future::pending())
        .await;

    let mut out = std::io::stdout().lock();
    writeln!(out, "reply: {}", String::from_utf8_lossy(&reply))?;
    writeln!(out, "status: {:?}\n", report.status)?;
    let spans = exporter.get_finished_spans()?;
    for root in spans.iter().filter(|s| s.parent_span_id == SpanId::INVALID) {
        print_tree(&mut out, &spans, root, 0)?;
    }
    // Flush and stop the SDK before exit, as every OpenTelemetry program should.
    tracer_provider.shutdown()?;
    Ok(())
}

/// Prints `span` (name, kind, duration, status, attributes, events), then its children in
/// the order they started.
fn print_tree(
    out: &mut impl Write,
    all: &[SpanData],
    span: &SpanData,
    depth: usize,
) -> std::io::Result<()> {
    let pad = "    ".repeat(depth);
    let took = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    writeln!(
        out,
        "{pad}{} [{:?}] {:.1} ms, status {:?}",
        span.name,
        span.span_kind,
        took.as_secs_f64() * 1e3,
        span.status
    )?;
    for kv in &span.attributes {
        writeln!(out, "{pad}  | {} = {}", kv.key, kv.value)?;
    }
    for event in &span.events.events {
        writeln!(out, "{pad}  * event {}", event.name)?;
    }
    let mut children: Vec<&SpanData> = all
        .iter()
        .filter(|c| c.parent_span_id == span.span_context.span_id())
        .collect();
    children.sort_by_key(|c| c.start_time);
    for child in children {
        print_tree(out, all, child, depth + 1)?;
    }
    Ok(())
}
