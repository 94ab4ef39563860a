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
//!
//! The SDK's events carry no message, only a `name` (`BatchSpanProcessor.ExportError`) and
//! an `error` field: the file line gets `"message": "<name>: <error>"` so it can be found
//! like any other. With no collector each batch fails again every few seconds, so each
//! such warning is written the first time, then at most once a minute with a
//! `suppressed` count ([`RateLimit`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    sdk_warnings: Mutex<RateLimit>,
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
            sdk_warnings: Mutex::new(RateLimit::new(SDK_WARNING_INTERVAL)),
        })
    }

    fn write_line(&self, line: &[u8]) {
        // A log line that cannot be written is dropped: logging must never break the chat.
        // But a log file that cannot be written (a full disk, `LOG_FILE=/dev/full`) is
        // said once on stderr, and the exit code then says it too (see `write_failed`).
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        match &mut *sink {
            Sink::File(f) => {
                if let Err(e) = f.write_all(line) {
                    if !WRITE_FAILED.swap(true, Ordering::SeqCst) {
                        crate::repl::out::stderr_line(&format!(
                            "error: cannot write the log file ({}); log lines are lost, and the exit code will be 1",
                            e.kind()
                        ));
                    }
                }
            }
            // stderr is the diagnostics channel itself: nowhere left to report to.
            Sink::Stderr => {
                let _ = io::stderr().lock().write_all(line);
            }
        }
    }
}

/// Set by the first log line that could not be written to the log file.
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// True when a log line was lost to a write error: the session then exits with 1.
pub(crate) fn write_failed() -> bool {
    WRITE_FAILED.load(Ordering::SeqCst)
}

/// Opens `path` for appending, creating its directory if needed. When a component of the
/// path is a file, says so: the OS's own answer ("File exists", from creating the
/// directory) names a symptom, not the cause.
///
/// The log file and the export file hold prompts and replies, so a file created here is
/// `0600` and a directory `0700` (see [`create_private_dir`]); an existing file or
/// directory keeps the mode its owner gave it.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = create_private_dir(dir) {
            let file_in_the_way = dir.ancestors().find(|a| a.is_file());
            return Err(match file_in_the_way {
                Some(file) => io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", file.display()),
                ),
                None => e,
            });
        }
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// `create_dir_all`, with every directory it creates readable by the owner only (`0700`):
/// the state directory holds the history and the log, both with prompts in them.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// At most one line a minute per kind of SDK warning.
const SDK_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Lets the first event of each name through, then one per `interval`, counting the ones
/// held back in between.
pub(crate) struct RateLimit {
    interval: Duration,
    /// Per event name: when one was last written, and how many were held back since.
    seen: HashMap<&'static str, (Instant, u64)>,
}

impl RateLimit {
    pub(crate) fn new(interval: Duration) -> RateLimit {
        RateLimit {
            interval,
            seen: HashMap::new(),
        }
    }

    /// `Some(suppressed)` when an event named `name` should be written at `now` (with the
    /// number held back since the last one), `None` when it should be dropped.
    pub(crate) fn admit(&mut self, name: &'static str, now: Instant) -> Option<u64> {
        match self.seen.get_mut(name) {
            None => {
                self.seen.insert(name, (now, 0));
                Some(0)
            }
            Some((last, held)) if now.duration_since(*last) >= self.interval => {
                let suppressed = *held;
                *last = now;
                *held = 0;
                Some(suppressed)
            }
            Some((_, held)) => {
                *held += 1;
                None
            }
        }
    }
}

/// Is this one of the SDK's own warnings (or errors), the kind that repeats while a
/// collector is down?
fn is_sdk_warning(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("opentelemetry") && *meta.level() <= tracing::Level::WARN
}

impl<S: Subscriber> Layer<S> for JsonLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        let mut suppressed = None;
        if is_sdk_warning(meta) {
            let admitted = match self.sdk_warnings.lock() {
                Ok(mut limit) => limit.admit(meta.name(), Instant::now()),
                Err(_) => Some(0),
            };
            match admitted {
                None => return,
                Some(0) => {}
                Some(n) => suppressed = Some(n),
            }
        }
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
        if line.get("message").and_then(Value::as_str) == Some("") {
            line.insert(
                "message".into(),
                Value::String(message_of_fields(meta, &line)),
            );
        }
        if let Some(n) = suppressed {
            line.insert("suppressed".into(), Value::from(n));
        }
        let mut bytes = serde_json::to_vec(&Value::Object(line)).unwrap_or_default();
        bytes.push(b'\n');
        self.write_line(&bytes);
    }
}

/// A message for an event that has none (the SDK's own, which carry a `name` and an
/// `error` or `reason` field): `"BatchSpanProcessor.ExportError: <error>"`.
fn message_of_fields(meta: &tracing::Metadata<'_>, line: &Map<String, Value>) -> String {
    let name = line
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(meta.name());
    let detail = ["error", "reason"]
        .iter()
        .find_map(|key| line.get(*key).and_then(Value::as_str));
    match detail {
        Some(detail) => format!("{name}: {detail}"),
        None => name.to_string(),
    }
}

/// Copies an event's fields into the JSON object. A dotted field name (`tokens.input`)
/// becomes a nested object (`"tokens":{"input":…}`), so OTLP attributes stay flat and
/// OTel-style while the JSON line reads naturally.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        // OTLP records carry namespaced attributes (`gen_ai.request.model`); the file keeps
        // the original example's names (`model`).
        let name = super::names::log::FILE_NAMES
            .iter()
            .find(|(otlp, _)| *otlp == field.name())
            .map_or(field.name(), |(_, file)| *file);
        match name.split_once('.') {
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
                self.0.insert(name.to_string(), value);
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

    /// The SDK's own events (no message, a `name` and an `error`) get a message.
    #[test]
    fn sdk_events_get_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let layer = JsonLogLayer::new(&LogTarget::File(path.clone()), "svc".into()).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                name: "BatchSpanProcessor.ExportError",
                target: "opentelemetry_sdk",
                name = "BatchSpanProcessor.ExportError",
                error = "Operation failed: connection refused",
            );
            // The same warning again within the minute: held back.
            tracing::warn!(
                name: "BatchSpanProcessor.ExportError",
                target: "opentelemetry_sdk",
                name = "BatchSpanProcessor.ExportError",
                error = "Operation failed: connection refused",
            );
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(
            lines[0]["message"],
            "BatchSpanProcessor.ExportError: Operation failed: connection refused"
        );
    }

    /// First event written, repeats within the interval held back, then one with the count.
    #[test]
    fn rate_limit_counts_what_it_holds_back() {
        let mut limit = RateLimit::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limit.admit("Export", t0), Some(0));
        assert_eq!(limit.admit("Export", t0 + Duration::from_secs(5)), None);
        assert_eq!(limit.admit("Export", t0 + Duration::from_secs(10)), None);
        assert_eq!(limit.admit("Other", t0 + Duration::from_secs(10)), Some(0));
        assert_eq!(limit.admit("Export", t0 + Duration::from_secs(61)), Some(2));
        assert_eq!(limit.admit("Export", t0 + Duration::from_secs(62)), None);
    }

    /// A file where a directory should be is named as the cause.
    #[test]
    fn file_in_the_path_is_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hostname");
        std::fs::write(&file, "x").unwrap();
        let err = open_append(&file.join("sub/x.log")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} is not a directory", file.display())
        );
    }
}
