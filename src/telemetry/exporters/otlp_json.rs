//! OTLP/JSON lines: exporters that write telemetry to a file (or stderr) instead of a network.
//!
//! Why this exists: to record a session with no collector running (on a plane, on a CI
//! machine, in a bug report) and replay it into a real backend later. The format is the
//! one the OpenTelemetry Collector's `otlpjsonfile` receiver reads back, which is also the
//! one its `file` exporter writes:
//!
//! * one JSON object per line, each a whole OTLP export request —
//!   `ExportTraceServiceRequest` (`{"resourceSpans":[…]}`), `ExportMetricsServiceRequest`
//!   (`{"resourceMetrics":[…]}`) or `ExportLogsServiceRequest` (`{"resourceLogs":[…]}`);
//! * the protobuf JSON mapping as OTLP/JSON specifies it: camelCase field names, trace and
//!   span ids as **lowercase hex** (not protobuf's usual base64), enums as integers,
//!   64-bit integers as strings.
//!
//! We do not write any of that by hand. `opentelemetry-proto` holds the generated OTLP
//! message types, its `transform` module converts the SDK's batches into them (the same
//! conversion the OTLP exporters use before protobuf-encoding), and its `with-serde`
//! feature gives them exactly the OTLP/JSON serialisation, hex ids included.
//!
//! All three signals share one sink: each line says by its top-level key what it holds.
//! Every line is written with a single `write_all` on an append-mode file under a lock, so
//! lines from the three exporter threads never interleave.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use serde::Serialize;

/// Where the JSON lines go.
enum Sink {
    File { path: PathBuf, file: Mutex<File> },
    Stderr,
}

/// A shared, append-only writer of OTLP/JSON lines. Cheap to clone: the three exporters of
/// one `--export` target hold the same one.
#[derive(Clone)]
pub struct JsonLines {
    sink: Arc<Sink>,
}

impl fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.sink {
            Sink::File { path, .. } => write!(f, "JsonLines({})", path.display()),
            Sink::Stderr => f.write_str("JsonLines(stderr)"),
        }
    }
}

impl JsonLines {
    /// Opens `path` for appending (creating it and its directory if needed). Fails now, at
    /// start-up, if the file cannot be written, rather than at the first export.
    pub fn open(path: &Path) -> io::Result<JsonLines> {
        let file = crate::telemetry::logs::open_append(path)?;
        Ok(JsonLines {
            sink: Arc::new(Sink::File {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            }),
        })
    }

    /// Standard error. Never stdout: in piped mode stdout carries only the replies.
    pub fn stderr() -> JsonLines {
        JsonLines {
            sink: Arc::new(Sink::Stderr),
        }
    }

    /// Serialises one export request and appends it as one line.
    fn write<T: Serialize>(&self, request: &T) -> OTelSdkResult {
        let mut line = serde_json::to_vec(request)
            .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP/JSON encoding: {e}")))?;
        line.push(b'\n');
        let written = match &*self.sink {
            Sink::File { file, .. } => {
                let mut file = file.lock().map_err(|_| {
                    OTelSdkError::InternalFailure("export file lock poisoned".into())
                })?;
                file.write_all(&line).and_then(|_| file.flush())
            }
            Sink::Stderr => {
                let mut err = io::stderr().lock();
                err.write_all(&line).and_then(|_| err.flush())
            }
        };
        written.map_err(|e| OTelSdkError::InternalFailure(format!("writing {self:?}: {e}")))
    }

    /// Asks the OS to put written lines on disk (at shutdown).
    fn sync(&self) -> OTelSdkResult {
        if let Sink::File { file, .. } = &*self.sink {
            if let Ok(file) = file.lock() {
                let _ = file.sync_data();
            }
        }
        Ok(())
    }
}

/// A *span exporter* (the SDK's `SpanExporter` trait) writing `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub struct JsonSpanExporter {
    out: JsonLines,
    /// The provider hands its Resource to the exporter once, through `set_resource`; the
    /// OTLP exporters do the same, since spans themselves do not carry it.
    resource: ResourceAttributesWithSchema,
}

impl JsonSpanExporter {
    pub fn new(out: JsonLines) -> Self {
        JsonSpanExporter {
            out,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl SpanExporter for JsonSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        // ResourceSpans → ScopeSpans → Span: the OTLP nesting, built by opentelemetry-proto.
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        self.out.write(&request)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.sync()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// A *push metric exporter* writing `ExportMetricsServiceRequest`s; the periodic reader
/// calls it on every interval and at shutdown.
#[derive(Debug)]
pub struct JsonMetricExporter {
    out: JsonLines,
}

impl JsonMetricExporter {
    pub fn new(out: JsonLines) -> Self {
        JsonMetricExporter { out }
    }
}

impl PushMetricExporter for JsonMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if metrics.scope_metrics().next().is_none() {
            return Ok(());
        }
        // Metric batches carry their Resource, so one `From` does the whole conversion.
        self.out.write(&ExportMetricsServiceRequest::from(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.sync()
    }

    /// Cumulative, the SDK's and Prometheus' default: each line holds totals since start,
    /// so the last line of a file is the whole session and a replay needs no re-aggregation.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// A *log record exporter* writing `ExportLogsServiceRequest`s.
#[derive(Debug)]
pub struct JsonLogExporter {
    out: JsonLines,
    resource: ResourceAttributesWithSchema,
}

impl JsonLogExporter {
    pub fn new(out: JsonLines) -> Self {
        JsonLogExporter {
            out,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl LogExporter for JsonLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        if request
            .resource_logs
            .iter()
            .all(|r| r.scope_logs.iter().all(|s| s.log_records.is_empty()))
        {
            return Ok(());
        }
        self.out.write(&request)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.sync()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}
