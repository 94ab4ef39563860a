//! Session statistics read from the SDK's own aggregates, for `/stats`.
//!
//! A *MetricReader* is how metrics leave the SDK: the PeriodicReader collects every 10 s
//! and hands the result to the OTLP exporter. A meter provider can have several readers,
//! each seeing the same instruments, so `/stats` registers a second one — a ManualReader
//! that collects only when asked. The figures shown are therefore exactly the ones the
//! exporter sends (cumulative since start), not a second set of counters kept on the side.
//! Percentiles are estimated from histogram buckets the way Prometheus'
//! `histogram_quantile` does, so they match the dashboard.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

use super::names::{attr, metric};

/// A ManualReader that can be shared: one clone goes to the meter provider, one stays
/// with the REPL to collect on demand.
#[derive(Debug, Clone, Default)]
pub struct StatsReader(Arc<ManualReader>);

impl StatsReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Collects the current cumulative aggregates and summarises them.
    pub fn snapshot(&self) -> Option<SessionStats> {
        let mut rm = ResourceMetrics::default();
        self.0.collect(&mut rm).ok()?;
        Some(SessionStats::from_metrics(&rm))
    }
}

impl MetricReader for StatsReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// A histogram's buckets, merged over all attribute sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

impl Buckets {
    fn add(&mut self, p: &HistogramDataPoint<f64>) {
        let bounds: Vec<f64> = p.bounds().collect();
        if self.bounds.is_empty() {
            self.bounds = bounds;
            self.counts = vec![0; self.bounds.len() + 1];
        }
        for (slot, n) in self.counts.iter_mut().zip(p.bucket_counts()) {
            *slot += n;
        }
        self.count += p.count();
        self.sum += p.sum();
    }

    /// The q-quantile (0..1) by linear interpolation inside the bucket, as
    /// Prometheus' `histogram_quantile` does. `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 && (seen + n) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                // The overflow bucket has no upper bound: report its lower bound.
                let Some(&upper) = self.bounds.get(i) else {
                    return Some(lower);
                };
                let within = (rank - seen as f64) / n as f64;
                return Some(lower + (upper - lower) * within.clamp(0.0, 1.0));
            }
            seen += n;
        }
        self.bounds.last().copied()
    }
}

/// What `/stats` shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStats {
    /// `llm.requests` by `status`.
    pub turns: BTreeMap<String, u64>,
    /// `llm.tokens` by `type`.
    pub tokens: BTreeMap<String, u64>,
    /// `llm.errors` by `error_type`.
    pub errors: BTreeMap<String, u64>,
    pub latency: Buckets,
    pub time_to_first_token: Buckets,
    /// `llm.thinking.duration`: how long thinking models reasoned before answering.
    pub thinking: Buckets,
    /// Sum of `gen_ai.client.operation.duration` over successful calls (no `error.type`).
    pub success_seconds: f64,
}

impl SessionStats {
    fn from_metrics(rm: &ResourceMetrics) -> Self {
        let mut stats = SessionStats::default();
        for scope in rm.scope_metrics() {
            for m in scope.metrics() {
                match (m.name(), m.data()) {
                    (metric::LLM_REQUESTS, AggregatedMetrics::U64(MetricData::Sum(s))) => {
                        for p in s.data_points() {
                            *stats
                                .turns
                                .entry(label(p.attributes(), attr::METRIC_STATUS))
                                .or_default() += p.value();
                        }
                    }
                    (metric::LLM_TOKENS, AggregatedMetrics::U64(MetricData::Sum(s))) => {
                        for p in s.data_points() {
                            *stats
                                .tokens
                                .entry(label(p.attributes(), attr::METRIC_TOKEN_TYPE))
                                .or_default() += p.value();
                        }
                    }
                    (metric::LLM_ERRORS, AggregatedMetrics::U64(MetricData::Sum(s))) => {
                        for p in s.data_points() {
                            *stats
                                .errors
                                .entry(label(p.attributes(), attr::METRIC_ERROR_TYPE))
                                .or_default() += p.value();
                        }
                    }
                    (
                        metric::LLM_REQUEST_DURATION,
                        AggregatedMetrics::F64(MetricData::Histogram(h)),
                    ) => {
                        h.data_points().for_each(|p| stats.latency.add(p));
                    }
                    (
                        metric::LLM_TIME_TO_FIRST_TOKEN,
                        AggregatedMetrics::F64(MetricData::Histogram(h)),
                    ) => {
                        h.data_points()
                            .for_each(|p| stats.time_to_first_token.add(p));
                    }
                    (
                        metric::LLM_THINKING_DURATION,
                        AggregatedMetrics::F64(MetricData::Histogram(h)),
                    ) => {
                        h.data_points().for_each(|p| stats.thinking.add(p));
                    }
                    (
                        metric::GEN_AI_CLIENT_OPERATION_DURATION,
                        AggregatedMetrics::F64(MetricData::Histogram(h)),
                    ) => {
                        for p in h.data_points() {
                            if !p.attributes().any(|kv| kv.key.as_str() == attr::ERROR_TYPE) {
                                stats.success_seconds += p.sum();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        stats
    }

    /// Output tokens per second of generation time, over successful turns.
    pub fn tokens_per_second(&self) -> Option<f64> {
        let output = *self.tokens.get("output")? as f64;
        (self.success_seconds > 0.0).then(|| output / self.success_seconds)
    }
}

fn label<'a>(mut attrs: impl Iterator<Item = &'a opentelemetry::KeyValue>, key: &str) -> String {
    attrs
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Buckets;

    /// Quantiles interpolate inside buckets like histogram_quantile.
    #[test]
    fn quantile_interpolates() {
        let b = Buckets {
            bounds: vec![1.0, 2.0, 4.0],
            counts: vec![0, 10, 0, 0],
            count: 10,
            sum: 15.0,
        };
        assert_eq!(b.quantile(0.5), Some(1.5));
        assert_eq!(b.quantile(1.0), Some(2.0));
        assert_eq!(Buckets::default().quantile(0.5), None);
        let overflow = Buckets {
            bounds: vec![1.0],
            counts: vec![0, 3],
            count: 3,
            sum: 9.0,
        };
        assert_eq!(overflow.quantile(0.9), Some(1.0));
    }
}
