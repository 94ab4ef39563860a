//! The exporters: where the telemetry goes.
//!
//! An *exporter* turns the SDK's batches into a wire format and sends them. Here that is
//! OTLP, over HTTP/protobuf (the default, port 4318) or gRPC (port 4317), to a collector or
//! any OTLP backend. Processors and readers (in `telemetry::init`) decide *when* to export;
//! this module decides *how* and *where*.

use std::time::Duration;

use opentelemetry_otlp::{LogExporter, MetricExporter, SpanExporter, WithExportConfig};

use super::TelemetryError;
use crate::config::{Config, OtlpProtocol};

/// Per-export deadline when `OTEL_EXPORTER_OTLP_TIMEOUT` is unset (the SDK's is 10 s).
/// A local collector answers in milliseconds; a short deadline keeps a dead one from
/// holding the exporter threads.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);

/// One exporter per signal.
pub struct Exporters {
    pub spans: SpanExporter,
    pub metrics: MetricExporter,
    pub logs: LogExporter,
}

/// Builds the OTLP exporters for the configured protocol and endpoint.
pub fn build(config: &Config) -> Result<Exporters, TelemetryError> {
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

    let spans = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .configure(endpoint("v1/traces"), timeout("TRACES"))
            .build()?,
        OtlpProtocol::Grpc => SpanExporter::builder()
            .with_tonic()
            .configure(endpoint(""), timeout("TRACES"))
            .build()?,
    };
    let metrics = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .configure(endpoint("v1/metrics"), timeout("METRICS"))
            .build()?,
        OtlpProtocol::Grpc => MetricExporter::builder()
            .with_tonic()
            .configure(endpoint(""), timeout("METRICS"))
            .build()?,
    };
    let logs = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => LogExporter::builder()
            .with_http()
            .configure(endpoint("v1/logs"), timeout("LOGS"))
            .build()?,
        OtlpProtocol::Grpc => LogExporter::builder()
            .with_tonic()
            .configure(endpoint(""), timeout("LOGS"))
            .build()?,
    };
    Ok(Exporters {
        spans,
        metrics,
        logs,
    })
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
