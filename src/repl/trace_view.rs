//! `/trace`: a turn's span tree drawn in the terminal, from the in-process span buffer.
//!
//! Each span gets one line — tree position, name, kind, duration and a bar on a time axis
//! shared by the whole trace, so waiting and streaming are visible at a glance — then its
//! key attributes, events, status and links. It reads [`SpanData`], the same structure the
//! OTLP exporter serialises, so what is drawn is what was exported.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::style::Style;
use crate::telemetry::names::attr;
use crate::telemetry::recent::RecordedTrace;

/// Width of the time-axis bar, in characters.
const BAR_WIDTH: usize = 24;
/// Width of the name column (tree prefix included).
const NAME_WIDTH: usize = 34;

/// Drawing options: Unicode box characters and colours only on a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub unicode: bool,
    pub style: Style,
}

struct Glyphs {
    branch: &'static str,
    last: &'static str,
    pipe: &'static str,
    full: char,
    empty: char,
    arrow: &'static str,
    dot: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    branch: "├─ ",
    last: "└─ ",
    pipe: "│  ",
    full: '█',
    empty: '·',
    arrow: "→",
    dot: "·",
};
const ASCII: Glyphs = Glyphs {
    branch: "|- ",
    last: "`- ",
    pipe: "|  ",
    full: '#',
    empty: '.',
    arrow: "->",
    dot: "-",
};

/// Renders the trace of turn `turn` as text.
pub fn render(trace: &RecordedTrace, turn: u64, look: Look) -> String {
    let glyphs = if look.unicode { &UNICODE } else { &ASCII };
    let spans = &trace.spans;
    let start = spans
        .iter()
        .map(|s| s.start_time)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let end = spans.iter().map(|s| s.end_time).max().unwrap_or(start);
    let total = end.duration_since(start).unwrap_or_default();

    // Children by parent id, in start order; roots are spans whose parent is not here.
    let ids: Vec<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        if ids.contains(&span.parent_span_id) {
            children.entry(span.parent_span_id).or_default().push(span);
        } else {
            roots.push(span);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_time);
    }
    roots.sort_by_key(|s| s.start_time);

    let dot = glyphs.dot;
    let mut out = format!(
        "trace {} {dot} turn {turn} {dot} {} {dot} {} span{}\n",
        trace.trace_id,
        millis(total),
        spans.len(),
        if spans.len() == 1 { "" } else { "s" }
    );
    let view = View {
        glyphs,
        look,
        start,
        total,
        children: &children,
    };
    for root in roots {
        view.draw(&mut out, root, "", None);
    }
    out.truncate(out.trim_end().len());
    out
}

struct View<'a> {
    glyphs: &'a Glyphs,
    look: Look,
    start: SystemTime,
    total: Duration,
    children: &'a HashMap<SpanId, Vec<&'a SpanData>>,
}

impl View<'_> {
    /// Draws `span` and its subtree. `is_last` is `None` for a root.
    fn draw(&self, out: &mut String, span: &SpanData, prefix: &str, is_last: Option<bool>) {
        let g = self.glyphs;
        let (branch, child_prefix) = match is_last {
            None => (String::new(), prefix.to_string()),
            Some(true) => (format!("{prefix}{}", g.last), format!("{prefix}   ")),
            Some(false) => (
                format!("{prefix}{}", g.branch),
                format!("{prefix}{}", g.pipe),
            ),
        };
        let failed = matches!(span.status, Status::Error { .. });
        let name = format!("{branch}{}", span.name);
        let padded = format!("{name:<NAME_WIDTH$}");
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let line = format!(
            "{padded} {:<8} {:>10}  {}",
            kind(&span.span_kind),
            millis(duration),
            self.bar(span)
        );
        let line = if failed {
            self.look.style.red(&line)
        } else {
            line
        };
        out.push_str(&line);
        out.push('\n');

        let kids = self.children.get(&span.span_context.span_id());
        let detail_prefix = match kids {
            Some(k) if !k.is_empty() => format!("{child_prefix}{}", g.pipe),
            _ => format!("{child_prefix}   "),
        };
        for detail in details(span, self.start, g.arrow) {
            let text = format!("{detail_prefix}{detail}");
            let text = if detail.starts_with("status ERROR") {
                self.look.style.red(&text)
            } else {
                self.look.style.dim(&text)
            };
            out.push_str(&text);
            out.push('\n');
        }
        if let Some(kids) = kids {
            for (i, child) in kids.iter().enumerate() {
                self.draw(out, child, &child_prefix, Some(i + 1 == kids.len()));
            }
        }
    }

    /// The span's place on the trace's time axis.
    fn bar(&self, span: &SpanData) -> String {
        let total = self.total.as_secs_f64().max(f64::EPSILON);
        let offset = span
            .start_time
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64();
        let length = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_secs_f64();
        let from = ((offset / total) * BAR_WIDTH as f64).floor() as usize;
        let width = (((length / total) * BAR_WIDTH as f64).round() as usize).max(1);
        let from = from.min(BAR_WIDTH - 1);
        let to = (from + width).min(BAR_WIDTH);
        (0..BAR_WIDTH)
            .map(|i| {
                if (from..to).contains(&i) {
                    self.glyphs.full
                } else {
                    self.glyphs.empty
                }
            })
            .collect()
    }
}

/// The attribute lines worth showing for a span, then events, status and links.
fn details(span: &SpanData, trace_start: SystemTime, arrow: &str) -> Vec<String> {
    let get = |key: &str| find(&span.attributes, key);
    let mut facts = Vec::new();
    if let Some(v) = get(attr::CHAT_TURN) {
        facts.push(format!("turn={v}"));
    }
    if let Some(v) = get(attr::GEN_AI_REQUEST_MODEL).or_else(|| get(attr::LLM_MODEL)) {
        facts.push(format!("model={v}"));
    }
    if let (Some(i), Some(o)) = (get(attr::LLM_TOKENS_INPUT), get(attr::LLM_TOKENS_OUTPUT)) {
        facts.push(format!("tokens in={i} out={o}"));
    }
    if let Some(Value::F64(ttft)) = get(attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK) {
        facts.push(format!(
            "time to first token={}",
            millis(Duration::from_secs_f64(ttft))
        ));
    }
    if let Some(v) = get(attr::LLM_STREAM_CHUNKS) {
        facts.push(format!("chunks={v}"));
    }
    if let Some(v) = get(attr::OLLAMA_DONE_REASON) {
        facts.push(format!("done_reason={v}"));
    }
    if let Some(v) = get(attr::HTTP_RESPONSE_STATUS_CODE) {
        facts.push(format!("http {v}"));
    }
    if let Some(v) = get(attr::FEEDBACK_RATING) {
        facts.push(format!("rating={v}"));
    }
    if let Some(v) = get(attr::ERROR_TYPE) {
        facts.push(format!("error.type={v}"));
    }
    if get(attr::LLM_CANCELLED).is_some() {
        facts.push("cancelled".to_string());
    }
    let mut lines = Vec::new();
    if !facts.is_empty() {
        lines.push(facts.join("  "));
    }
    for event in span.events.iter() {
        let at = event
            .timestamp
            .duration_since(trace_start)
            .unwrap_or_default();
        let mut text = format!("event {} at +{}", event.name, millis(at));
        if event.name == "exception" {
            if let Some(message) = find(&event.attributes, "exception.message") {
                text.push_str(&format!(": {message}"));
            }
        }
        lines.push(text);
    }
    if let Status::Error { description } = &span.status {
        // The exception event above usually says the same; don't print it twice.
        let said = span.events.iter().any(|e| {
            find(&e.attributes, "exception.message").is_some_and(|m| m.as_str() == *description)
        });
        if said || description.is_empty() {
            lines.push("status ERROR".to_string());
        } else {
            lines.push(format!("status ERROR: {description}"));
        }
    }
    for link in span.links.iter() {
        let kind = find(&link.attributes, attr::LINK_TYPE)
            .map(|v| format!(" ({}={v})", attr::LINK_TYPE))
            .unwrap_or_default();
        lines.push(format!(
            "link {arrow} trace {} span {}{kind}",
            link.span_context.trace_id(),
            link.span_context.span_id()
        ));
    }
    lines
}

fn find(attributes: &[KeyValue], key: &str) -> Option<Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "CLIENT",
        SpanKind::Server => "SERVER",
        SpanKind::Producer => "PRODUCER",
        SpanKind::Consumer => "CONSUMER",
        SpanKind::Internal => "INTERNAL",
    }
}

/// `12.3 ms` / `1.234 s`.
fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.3} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}
