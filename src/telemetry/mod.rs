//! Setting up, handing out and shutting down the OpenTelemetry SDK.
//!
//! The OpenTelemetry API (`opentelemetry` crate) is what instrumented code calls: tracers,
//! meters, spans. The SDK (`opentelemetry_sdk`) is what makes those calls do something:
//! *providers* that own a Resource, *processors/readers* that batch, and *exporters* that
//! ship OTLP. This module is the only place that touches the SDK; the rest of the program
//! receives a [`Telemetry`] handle with a tracer and the metric instruments.
//!
//! The shape follows the opentelemetry-otlp examples: one `init_*` function per signal
//! ([`init_traces`], [`init_metrics`], [`init_logs`]), each taking its exporter, then the
//! globals and the `tracing` subscriber in [`init`]. Lifecycle rules that shaped it:
//! * The batch span/log processors and the periodic metric reader each run on their own
//!   thread, so exporting never runs on — or slows — a chat turn.
//! * Builder calls beat environment variables in opentelemetry-rust, so an interval or
//!   delay of ours is set only when the user did not set the corresponding `OTEL_*`
//!   variable; OTLP endpoints and timeouts come resolved from [`otlp`].
//! * `shutdown()` blocks, and with a black-holed collector each provider waits up to 5 s.
//!   [`Telemetry::shutdown`] runs them on a thread of its own under one deadline, so the
//!   program exits on time whatever the collector does.

pub mod exporters;
pub mod logs;
pub mod metrics;
pub mod names;
pub mod otlp;
pub mod propagation;
pub mod recent;
pub mod resource;
pub mod semconv;
pub mod stats;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{noop::NoopTracer, TracerProvider as _};
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogExporter, SdkLoggerProvider,
};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use self::exporters::otlp_json::{
    JsonLines, JsonLogExporter, JsonMetricExporter, JsonSpanExporter,
};
use self::exporters::Discard;
use self::metrics::ChatMetrics;
use self::otlp::CollectorProbe;
use self::recent::RecentSpans;
use self::stats::StatsReader;
use crate::config::{env, Config, ExportTarget};

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
    /// The meter of our scope, for instruments made elsewhere (the MCP client's).
    pub meter: opentelemetry::metrics::Meter,
    /// The recent turns' finished spans, for `/trace` (absent when telemetry is off).
    pub recent: Option<RecentSpans>,
    /// On-demand reader of the same meter the exporter uses, for `/stats`.
    pub stats: Option<StatsReader>,
    providers: Option<Providers>,
    /// The start-up check that an OTLP collector listens (`None` unless `--export otlp`).
    collector: Option<CollectorProbe>,
    /// Which semantic-convention names to emit (`OTEL_SEMCONV_STABILITY_OPT_IN`).
    pub semconv: semconv::OptIn,
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

impl Providers {
    /// The three providers over the exporters of one `--export` target. Generic over the
    /// exporters, so each target hands over its concrete types and no enum forwards calls.
    fn new(
        spans: impl SpanExporter + 'static,
        metrics: impl PushMetricExporter,
        logs: impl LogExporter + 'static,
        resource: &Resource,
        recent: &RecentSpans,
        stats: &StatsReader,
    ) -> Providers {
        Providers {
            tracer: init_traces(spans, resource.clone(), recent.clone()),
            meter: init_metrics(metrics, resource.clone(), stats.clone()),
            logger: Some(init_logs(logs, resource.clone())),
        }
    }

    /// The providers for `config.export`.
    fn for_target(
        config: &Config,
        resource: &Resource,
        recent: &RecentSpans,
        stats: &StatsReader,
    ) -> Result<Providers, TelemetryError> {
        let json = |out: JsonLines| {
            Providers::new(
                JsonSpanExporter::new(out.clone()),
                JsonMetricExporter::new(out.clone()),
                JsonLogExporter::new(out),
                resource,
                recent,
                stats,
            )
        };
        Ok(match &config.export {
            ExportTarget::Otlp => {
                let e = exporters::otlp(&config.otlp)?;
                Providers::new(e.spans, e.metrics, e.logs, resource, recent, stats)
            }
            // All three signals share one file: each line names its signal by its top-level key.
            ExportTarget::File(path) => json(exporters::open_file(path)?),
            ExportTarget::Console => json(JsonLines::stderr()),
            ExportTarget::None => {
                Providers::new(Discard, Discard, Discard, resource, recent, stats)
            }
        })
    }
}

/// Traces: a tracer provider with two span processors, the batch one feeding `exporter`
/// and the in-process buffer behind `/trace`. No `.with_sampler()`: OTEL_TRACES_SAMPLER /
/// _ARG are read by the SDK's default config.
pub fn init_traces(
    exporter: impl SpanExporter + 'static,
    resource: Resource,
    recent: RecentSpans,
) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .with_span_processor(recent)
        .build()
}

/// Metrics: a meter provider with two readers, the periodic one feeding `exporter` and a
/// manual one that `/stats` collects on demand.
pub fn init_metrics(
    exporter: impl PushMetricExporter,
    resource: Resource,
    stats: StatsReader,
) -> SdkMeterProvider {
    let mut reader = PeriodicReader::builder(exporter);
    if env::var("OTEL_METRIC_EXPORT_INTERVAL").is_none() {
        reader = reader.with_interval(METRIC_INTERVAL);
    }
    SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader.build())
        .with_reader(stats)
        .build()
}

/// Logs: a logger provider with a batch processor feeding `exporter`; the `tracing`
/// bridge in [`init`] turns events into its log records.
pub fn init_logs(exporter: impl LogExporter + 'static, resource: Resource) -> SdkLoggerProvider {
    // BatchConfigBuilder::default() reads OTEL_BLRP_*; the SDK's 1 s delay means an HTTP
    // export every second of a chat, which showed up as ~10 % more CPU while streaming.
    let mut batch = BatchConfigBuilder::default();
    if env::var("OTEL_BLRP_SCHEDULE_DELAY").is_none() {
        batch = batch.with_scheduled_delay(LOG_EXPORT_DELAY);
    }
    let processor = BatchLogProcessor::builder(exporter)
        .with_batch_config(batch.build())
        .build();
    SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(processor)
        .build()
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
            meter,
            recent: None,
            stats: None,
            providers: None,
            collector: None,
            semconv: semconv::OptIn::from_env(),
            shutdown_lock: Default::default(),
        }
    }

    /// Wraps providers built elsewhere (tests use in-memory exporters). No global state
    /// and no subscriber are touched.
    pub fn from_providers(tracer: SdkTracerProvider, meter: SdkMeterProvider) -> Self {
        let our_meter = opentelemetry::metrics::MeterProvider::meter_with_scope(&meter, scope());
        let metrics = ChatMetrics::new(&our_meter);
        Telemetry {
            tracer: BoxedTracer::new(Box::new(tracer.tracer_with_scope(scope()))),
            metrics,
            meter: our_meter,
            recent: None,
            stats: None,
            providers: Some(Providers {
                tracer,
                meter,
                logger: None,
            }),
            collector: None,
            semconv: semconv::OptIn::from_env(),
            shutdown_lock: Default::default(),
        }
    }

    /// Is anything recorded? (Decides whether a trace link is worth printing.)
    pub fn enabled(&self) -> bool {
        self.providers.is_some()
    }

    /// The start-up probe of the OTLP collector, when telemetry goes over OTLP: its
    /// [`CollectorProbe::status`] tells the front end, without blocking, whether anything
    /// listens at [`CollectorProbe::endpoint`] — so it can say once that telemetry stays
    /// in-process (`/trace`, `/stats`) or suggest `--export file:PATH`.
    pub fn collector(&self) -> Option<&CollectorProbe> {
        self.collector.as_ref()
    }

    /// Flushes and shuts down every provider, giving up after `budget`. Returns the names
    /// of the signals whose shutdown failed or did not finish in time (their data may be
    /// lost); each is logged at WARN with the reason. Safe to call from two threads: the
    /// second call waits for the first to finish, then returns.
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

        // Tracer → logger → meter, the order of the opentelemetry-rust examples. Spans
        // first: ending the tracer exports the last spans while the other pipelines still
        // run. Logs next, so the records of the last turn (which point at those spans)
        // leave before the process does. Metrics last: the meter's final collection then
        // also counts anything recorded while the other two were shutting down. (The
        // meter provider ignores its timeout argument; its reader always allows 5 s,
        // hence the deadline below rather than trusting each call.)
        type Step = Box<dyn FnOnce(Duration) -> OTelSdkResult + Send>;
        let mut steps: Vec<(&'static str, Step)> = Vec::new();
        let tracer = p.tracer.clone();
        steps.push(("traces", Box::new(move |t| tracer.shutdown_with_timeout(t))));
        if let Some(logger) = p.logger.clone() {
            steps.push(("logs", Box::new(move |t| logger.shutdown_with_timeout(t))));
        }
        let meter = p.meter.clone();
        steps.push(("metrics", Box::new(move |t| meter.shutdown_with_timeout(t))));

        let mut pending: Vec<&'static str> = steps.iter().map(|(name, _)| *name).collect();
        let (done_tx, done_rx) = mpsc::channel();
        // A plain thread, not a tokio task: shutdown blocks, and with gRPC it needs the
        // runtime's worker threads free to drive the export.
        let spawned = std::thread::Builder::new()
            .name("otel-shutdown".into())
            .spawn(move || {
                for (name, step) in steps {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if done_tx.send((name, step(left))).is_err() {
                        return;
                    }
                }
            });
        let mut failed = Vec::new();
        let mut failures = Vec::new();
        if spawned.is_ok() {
            while !pending.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                match done_rx.recv_timeout(left) {
                    Ok((name, result)) => {
                        pending.retain(|n| *n != name);
                        if let Err(e) = result {
                            failed.push(name);
                            failures.push((name, e.to_string()));
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        // The logger is shut down by now: suppress the bridge (a record sent to it would
        // only produce the SDK's "emitted after shutdown" warning); the file still gets it.
        let _quiet = opentelemetry::Context::enter_telemetry_suppressed_scope();
        for (signal, error) in failures {
            tracing::warn!(
                target: "telemetry::shutdown",
                signal,
                error = %error,
                "telemetry provider {signal} failed to shut down: {error}"
            );
        }
        if !pending.is_empty() {
            tracing::warn!(
                target: "telemetry::shutdown",
                signals = ?pending,
                budget_ms = budget.as_millis() as u64,
                "telemetry not flushed in time ({}); the collector may be unreachable",
                pending.join(", ")
            );
        }
        failed.extend(pending);
        failed
    }
}

/// Installs the SDK (unless telemetry is off) and the `tracing` subscriber.
/// Must run inside a tokio runtime: the gRPC exporter spawns its connection task on it.
pub fn init(config: &Config) -> Result<Telemetry, TelemetryError> {
    // Propagators are independent of the SDK switch (spec: OTEL_SDK_DISABLED leaves them on),
    // and the default global propagator is a no-op that would send no `traceparent`.
    global::set_text_map_propagator(TraceContextPropagator::new());

    let resource = resource::build(env::var, config.demo);
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

    let recent = RecentSpans::new();
    let stats = StatsReader::new();
    let providers = Providers::for_target(config, &resource, &recent, &stats)?;
    let collector = (config.export == ExportTarget::Otlp)
        .then(|| CollectorProbe::start(config.otlp.traces.endpoint.clone()));
    let (tracer_provider, meter_provider) = (providers.tracer.clone(), providers.meter.clone());

    // Globals, so any library instrumented with the OTel API reports into the same pipeline.
    global::set_tracer_provider(tracer_provider.clone());
    global::set_meter_provider(meter_provider.clone());

    // --- the tracing subscriber ---------------------------------------------------------
    // The one place `tracing` spans become OTel spans: `log_interaction` (see chat::turn) is
    // a `tracing` span, and this bridge exports it into the same trace as the spans we
    // create with the OTel API directly. Only our crate's spans are bridged.
    // The bridge adds nothing the registry does not define: no source location
    // (`code.*`), thread, level, target, or busy/idle time attributes on `log_interaction`.
    let span_bridge = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer_with_scope(scope()))
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        // Spans only: an event inside `log_interaction` is a log record (the logs bridge
        // exports it), not a span event with `level`/`target` and stringified fields.
        .with_filter(tracing_subscriber::filter::FilterExt::and(
            tracing_subscriber::filter::Targets::new()
                .with_target("chatbot_otel", tracing::Level::TRACE),
            tracing_subscriber::filter::filter_fn(|meta| meta.is_span()),
        ));
    let log_bridge = providers.logger.as_ref().map(|logger| {
        OpenTelemetryTracingBridge::new(logger).with_filter(logs::bridge_filter(config.log_level))
    });
    tracing_subscriber::registry()
        .with(json_layer)
        .with(log_bridge)
        .with(span_bridge)
        .try_init()
        .map_err(|_| TelemetryError::Subscriber)?;

    let our_meter = global::meter_with_scope(scope());
    let metrics = ChatMetrics::new(&our_meter);
    Ok(Telemetry {
        tracer: BoxedTracer::new(Box::new(tracer_provider.tracer_with_scope(scope()))),
        metrics,
        meter: our_meter,
        recent: Some(recent),
        stats: Some(stats),
        providers: Some(providers),
        collector,
        semconv: semconv::OptIn::from_env(),
        shutdown_lock: Default::default(),
    })
}
