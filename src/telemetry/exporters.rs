//! The exporters: where the telemetry goes.
//!
//! An *exporter* turns the SDK's batches into a wire format and sends them. Processors and
//! readers (in `telemetry::init_*`) decide *when* to export; this module decides *how* and
//! *where*, following `--export`:
//!
//! * `otlp` (default): OTLP over HTTP/protobuf or gRPC to a collector or any OTLP backend,
//!   with the endpoints and timeouts of `telemetry::otlp`.
//! * `file:PATH`: OTLP/JSON lines appended to a file, to replay into a collector later
//!   (see [`otlp_json`] and docs/offline-export.md).
//! * `console`: the same lines on stderr.
//! * `none`: [`Discard`], which drops every batch. Unlike `--no-telemetry`, which installs
//!   no SDK at all, the SDK still records: spans get real ids (the `trace:` line, `/trace`)
//!   and metric readers still aggregate (`/stats`).
//!
//! The SDK's exporter traits use `async fn` and so cannot be trait objects; the providers
//! are built generically over the exporter instead (see `telemetry::Providers::new`).

pub mod otlp_json;

use std::path::Path;
use std::time::Duration;

use opentelemetry_otlp::{
    ExporterBuildError, LogExporter, MetricExporter, RetryPolicy, SpanExporter, WithExportConfig,
    WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::SpanData;

use self::otlp_json::JsonLines;
use super::otlp::{OtlpProtocol, OtlpSettings, Signal};
use super::TelemetryError;

/// The three OTLP exporters, one per signal.
pub(crate) struct OtlpExporters {
    pub spans: SpanExporter,
    pub metrics: MetricExporter,
    pub logs: LogExporter,
}

/// Builds the OTLP exporters from the resolved settings. Must run inside a tokio runtime
/// for gRPC (tonic spawns its connection task on it); no connection is made yet.
pub(crate) fn otlp(settings: &OtlpSettings) -> Result<OtlpExporters, TelemetryError> {
    crate::tls::ensure_provider();
    // One HTTP client for the three signals (the SDK would build one each, each loading the
    // system's root certificates).
    let http = match settings.protocol {
        OtlpProtocol::HttpProtobuf => Some(shared_http_client(settings)?),
        OtlpProtocol::Grpc => None,
    };
    // Each builder gets the signal's full endpoint and its timeout: builder calls beat the
    // environment, and `OtlpSettings` already applied the environment's rules.
    macro_rules! build {
        ($builder:expr, $signal:expr) => {{
            let s = settings.signal($signal);
            match &http {
                Some(client) => $builder
                    .with_http()
                    .with_http_client(client.clone())
                    .with_retry_policy(retry_policy())
                    .with_endpoint(s.endpoint.as_str())
                    .with_timeout(s.timeout)
                    .build()?,
                None => $builder
                    .with_tonic()
                    .with_retry_policy(retry_policy())
                    .with_endpoint(s.endpoint.as_str())
                    .with_timeout(s.timeout)
                    .build()?,
            }
        }};
    }
    Ok(OtlpExporters {
        spans: build!(SpanExporter::builder(), Signal::Traces),
        metrics: build!(MetricExporter::builder(), Signal::Metrics),
        logs: build!(LogExporter::builder(), Signal::Logs),
    })
}

/// The OTLP span exporter alone (`doctor` sends one test span).
pub(crate) fn otlp_spans(settings: &OtlpSettings) -> Result<SpanExporter, TelemetryError> {
    // All three are built and two dropped: building is cheap (no connection yet), and a
    // second copy of the builder calls could drift from the first.
    Ok(otlp(settings)?.spans)
}

/// Opens the `--export file:PATH` target, shared by the three JSON exporters.
pub(crate) fn open_file(path: &Path) -> Result<JsonLines, TelemetryError> {
    JsonLines::open(path).map_err(|source| TelemetryError::ExportFile {
        path: path.display().to_string(),
        source,
    })
}

/// The blocking reqwest client the HTTP exporters share. It runs on the SDK's export
/// threads, never on the async runtime, and is built on a throwaway thread because a
/// blocking client must not be created inside an async context (opentelemetry-rust #2400).
fn shared_http_client(
    settings: &OtlpSettings,
) -> Result<reqwest::blocking::Client, TelemetryError> {
    let timeout = settings.longest_timeout();
    // Root certificates only when some endpoint is https.
    let plain_http_only = settings.plain_http_only();
    let built = std::thread::spawn(move || {
        let mut builder = reqwest::blocking::Client::builder().timeout(timeout);
        if plain_http_only {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        builder.build()
    })
    .join();
    let failure = |why: String| TelemetryError::Exporter(ExporterBuildError::InternalFailure(why));
    match built {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(failure(format!("cannot build the OTLP HTTP client: {e}"))),
        Err(_) => Err(failure(
            "the thread building the OTLP HTTP client panicked".into(),
        )),
    }
}

/// Retries of a failed export (on 429/502/503/504, gRPC Unavailable, and connection
/// errors). The SDK's default (3 retries from 100 ms) can hold the exit flush for ~0.9 s
/// when the collector is down; two quick retries still ride out a collector restart.
fn retry_policy() -> RetryPolicy {
    RetryPolicy::recommended()
        .with_max_retries(2)
        .with_initial_delay(Duration::from_millis(50))
}

/// `--export none`: an exporter for every signal that accepts each batch and drops it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

impl opentelemetry_sdk::logs::LogExporter for Discard {
    async fn export(&self, _batch: LogBatch<'_>) -> OTelSdkResult {
        Ok(())
    }
}

impl PushMetricExporter for Discard {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
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
