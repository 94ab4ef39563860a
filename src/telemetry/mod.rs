//! Setting up, handing out and shutting down the OpenTelemetry SDK.
//!
//! The OpenTelemetry API (`opentelemetry` crate) is what instrumented code calls: tracers,
//! meters, spans. The SDK (`opentelemetry_sdk`) is what makes those calls do something:
//! *providers* that own a Resource, *processors/readers* that batch, and *exporters* that
//! ship OTLP. This module is the only place that touches the SDK; the rest of the program
//! receives a [`Telemetry`] handle with a tracer and the metric instruments.
//!
//! Lifecycle rules that shaped this file:
//! * The batch span/log processors and the periodic metric reader each run on their own
//!   thread, so exporting never runs on — or slows — a chat turn.
//! * Builder calls beat environment variables in opentelemetry-rust, so we only call
//!   `with_endpoint`/`with_timeout`/`with_interval` when the user did not set the
//!   corresponding `OTEL_*` variable.
//! * `shutdown()` blocks, and with a black-holed collector each provider waits up to 5 s.
//!   [`Telemetry::shutdown`] runs the three in parallel on their own threads under one
//!   deadline, so the program exits on time whatever the collector does.

pub mod exporters;
pub mod logs;
pub mod metrics;
pub mod names;
pub mod propagation;
pub mod recent;
pub mod resource;
pub mod stats;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{noop::NoopTracer, TracerProvider as _};
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, TracerProviderBuilder};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use self::metrics::ChatMetrics;
use self::recent::RecentSpans;
use self::stats::StatsReader;
use crate::config::Config;

/// Metric export interval when `OTEL_METRIC_EXPORT_INTERVAL` is unset (the SDK's is 60 s,
/// too slow for someone watching a dashboard while chatting).
const METRIC_INTERVAL: Duration = Duration::from_secs(10);
/// Log batch delay when `OTEL_BLRP_SCHEDULE_DELAY` is unset (the SDK's is 1 s): the same
/// 5 s as spans, so a turn's logs and spans usually leave in the same export cycle.
const LOG_EXPORT_DELAY: Duration = Duration::from_secs(5);

/// Setting up telemetry failed (bad OTLP settings): reported as a configuration error.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid OTLP exporter configuration: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot open the log file {path}: {source}")]
    LogFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the export file {path}: {source}")]
    ExportFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a tracing subscriber is already installed")]
    Subscriber,
}

/// What instrumented code needs: a tracer, the metric instruments, and whether anything
/// is being recorded at all.
pub struct Telemetry {
    /// The tracer of our instrumentation scope. A `BoxedTracer` so the same code path
    /// works with the SDK tracer and with the no-op tracer used when telemetry is off.
    pub tracer: BoxedTracer,
    pub metrics: ChatMetrics,
    /// The recent turns' finished spans, for `/trace` (absent when telemetry is off).
    pub recent: Option<RecentSpans>,
    /// On-demand reader of the same meter the exporter uses, for `/stats`.
    pub stats: Option<StatsReader>,
    providers: Option<Providers>,
    /// Held while shutting down, so a second caller (the signal watcher racing the main
    /// thread) waits for the first flush to finish instead of exiting under it.
    shutdown_lock: std::sync::Mutex<bool>,
}

/// The SDK objects that must be flushed and shut down at exit.
struct Providers {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    logger: Option<SdkLoggerProvider>,
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(names::SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

impl Telemetry {
    /// Telemetry off: no-op tracer and meter. Nothing is recorded, nothing exported.
    pub fn disabled() -> Self {
        let meter = opentelemetry::metrics::MeterProvider::meter(
            &opentelemetry::metrics::NoopMeterProvider::new(),
            names::SCOPE,
        );
        Telemetry {
            tracer: BoxedTracer::new(Box::new(NoopTracer::new())),
            metrics: ChatMetrics::new(&meter),
            recent: None,
            stats: None,
            providers: None,
            shutdown_lock: Default::default(),
        }
    }

    /// Wraps providers built elsewhere (tests use in-memory exporters). No global state
    /// and no subscriber are touched.
    pub fn from_providers(tracer: SdkTracerProvider, meter: SdkMeterProvider) -> Self {
        let metrics = ChatMetrics::new(&opentelemetry::metrics::MeterProvider::meter_with_scope(
            &meter,
            scope(),
        ));
        Telemetry {
            tracer: BoxedTracer::new(Box::new(tracer.tracer_with_scope(scope()))),
            metrics,
            recent: None,
            stats: None,
            providers: Some(Providers {
                tracer,
                meter,
                logger: None,
            }),
            shutdown_lock: Default::default(),
        }
    }

    /// Adds the `/trace` buffer (it must also be registered on the tracer provider).
    pub fn with_recent(mut self, recent: RecentSpans) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Adds the `/stats` reader (it must also be registered on the meter provider).
    pub fn with_stats(mut self, stats: StatsReader) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Is anything recorded? (Decides whether a trace link is worth printing.)
    pub fn enabled(&self) -> bool {
        self.providers.is_some()
    }

    /// Flushes and shuts down every provider, giving up after `budget`. Returns the names
    /// of the signals that did not finish in time (their data is lost). Safe to call from
    /// two threads: the second call waits for the first to finish, then returns.
    pub fn shutdown(&self, budget: Duration) -> Vec<&'static str> {
        let Some(p) = &self.providers else {
            return Vec::new();
        };
        let mut done = self
            .shutdown_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *done {
            return Vec::new();
        }
        *done = true;
        let deadline = Instant::now() + budget;
        let (done_tx, done_rx) = mpsc::channel();
        let mut pending = vec!["traces", "metrics"];
        let spawn = |name: &'static str, job: Box<dyn FnOnce() -> String + Send>| {
            let done_tx = done_tx.clone();
            // A plain thread, not a tokio task: shutdown blocks, and with gRPC it needs the
            // runtime's worker threads free to drive the export.
            std::thread::Builder::new()
                .name(format!("otel-shutdown-{name}"))
                .spawn(move || {
                    let result = job();
                    let _ = done_tx.send((name, result));
                })
                .is_ok()
        };
        // Provider handles are cheap clones of an `Arc`; each thread gets its own.
        let (tracer, meter) = (p.tracer.clone(), p.meter.clone());
        spawn(
            "traces",
            Box::new(move || format!("{:?}", tracer.shutdown_with_timeout(budget))),
        );
        spawn(
            "metrics",
            Box::new(move || format!("{:?}", meter.shutdown())),
        );
        if let Some(logger) = p.logger.clone() {
            pending.push("logs");
            spawn(
                "logs",
                Box::new(move || format!("{:?}", logger.shutdown_with_timeout(budget))),
            );
        }
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match done_rx.recv_timeout(left) {
                Ok((name, result)) => {
                    pending.retain(|n| *n != name);
                    tracing::debug!(signal = name, result = %result, "telemetry provider shut down");
                }
                Err(_) => break,
            }
        }
        if !pending.is_empty() {
            tracing::warn!(
                signals = ?pending,
                budget_ms = budget.as_millis() as u64,
                "telemetry not flushed in time; the collector may be unreachable"
            );
        }
        pending
    }
}

/// Installs the SDK (unless telemetry is off) and the `tracing` subscriber.
/// Must run inside a tokio runtime: the gRPC exporter spawns its connection task on it.
pub fn init(config: &Config) -> Result<Telemetry, TelemetryError> {
    init_with(config, |builder| builder)
}

/// Like [`init`], with a hook to add span processors (for example an in-process one that
/// keeps recent spans for display) before the tracer provider is built.
pub fn init_with(
    config: &Config,
    customize: impl FnOnce(TracerProviderBuilder) -> TracerProviderBuilder,
) -> Result<Telemetry, TelemetryError> {
    // Propagators are independent of the SDK switch (spec: OTEL_SDK_DISABLED leaves them on),
    // and the default global propagator is a no-op that would send no `traceparent`.
    global::set_text_map_propagator(TraceContextPropagator::new());

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let resource = resource::build(env);
    let service = resource::service_name(&resource);

    let json_layer = logs::JsonLogLayer::new(&config.log_target, service).map_err(|source| {
        TelemetryError::LogFile {
            path: config
                .log_file()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "stderr".into()),
            source,
        }
    })?;
    let json_layer = json_layer.with_filter(logs::file_filter(config.log_level));

    if !config.telemetry_enabled {
        tracing_subscriber::registry()
            .with(json_layer)
            .try_init()
            .map_err(|_| TelemetryError::Subscriber)?;
        return Ok(Telemetry::disabled());
    }

    let exporters::Exporters {
        spans,
        metrics: metric_exporter,
        logs: log_exporter,
    } = exporters::build(config)?;

    // No `.with_sampler()`: OTEL_TRACES_SAMPLER / _ARG are read by the SDK's default config.
    // Two span processors see every span: the batch one feeding the exporter, and the
    // in-process buffer behind `/trace`.
    let recent = RecentSpans::new();
    let builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(spans)
        .with_span_processor(recent.clone());
    let tracer_provider = customize(builder).build();

    let mut reader = PeriodicReader::builder(metric_exporter);
    if env("OTEL_METRIC_EXPORT_INTERVAL").is_none() {
        reader = reader.with_interval(METRIC_INTERVAL);
    }
    // Two readers on one meter provider: the periodic one feeding the exporter, and a
    // manual one that `/stats` collects on demand.
    let stats = StatsReader::new();
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_reader(reader.build())
        .with_reader(stats.clone())
        .build();

    // BatchConfigBuilder::default() reads OTEL_BLRP_*; the SDK's 1 s delay means an HTTP
    // export every second of a chat, which showed up as ~10 % more CPU while streaming.
    let mut log_batch = BatchConfigBuilder::default();
    if env("OTEL_BLRP_SCHEDULE_DELAY").is_none() {
        log_batch = log_batch.with_scheduled_delay(LOG_EXPORT_DELAY);
    }
    let log_processor = BatchLogProcessor::builder(log_exporter)
        .with_batch_config(log_batch.build())
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(log_processor)
        .build();

    // Globals, so any library instrumented with the OTel API reports into the same pipeline.
    global::set_tracer_provider(tracer_provider.clone());
    global::set_meter_provider(meter_provider.clone());

    // --- the tracing subscriber ---------------------------------------------------------
    // The one place `tracing` spans become OTel spans: `log_interaction` (see chat::turn) is
    // a `tracing` span, and this bridge exports it into the same trace as the spans we
    // create with the OTel API directly. Only our crate's spans are bridged.
    let span_bridge = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer_with_scope(scope()))
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("chatbot_otel", tracing::Level::TRACE),
        );
    let log_bridge = OpenTelemetryTracingBridge::new(&logger_provider)
        .with_filter(logs::bridge_filter(config.log_level));
    tracing_subscriber::registry()
        .with(json_layer)
        .with(log_bridge)
        .with(span_bridge)
        .try_init()
        .map_err(|_| TelemetryError::Subscriber)?;

    let metrics = ChatMetrics::new(&global::meter_with_scope(scope()));
    Ok(Telemetry {
        tracer: BoxedTracer::new(Box::new(tracer_provider.tracer_with_scope(scope()))),
        metrics,
        recent: Some(recent),
        stats: Some(stats),
        providers: Some(Providers {
            tracer: tracer_provider,
            meter: meter_provider,
            logger: Some(logger_provider),
        }),
        shutdown_lock: Default::default(),
    })
}
