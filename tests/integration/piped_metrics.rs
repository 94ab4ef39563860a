//! The metrics a backend receives after a session of two good turns and one failed turn.

use crate::support::*;
use fake_ollama::{Behaviour, FakeOllama};
use serde_json::{json, Value};

const MODEL: &str = "llama3.1:8b";
const PROMPT_MARK: &str = "zebraquokka";

const LLM_BOUNDS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
const SEMCONV_DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Two good turns around one HTTP 500, with the given metric export interval (ms).
/// Returns the de-duplicated points and the fake's input/output token totals.
async fn session(interval_ms: &str) -> (Vec<MetricPoint>, Output, u64, u64, FakeOllama) {
    let fake = FakeOllama::start().await;
    fake.push(Behaviour::Reply);
    fake.push(Behaviour::HttpError {
        status: 500,
        message: fake_ollama::RUNNER_STOPPED_MESSAGE.into(),
    });
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("OTEL_METRIC_EXPORT_INTERVAL", interval_ms)
        .stdin(format!(
            "{PROMPT_MARK} one\n{PROMPT_MARK} fails\n{PROMPT_MARK} three\n"
        ))
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.error_lines().len(), 1, "{out:?}");
    assert!(rx.errors().is_empty(), "{:?}", rx.errors());
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 3);
    let (mut input, mut output) = (0, 0);
    for r in [&reqs[0], &reqs[2]] {
        let o = r.outcome.as_ref().unwrap();
        input += o.prompt_eval_count.unwrap();
        output += o.eval_count.unwrap();
    }
    (rx.metrics(), out, input, output, fake)
}

/// Asserts the whole metric picture of `session`.
fn assert_metrics(ms: &[MetricPoint], input: u64, output: u64, port: u16) {
    assert!(!ms.is_empty(), "no metrics received");
    let m = [("model", MODEL)];

    // llm.requests: monotonic counter by status.
    let ok = point(
        ms,
        "llm.requests",
        &[("model", MODEL), ("status", "success")],
    );
    assert_eq!(ok.kind, MetricKind::Sum);
    assert!(ok.monotonic, "llm.requests must be monotonic");
    assert!(!ok.delta, "cumulative temporality expected");
    assert_eq!(ok.unit, "{request}");
    assert_eq!(ok.value, 2.0);
    let err = point(ms, "llm.requests", &[("model", MODEL), ("status", "error")]);
    assert_eq!(err.value, 1.0);
    assert_eq!(value_total(ms, "llm.requests", &[]), 3.0);

    // llm.tokens by type, equal to what the fake reported.
    let ti = point(ms, "llm.tokens", &[("model", MODEL), ("type", "input")]);
    let to = point(ms, "llm.tokens", &[("model", MODEL), ("type", "output")]);
    assert_eq!(ti.unit, "{token}");
    assert!(ti.monotonic);
    assert_eq!(ti.value, input as f64);
    assert_eq!(to.value, output as f64);

    // llm.errors by error_type.
    let e = point(
        ms,
        "llm.errors",
        &[("model", MODEL), ("error_type", "http_500")],
    );
    assert_eq!(e.value, 1.0);
    assert_eq!(e.unit, "{error}");
    assert!(e.monotonic);
    assert_eq!(value_total(ms, "llm.errors", &[]), 1.0);

    // llm.request.duration: every request, second-scale buckets.
    let d = point(ms, "llm.request.duration", &m);
    assert_eq!(d.kind, MetricKind::Histogram);
    assert_eq!(d.unit, "s");
    assert_eq!(d.count, 3);
    assert_eq!(d.bounds, LLM_BOUNDS);
    assert!(
        d.sum > 0.0 && d.sum < 60.0,
        "durations must be seconds: {}",
        d.sum
    );

    // llm.time_to_first_token: only the good turns.
    let t = point(ms, "llm.time_to_first_token", &m);
    assert_eq!(t.kind, MetricKind::Histogram);
    assert_eq!(t.unit, "s");
    assert_eq!(t.count, 2);
    assert_eq!(t.bounds, LLM_BOUNDS);

    // llm.requests.active: an up-down counter back at zero.
    let a = points(ms, "llm.requests.active");
    assert!(!a.is_empty(), "no llm.requests.active");
    for p in a {
        assert_eq!(p.kind, MetricKind::Sum);
        assert!(!p.monotonic, "llm.requests.active must be non-monotonic");
        assert_eq!(p.value, 0.0, "{p:#?}");
        assert_eq!(p.unit, "{request}");
    }

    // gen_ai.client.operation.duration: semconv buckets, error.type only on the failure.
    let g = points(ms, "gen_ai.client.operation.duration");
    assert!(!g.is_empty());
    for p in &g {
        assert_eq!(p.kind, MetricKind::Histogram);
        assert_eq!(p.unit, "s");
        assert_eq!(p.bounds, SEMCONV_DURATION_BOUNDS);
        assert_eq!(p.attr_str("gen_ai.operation.name"), Some("chat"));
        assert_eq!(p.attr_str("gen_ai.provider.name"), Some("ollama"));
        assert_eq!(p.attr_str("gen_ai.request.model"), Some(MODEL));
        assert_eq!(p.attr_str("server.address"), Some("127.0.0.1"));
        assert_eq!(p.attributes.get("server.port"), Some(&json!(port)));
    }
    let failed: Vec<_> = g
        .iter()
        .filter(|p| p.attributes.contains_key("error.type"))
        .collect();
    assert_eq!(failed.len(), 1, "{g:#?}");
    assert_eq!(failed[0].attr_str("error.type"), Some("http_500"));
    assert_eq!(failed[0].count, 1);
    let good: u64 = g
        .iter()
        .filter(|p| !p.attributes.contains_key("error.type"))
        .map(|p| p.count)
        .sum();
    assert_eq!(good, 2);
    for p in g
        .iter()
        .filter(|p| !p.attributes.contains_key("error.type"))
    {
        assert_eq!(p.attr_str("gen_ai.response.model"), Some(MODEL));
    }

    // gen_ai.client.token.usage by gen_ai.token.type.
    let ui = point(
        ms,
        "gen_ai.client.token.usage",
        &[("gen_ai.token.type", "input")],
    );
    let uo = point(
        ms,
        "gen_ai.client.token.usage",
        &[("gen_ai.token.type", "output")],
    );
    for p in [ui, uo] {
        assert_eq!(p.kind, MetricKind::Histogram);
        assert_eq!(p.unit, "{token}");
        assert_eq!(p.count, 2);
        assert_eq!(p.attr_str("gen_ai.operation.name"), Some("chat"));
        assert_eq!(p.attr_str("gen_ai.request.model"), Some(MODEL));
    }
    assert_eq!(ui.sum, input as f64);
    assert_eq!(uo.sum, output as f64);

    // gen_ai.client.operation.time_to_first_chunk: the good turns.
    assert_eq!(
        count_total(ms, "gen_ai.client.operation.time_to_first_chunk", &[]),
        2
    );
    for p in points(ms, "gen_ai.client.operation.time_to_first_chunk") {
        assert_eq!(p.unit, "s");
    }

    // No attribute value anywhere carries the prompt text.
    for p in ms {
        for (k, v) in &p.attributes {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert!(
                !s.contains(PROMPT_MARK),
                "{}: attribute {k} leaks the prompt",
                p.name
            );
        }
    }
}

/// With only the exit flush (long export interval), the final metrics match the session.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_after_two_good_turns_and_one_failure() {
    let (ms, out, input, output, fake) = session("600000").await;
    assert!(!ms.is_empty(), "no metrics received\n{out:?}");
    assert_metrics(&ms, input, output, fake.addr().port());
}

/// With frequent exports the last cumulative points give the same totals.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_with_frequent_exports_end_with_the_same_totals() {
    let (ms, out, input, output, fake) = session("50").await;
    assert!(!ms.is_empty(), "no metrics received\n{out:?}");
    assert_metrics(&ms, input, output, fake.addr().port());
}

/// The resource of the metrics names the service like the traces do.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_resource_names_the_service() {
    let (ms, out, _, _, _fake) = session("600000").await;
    // Without this, a session that exported no metrics at all would pass.
    assert!(!ms.is_empty(), "no metrics received\n{out:?}");
    assert!(
        !points(&ms, "llm.requests").is_empty(),
        "llm.requests not received"
    );
    for p in &ms {
        assert_eq!(
            p.resource.get("service.name"),
            Some(&json!("llm-chatbot-otel")),
            "{}",
            p.name
        );
    }
}
