//! `--export file:PATH|console|none`: telemetry without a collector.
//!
//! The file must be what the OpenTelemetry Collector's `otlpjsonfile` receiver reads back:
//! one OTLP/JSON export request per line. These tests run the built binary in piped mode
//! against the in-process fake Ollama, then decode every line with `opentelemetry-proto`'s
//! own OTLP/JSON (serde) decoder — the round trip a replay does — and check the spans,
//! metrics and logs of the session. The raw text is checked too, for the parts of the
//! OTLP/JSON mapping the collector is strict about (hex ids, int64 as strings).

use std::collections::HashMap;

use fake_ollama::FakeOllama;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use serde_json::Value;

use crate::support::otlp_json::decode;
use crate::support::*;

fn attr_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())?
    {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// Runs the binary in piped mode against `fake` with `--export TARGET`.
async fn run(fake: &FakeOllama, target: &str, stdin: &str) -> Output {
    Chatbot::new()
        .args(["--ollama-url", &fake.url(), "--export", target])
        .stdin(stdin)
        .run()
        .await
}

/// Two turns recorded to a file: 5 spans per turn with the right parents, the trace ids
/// printed on stderr, `llm.requests{status=success}` = 2, and the turn's log records
/// carrying their trace ids — all read back through the OTLP/JSON decoder.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_round_trips_through_the_otlp_json_decoder() {
    let fake = FakeOllama::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out/telemetry.jsonl");
    let target = format!("file:{}", file.display());
    let run = run(&fake, &target, "Hello there\nAnd a second question\n").await;
    run.assert_exit(0);
    assert_eq!(
        run.stdout,
        "You said: Hello there\nYou said: And a second question\n"
    );
    let trace_ids = run.trace_ids();
    assert_eq!(trace_ids.len(), 2, "stderr: {}", run.stderr);
    assert!(
        !run.stderr.contains("/trace/"),
        "no Jaeger link when traces go to a file: {}",
        run.stderr
    );

    let text = std::fs::read_to_string(&file).expect("the export file exists");
    assert!(text.ends_with('\n'), "every line is complete");
    let d = decode(&text);

    // --- traces -------------------------------------------------------------------------
    let spans = d.spans();
    assert!(!spans.is_empty(), "no spans in the file");
    assert!(spans
        .iter()
        .all(|s| s.resource.get("service.name") == Some(&Value::from("llm-chatbot-otel"))));
    for trace_id in &trace_ids {
        let in_trace = in_trace(&spans, trace_id);
        let by_name: HashMap<&str, &Span> =
            in_trace.iter().map(|s| (s.name.as_str(), *s)).collect();
        let mut names: Vec<&str> = by_name.keys().copied().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "chat_interaction",
                "generate_response",
                "log_interaction",
                "ollama_request",
                "process_streaming_response"
            ],
            "trace {trace_id}"
        );
        assert_eq!(in_trace.len(), 5, "exactly 5 spans in trace {trace_id}");
        assert!(
            by_name["chat_interaction"].is_root(),
            "the root has no parent"
        );
        assert_child(by_name["chat_interaction"], by_name["generate_response"]);
        assert_child(by_name["chat_interaction"], by_name["log_interaction"]);
        assert_child(by_name["generate_response"], by_name["ollama_request"]);
        assert_child(
            by_name["generate_response"],
            by_name["process_streaming_response"],
        );
        // SpanKind, decoded from the enum's integer (CLIENT = 3, INTERNAL = 1).
        assert_eq!(by_name["ollama_request"].kind, "client");
        assert_eq!(by_name["chat_interaction"].kind, "internal");
    }

    // The raw text: ids are lowercase hex (not base64), int64 values are strings.
    let mut raw_spans = 0;
    for line in &d.raw {
        for rs in line["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for span in ss["spans"].as_array().unwrap() {
                    raw_spans += 1;
                    assert!(
                        is_lower_hex(span["traceId"].as_str().unwrap(), 32),
                        "{span}"
                    );
                    assert!(is_lower_hex(span["spanId"].as_str().unwrap(), 16), "{span}");
                    let parent = span["parentSpanId"].as_str().unwrap_or("");
                    assert!(parent.is_empty() || is_lower_hex(parent, 16), "{span}");
                    assert!(span["startTimeUnixNano"].is_string(), "{span}");
                    assert!(span["kind"].is_number(), "enums are integers: {span}");
                }
            }
        }
    }
    assert_eq!(raw_spans, spans.len());

    // --- metrics ------------------------------------------------------------------------
    // Cumulative temporality: the last export holds the session's totals.
    let last = d.metrics.last().expect("at least one metrics line");
    let requests = last
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .find(|m| m.name == "llm.requests")
        .expect("llm.requests exported");
    let Some(metric::Data::Sum(sum)) = &requests.data else {
        panic!("llm.requests is a Sum: {requests:?}");
    };
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    assert!(sum.is_monotonic);
    let success = sum
        .data_points
        .iter()
        .find(|p| attr_str(&p.attributes, "status") == Some("success"))
        .expect("a status=success point");
    assert_eq!(success.value, Some(number_data_point::Value::AsInt(2)));
    assert!(
        serde_json::to_string(
            d.raw
                .iter()
                .rev()
                .find(|l| l.get("resourceMetrics").is_some())
                .unwrap()
        )
        .unwrap()
        .contains(r#""asInt":"2""#),
        "int64 values are JSON strings"
    );
    let names: Vec<&str> = last
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| m.name.as_str())
        .collect();
    for expected in [
        "llm.request.duration",
        "llm.tokens",
        "gen_ai.client.operation.duration",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    // --- logs ---------------------------------------------------------------------------
    let records = d.logs();
    for trace_id in &trace_ids {
        let record = records
            .iter()
            .find(|r| r.trace_id == *trace_id)
            .unwrap_or_else(|| panic!("a log record in trace {trace_id}"));
        assert_eq!(record.body, "chat interaction");
        assert!(is_lower_hex(&record.span_id, 16), "{record:?}");
    }
    let mut raw_records = 0;
    for line in &d.raw {
        for rl in line["resourceLogs"].as_array().into_iter().flatten() {
            for sl in rl["scopeLogs"].as_array().unwrap() {
                for rec in sl["logRecords"].as_array().unwrap() {
                    raw_records += 1;
                    let trace_id = rec["traceId"].as_str().unwrap_or("");
                    let span_id = rec["spanId"].as_str().unwrap_or("");
                    assert!(trace_id.is_empty() || is_lower_hex(trace_id, 32), "{rec}");
                    assert!(span_id.is_empty() || is_lower_hex(span_id, 16), "{rec}");
                }
            }
        }
    }
    assert_eq!(raw_records, records.len());
}

/// A second session appends to the same file; nothing is truncated.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_appends() {
    let fake = FakeOllama::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.jsonl");
    let target = format!("file:{}", file.display());
    let first = run(&fake, &target, "one\n").await;
    let lines_after_first = std::fs::read_to_string(&file).unwrap().lines().count();
    let second = run(&fake, &target, "two\n").await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().count() > lines_after_first);
    let ids = trace_ids_of(&decode(&text).spans());
    let printed: Vec<String> = first
        .trace_ids()
        .into_iter()
        .chain(second.trace_ids())
        .collect();
    assert_eq!(
        printed.len(),
        2,
        "one trace line per session\n{first:?}\n{second:?}"
    );
    for id in &printed {
        assert!(ids.contains(id), "trace {id} in the file");
    }
}

/// `console`: the same OTLP/JSON lines on stderr; stdout still carries only the replies.
#[tokio::test(flavor = "multi_thread")]
async fn console_export_goes_to_stderr_only() {
    let fake = FakeOllama::start().await;
    let run = run(&fake, "console", "hi\n").await;
    run.assert_exit(0);
    assert_eq!(run.stdout, "You said: hi\n");
    let json: String = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = decode(&json);
    assert!(!d.traces.is_empty() && !d.metrics.is_empty() && !d.logs.is_empty());
    let ids = run.trace_ids();
    assert_eq!(ids.len(), 1, "{run:?}");
    assert!(d
        .spans()
        .iter()
        .any(|s| s.trace_id == ids[0] && s.name == "chat_interaction"));
}

/// `none`: spans are still recorded (a real trace id is printed) but nothing is exported
/// and no link is offered.
#[tokio::test(flavor = "multi_thread")]
async fn none_records_but_exports_nothing() {
    let fake = FakeOllama::start().await;
    let run = run(&fake, "none", "hi\n").await;
    run.assert_exit(0);
    assert_eq!(run.stdout, "You said: hi\n");
    let ids = run.trace_ids();
    assert_eq!(ids.len(), 1, "stderr: {}", run.stderr);
    assert!(is_lower_hex(&ids[0], 32) && ids[0] != "0".repeat(32));
    assert!(!run.stderr.contains("/trace/"), "stderr: {}", run.stderr);
    assert!(
        !run.stderr.contains('{'),
        "nothing exported: {}",
        run.stderr
    );
}
