//! Seeing the telemetry without a backend: `/trace`, `/stats` and `/feedback`, through the
//! binary in piped mode (their output goes to stderr there, in plain ASCII).

use crate::support::*;
use fake_ollama::{ChatOutcome, FakeOllama};
use opentelemetry_proto::tonic::common::v1::any_value;
use regex::Regex;

/// Replaces what changes from run to run (ids, durations, time-axis bars) with
/// placeholders, and column padding with one space; the tree prefixes are kept as drawn.
fn mask(text: &str) -> String {
    let rules = [
        (r"\b[0-9a-f]{32}\b", "<trace>"),
        (r"\b[0-9a-f]{16}\b", "<span>"),
        (r"[#.]{24}", "<bar>"),
        (r"\d+\.\d+ (ms|s)\b", "<n> ms"),
        // Column padding follows a word; tree prefixes (`|  `) are left alone.
        (r"([A-Za-z0-9_=>]) {2,}", "$1 "),
    ];
    let mut text = text.to_string();
    for (pattern, replacement) in rules {
        text = Regex::new(pattern)
            .unwrap()
            .replace_all(&text, replacement)
            .into_owned();
    }
    text
}

/// The lines of stderr that belong to the `/trace` drawing (everything after its header
/// up to the next status line).
fn trace_drawing(stderr: &str, turn: u64) -> String {
    let header = format!(" - turn {turn} - ");
    let mut lines = stderr.lines().skip_while(|l| !l.contains(&header));
    let mut drawing = vec![lines.next().expect("a /trace header").to_string()];
    drawing.extend(
        lines
            .take_while(|l| {
                !l.starts_with("trace:") && !l.starts_with("trace ") && !l.starts_with("error:")
            })
            .map(str::to_string),
    );
    drawing.join("\n")
}

/// `/trace` draws a good turn's tree, with key attributes and the first_token event.
#[tokio::test(flavor = "multi_thread")]
async fn trace_view_of_a_good_turn() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("hello view\n/trace\n")
        .run()
        .await;
    out.assert_exit(0);
    let outcome: ChatOutcome = fake.chat_requests()[0].outcome.clone().unwrap();
    let drawing = trace_drawing(&out.stderr, 1);
    assert!(
        drawing.starts_with(&format!("trace {} - turn 1 - ", out.trace_ids()[0])),
        "{drawing}"
    );
    let expected = format!(
        "\
trace <trace> - turn 1 - <n> ms - 5 spans
chat_interaction INTERNAL <n> ms <bar>
|  turn=1 model=llama3.1:8b
|- generate_response CLIENT <n> ms <bar>
|  |  model=llama3.1:8b tokens in={input} out={output}
|  |  event first_token at +<n> ms
|  |- ollama_request CLIENT <n> ms <bar>
|  |     http 200
|  `- process_streaming_response INTERNAL <n> ms <bar>
|        time to first chunk=<n> ms chunks={chunks} done_reason=stop
`- log_interaction INTERNAL <n> ms <bar>",
        input = outcome.prompt_eval_count.unwrap(),
        output = outcome.eval_count.unwrap(),
        chunks = outcome.chunks_sent + 1,
    );
    assert_eq!(mask(&drawing), expected, "raw:\n{drawing}");
    assert!(
        drawing.is_ascii(),
        "piped output is plain ASCII:\n{drawing}"
    );
}

/// `/trace 2` draws an earlier failed turn: the error path, its status, and the exception
/// event once, on the request span where the failure happened.
#[tokio::test(flavor = "multi_thread")]
async fn trace_view_of_a_failed_turn() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\ntwo [fault:http_500]\nthree\n/trace 2\n")
        .run()
        .await;
    out.assert_exit(0);
    let drawing = mask(&trace_drawing(&out.stderr, 2));
    let lines: Vec<&str> = drawing.lines().collect();
    assert_eq!(
        lines[0], "trace <trace> - turn 2 - <n> ms - 4 spans",
        "{drawing}"
    );
    assert!(
        drawing.contains("`- ollama_request CLIENT <n> ms <bar>"),
        "{drawing}"
    );
    assert!(
        drawing.contains("http 500 error.type=http_500"),
        "{drawing}"
    );
    assert_eq!(
        drawing.matches("status ERROR").count(),
        3,
        "the request, generate_response and chat_interaction all failed:\n{drawing}"
    );
    assert_eq!(
        drawing
            .matches("event exception at +<n> ms: Ollama answered HTTP 500")
            .count(),
        1,
        "{drawing}"
    );
    assert!(!drawing.contains("process_streaming_response"), "{drawing}");
}

/// `/stats` reports the session from the metrics SDK: turns by status, tokens, errors.
#[tokio::test(flavor = "multi_thread")]
async fn stats_match_known_turns() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\ntwo [fault:mid_stream_error]\nthree\n/stats\n")
        .run()
        .await;
    out.assert_exit(0);
    let requests = fake.chat_requests();
    let good: Vec<ChatOutcome> = [0, 2]
        .iter()
        .map(|&i| requests[i].outcome.clone().unwrap())
        .collect();
    let input: u64 = good.iter().map(|o| o.prompt_eval_count.unwrap()).sum();
    let output: u64 = good.iter().map(|o| o.eval_count.unwrap()).sum();
    let stats = out
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("Session statistics"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        stats.contains("turns 3 (success 2, error 1, cancelled 0)")
            || stats.contains("turns         3  (success 2, error 1, cancelled 0)"),
        "{stats}"
    );
    assert!(
        stats.contains(&format!("input {input}, output {output}")),
        "{stats}"
    );
    assert!(stats.contains("over 3 requests"), "{stats}");
    assert!(stats.contains("errors        stream_error 1"), "{stats}");
}

/// With telemetry off, `/trace` and `/stats` say so instead of drawing nothing.
#[tokio::test(flavor = "multi_thread")]
async fn views_say_when_telemetry_is_off() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .arg("--no-telemetry")
        .stdin("hi\n/trace\n/stats\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(
        out.stderr.matches("Telemetry is off").count(),
        2,
        "{}",
        out.stderr
    );
}

/// `/feedback` makes a `user_feedback` span in its own trace, linked to the turn's
/// `chat_interaction` (with `link.type=feedback`), and counts `llm.feedback`.
#[tokio::test(flavor = "multi_thread")]
async fn feedback_is_a_linked_span() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let earlier_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let earlier_span = "00f067aa0ba902b7";
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin(format!(
            "hello\n/feedback bad too long\n/feedback good --trace {earlier_trace} {earlier_span} from last week\n"
        ))
        .run()
        .await;
    out.assert_exit(0);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 3, "one turn and two feedbacks: {out:?}");
    let spans = rx.spans();
    let root = span(&spans, &ids[0], "chat_interaction");

    let bad = span(&spans, &ids[1], "user_feedback");
    assert_ne!(ids[1], ids[0], "feedback has its own trace");
    assert!(bad.parent_span_id.is_empty(), "feedback is a root span");
    assert_eq!(bad.kind, "internal");
    assert_eq!(bad.str_attr("feedback.rating"), "bad");
    assert_eq!(bad.str_attr("feedback.comment"), "too long");
    assert_eq!(
        bad.links,
        vec![(root.trace_id.clone(), root.span_id.clone())]
    );

    let good = span(&spans, &ids[2], "user_feedback");
    assert_eq!(good.str_attr("feedback.rating"), "good");
    assert_eq!(
        good.links,
        vec![(earlier_trace.to_string(), earlier_span.to_string())]
    );

    // The link's own attribute, straight from the decoded protobuf.
    let link_types: Vec<String> = rx
        .raw_traces()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .filter(|s| s.name == "user_feedback")
        .flat_map(|s| &s.links)
        .flat_map(|l| &l.attributes)
        .filter(|kv| kv.key == "link.type")
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(link_types, vec!["feedback", "feedback"]);

    let metrics = rx.metrics();
    assert_eq!(
        value_total(
            &metrics,
            "llm.feedback",
            &[("rating", "bad"), ("model", "llama3.1:8b")]
        ),
        1.0
    );
    assert_eq!(
        value_total(&metrics, "llm.feedback", &[("rating", "good")]),
        1.0
    );
}

/// Malformed ids after `--trace` are refused with a reason, and nothing is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn feedback_rejects_bad_ids() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("/feedback good --trace nothex 123\n")
        .run()
        .await;
    out.assert_exit(0);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{out:?}");
    assert!(errors[0].contains("invalid --trace"), "{out:?}");
    assert!(out.trace_ids().is_empty());
}
