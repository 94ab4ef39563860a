//! The user's verdict on a reply, recorded as a *linked* span.
//!
//! Feedback arrives after the turn's trace has ended — seconds later, or in another
//! session days later — so it cannot be a child span of the turn. OpenTelemetry's answer
//! is a **span link**: `user_feedback` is the root of its own trace and carries a link to
//! the `chat_interaction` span it judges (trace id + span id). Backends show the link both
//! ways, so an evaluation can jump to the exact generation it is about. This is the
//! "time-separated evaluation" pattern; all it needs is the two ids, which `/feedback
//! --trace` accepts from an earlier session's log line.

use opentelemetry::trace::{
    Link, Span, SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};

use crate::telemetry::names::{attr, span};
use crate::telemetry::Telemetry;
use crate::text::truncate;

/// A rating of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Good,
    Bad,
}

impl Rating {
    pub fn as_str(&self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::Bad => "bad",
        }
    }
}

/// The span context of a turn from its hex ids (as printed in logs and trace links).
/// The context is *remote*: it was not created by this process.
pub fn remote_span_context(trace_id: &str, span_id: &str) -> Result<SpanContext, String> {
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(trace_id, 32) || !hex(span_id, 16) {
        return Err("expected a 32-hex-digit trace id and a 16-hex-digit span id".into());
    }
    let context = SpanContext::new(
        TraceId::from_hex(trace_id).map_err(|e| e.to_string())?,
        SpanId::from_hex(span_id).map_err(|e| e.to_string())?,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    if context.is_valid() {
        Ok(context)
    } else {
        Err("an all-zero id is not a valid span context".into())
    }
}

/// Records `user_feedback` linked to `target`, and counts it. Returns the feedback span's
/// own context (its trace id is printed like a turn's).
pub fn record(
    telemetry: &Telemetry,
    model: &str,
    rating: Rating,
    comment: Option<&str>,
    target: SpanContext,
    capture_content: bool,
    conversation_id: &str,
) -> SpanContext {
    let tracer = &telemetry.tracer;
    let mut attributes = vec![
        KeyValue::new(attr::FEEDBACK_RATING, rating.as_str()),
        KeyValue::new(attr::LLM_MODEL, model.to_string()),
        // The conversation the rated reply belongs to (this session's, even for a
        // `--trace` link to an earlier session's turn: the feedback is given here).
        KeyValue::new(attr::GEN_AI_CONVERSATION_ID, conversation_id.to_string()),
        KeyValue::new(attr::SESSION_ID, conversation_id.to_string()),
    ];
    if let (Some(text), true) = (comment, capture_content) {
        attributes.push(KeyValue::new(attr::FEEDBACK_COMMENT, truncate(text, 1024)));
    }
    // Links are given at start so samplers can see them (adding them later also works).
    let link = Link::new(
        target,
        vec![KeyValue::new(attr::LINK_TYPE, attr::LINK_TYPE_FEEDBACK)],
        0,
    );
    let mut feedback = tracer
        .span_builder(span::USER_FEEDBACK)
        .with_kind(SpanKind::Internal)
        .with_attributes(attributes)
        .with_links(vec![link])
        .start_with_context(tracer, &Context::new());
    let context = feedback.span_context().clone();
    feedback.end();
    telemetry.metrics.feedback(model, rating.as_str());
    context
}

#[cfg(test)]
mod tests {
    use super::remote_span_context;

    /// Ids from a log line parse; malformed ones are refused with a reason.
    #[test]
    fn parses_ids() {
        let cx =
            remote_span_context("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7").unwrap();
        assert!(cx.is_remote() && cx.is_sampled());
        assert!(remote_span_context("xyz", "00f067aa0ba902b7").is_err());
        assert!(remote_span_context(&"0".repeat(32), &"0".repeat(16)).is_err());
    }
}
