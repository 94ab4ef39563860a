//! The metric instruments of a chat turn, created once and reused.
//!
//! OpenTelemetry metrics have three parts: a *Meter* (one per instrumentation scope)
//! creates *instruments* (Counter, UpDownCounter, Histogram); each `add`/`record` carries
//! *attributes* that become Prometheus labels. The SDK aggregates in memory and the
//! PeriodicReader exports the aggregate, so recording is cheap — but every distinct
//! attribute set is a new time series kept for the process lifetime. Hence the rule here:
//! attributes are low-cardinality (model, status, error class), never prompt text or ids.
//!
//! Two families are recorded side by side:
//! * `llm.*` — the project's operational metrics, whose Prometheus names (`llm_requests_total`
//!   …) the dashboards and alert rules use;
//! * `gen_ai.client.*` — the OpenTelemetry GenAI semantic conventions, with the bucket
//!   boundaries the conventions advise, so generic GenAI dashboards work too.

use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;

use super::names::{attr, buckets, metric};
use crate::ollama::ErrorKind;

/// How a turn ended, as the `status` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    Success,
    Error(ErrorKind),
    Cancelled,
}

impl TurnStatus {
    /// The value of the `status` metric label and the log line's `status` key.
    pub fn as_str(&self) -> &'static str {
        match self {
            TurnStatus::Success => metric::STATUS_SUCCESS,
            TurnStatus::Error(_) => metric::STATUS_ERROR,
            TurnStatus::Cancelled => metric::STATUS_CANCELLED,
        }
    }
}

/// What a finished turn reports to the metrics.
#[derive(Debug, Clone)]
pub struct TurnMeasurement<'a> {
    pub model: &'a str,
    pub response_model: Option<&'a str>,
    pub server_address: &'a str,
    pub server_port: u16,
    pub status: TurnStatus,
    pub duration: Duration,
    /// To the first chunk with answer text.
    pub time_to_first_token: Option<Duration>,
    /// To the first chunk of either kind (thinking or answer).
    pub time_to_first_chunk: Option<Duration>,
    /// From the first thinking chunk to the first answer chunk (or the end), when it thought.
    pub thinking: Option<Duration>,
    /// `(input, output)` tokens as Ollama counted them; only a completed reply has them.
    pub tokens: Option<(u64, u64)>,
}

/// Every instrument a turn records to.
#[derive(Debug, Clone)]
pub struct ChatMetrics {
    requests: Counter<u64>,
    request_duration: Histogram<f64>,
    tokens: Counter<u64>,
    errors: Counter<u64>,
    time_to_first_token: Histogram<f64>,
    thinking_duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    operation_duration: Histogram<f64>,
    token_usage: Histogram<u64>,
    time_to_first_chunk: Histogram<f64>,
    feedback: Counter<u64>,
    tool_calls: Counter<u64>,
    /// The GenAI development line's names, recorded too with `gen_ai_latest_experimental`.
    latest: Option<LatestGenAi>,
}

/// `gen_ai.client.inference.*`: the same measurements under the names the GenAI
/// conventions' current development line uses (see `telemetry::semconv`).
#[derive(Debug, Clone)]
struct LatestGenAi {
    duration: Histogram<f64>,
    time_to_first_chunk: Histogram<f64>,
}

impl ChatMetrics {
    /// Creates the instruments on `meter`. Instruments are cheap handles; creating them
    /// once (not per turn) avoids a registry lookup on every recording.
    ///
    /// `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` (read here, once) adds the
    /// development line's instruments.
    pub fn new(meter: &Meter) -> Self {
        let latest = super::semconv::OptIn::from_env()
            .gen_ai_latest
            .then(|| LatestGenAi {
                duration: meter
                    .f64_histogram(metric::GEN_AI_CLIENT_INFERENCE_DURATION)
                    .with_unit("s")
                    .with_description("GenAI inference duration (development line name)")
                    .with_boundaries(buckets::GEN_AI_DURATION.to_vec())
                    .build(),
                time_to_first_chunk: meter
                    .f64_histogram(metric::GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK)
                    .with_unit("s")
                    .with_description(
                        "Time to the first chunk of a streamed reply (development line name)",
                    )
                    .with_boundaries(buckets::GEN_AI_DURATION.to_vec())
                    .build(),
            });
        ChatMetrics {
            requests: meter
                .u64_counter(metric::LLM_REQUESTS)
                .with_unit("{request}")
                .with_description("Chat requests sent to the model, by outcome")
                .build(),
            request_duration: meter
                .f64_histogram(metric::LLM_REQUEST_DURATION)
                .with_unit("s")
                .with_description("Time from sending a chat request to the last chunk of its reply")
                .with_boundaries(buckets::SECONDS.to_vec())
                .build(),
            tokens: meter
                .u64_counter(metric::LLM_TOKENS)
                .with_unit("{token}")
                .with_description("Tokens processed, as counted by Ollama")
                .build(),
            errors: meter
                .u64_counter(metric::LLM_ERRORS)
                .with_unit("{error}")
                .with_description("Failed chat requests, by error class")
                .build(),
            time_to_first_token: meter
                .f64_histogram(metric::LLM_TIME_TO_FIRST_TOKEN)
                .with_unit("s")
                .with_description("Time from sending a chat request to the first reply text")
                .with_boundaries(buckets::SECONDS.to_vec())
                .build(),
            thinking_duration: meter
                .f64_histogram(metric::LLM_THINKING_DURATION)
                .with_unit("s")
                .with_description("Time a thinking model spent reasoning before it answered")
                .with_boundaries(buckets::SECONDS.to_vec())
                .build(),
            active: meter
                .i64_up_down_counter(metric::LLM_REQUESTS_ACTIVE)
                .with_unit("{request}")
                .with_description("Chat requests in flight")
                .build(),
            operation_duration: meter
                .f64_histogram(metric::GEN_AI_CLIENT_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(buckets::GEN_AI_DURATION.to_vec())
                .build(),
            token_usage: meter
                .u64_histogram(metric::GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(buckets::GEN_AI_TOKENS.to_vec())
                .build(),
            time_to_first_chunk: meter
                .f64_histogram(metric::GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK)
                .with_unit("s")
                .with_description("Time to receive the first chunk of a streamed response")
                .with_boundaries(buckets::GEN_AI_DURATION.to_vec())
                .build(),
            feedback: meter
                .u64_counter(metric::LLM_FEEDBACK)
                .with_unit("{feedback}")
                .with_description("The user's judgements of replies")
                .build(),
            tool_calls: meter
                .u64_counter(metric::LLM_TOOL_CALLS)
                .with_unit("{call}")
                .with_description("Tool calls the model asked for, by tool and outcome")
                .build(),
            latest,
        }
    }

    /// A tool call ended (`success`, `error`, or `denied` when it did not run).
    pub fn tool_call(&self, tool: &str, status: &'static str) {
        self.tool_calls.add(
            1,
            &[
                KeyValue::new(attr::METRIC_TOOL, tool.to_string()),
                KeyValue::new(attr::METRIC_STATUS, status),
            ],
        );
    }

    /// The user rated a reply (`good` or `bad`).
    pub fn feedback(&self, model: &str, rating: &str) {
        self.feedback.add(
            1,
            &[
                KeyValue::new(attr::METRIC_MODEL, model.to_string()),
                KeyValue::new(attr::METRIC_RATING, rating.to_string()),
            ],
        );
    }

    /// A request is about to be sent: one more in flight.
    pub fn request_started(&self, model: &str) {
        self.active
            .add(1, &[KeyValue::new(attr::METRIC_MODEL, model.to_string())]);
    }

    /// A request finished (whatever the outcome): record everything about it.
    pub fn request_finished(&self, m: &TurnMeasurement<'_>) {
        let model = KeyValue::new(attr::METRIC_MODEL, m.model.to_string());
        self.active.add(-1, std::slice::from_ref(&model));
        self.requests.add(
            1,
            &[
                model.clone(),
                KeyValue::new(attr::METRIC_STATUS, m.status.as_str()),
            ],
        );

        // The semconv attribute set, shared by the three gen_ai.client.* instruments.
        let mut genai = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, attr::OPERATION_CHAT),
            KeyValue::new(attr::GEN_AI_PROVIDER_NAME, attr::PROVIDER_OLLAMA),
            KeyValue::new(attr::GEN_AI_REQUEST_MODEL, m.model.to_string()),
            KeyValue::new(attr::SERVER_ADDRESS, m.server_address.to_string()),
            KeyValue::new(attr::SERVER_PORT, i64::from(m.server_port)),
        ];
        if let Some(response_model) = m.response_model {
            genai.push(KeyValue::new(
                attr::GEN_AI_RESPONSE_MODEL,
                response_model.to_string(),
            ));
        }

        match m.status {
            // A cancelled request has no meaningful duration: the user decided it.
            TurnStatus::Cancelled => {}
            TurnStatus::Success => {
                self.request_duration
                    .record(m.duration.as_secs_f64(), std::slice::from_ref(&model));
                self.operation_duration
                    .record(m.duration.as_secs_f64(), &genai);
                if let Some(latest) = &self.latest {
                    latest.duration.record(m.duration.as_secs_f64(), &genai);
                }
            }
            TurnStatus::Error(kind) => {
                let label = kind.as_label();
                self.errors.add(
                    1,
                    &[
                        model.clone(),
                        KeyValue::new(attr::METRIC_ERROR_TYPE, label.clone()),
                    ],
                );
                self.request_duration
                    .record(m.duration.as_secs_f64(), std::slice::from_ref(&model));
                // The semconv duration carries error.type on failures (Conditionally Required).
                let mut with_error = genai.clone();
                with_error.push(KeyValue::new(attr::ERROR_TYPE, label));
                self.operation_duration
                    .record(m.duration.as_secs_f64(), &with_error);
                if let Some(latest) = &self.latest {
                    latest
                        .duration
                        .record(m.duration.as_secs_f64(), &with_error);
                }
            }
        }

        if let Some(ttft) = m.time_to_first_token {
            self.time_to_first_token
                .record(ttft.as_secs_f64(), std::slice::from_ref(&model));
        }
        if let Some(ttfc) = m.time_to_first_chunk {
            self.time_to_first_chunk.record(ttfc.as_secs_f64(), &genai);
            if let Some(latest) = &self.latest {
                latest
                    .time_to_first_chunk
                    .record(ttfc.as_secs_f64(), &genai);
            }
        }
        if let Some(thinking) = m.thinking {
            self.thinking_duration
                .record(thinking.as_secs_f64(), std::slice::from_ref(&model));
        }

        if let Some((input, output)) = m.tokens {
            for (kind, count) in [("input", input), ("output", output)] {
                self.tokens.add(
                    count,
                    &[model.clone(), KeyValue::new(attr::METRIC_TOKEN_TYPE, kind)],
                );
                let mut attrs = genai.clone();
                attrs.push(KeyValue::new(attr::GEN_AI_TOKEN_TYPE, kind));
                self.token_usage.record(count, &attrs);
            }
        }
    }
}
