//! `--export file:PATH|console|none`: telemetry without a collector.
//!
//! The file must be what the OpenTelemetry Collector's `otlpjsonfile` receiver reads back:
//! one OTLP/JSON export request per line. These tests run the built binary in piped mode
//! against the in-process fake Ollama, then decode every line with `opentelemetry-proto`'s
//! own OTLP/JSON (serde) decoder — the round trip a replay does — and check the spans,
//! metrics and logs of the session. The raw text is checked too, for the parts of the
//! OTLP/JSON mapping the collector is strict about (hex ids, int64 as strings).

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fake_ollama::FakeOllama;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");

/// What a run of the binary left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in piped mode with a clean environment (only PATH, HOME and LOG_FILE).
async fn run(home: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LOG_FILE", home.join("chatbot.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chatbot-otel");
    let mut input = child.stdin.take().unwrap();
    // A run that exits at once (invalid configuration) closes its stdin: ignore EPIPE.
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("chatbot-otel finished within 20 s")
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The trace ids of the `trace: <id>` lines on stderr, in order.
fn printed_trace_ids(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("trace: "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn attr_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attrs, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// Every line of an export file, decoded by signal.
#[derive(Default)]
struct Decoded {
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
    raw: Vec<Value>,
}

/// Decodes each line by its top-level key, with opentelemetry-proto's OTLP/JSON decoder.
fn decode(text: &str) -> Decoded {
    let mut d = Decoded::default();
    for (i, line) in text.lines().enumerate() {
        let raw: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON: {e}", i + 1));
        let obj = raw.as_object().expect("each line is one JSON object");
        assert_eq!(obj.len(), 1, "line {}: one top-level key", i + 1);
        match obj.keys().next().unwrap().as_str() {
            "resourceSpans" => d.traces.push(serde_json::from_str(line).unwrap()),
            "resourceMetrics" => d.metrics.push(serde_json::from_str(line).unwrap()),
            "resourceLogs" => d.logs.push(serde_json::from_str(line).unwrap()),
            other => panic!("line {}: unexpected top-level key {other}", i + 1),
        }
        d.raw.push(raw);
    }
    d
}

/// Two turns recorded to a file: 5 spans per turn with the right parents, the trace ids
/// printed on stderr, `llm.requests{status=success}` = 2, and the turn's log records
/// carrying their trace ids — all read back through the OTLP/JSON decoder.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_round_trips_through_the_otlp_json_decoder() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("out/telemetry.jsonl");
    let target = format!("file:{}", file.display());
    let run = run(
        home.path(),
        &["--ollama-url", &fake.url(), "--export", &target],
        "Hello there\nAnd a second question\n",
    )
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout,
        "You said: Hello there\nYou said: And a second question\n"
    );
    let trace_ids = printed_trace_ids(&run.stderr);
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
    let spans: Vec<&Span> = d
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    let resource_names: Vec<&str> = d
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .filter_map(|rs| attr_str(&rs.resource.as_ref()?.attributes, "service.name"))
        .collect();
    assert!(!resource_names.is_empty());
    assert!(resource_names.iter().all(|n| *n == "llm-chatbot-otel"));
    for trace_id in &trace_ids {
        let in_trace: Vec<&&Span> = spans
            .iter()
            .filter(|s| hex(&s.trace_id) == *trace_id)
            .collect();
        let by_name: HashMap<&str, &Span> =
            in_trace.iter().map(|s| (s.name.as_str(), **s)).collect();
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
        let parent = |name: &str| hex(&by_name[name].parent_span_id);
        let id = |name: &str| hex(&by_name[name].span_id);
        assert_eq!(parent("chat_interaction"), "", "the root has no parent");
        assert_eq!(parent("generate_response"), id("chat_interaction"));
        assert_eq!(parent("log_interaction"), id("chat_interaction"));
        assert_eq!(parent("ollama_request"), id("generate_response"));
        assert_eq!(
            parent("process_streaming_response"),
            id("generate_response")
        );
        // SpanKind as the enum's integer: CLIENT = 3, INTERNAL = 1.
        assert_eq!(by_name["ollama_request"].kind, 3);
        assert_eq!(by_name["chat_interaction"].kind, 1);
    }

    // The raw text: ids are lowercase hex (not base64), int64 values are strings.
    let mut raw_spans = 0;
    for line in &d.raw {
        for rs in line["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for span in ss["spans"].as_array().unwrap() {
                    raw_spans += 1;
                    assert!(is_hex(span["traceId"].as_str().unwrap(), 32), "{span}");
                    assert!(is_hex(span["spanId"].as_str().unwrap(), 16), "{span}");
                    let parent = span["parentSpanId"].as_str().unwrap_or("");
                    assert!(parent.is_empty() || is_hex(parent, 16), "{span}");
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
    let records: Vec<_> = d
        .logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .collect();
    for trace_id in &trace_ids {
        let record = records
            .iter()
            .find(|r| hex(&r.trace_id) == *trace_id)
            .unwrap_or_else(|| panic!("a log record in trace {trace_id}"));
        let body = record.body.as_ref().and_then(|b| b.value.as_ref());
        assert_eq!(
            body,
            Some(&any_value::Value::StringValue("chat interaction".into()))
        );
        assert_eq!(record.span_id.len(), 8);
    }
    for line in &d.raw {
        for rl in line["resourceLogs"].as_array().into_iter().flatten() {
            for sl in rl["scopeLogs"].as_array().unwrap() {
                for rec in sl["logRecords"].as_array().unwrap() {
                    let trace_id = rec["traceId"].as_str().unwrap_or("");
                    let span_id = rec["spanId"].as_str().unwrap_or("");
                    assert!(trace_id.is_empty() || is_hex(trace_id, 32), "{rec}");
                    assert!(span_id.is_empty() || is_hex(span_id, 16), "{rec}");
                }
            }
        }
    }
}

/// A second session appends to the same file; nothing is truncated.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_appends() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("t.jsonl");
    let target = format!("file:{}", file.display());
    let args = ["--ollama-url", &fake.url(), "--export", &target];
    let first = run(home.path(), &args, "one\n").await;
    let lines_after_first = std::fs::read_to_string(&file).unwrap().lines().count();
    let second = run(home.path(), &args, "two\n").await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().count() > lines_after_first);
    let d = decode(&text);
    let ids: Vec<String> = d
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| hex(&s.trace_id))
        .collect();
    for id in printed_trace_ids(&first.stderr)
        .iter()
        .chain(&printed_trace_ids(&second.stderr))
    {
        assert!(ids.contains(id), "trace {id} in the file");
    }
}

/// `console`: the same OTLP/JSON lines on stderr; stdout still carries only the replies.
#[tokio::test(flavor = "multi_thread")]
async fn console_export_goes_to_stderr_only() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let run = run(
        home.path(),
        &["--ollama-url", &fake.url(), "--export", "console"],
        "hi\n",
    )
    .await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout, "You said: hi\n");
    let json: String = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = decode(&json);
    assert!(!d.traces.is_empty() && !d.metrics.is_empty() && !d.logs.is_empty());
    let trace_id = &printed_trace_ids(&run.stderr)[0];
    assert!(d
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .any(|s| hex(&s.trace_id) == *trace_id && s.name == "chat_interaction"));
}

/// `none`: spans are still recorded (a real trace id is printed) but nothing is exported
/// and no link is offered.
#[tokio::test(flavor = "multi_thread")]
async fn none_records_but_exports_nothing() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let run = run(
        home.path(),
        &["--ollama-url", &fake.url(), "--export", "none"],
        "hi\n",
    )
    .await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout, "You said: hi\n");
    let ids = printed_trace_ids(&run.stderr);
    assert_eq!(ids.len(), 1, "stderr: {}", run.stderr);
    assert!(is_hex(&ids[0], 32) && ids[0] != "0".repeat(32));
    assert!(!run.stderr.contains("/trace/"), "stderr: {}", run.stderr);
    assert!(
        !run.stderr.contains('{'),
        "nothing exported: {}",
        run.stderr
    );
}

/// A bad target or an unwritable file: exit 2 with one `error:` line, and no request.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_targets_exit_2() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    // A path under a regular file cannot be created, even by root.
    let blocker = home.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let unwritable = format!("file:{}/t.jsonl", blocker.display());
    for target in ["jaeger", "file:", unwritable.as_str()] {
        let run = run(
            home.path(),
            &["--ollama-url", &fake.url(), "--export", target],
            "hi\n",
        )
        .await;
        assert_eq!(run.code, Some(2), "{target}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{target}: {}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    }
    assert!(fake.chat_requests().is_empty(), "no turn ran");
}
