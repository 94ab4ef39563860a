//! The one span made with `tracing` (`log_interaction`) joins the OTel trace of its turn.
//!
//! Its own test binary on purpose: `tracing` caches per-callsite interest process-wide,
//! and a test on another thread hitting the same callsite with no subscriber can make a
//! thread-local subscriber miss the span.

use std::sync::Arc;
use std::time::Duration;

use chatbot_otel::chat::ChatSession;
use chatbot_otel::ollama::OllamaClient;
use chatbot_otel::telemetry::metrics::TurnStatus;
use chatbot_otel::telemetry::Telemetry;
use fake_ollama::FakeOllama;
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

/// `log_interaction` is a child of `chat_interaction` in the same trace, and INTERNAL.
#[tokio::test(flavor = "current_thread")]
async fn tracing_span_joins_the_trace() {
    let fake = FakeOllama::start().await;
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let telemetry = Telemetry::from_providers(tracer_provider.clone(), SdkMeterProvider::default());
    let mut session = ChatSession::new(
        OllamaClient::new(fake.url().parse().unwrap(), Duration::from_secs(5)),
        Arc::new(telemetry),
        "llama3.1:8b".into(),
        0.7,
        None,
        true,
    );
    let bridge = tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("chatbot-otel"));
    // Thread-local subscriber: a current-thread runtime polls everything on this thread.
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(bridge));

    let report = session
        .send("hi", &mut Vec::new(), std::future::pending())
        .await;
    assert_eq!(report.status, TurnStatus::Success);

    let finished = spans.get_finished_spans().unwrap();
    let by_name = |name: &str| {
        finished
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    };
    let root = by_name("chat_interaction");
    let log = by_name("log_interaction");
    assert_eq!(log.span_context.trace_id(), root.span_context.trace_id());
    assert_eq!(log.parent_span_id, root.span_context.span_id());
    assert_eq!(log.span_kind, SpanKind::Internal);
    assert_eq!(report.trace_id, Some(root.span_context.trace_id()));
}
