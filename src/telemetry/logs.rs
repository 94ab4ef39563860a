//! JSON log lines that carry the trace context, and the `tracing` subscriber around them.
//!
//! Logs are written with `tracing` macros (`tracing::info!`) and reach two places:
//!
//! 1. **A JSON lines file** (never the chat screen). Each line has `timestamp`, `level`,
//!    `message`, `service`, `target`, the event's fields, and — when a span is active —
//!    `trace_id`, `span_id` and `trace_flags` in lowercase hex, the top-level keys the
//!    OpenTelemetry spec asks of non-OTLP logs (`compatibility/logging_trace_context.md`).
//!    `tracing-subscriber`'s own JSON format has no trace ids, hence [`JsonLogLayer`].
//! 2. **OTLP**, through `opentelemetry-appender-tracing`: the *Logs Bridge* turns each event
//!    into an OTel LogRecord and takes the trace context from the active OTel `Context`, so
//!    the collector receives logs already correlated with the turn's trace.
//!
//! Both read the ids from `opentelemetry::Context::current()`. That works because every
//! await of a turn runs inside `FutureExt::with_context` (see `chat::turn`), and because
//! `tracing-opentelemetry` attaches a span's context while a `tracing` span is entered.
//!
//! Filters matter here. The SDK reports its own trouble (a collector that is down) as
//! `tracing` events with targets `opentelemetry*`: those go to the file at WARN and never to
//! the OTLP bridge, which would otherwise export logs about failing to export logs. The
//! HTTP stack (`hyper`, `h2`, `reqwest`, `tonic`) is silenced on the bridge for the same
//! reason (opentelemetry-rust #2877).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::Layer;

use crate::config::LogTarget;

/// Where a [`JsonLogLayer`] writes.
enum Sink {
    File(File),
    Stderr,
}

/// A `tracing` layer that writes one JSON object per event, with the OTel trace context.
pub struct JsonLogLayer {
    service: String,
    sink: Mutex<Sink>,
}

impl JsonLogLayer {
    /// Opens (appends to) the log file, creating its directory if needed.
    pub fn new(target: &LogTarget, service: String) -> io::Result<Self> {
        let sink = match target {
            LogTarget::Stderr => Sink::Stderr,
            LogTarget::File(path) => Sink::File(open_append(path)?),
        };
        Ok(JsonLogLayer {
            service,
            sink: Mutex::new(sink),
        })
    }

    fn write_line(&self, line: &[u8]) {
        // A log line that cannot be written is dropped: logging must never break the chat.
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        let _ = match &mut *sink {
            Sink::File(f) => f.write_all(line),
            Sink::Stderr => io::stderr().lock().write_all(line),
        };
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

impl<S: Subscriber> Layer<S> for JsonLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(now_rfc3339()));
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("message".into(), Value::String(String::new()));
        line.insert("service".into(), Value::String(self.service.clone()));
        line.insert("target".into(), Value::String(meta.target().to_string()));

        // The trace context of whatever span is active right now.
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            line.insert("trace_id".into(), Value::String(sc.trace_id().to_string()));
            line.insert("span_id".into(), Value::String(sc.span_id().to_string()));
            line.insert(
                "trace_flags".into(),
                Value::String(format!("{:02x}", sc.trace_flags().to_u8())),
            );
        }

        event.record(&mut JsonVisitor(&mut line));
        let mut bytes = serde_json::to_vec(&Value::Object(line)).unwrap_or_default();
        bytes.push(b'\n');
        self.write_line(&bytes);
    }
}

/// Copies an event's fields into the JSON object. A dotted field name (`tokens.input`)
/// becomes a nested object (`"tokens":{"input":…}`), so OTLP attributes stay flat and
/// OTel-style while the JSON line reads naturally.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name().split_once('.') {
            Some((outer, inner)) => {
                let entry = self
                    .0
                    .entry(outer.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = entry {
                    map.insert(inner.to_string(), value);
                }
            }
            None => {
                self.0.insert(field.name().to_string(), value);
            }
        }
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The filter for the JSON file: the user's level for us, WARN for the SDK and the HTTP
/// stack (their DEBUG output is noise; their warnings are what the user needs to see).
pub fn file_filter(level: tracing::Level) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::new(format!(
        "{level},opentelemetry=warn,opentelemetry_sdk=warn,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,tonic=warn,tower=warn,rustyline=warn"
    ))
}

/// The filter for the OTLP log bridge: our own events only. Anything the exporters
/// themselves log would be exported again, in a loop.
pub fn bridge_filter(level: tracing::Level) -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new().with_target("chatbot_otel", level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Lines are JSON with the required keys; dotted fields nest; no trace ids outside a span.
    #[test]
    fn writes_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/log.jsonl");
        let layer = JsonLogLayer::new(&LogTarget::File(path.clone()), "svc".into()).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                tokens.input = 3u64,
                tokens.output = 4u64,
                status = "success",
                "chat interaction"
            );
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "chat interaction");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["service"], "svc");
        assert_eq!(line["tokens"]["input"], 3);
        assert_eq!(line["tokens"]["output"], 4);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(line.get("trace_id").is_none());
    }
}
