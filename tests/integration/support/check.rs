//! Parsing of the stderr protocol, span-tree and metric lookups, and request inspection.

use std::collections::BTreeSet;

use serde_json::Value;

use super::otlp::{MetricPoint, Span};

/// A parsed `trace: <32 hex>  <url>` stderr line.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLine {
    pub trace_id: String,
    pub url: String,
    pub raw: String,
}

/// Every stderr line starting with `trace:`, parsed. Panics on a malformed one.
pub fn trace_lines(stderr: &str) -> Vec<TraceLine> {
    stderr
        .lines()
        .filter(|l| l.starts_with("trace:"))
        .map(|l| {
            let mut parts = l["trace:".len()..].split_whitespace();
            let id = parts.next().unwrap_or_default().to_string();
            let url = parts.next().unwrap_or_default().to_string();
            assert!(
                super::is_lower_hex(&id, 32),
                "trace line without a 32-lowercase-hex id: {l:?}"
            );
            assert!(parts.next().is_none(), "trace line with extra words: {l:?}");
            TraceLine {
                trace_id: id,
                url,
                raw: l.to_string(),
            }
        })
        .collect()
}

/// The distinct trace ids of `spans`, sorted.
pub fn trace_ids_of(spans: &[Span]) -> BTreeSet<String> {
    spans.iter().map(|s| s.trace_id.clone()).collect()
}

/// The spans of one trace.
pub fn in_trace<'a>(spans: &'a [Span], trace_id: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.trace_id == trace_id).collect()
}

/// An indented rendering of a trace (for assertion messages).
pub fn render_trace(spans: &[Span], trace_id: &str) -> String {
    fn walk(all: &[&Span], s: &Span, depth: usize, out: &mut String) {
        out.push_str(&format!(
            "{}{} [{}] status={} {}\n",
            "  ".repeat(depth),
            s.name,
            s.kind,
            s.status_code,
            s.span_id
        ));
        for c in all.iter().filter(|c| c.parent_span_id == s.span_id) {
            walk(all, c, depth + 1, out);
        }
    }
    let all = in_trace(spans, trace_id);
    let ids: BTreeSet<&str> = all.iter().map(|s| s.span_id.as_str()).collect();
    let mut out = format!("trace {trace_id}:\n");
    for s in all
        .iter()
        .filter(|s| s.is_root() || !ids.contains(s.parent_span_id.as_str()))
    {
        walk(&all, s, 1, &mut out);
    }
    out
}

/// The one span called `name` in the trace (panics if there are none or several).
pub fn span<'a>(spans: &'a [Span], trace_id: &str, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == trace_id && s.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {name:?} span in trace {trace_id}, got {}\n{}",
        found.len(),
        render_trace(spans, trace_id)
    );
    found[0]
}

/// All spans called `name`, in the order received.
pub fn spans_named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// The parent of `s` among `spans`, if received.
pub fn parent_of<'a>(spans: &'a [Span], s: &Span) -> Option<&'a Span> {
    if s.is_root() {
        return None;
    }
    spans
        .iter()
        .find(|p| p.trace_id == s.trace_id && p.span_id == s.parent_span_id)
}

/// The ancestors of `s`, nearest first.
pub fn ancestors<'a>(spans: &'a [Span], s: &Span) -> Vec<&'a Span> {
    let mut out = Vec::new();
    let mut cur = parent_of(spans, s);
    while let Some(p) = cur {
        out.push(p);
        cur = parent_of(spans, p);
    }
    out
}

/// The direct children of `parent`.
pub fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|c| c.trace_id == parent.trace_id && c.parent_span_id == parent.span_id)
        .collect()
}

/// Asserts that `child` is a direct child of `parent` in the same trace.
pub fn assert_child(parent: &Span, child: &Span) {
    assert_eq!(
        child.trace_id, parent.trace_id,
        "{} and {} are in different traces",
        child.name, parent.name
    );
    assert_eq!(
        child.parent_span_id, parent.span_id,
        "{} (parent {}) is not a child of {} ({})",
        child.name, child.parent_span_id, parent.name, parent.span_id
    );
}

/// Asserts that `s` has status ERROR, an `exception` event and `error.type == error_type`.
pub fn assert_span_error(s: &Span, error_type: &str) {
    assert_span_failed(s, error_type);
    assert_eq!(
        s.events_named("exception").len(),
        1,
        "span {} should have one exception event: {:?}",
        s.name,
        s.events
    );
}

/// Asserts status ERROR and `error.type == error_type`, and no `exception` event: an
/// ancestor of the span where the failure happened.
pub fn assert_ancestor_failed(s: &Span, error_type: &str) {
    assert_span_failed(s, error_type);
    assert!(
        s.events_named("exception").is_empty(),
        "ancestor {} repeats the exception event: {:?}",
        s.name,
        s.events
    );
}

fn assert_span_failed(s: &Span, error_type: &str) {
    assert_eq!(s.status_code, "error", "span {} status: {s:#?}", s.name);
    assert_eq!(
        s.attr("error.type").and_then(Value::as_str),
        Some(error_type),
        "span {} error.type; attributes {:?}",
        s.name,
        s.attributes
    );
}

/// Asserts that the span `leaf` of the trace failed with `error_type` and an exception
/// event, and each of its ancestors up to the root (`chat_interaction`) with ERROR and
/// `error.type` but no repeated exception event; returns the chain, leaf first.
pub fn assert_error_chain<'a>(
    spans: &'a [Span],
    trace_id: &str,
    leaf: &str,
    error_type: &str,
) -> Vec<&'a Span> {
    let l = span(spans, trace_id, leaf);
    let mut chain = vec![l];
    chain.extend(ancestors(spans, l));
    let names: Vec<&str> = chain.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.last().copied(),
        Some("chat_interaction"),
        "the chain from {leaf} does not reach chat_interaction: {names:?}\n{}",
        render_trace(spans, trace_id)
    );
    assert_span_error(chain[0], error_type);
    for s in &chain[1..] {
        assert_ancestor_failed(s, error_type);
    }
    chain
}

/// The points of metric `name`.
pub fn points<'a>(ms: &'a [MetricPoint], name: &str) -> Vec<&'a MetricPoint> {
    ms.iter().filter(|m| m.name == name).collect()
}

/// Whether the point's attributes contain every (key, string value) pair.
pub fn has_attrs(p: &MetricPoint, want: &[(&str, &str)]) -> bool {
    want.iter()
        .all(|(k, v)| p.attributes.get(*k).and_then(Value::as_str) == Some(*v))
}

/// The one point of metric `name` whose attributes include `want` (panics otherwise).
pub fn point<'a>(ms: &'a [MetricPoint], name: &str, want: &[(&str, &str)]) -> &'a MetricPoint {
    let found: Vec<&MetricPoint> = ms
        .iter()
        .filter(|m| m.name == name && has_attrs(m, want))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {name} point with {want:?}; all {name} points: {:#?}",
        points(ms, name)
    );
    found[0]
}

/// Sum of the values of the sum/gauge points of `name` matching `want`.
pub fn value_total(ms: &[MetricPoint], name: &str, want: &[(&str, &str)]) -> f64 {
    ms.iter()
        .filter(|m| m.name == name && has_attrs(m, want))
        .map(|m| m.value)
        .sum()
}

/// Sum of the counts of the histogram points of `name` matching `want`.
pub fn count_total(ms: &[MetricPoint], name: &str, want: &[(&str, &str)]) -> u64 {
    ms.iter()
        .filter(|m| m.name == name && has_attrs(m, want))
        .map(|m| m.count)
        .sum()
}

/// Sum of the sums of the histogram points of `name` matching `want`.
pub fn sum_total(ms: &[MetricPoint], name: &str, want: &[(&str, &str)]) -> f64 {
    ms.iter()
        .filter(|m| m.name == name && has_attrs(m, want))
        .map(|m| m.sum)
        .sum()
}

/// The `(role, content)` pairs of a chat request body.
pub fn messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("request without a messages array: {body}"))
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Shorthand to build expected `(role, content)` pairs.
pub fn msgs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(r, c)| (r.to_string(), c.to_string()))
        .collect()
}
