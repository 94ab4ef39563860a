//! Hot path 2: one whole chat turn, with and without its instrumentation.
//!
//! A `ChatSession` sends a prompt to an in-process `fake_ollama::FakeOllama` (no delays)
//! and streams the reply into `io::sink()`. Telemetry is either
//!
//! * `off`: `Telemetry::disabled()` plus a `tracing` subscriber with only the JSON log
//!   layer (writing to `/dev/null`), as the binary runs with `--no-telemetry`; or
//! * `on`: `Telemetry::from_providers` with the SDK's batch span processor, a periodic
//!   metric reader and a batch log processor whose exporters drop every batch, plus the
//!   subscriber the binary installs (JSON layer, OTLP logs bridge, span bridge for
//!   `log_interaction`). So the four API spans, the bridged span, the nine instruments and
//!   the log line are all produced and handed to the SDK, and only the wire is missing.
//!
//! Times are **CPU time of the whole process** (this client, the in-process fake server and
//! the SDK's threads; see `process_cpu`), not wall time: the fake's share is the same in
//! both settings, so `on` minus `off` is what the instrumentation costs per turn.
//!
//! The history is cleared before each turn so every iteration sends the same request.
//! The difference between `on` and `off` is the instrumentation's cost per turn; the
//! 1-word and 500-word replies separate the per-turn cost from the per-chunk cost.
//!
//! `turn/request_finished` times `ChatMetrics::request_finished` alone (the metric work
//! at the end of a successful turn) on the SDK meter and on the no-op meter.
//!
//! `turn/stream_500_chunks/{content,thinking}` streams 500 chunks with telemetry on, once as
//! answer text (a model that does not think) and once as reasoning (a thinking model that
//! then answers in one word): the per-chunk cost of a thinking stream beside a content one.
//!
//! Run: `cargo bench --bench turn` (add `-- --quick` for a rough pass).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chatbot_otel::chat::ChatSession;
use chatbot_otel::config::LogTarget;
use chatbot_otel::ollama::OllamaClient;
use chatbot_otel::telemetry::logs::{bridge_filter, file_filter, JsonLogLayer};
use chatbot_otel::telemetry::metrics::{ChatMetrics, TurnMeasurement, TurnStatus};
use chatbot_otel::telemetry::Telemetry;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fake_ollama::{FakeOllama, Options, Reply, Thinking};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::runtime::Runtime;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// Exporters that accept everything and keep nothing.
#[derive(Debug, Default)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch.len());
        Ok(())
    }
}

impl LogExporter for Discard {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        black_box(&batch);
        Ok(())
    }
}

impl PushMetricExporter for Discard {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// The process-wide pieces of one telemetry setting.
struct Setup {
    telemetry: Arc<Telemetry>,
    dispatch: Dispatch,
    /// Kept alive (and shut down when dropped) for the `on` setting.
    _logger: Option<SdkLoggerProvider>,
}

fn json_layer() -> JsonLogLayer {
    JsonLogLayer::new(&LogTarget::File("/dev/null".into()), "bench".into())
        .expect("/dev/null opens")
}

fn telemetry_off() -> Setup {
    let subscriber = tracing_subscriber::registry()
        .with(json_layer().with_filter(file_filter(tracing::Level::INFO)));
    Setup {
        telemetry: Arc::new(Telemetry::disabled()),
        dispatch: Dispatch::new(subscriber),
        _logger: None,
    }
}

fn telemetry_on() -> Setup {
    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(Discard)
                .with_interval(Duration::from_secs(10))
                .build(),
        )
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    let span_bridge = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("chatbot-otel"))
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("chatbot_otel", tracing::Level::TRACE),
        );
    let log_bridge = OpenTelemetryTracingBridge::new(&logger_provider)
        .with_filter(bridge_filter(tracing::Level::INFO));
    let subscriber = tracing_subscriber::registry()
        .with(json_layer().with_filter(file_filter(tracing::Level::INFO)))
        .with(log_bridge)
        .with(span_bridge);
    Setup {
        telemetry: Arc::new(Telemetry::from_providers(tracer_provider, meter_provider)),
        dispatch: Dispatch::new(subscriber),
        _logger: Some(logger_provider),
    }
}

/// CPU time used so far by every thread of this process (client, fake server, SDK
/// threads), from `/proc/self/task/*/schedstat` (nanoseconds on CPU).
///
/// The turn benchmarks report this instead of wall time: with a server on another thread
/// and no delays, a turn's wall time depends on how the scheduler interleaves the two
/// threads (whether chunks coalesce into one read or not), which varies several-fold
/// between runs; the CPU spent per turn does not, and it is what the telemetry costs.
fn process_cpu() -> Duration {
    let mut nanos = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                nanos += stat
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(nanos)
}

/// The client's runtime: one thread, so the connection task and the turn run where the
/// chunks are consumed. With the binary's multi-thread runtime (`app.rs`) every chunk is
/// handed from a worker thread to the `block_on` thread, and the measurement becomes one of
/// the scheduler (several context switches per chunk, run-to-run swings of 2x) rather
/// than of the instrumentation; BENCHMARKS.md measures that effect on the whole process.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn bench_turns(c: &mut Criterion) {
    // As `app::run` does: reqwest is built with rustls but no default crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = runtime();
    let mut group = c.benchmark_group("turn");
    for words in [1usize, 500] {
        let fake = rt
            .block_on(FakeOllama::start_with(Options {
                reply: Reply::Words(words),
                ..Options::default()
            }))
            .expect("fake-ollama starts");
        let url = url::Url::parse(&fake.url()).expect("a URL");
        // Chunks per turn: the content lines plus the final line.
        group.throughput(Throughput::Elements(words as u64 + 1));
        for (label, setup) in [
            ("off", telemetry_off as fn() -> Setup),
            ("on", telemetry_on),
        ] {
            let setup = setup();
            let mut session = ChatSession::new(
                OllamaClient::new(url.clone(), Duration::from_secs(30)),
                setup.telemetry.clone(),
                "llama3.1:8b".into(),
                0.7,
                None,
                true,
            );
            let _default = tracing::dispatcher::set_default(&setup.dispatch);
            let mut sink = std::io::sink();
            // One turn outside the measurement opens the keep-alive connection.
            rt.block_on(session.send("warm up", &mut sink, std::future::pending()));
            group.bench_function(
                BenchmarkId::new(format!("telemetry_{label}"), format!("{words}_words")),
                |b| {
                    b.iter_custom(|iters| {
                        let start = process_cpu();
                        for _ in 0..iters {
                            session.clear();
                            let report = rt.block_on(session.send(
                                "Tell me about the sea",
                                &mut sink,
                                std::future::pending(),
                            ));
                            assert!(report.error.is_none(), "{:?}", report.error);
                            black_box(report);
                        }
                        process_cpu().saturating_sub(start)
                    })
                },
            );
            drop(_default);
            setup.telemetry.shutdown(Duration::from_secs(5));
        }
        drop(fake);
    }
    group.finish();
}

fn bench_thinking_vs_content(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = runtime();
    let mut group = c.benchmark_group("turn/stream_500_chunks");
    // Lines the client reads per turn: 500 content chunks + the final line (501), or
    // 500 thinking chunks + one content chunk + the final line (502). Throughput counts
    // them, so criterion's "elements/s" is chunks per CPU second.
    for (label, model, options, lines) in [
        (
            "content",
            "llama3.1:8b",
            Options {
                reply: Reply::Words(500),
                ..Options::default()
            },
            501u64,
        ),
        (
            "thinking",
            "qwen3:0.6b",
            Options {
                models: vec!["qwen3:0.6b".into()],
                thinking: Thinking::Words(500),
                reply: Reply::Words(1),
                ..Options::default()
            },
            502u64,
        ),
    ] {
        let fake = rt
            .block_on(FakeOllama::start_with(options))
            .expect("fake-ollama starts");
        let url = url::Url::parse(&fake.url()).expect("a URL");
        group.throughput(Throughput::Elements(lines));
        let setup = telemetry_on();
        let mut session = ChatSession::new(
            OllamaClient::new(url, Duration::from_secs(30)),
            setup.telemetry.clone(),
            model.into(),
            0.7,
            None,
            true,
        );
        let _default = tracing::dispatcher::set_default(&setup.dispatch);
        let mut sink = std::io::sink();
        rt.block_on(session.send("warm up", &mut sink, std::future::pending()));
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let start = process_cpu();
                for _ in 0..iters {
                    session.clear();
                    let report = rt.block_on(session.send(
                        "Tell me about the sea",
                        &mut sink,
                        std::future::pending(),
                    ));
                    assert!(report.error.is_none(), "{:?}", report.error);
                    black_box(report);
                }
                process_cpu().saturating_sub(start)
            })
        });
        drop(_default);
        setup.telemetry.shutdown(Duration::from_secs(5));
        drop(fake);
    }
    group.finish();
}

fn bench_request_finished(c: &mut Criterion) {
    let sdk_meter = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(Discard)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let noop = opentelemetry::metrics::NoopMeterProvider::new();
    let measurement = TurnMeasurement {
        model: "llama3.1:8b",
        response_model: Some("llama3.1:8b"),
        server_address: "localhost",
        server_port: 11434,
        status: TurnStatus::Success,
        duration: Duration::from_millis(1234),
        time_to_first_token: Some(Duration::from_millis(120)),
        time_to_first_chunk: Some(Duration::from_millis(120)),
        thinking: None,
        tokens: Some((31, 500)),
    };
    let mut group = c.benchmark_group("turn/request_finished");
    for (label, metrics) in [
        ("sdk", ChatMetrics::new(&sdk_meter.meter("chatbot-otel"))),
        ("noop", ChatMetrics::new(&noop.meter("chatbot-otel"))),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| {
                metrics.request_started(black_box("llama3.1:8b"));
                metrics.request_finished(black_box(&measurement));
            })
        });
    }
    group.finish();
    let _ = sdk_meter.shutdown();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = turn;
    config = config();
    targets = bench_turns, bench_thinking_vs_content, bench_request_finished
}
criterion_main!(turn);
