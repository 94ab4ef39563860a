//! The library API with the SDK's in-memory exporters: what a turn records, including the
//! case the binary cannot easily show: a reply cancelled by Ctrl-C.
//!
//! Each test builds its own providers and, where needed, a thread-local `tracing`
//! subscriber, so tests run in parallel without sharing global state.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatbot_otel::chat::ChatSession;
use chatbot_otel::ollama::OllamaClient;
use chatbot_otel::telemetry::metrics::TurnStatus;
use chatbot_otel::telemetry::Telemetry;
use fake_ollama::{Behaviour, FakeOllama, Options};
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::sync::oneshot;

/// In-memory providers plus a session talking to `fake`.
struct Harness {
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
    session: ChatSession,
}

fn harness(fake_url: &str) -> Harness {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let telemetry = Telemetry::from_providers(tracer_provider.clone(), meter_provider.clone());
    let client = OllamaClient::new(fake_url.parse().unwrap(), Duration::from_secs(5));
    let session = ChatSession::new(
        client,
        Arc::new(telemetry),
        "llama3.1:8b".into(),
        0.7,
        None,
        true,
    );
    Harness {
        spans,
        metrics,
        meter_provider,
        session,
    }
}

impl Harness {
    fn span(&self, name: &str) -> SpanData {
        self.spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no span {name} in {:?}",
                    self.spans
                        .get_finished_spans()
                        .unwrap()
                        .iter()
                        .map(|s| s.name.clone())
                        .collect::<Vec<_>>()
                )
            })
    }

    fn attr(span: &SpanData, key: &str) -> Option<Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    }

    /// The value of a u64 counter or i64 up-down counter point with these attributes.
    fn sum(&self, metric: &str, attrs: &[(&str, &str)]) -> Option<i64> {
        self.meter_provider.force_flush().unwrap();
        let exported = self.metrics.get_finished_metrics().unwrap();
        let last = exported.last()?;
        for scope in last.scope_metrics() {
            for m in scope.metrics() {
                if m.name() != metric {
                    continue;
                }
                let matches = |point_attrs: Vec<&opentelemetry::KeyValue>| {
                    attrs.iter().all(|(k, v)| {
                        point_attrs
                            .iter()
                            .any(|kv| kv.key.as_str() == *k && kv.value.as_str() == *v)
                    })
                };
                match m.data() {
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            if matches(p.attributes().collect()) {
                                return Some(p.value() as i64);
                            }
                        }
                    }
                    AggregatedMetrics::I64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            if matches(p.attributes().collect()) {
                                return Some(p.value());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

/// A writer that tells the test when the first reply text has been written.
struct FirstWrite {
    tx: Mutex<Option<oneshot::Sender<()>>>,
    written: Vec<u8>,
}

impl Write for FirstWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(tx) = self.tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ctrl-C mid-reply: the turn is cancelled, not failed; the spans say so and the history is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn cancelled_turn_is_marked_and_not_an_error() {
    let fake = FakeOllama::start_with(Options {
        chunk_delay: Duration::from_millis(200),
        reply: fake_ollama::Reply::Words(50),
        ..Options::default()
    })
    .await
    .unwrap();
    let mut h = harness(&fake.url());
    let (tx, rx) = oneshot::channel();
    let mut out = FirstWrite {
        tx: Mutex::new(Some(tx)),
        written: Vec::new(),
    };
    let report = h
        .session
        .send("tell me a long story", &mut out, async {
            let _ = rx.await;
        })
        .await;

    assert_eq!(report.status, TurnStatus::Cancelled);
    assert!(report.error.is_none());
    assert!(
        !out.written.is_empty(),
        "some text streamed before the cancel"
    );
    assert!(
        h.session.history().is_empty(),
        "a cancelled turn leaves no history"
    );

    for name in [
        "chat_interaction",
        "generate_response",
        "process_streaming_response",
    ] {
        let span = h.span(name);
        assert_eq!(span.status, Status::Unset, "{name} status");
        assert_eq!(
            Harness::attr(&span, "llm.cancelled"),
            Some(Value::Bool(true)),
            "{name}"
        );
        assert!(
            span.events.iter().any(|e| e.name == "cancelled"),
            "{name} has a cancelled event"
        );
        assert!(Harness::attr(&span, "error.type").is_none(), "{name}");
    }
    assert_eq!(
        h.sum(
            "llm.requests",
            &[("model", "llama3.1:8b"), ("status", "cancelled")]
        ),
        Some(1)
    );
    assert_eq!(h.sum("llm.requests.active", &[]), Some(0));
    assert_eq!(h.sum("llm.errors", &[]), None, "no error counted");
}

/// The next turn after a cancelled one succeeds and sends only the successful history.
#[tokio::test(flavor = "multi_thread")]
async fn failure_then_success_keeps_the_conversation() {
    let fake = FakeOllama::start().await;
    let mut h = harness(&fake.url());
    let mut sink = Vec::new();
    let first = h
        .session
        .send("one", &mut sink, std::future::pending())
        .await;
    assert_eq!(first.status, TurnStatus::Success);
    fake.push(Behaviour::ErrorMidStream {
        after_chunks: 1,
        message: "boom".into(),
    });
    let second = h
        .session
        .send("two", &mut sink, std::future::pending())
        .await;
    assert!(matches!(second.status, TurnStatus::Error(_)));
    let third = h
        .session
        .send("three", &mut sink, std::future::pending())
        .await;
    assert_eq!(third.status, TurnStatus::Success);

    let requests = fake.chat_requests();
    let last = requests.last().unwrap().json();
    let contents: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["one", "You said: one", "three"]);
    assert_eq!(h.session.history().len(), 4);
}

/// Ollama down: the request span and both ancestors carry ERROR and `error.type`; the
/// `exception` event is on the request span only, where the failure happened.
#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_marks_the_whole_path() {
    // Bind then drop a listener: a port on which nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = harness(&format!("http://127.0.0.1:{port}"));
    let mut sink = Vec::new();
    let report = h
        .session
        .send("hi", &mut sink, std::future::pending())
        .await;
    assert!(matches!(report.status, TurnStatus::Error(_)));
    assert!(report
        .error
        .unwrap()
        .user_message()
        .contains("ollama serve"));
    for name in ["ollama_request", "generate_response", "chat_interaction"] {
        let span = h.span(name);
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{name}: {:?}",
            span.status
        );
        assert_eq!(
            Harness::attr(&span, "error.type"),
            Some(Value::from("connection_refused")),
            "{name}"
        );
        let exceptions = span.events.iter().filter(|e| e.name == "exception").count();
        let expected = usize::from(name == "ollama_request");
        assert_eq!(exceptions, expected, "{name}");
    }
    assert_eq!(
        h.sum("llm.errors", &[("error_type", "connection_refused")]),
        Some(1)
    );
}
