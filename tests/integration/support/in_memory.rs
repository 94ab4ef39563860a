//! A [`ChatSession`] whose telemetry goes to the SDK's in-memory exporters
//! (`opentelemetry_sdk::testing`, the `testing` feature): the SDK's own idiom for asserting
//! on spans and metrics without a collector or a process boundary.
//!
//! [`InMemory::new`] builds a tracer provider with a *simple* (synchronous) processor over an
//! [`InMemorySpanExporter`], so a span is readable as soon as it ends, and a meter provider
//! whose periodic reader feeds an [`InMemoryMetricExporter`] on `force_flush`. It also installs,
//! for the current thread only, the `tracing` → OpenTelemetry bridge the binary installs
//! globally, so the one span made with `tracing` (`log_interaction`) is recorded too.
//!
//! Why thread-local and `current_thread` tests: `tracing` caches per-callsite interest for
//! the whole process. A test hitting the `log_interaction` callsite while no subscriber
//! exists anywhere could cache "never" and make another test miss the span. Every test that
//! drives a turn in this process goes through this harness, so each hit happens while its own
//! subscriber is registered; and a `current_thread` runtime polls the whole turn on the
//! test's thread, where that subscriber is the default.

use std::sync::Arc;
use std::time::Duration;

use chatbot_otel::chat::ChatSession;
use chatbot_otel::ollama::OllamaClient;
use chatbot_otel::telemetry::Telemetry;
use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// In-memory providers plus a session talking to a fake Ollama.
pub struct InMemory {
    pub spans: InMemorySpanExporter,
    pub metrics: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
    pub session: ChatSession,
    _tracing: DefaultGuard,
}

impl InMemory {
    /// A session (model `llama3.1:8b`, temperature 0.7, content captured) against `fake_url`.
    pub fn new(fake_url: &str) -> InMemory {
        // `traceparent` injection reads the global propagator, a no-op until one is set.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let spans = InMemorySpanExporter::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let metrics = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics.clone()).build())
            .build();
        // As in the binary, only our crate's `tracing` spans are bridged.
        let bridge = tracing_opentelemetry::layer()
            .with_tracer(tracer_provider.tracer("chatbot-otel"))
            .with_filter(Targets::new().with_target("chatbot_otel", tracing::Level::TRACE));
        let tracing = tracing::subscriber::set_default(tracing_subscriber::registry().with(bridge));
        let telemetry = Telemetry::from_providers(tracer_provider, meter_provider.clone());
        let client = OllamaClient::new(fake_url.parse().unwrap(), Duration::from_secs(5));
        let session = ChatSession::new(
            client,
            Arc::new(telemetry),
            "llama3.1:8b".into(),
            0.7,
            None,
            true,
        );
        InMemory {
            spans,
            metrics,
            meter_provider,
            session,
            _tracing: tracing,
        }
    }

    /// Every span finished so far, in the order they ended.
    pub fn finished(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    /// The one finished span called `name` (panics if there are none or several).
    pub fn span(&self, name: &str) -> SpanData {
        let all = self.finished();
        let found: Vec<&SpanData> = all.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {name} span, finished: {:?}",
            all.iter().map(|s| s.name.clone()).collect::<Vec<_>>()
        );
        found[0].clone()
    }

    /// The value of a u64 counter or i64 up-down counter point with these attributes, from
    /// the last export (`None` when nothing matches).
    pub fn sum(&self, metric: &str, attrs: &[(&str, &str)]) -> Option<i64> {
        self.meter_provider.force_flush().unwrap();
        let exported = self.metrics.get_finished_metrics().unwrap();
        assert!(!exported.is_empty(), "force_flush exported nothing");
        let last = exported.last()?;
        let matches = |point_attrs: Vec<&opentelemetry::KeyValue>| {
            attrs.iter().all(|(k, v)| {
                point_attrs
                    .iter()
                    .any(|kv| kv.key.as_str() == *k && kv.value.as_str() == *v)
            })
        };
        for m in last.scope_metrics().flat_map(|scope| scope.metrics()) {
            if m.name() != metric {
                continue;
            }
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    if let Some(p) = s.data_points().find(|p| matches(p.attributes().collect())) {
                        return Some(p.value() as i64);
                    }
                }
                AggregatedMetrics::I64(MetricData::Sum(s)) => {
                    if let Some(p) = s.data_points().find(|p| matches(p.attributes().collect())) {
                        return Some(p.value());
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// The attribute `key` of `span`, if set.
pub fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn must(span: &SpanData, key: &str) -> Value {
    attr(span, key).unwrap_or_else(|| {
        panic!(
            "span {} has no attribute {key}; it has {:?}",
            span.name, span.attributes
        )
    })
}

/// The string attribute `key` (panics if absent or of another type).
pub fn str_attr(span: &SpanData, key: &str) -> String {
    match must(span, key) {
        Value::String(s) => s.to_string(),
        other => panic!("span {}: {key} = {other:?} is not a string", span.name),
    }
}

/// The integer attribute `key` (panics if absent or of another type, a double included).
pub fn i64_attr(span: &SpanData, key: &str) -> i64 {
    match must(span, key) {
        Value::I64(i) => i,
        other => panic!("span {}: {key} = {other:?} is not an i64", span.name),
    }
}

/// The double attribute `key` (panics if absent or of another type, an integer included).
pub fn f64_attr(span: &SpanData, key: &str) -> f64 {
    match must(span, key) {
        Value::F64(f) => f,
        other => panic!("span {}: {key} = {other:?} is not an f64", span.name),
    }
}

/// The boolean attribute `key` (panics if absent or of another type).
pub fn bool_attr(span: &SpanData, key: &str) -> bool {
    match must(span, key) {
        Value::Bool(b) => b,
        other => panic!("span {}: {key} = {other:?} is not a bool", span.name),
    }
}

/// The span's duration in seconds.
pub fn duration_secs(span: &SpanData) -> f64 {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Asserts that `child` is a direct child of `parent` in the same trace.
pub fn assert_parent(parent: &SpanData, child: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} and {} are in different traces",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

/// Whether `span` has no parent.
pub fn is_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID
}
