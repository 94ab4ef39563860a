//! An in-process *span processor* that keeps the finished spans of the last few turns,
//! so `/trace` can draw a turn's tree without any backend.
//!
//! A SpanProcessor sees every span twice: `on_start` and `on_end`. The batch processor
//! that feeds the OTLP exporter is one; this is another, registered on the same tracer
//! provider, so both see exactly the same spans. `on_end` runs on the thread that ends
//! the span — inside a chat turn — so all it does is move the span into a bounded buffer
//! under a short lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// How many traces are kept (older ones are dropped first).
const MAX_TRACES: usize = 32;
/// Spans kept per trace: a turn has five; this only guards against a runaway trace.
const MAX_SPANS_PER_TRACE: usize = 256;

/// The spans of one trace, in the order they ended.
#[derive(Debug, Clone)]
pub struct RecordedTrace {
    pub trace_id: TraceId,
    pub spans: Vec<SpanData>,
}

/// A cheap-to-clone handle on the buffer; the clone given to the provider is the processor.
#[derive(Debug, Clone, Default)]
pub struct RecentSpans {
    traces: Arc<Mutex<VecDeque<RecordedTrace>>>,
}

impl RecentSpans {
    pub fn new() -> Self {
        Self::default()
    }

    /// The finished spans of `trace_id`, if still in the buffer.
    pub fn trace(&self, trace_id: TraceId) -> Option<RecordedTrace> {
        let traces = self.traces.lock().ok()?;
        traces.iter().find(|t| t.trace_id == trace_id).cloned()
    }
}

impl SpanProcessor for RecentSpans {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let Ok(mut traces) = self.traces.lock() else {
            return;
        };
        let trace_id = span.span_context.trace_id();
        match traces.iter_mut().find(|t| t.trace_id == trace_id) {
            Some(trace) if trace.spans.len() < MAX_SPANS_PER_TRACE => trace.spans.push(span),
            Some(_) => {}
            None => {
                if traces.len() == MAX_TRACES {
                    traces.pop_front();
                }
                traces.push_back(RecordedTrace {
                    trace_id,
                    spans: vec![span],
                });
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
