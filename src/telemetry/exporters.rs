//! The exporters: where the telemetry goes.
//!
//! An *exporter* turns the SDK's batches into a wire format and sends them. Processors and
//! readers (in `telemetry::init`) decide *when* to export; this module decides *how* and
//! *where*, following `--export`:
//!
//! * `otlp` (default): OTLP over HTTP/protobuf (port 4318) or gRPC (port 4317), to a
//!   collector or any OTLP backend.
//! * `file:PATH`: OTLP/JSON lines appended to a file, to replay into a collector later
//!   (see [`otlp_json`] and docs/offline-export.md).
//! * `console`: the same lines on stderr.
//! * `none`: exporters that drop every batch. Unlike `--no-telemetry`, which installs no SDK
//!   at all, the SDK still records: spans get real ids (the `trace:` line, `/trace`) and
//!   metric readers still aggregate (`/stats`).
//!
//! The SDK's exporter traits use `async fn` and so cannot be trait objects
//! (`Box<dyn SpanExporter>`); the choice made at start-up is an enum per signal instead,
//! each variant delegating to a concrete exporter.

pub mod otlp_json;

use std::fmt;
use std::time::Duration;

use opentelemetry_otlp::{
    ExporterBuildError, RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use self::otlp_json::{JsonLines, JsonLogExporter, JsonMetricExporter, JsonSpanExporter};
use super::TelemetryError;
use crate::config::{Config, ExportTarget, OtlpProtocol};

/// Per-export deadline when `OTEL_EXPORTER_OTLP_TIMEOUT` is unset (the SDK's is 10 s).
/// A local collector answers in milliseconds; a short deadline keeps a dead one from
/// holding the exporter threads.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);

/// One exporter per signal.
pub struct Exporters {
    pub spans: AnySpanExporter,
    pub metrics: AnyMetricExporter,
    pub logs: AnyLogExporter,
}

/// Builds the exporters for the configured `--export` target.
pub fn build(config: &Config) -> Result<Exporters, TelemetryError> {
    let json = |out: JsonLines| Exporters {
        spans: AnySpanExporter::Json(JsonSpanExporter::new(out.clone())),
        metrics: AnyMetricExporter::Json(JsonMetricExporter::new(out.clone())),
        logs: AnyLogExporter::Json(JsonLogExporter::new(out)),
    };
    Ok(match &config.export {
        ExportTarget::Otlp => build_otlp(config)?,
        // All three signals share one file: each line names its signal by its top-level key.
        ExportTarget::File(_) => json(open_export_file(config)?),
        ExportTarget::Console => json(JsonLines::stderr()),
        ExportTarget::None => Exporters {
            spans: AnySpanExporter::Drop,
            metrics: AnyMetricExporter::Drop,
            logs: AnyLogExporter::Drop,
        },
    })
}

/// Just the span exporter for the configured target (`doctor` sends one test span).
pub fn build_span_exporter(config: &Config) -> Result<AnySpanExporter, TelemetryError> {
    Ok(match &config.export {
        // All three OTLP exporters are built and two dropped: simpler than a second copy of
        // the endpoint and timeout rules, and building one is cheap (no connection yet).
        ExportTarget::Otlp => build_otlp(config)?.spans,
        ExportTarget::File(_) => {
            AnySpanExporter::Json(JsonSpanExporter::new(open_export_file(config)?))
        }
        ExportTarget::Console => AnySpanExporter::Json(JsonSpanExporter::new(JsonLines::stderr())),
        ExportTarget::None => AnySpanExporter::Drop,
    })
}

fn open_export_file(config: &Config) -> Result<JsonLines, TelemetryError> {
    let ExportTarget::File(path) = &config.export else {
        unreachable!("only called for file: targets");
    };
    JsonLines::open(path).map_err(|source| TelemetryError::ExportFile {
        path: path.display().to_string(),
        source,
    })
}

/// The OTLP exporters for the configured protocol and endpoint.
fn build_otlp(config: &Config) -> Result<Exporters, TelemetryError> {
    use opentelemetry_otlp::{LogExporter, MetricExporter, SpanExporter};
    crate::tls::ensure_provider();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let endpoint = |path: &str| {
        config
            .otlp_endpoint
            .as_ref()
            .map(|base| match config.otlp_protocol {
                // OTLP/HTTP has one URL per signal; the SDK only appends the path itself when
                // the endpoint comes from OTEL_EXPORTER_OTLP_ENDPOINT.
                OtlpProtocol::HttpProtobuf => {
                    format!("{}/{path}", base.as_str().trim_end_matches('/'))
                }
                OtlpProtocol::Grpc => base.to_string(),
            })
    };
    let timeout = |signal: &str| {
        let generic = env("OTEL_EXPORTER_OTLP_TIMEOUT");
        let specific = env(&format!("OTEL_EXPORTER_OTLP_{signal}_TIMEOUT"));
        (generic.is_none() && specific.is_none()).then_some(EXPORT_TIMEOUT)
    };

    // One HTTP client for the three signals (the SDK would build one each, each loading the
    // system's root certificates).
    let http_client = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => Some(shared_http_client(config, &env)?),
        OtlpProtocol::Grpc => None,
    };
    let http = || http_client.clone().expect("built for http/protobuf");

    let spans = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_http_client(http())
            .with_retry_policy(retry_policy())
            .configure(endpoint("v1/traces"), timeout("TRACES"))
            .build()?,
        OtlpProtocol::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_retry_policy(retry_policy())
            .configure(endpoint(""), timeout("TRACES"))
            .build()?,
    };
    let metrics = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .with_http_client(http())
            .with_retry_policy(retry_policy())
            .configure(endpoint("v1/metrics"), timeout("METRICS"))
            .build()?,
        OtlpProtocol::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_retry_policy(retry_policy())
            .configure(endpoint(""), timeout("METRICS"))
            .build()?,
    };
    let logs = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => LogExporter::builder()
            .with_http()
            .with_http_client(http())
            .with_retry_policy(retry_policy())
            .configure(endpoint("v1/logs"), timeout("LOGS"))
            .build()?,
        OtlpProtocol::Grpc => LogExporter::builder()
            .with_tonic()
            .with_retry_policy(retry_policy())
            .configure(endpoint(""), timeout("LOGS"))
            .build()?,
    };
    Ok(Exporters {
        spans: AnySpanExporter::Otlp(Box::new(spans)),
        metrics: AnyMetricExporter::Otlp(Box::new(metrics)),
        logs: AnyLogExporter::Otlp(Box::new(logs)),
    })
}

/// The blocking reqwest client the HTTP exporters share. It runs on the SDK's export
/// threads, never on the async runtime, and is built on a throwaway thread because a
/// blocking client must not be created inside an async context (opentelemetry-rust #2400).
fn shared_http_client(
    config: &Config,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<reqwest::blocking::Client, TelemetryError> {
    // Per-request deadline: OTEL_EXPORTER_OTLP_TIMEOUT (ms) if set, else ours.
    let timeout = env("OTEL_EXPORTER_OTLP_TIMEOUT")
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(EXPORT_TIMEOUT);
    // Root certificates only when some endpoint is https: loading the system store costs
    // a few milliseconds of start-up, for nothing on a local collector.
    let endpoints = [
        config.otlp_endpoint.as_ref().map(|u| u.to_string()),
        env("OTEL_EXPORTER_OTLP_ENDPOINT"),
        env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
    ];
    let plain_http_only = endpoints
        .iter()
        .flatten()
        .all(|e| e.trim().to_ascii_lowercase().starts_with("http://"));
    crate::tls::ensure_provider();
    let built = std::thread::spawn(move || {
        let mut builder = reqwest::blocking::Client::builder().timeout(timeout);
        if plain_http_only {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        builder.build()
    })
    .join();
    match built {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(TelemetryError::Exporter(
            ExporterBuildError::InternalFailure(format!("cannot build the OTLP HTTP client: {e}")),
        )),
        Err(_) => Err(TelemetryError::Exporter(
            ExporterBuildError::InternalFailure(
                "the thread building the OTLP HTTP client panicked".into(),
            ),
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

/// Applies the optional endpoint and timeout to any OTLP exporter builder.
trait ConfigureExporter: WithExportConfig + Sized {
    fn configure(self, endpoint: Option<String>, timeout: Option<Duration>) -> Self {
        let builder = match endpoint {
            Some(url) => self.with_endpoint(url),
            None => self,
        };
        match timeout {
            Some(t) => builder.with_timeout(t),
            None => builder,
        }
    }
}

impl<B: WithExportConfig> ConfigureExporter for B {}

// --- one enum per signal, delegating to the chosen exporter ------------------------------

/// The span exporter chosen by `--export`. The OTLP exporter is boxed: it is ~300 bytes,
/// the others a few words.
#[derive(Debug)]
pub enum AnySpanExporter {
    Otlp(Box<opentelemetry_otlp::SpanExporter>),
    Json(JsonSpanExporter),
    /// `--export none`: every batch is accepted and dropped.
    Drop,
}

impl opentelemetry_sdk::trace::SpanExporter for AnySpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            AnySpanExporter::Otlp(e) => e.export(batch).await,
            AnySpanExporter::Json(e) => e.export(batch).await,
            AnySpanExporter::Drop => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            AnySpanExporter::Otlp(e) => e.shutdown_with_timeout(timeout),
            AnySpanExporter::Json(e) => e.shutdown_with_timeout(timeout),
            AnySpanExporter::Drop => Ok(()),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            AnySpanExporter::Otlp(e) => e.force_flush(),
            AnySpanExporter::Json(e) => e.force_flush(),
            AnySpanExporter::Drop => Ok(()),
        }
    }

    // The provider hands its Resource down here; forgetting to pass it on would export
    // spans without `service.name`.
    fn set_resource(&mut self, resource: &Resource) {
        match self {
            AnySpanExporter::Otlp(e) => e.set_resource(resource),
            AnySpanExporter::Json(e) => e.set_resource(resource),
            AnySpanExporter::Drop => {}
        }
    }
}

/// The push metric exporter chosen by `--export`, driven by the periodic reader.
pub enum AnyMetricExporter {
    Otlp(Box<opentelemetry_otlp::MetricExporter>),
    Json(JsonMetricExporter),
    Drop,
}

impl fmt::Debug for AnyMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnyMetricExporter::Otlp(_) => "AnyMetricExporter::Otlp",
            AnyMetricExporter::Json(_) => "AnyMetricExporter::Json",
            AnyMetricExporter::Drop => "AnyMetricExporter::Drop",
        })
    }
}

impl PushMetricExporter for AnyMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        match self {
            AnyMetricExporter::Otlp(e) => e.export(metrics).await,
            AnyMetricExporter::Json(e) => e.export(metrics).await,
            AnyMetricExporter::Drop => Ok(()),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            AnyMetricExporter::Otlp(e) => e.force_flush(),
            AnyMetricExporter::Json(e) => e.force_flush(),
            AnyMetricExporter::Drop => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            AnyMetricExporter::Otlp(e) => e.shutdown_with_timeout(timeout),
            AnyMetricExporter::Json(e) => e.shutdown_with_timeout(timeout),
            AnyMetricExporter::Drop => Ok(()),
        }
    }

    /// Aggregation temporality: what the reader asks the exporter for. The OTLP exporter
    /// honours `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`; the others are cumulative.
    fn temporality(&self) -> Temporality {
        match self {
            AnyMetricExporter::Otlp(e) => e.temporality(),
            AnyMetricExporter::Json(e) => e.temporality(),
            AnyMetricExporter::Drop => Temporality::Cumulative,
        }
    }
}

/// The log record exporter chosen by `--export`.
#[derive(Debug)]
pub enum AnyLogExporter {
    Otlp(Box<opentelemetry_otlp::LogExporter>),
    Json(JsonLogExporter),
    Drop,
}

impl opentelemetry_sdk::logs::LogExporter for AnyLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        match self {
            AnyLogExporter::Otlp(e) => e.export(batch).await,
            AnyLogExporter::Json(e) => e.export(batch).await,
            AnyLogExporter::Drop => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            AnyLogExporter::Otlp(e) => e.shutdown_with_timeout(timeout),
            AnyLogExporter::Json(e) => e.shutdown_with_timeout(timeout),
            AnyLogExporter::Drop => Ok(()),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            AnyLogExporter::Otlp(e) => e.set_resource(resource),
            AnyLogExporter::Json(e) => e.set_resource(resource),
            AnyLogExporter::Drop => {}
        }
    }
}
