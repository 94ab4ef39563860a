//! `/trace`: a turn's span tree drawn in the terminal, from the in-process span buffer.
//!
//! Each span gets one line — tree position, name, kind, duration and a bar on a time axis
//! shared by the whole trace, so waiting and streaming are visible at a glance — then its
//! key attributes, events, status and links. It reads [`SpanData`], the same structure the
//! OTLP exporter serialises, so what is drawn is what was exported.
//!
//! On a terminal the drawing fits its width: the time axis shrinks, then goes, then the
//! kind column goes, and long detail lines wrap under their span. Piped output (no width)
//! keeps the full layout, so scripts can rely on it.
//!
//! Span names and attribute values quote servers and files (a tool's name, a model name
//! from a session file, an error message), so they are made printable, one line each,
//! before the drawing colours them; `/trace` prints the result as it is.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::out::printable_line;
use super::style::Style;
use crate::telemetry::names::{attr, event};
use crate::telemetry::recent::RecordedTrace;

/// Width of the time-axis bar, in characters.
const BAR_WIDTH: usize = 24;
/// Width of the name column (tree prefix included).
const NAME_WIDTH: usize = 34;

/// Narrower than this, the time axis says too little to be worth its columns.
const MIN_BAR: usize = 8;

/// Drawing options: Unicode box characters, colours and a width only on a terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look {
    pub(crate) unicode: bool,
    pub(crate) style: Style,
    /// The terminal's width; `None` for the full layout.
    pub(crate) width: Option<usize>,
}

/// Column widths of the span lines, chosen for the width at hand.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Columns {
    name: usize,
    kind: bool,
    duration: usize,
    bar: usize,
}

impl Columns {
    /// `longest` is the widest name (tree prefix included) in this trace.
    fn fit(width: Option<usize>, longest: usize) -> Columns {
        let full = Columns {
            name: NAME_WIDTH,
            kind: true,
            duration: 10,
            bar: BAR_WIDTH,
        };
        let Some(width) = width else { return full };
        let mut c = Columns {
            name: longest.min(NAME_WIDTH),
            duration: 9,
            ..full
        };
        let fixed = |c: &Columns| c.name + 1 + if c.kind { 9 } else { 0 } + c.duration;
        c.bar = width.saturating_sub(fixed(&c) + 2).min(BAR_WIDTH);
        if c.bar < MIN_BAR {
            c.bar = 0;
        }
        if c.bar == 0 && fixed(&c) > width {
            c.kind = false;
        }
        if fixed(&c) > width {
            c.name = width.saturating_sub(fixed(&c) - c.name).max(8);
        }
        c
    }
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
pub(crate) fn render(trace: &RecordedTrace, turn: u64, look: Look) -> String {
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
    let header = format!(
        "trace {} {dot} turn {turn} {dot} {} {dot} {} span{}",
        trace.trace_id,
        millis(total),
        spans.len(),
        if spans.len() == 1 { "" } else { "s" }
    );
    let mut out = match look.width {
        None => header,
        Some(width) => super::wrap::fill(&header, width, "  ").join("\n"),
    };
    out.push('\n');
    let longest = longest_name(&roots, &children, 0);
    let view = View {
        glyphs,
        look,
        start,
        total,
        children: &children,
        columns: Columns::fit(look.width, longest),
    };
    for root in roots {
        view.draw(&mut out, root, "", None);
    }
    out.truncate(out.trim_end().len());
    out
}

/// The widest name line of the tree: each level adds three columns of prefix.
fn longest_name(
    spans: &[&SpanData],
    children: &HashMap<SpanId, Vec<&SpanData>>,
    depth: usize,
) -> usize {
    spans
        .iter()
        .map(|s| {
            let own = depth * 3 + super::term::columns(&printable_line(&s.name));
            let kids = children
                .get(&s.span_context.span_id())
                .map(|k| longest_name(k, children, depth + 1))
                .unwrap_or(0);
            own.max(kids)
        })
        .max()
        .unwrap_or(0)
}

struct View<'a> {
    glyphs: &'a Glyphs,
    look: Look,
    start: SystemTime,
    total: Duration,
    children: &'a HashMap<SpanId, Vec<&'a SpanData>>,
    columns: Columns,
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
        let c = self.columns;
        let mut name = format!("{branch}{}", printable_line(&span.name));
        if self.look.width.is_some() && super::term::columns(&name) > c.name {
            let (head, _) = super::wrap::split_at_columns(&name, c.name.saturating_sub(1));
            name = format!("{head}…");
        }
        let pad = c.name.saturating_sub(super::term::columns(&name));
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let mut line = format!("{name}{} ", " ".repeat(pad));
        if c.kind {
            line.push_str(&format!("{:<8} ", kind(&span.span_kind)));
        }
        line.push_str(&format!("{:>width$}", millis(duration), width = c.duration));
        if c.bar > 0 {
            line.push_str("  ");
            line.push_str(&self.bar(span));
        }
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
            let lines = match self.look.width {
                None => vec![detail.clone()],
                Some(width) => {
                    let room = width.saturating_sub(super::term::columns(&detail_prefix));
                    super::wrap::fill(&detail, room.max(16), "  ")
                }
            };
            for part in lines {
                let text = format!("{detail_prefix}{part}");
                let text = if detail.starts_with("status ERROR") {
                    self.look.style.red(&text)
                } else {
                    self.look.style.dim(&text)
                };
                out.push_str(&text);
                out.push('\n');
            }
        }
        if let Some((from, to)) = thinking_phase(span) {
            out.push_str(&self.phase_line("thinking", from, to, &detail_prefix));
            out.push('\n');
        }
        if let Some(kids) = kids {
            for (i, child) in kids.iter().enumerate() {
                self.draw(out, child, &child_prefix, Some(i + 1 == kids.len()));
            }
        }
    }

    /// A phase inside a span (not a span of its own) drawn like one, dimmed, so it lines
    /// up on the time axis: `thinking` from `thinking_started` to `first_token`.
    fn phase_line(&self, label: &str, from: SystemTime, to: SystemTime, prefix: &str) -> String {
        let c = self.columns;
        let name = format!("{prefix}{label}");
        let pad = c.name.saturating_sub(super::term::columns(&name));
        let mut line = format!("{name}{} ", " ".repeat(pad));
        if c.kind {
            line.push_str(&format!("{:<8} ", "phase"));
        }
        let length = to.duration_since(from).unwrap_or_default();
        line.push_str(&format!("{:>width$}", millis(length), width = c.duration));
        if c.bar > 0 {
            line.push_str("  ");
            line.push_str(&self.bar_between(from, to));
        }
        self.look.style.dim(&line)
    }

    /// The span's place on the trace's time axis.
    fn bar(&self, span: &SpanData) -> String {
        self.bar_between(span.start_time, span.end_time)
    }

    fn bar_between(&self, start: SystemTime, end: SystemTime) -> String {
        let total = self.total.as_secs_f64().max(f64::EPSILON);
        let offset = start
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64();
        let length = end.duration_since(start).unwrap_or_default().as_secs_f64();
        let bar_width = self.columns.bar.max(1);
        let from = ((offset / total) * bar_width as f64).floor() as usize;
        let width = (((length / total) * bar_width as f64).round() as usize).max(1);
        let from = from.min(bar_width - 1);
        let to = (from + width).min(bar_width);
        (0..bar_width)
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

/// When a thinking model reasoned inside this span (`generate_response`): from its
/// `thinking_started` event to its `first_token` event, or to the span's end.
fn thinking_phase(span: &SpanData) -> Option<(SystemTime, SystemTime)> {
    let at = |name: &str| {
        span.events
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.timestamp)
    };
    let from = at(event::THINKING_STARTED)?;
    Some((from, at(event::FIRST_TOKEN).unwrap_or(span.end_time)))
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
            "time to first chunk={}",
            millis(Duration::from_secs_f64(ttft))
        ));
    }
    if let Some(v) = get(attr::LLM_STREAM_CHUNKS) {
        facts.push(format!("chunks={v}"));
    }
    if let Some(v) = get(attr::LLM_THINKING_CHUNKS) {
        facts.push(format!("thinking chunks={v}"));
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
    // Values quote servers and files (a model name, an error message): printable, and one
    // line each, so they can neither drive the terminal nor break the tree's layout.
    lines.iter().map(|l| printable_line(l)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    /// A turn-shaped trace (a root, two levels of children, a long attribute and an event).
    fn sample() -> RecordedTrace {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("chat_interaction", |cx| {
            cx.span().set_attribute(KeyValue::new(
                attr::GEN_AI_REQUEST_MODEL,
                "hf.co/org/a-long-model-name:Q4_K_M",
            ));
            tracer.in_span("generate_response", |cx| {
                cx.span().add_event("first_token", vec![]);
                tracer.in_span("process_streaming_response", |_| {});
            });
        });
        let spans = exporter.get_finished_spans().unwrap();
        RecordedTrace {
            trace_id: spans[0].span_context.trace_id(),
            spans,
        }
    }

    /// Every line fits terminals of 40 to 80 columns; piped output keeps the full layout.
    #[test]
    fn fits_the_terminal() {
        let trace = sample();
        for width in [40, 50, 60, 80, 120] {
            for unicode in [true, false] {
                let look = Look {
                    unicode,
                    style: Style::plain(),
                    width: Some(width),
                };
                let text = render(&trace, 1, look);
                for line in text.lines() {
                    assert!(
                        crate::repl::term::columns(line) <= width,
                        "{width}: {line:?}\n{text}"
                    );
                }
                assert!(text.contains("generate_response"), "{text}");
            }
        }
        let piped = Look {
            unicode: false,
            style: Style::plain(),
            width: None,
        };
        let text = render(&trace, 1, piped);
        let bars: Vec<&str> = text.lines().filter(|l| l.contains("INTERNAL")).collect();
        assert!(bars.iter().all(|l| l.trim_end().ends_with(['#', '.'])));
        assert!(
            bars.iter().all(|l| l.len() >= NAME_WIDTH + BAR_WIDTH),
            "{text}"
        );
    }

    /// Names and values with controls in them are drawn printable; only our own colour
    /// codes are escape sequences in the drawing.
    #[test]
    fn untrusted_names_and_values_are_printable() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("execute_tool evil\x07tool", |cx| {
            cx.span()
                .set_attribute(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, "m\x1b[2J\nx"));
        });
        let spans = exporter.get_finished_spans().unwrap();
        let trace = RecordedTrace {
            trace_id: spans[0].span_context.trace_id(),
            spans,
        };
        for width in [None, Some(80)] {
            let look = Look {
                unicode: true,
                style: Style { color: true },
                width,
            };
            let text = render(&trace, 1, look);
            assert!(text.contains("execute_tool evil^Gtool"), "{text}");
            assert!(text.contains("model=m^[[2J^Jx"), "{text}");
            // Without our colours, nothing is left that a terminal would act on.
            let plain = text.replace("\x1b[2m", "").replace("\x1b[0m", "");
            assert!(!plain.contains(['\x1b', '\x07']), "{plain:?}");
        }
    }
}
