//! Reading back an OTLP/JSON export (`--export file:PATH|console`): one export request per line,
//! decoded with `opentelemetry-proto`'s own serde mapping, as the Collector's `otlpjsonfile`
//! receiver would, then flattened into the same [`Span`] / [`MetricPoint`] / [`LogRecord`] values
//! the in-process receiver gives.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;

use super::otlp::{logs_of, metric_points_of, spans_of, LogRecord, MetricPoint, Span};

/// Every line of an export file, decoded by signal, plus each line as raw JSON (for the parts
/// of the OTLP/JSON mapping a reader is strict about: hex ids, int64 as strings).
#[derive(Default)]
pub struct Decoded {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    pub logs: Vec<ExportLogsServiceRequest>,
    pub raw: Vec<Value>,
}

/// Decodes each line by its one top-level key (panics on anything else).
pub fn decode(text: &str) -> Decoded {
    let mut d = Decoded::default();
    for (i, line) in text.lines().enumerate() {
        let raw: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON: {e}", i + 1));
        let obj = raw.as_object().expect("each line is one JSON object");
        assert_eq!(obj.len(), 1, "line {}: one top-level key", i + 1);
        match obj.keys().next().unwrap().as_str() {
            "resourceSpans" => d.traces.push(request(line, i)),
            "resourceMetrics" => d.metrics.push(request(line, i)),
            "resourceLogs" => d.logs.push(request(line, i)),
            other => panic!("line {}: unexpected top-level key {other}", i + 1),
        }
        d.raw.push(raw);
    }
    d
}

/// One line as an export request of type `T` (panics with the line number otherwise).
fn request<T: serde::de::DeserializeOwned>(line: &str, i: usize) -> T {
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("line {}: not an OTLP export request: {e}", i + 1))
}

impl Decoded {
    /// All spans, flattened, in file order.
    pub fn spans(&self) -> Vec<Span> {
        spans_of(&self.traces)
    }

    /// All metric points, in file order (no de-duplication).
    pub fn metric_points(&self) -> Vec<MetricPoint> {
        metric_points_of(&self.metrics)
    }

    /// All log records, flattened, in file order.
    pub fn logs(&self) -> Vec<LogRecord> {
        logs_of(&self.logs)
    }
}
