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

#[cfg(test)]
mod tests {
    //! Fuzzing the writer: whatever the spans and log records hold (any Unicode, control
    //! characters, huge or non-finite numbers, empty names), the exporters never panic and
    //! every line reads back through opentelemetry-proto's own serde as the request it is,
    //! with the text intact — what the Collector's `otlpjsonfile` receiver needs.

    use super::*;
    use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as ProtoValue;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use proptest::prelude::*;

    /// One attribute value of any of the kinds spans carry.
    #[derive(Debug, Clone)]
    enum Attr {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }

    fn attr() -> impl Strategy<Value = Attr> {
        prop_oneof![
            any::<String>().prop_map(Attr::Text),
            any::<i64>().prop_map(Attr::Int),
            // Every f64, with NaN and the infinities (which JSON has no number for) often.
            any::<u64>().prop_map(|bits| Attr::Float(f64::from_bits(bits))),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)]
                .prop_map(Attr::Float),
            any::<bool>().prop_map(Attr::Bool),
        ]
    }

    fn key_value((key, value): (String, Attr)) -> KeyValue {
        match value {
            Attr::Text(s) => KeyValue::new(key, s),
            Attr::Int(n) => KeyValue::new(key, n),
            Attr::Float(f) => KeyValue::new(key, f),
            Attr::Bool(b) => KeyValue::new(key, b),
        }
    }

    /// The export file's lines, after `write` ran on the providers.
    fn lines(dir: &tempfile::TempDir) -> Vec<String> {
        std::fs::read_to_string(dir.path().join("out.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Spans with arbitrary names, attributes, events and status messages.
        #[test]
        fn any_span_round_trips(
            name in any::<String>(),
            attrs in proptest::collection::vec((any::<String>(), attr()), 0..6),
            event in any::<String>(),
            status in any::<String>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let out = JsonLines::open(&dir.path().join("out.jsonl")).unwrap();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(JsonSpanExporter::new(out))
                .build();
            let tracer = provider.tracer("fuzz");
            let mut span = tracer.start(name.clone());
            span.set_attributes(attrs.iter().cloned().map(key_value));
            span.add_event(event.clone(), vec![KeyValue::new("text", event.clone())]);
            span.set_status(Status::error(status.clone()));
            span.end();
            let _ = provider.shutdown();

            let lines = lines(&dir);
            prop_assert_eq!(lines.len(), 1);
            let back: ExportTraceServiceRequest = serde_json::from_str(&lines[0])
                .map_err(|e| TestCaseError::fail(format!("{e}: {}", lines[0])))?;
            let span = &back.resource_spans[0].scope_spans[0].spans[0];
            prop_assert_eq!(&span.name, &name);
            prop_assert_eq!(&span.events[0].name, &event);
            prop_assert_eq!(&span.status.as_ref().unwrap().message, &status);
            // A key set twice holds its last value (the span overwrites): expect that one.
            let expected: std::collections::BTreeMap<&String, &Attr> =
                attrs.iter().map(|(k, v)| (k, v)).collect();
            for (key, value) in expected {
                if let Attr::Text(text) = value {
                    let found = span.attributes.iter().rev().find(|kv| &kv.key == key);
                    let got = found.and_then(|kv| kv.value.as_ref()?.value.clone());
                    prop_assert_eq!(got, Some(ProtoValue::StringValue(text.clone())));
                }
            }
        }

        /// Log records with an arbitrary body and attributes.
        #[test]
        fn any_log_record_round_trips(
            body in any::<String>(),
            attrs in proptest::collection::vec((any::<String>(), attr()), 0..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let out = JsonLines::open(&dir.path().join("out.jsonl")).unwrap();
            let provider = SdkLoggerProvider::builder()
                .with_simple_exporter(JsonLogExporter::new(out))
                .build();
            let logger = provider.logger("fuzz");
            let mut record = logger.create_log_record();
            record.set_body(AnyValue::String(body.clone().into()));
            for (key, value) in attrs {
                let value = match value {
                    Attr::Text(s) => AnyValue::String(s.into()),
                    Attr::Int(n) => AnyValue::Int(n),
                    Attr::Float(f) => AnyValue::Double(f),
                    Attr::Bool(b) => AnyValue::Boolean(b),
                };
                record.add_attribute(key, value);
            }
            logger.emit(record);
            let _ = provider.shutdown();

            let lines = lines(&dir);
            prop_assert_eq!(lines.len(), 1);
            let back: ExportLogsServiceRequest = serde_json::from_str(&lines[0])
                .map_err(|e| TestCaseError::fail(format!("{e}: {}", lines[0])))?;
            let record = &back.resource_logs[0].scope_logs[0].log_records[0];
            let got = record.body.as_ref().and_then(|b| b.value.clone());
            prop_assert_eq!(got, Some(ProtoValue::StringValue(body)));
        }
    }
}
