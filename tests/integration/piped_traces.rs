//! The traces a backend receives over OTLP from the binary: the span tree under the printed
//! trace id, content capture switched by flag and environment, the Resource, export headers
//! and endpoint, and each failure mode with its stderr line and history.
//!
//! The attributes and events of each span are checked in process, against the SDK's in-memory
//! exporter, in `session_in_memory`.

use std::time::Duration;

use crate::support::*;
use fake_ollama::{Behaviour, FakeOllama, Options};
use serde_json::json;

/// Runs the binary against `fake` with telemetry going to a fresh receiver.
async fn run(fake: &FakeOllama, args: &[&str], stdin: &str) -> (Output, OtlpReceiver) {
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(args.iter().copied())
        .stdin(stdin)
        .run()
        .await;
    assert!(rx.errors().is_empty(), "receiver errors: {:?}", rx.errors());
    (out, rx)
}

const TURN_SPANS: [&str; 5] = [
    "chat_interaction",
    "generate_response",
    "ollama_request",
    "process_streaming_response",
    "log_interaction",
];

/// One good turn gives one trace (the id printed on stderr) with exactly the contract's span tree.
#[tokio::test(flavor = "multi_thread")]
async fn span_tree_of_one_good_turn() {
    let fake = FakeOllama::start().await;
    let (out, rx) = run(&fake, &[], "hello tree\n").await;
    out.assert_exit(0);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 1, "{out:?}");
    let tid = &ids[0];
    let spans = rx.spans();
    assert_eq!(
        trace_ids_of(&spans).into_iter().collect::<Vec<_>>(),
        vec![tid.clone()],
        "every span must belong to the printed trace\n{}",
        render_trace(&spans, tid)
    );
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    let mut want = TURN_SPANS.to_vec();
    want.sort();
    assert_eq!(names, want, "{}", render_trace(&spans, tid));

    let root = span(&spans, tid, "chat_interaction");
    let gen = span(&spans, tid, "generate_response");
    let req = span(&spans, tid, "ollama_request");
    let stream = span(&spans, tid, "process_streaming_response");
    let log = span(&spans, tid, "log_interaction");
    assert!(
        root.is_root(),
        "chat_interaction must be the root: {root:#?}"
    );
    assert_child(root, gen);
    assert_child(root, log);
    assert_child(gen, req);
    assert_child(gen, stream);
    assert_eq!(root.kind, "internal");
    assert_eq!(gen.kind, "client");
    assert_eq!(req.kind, "client");
    assert_eq!(stream.kind, "internal");
    assert_eq!(log.kind, "internal");
    for s in &spans {
        assert_ne!(s.status_code, "error", "{s:#?}");
        assert_eq!(
            s.scope, "chatbot-otel",
            "instrumentation scope of {}",
            s.name
        );
        assert!(is_lower_hex(&s.span_id, 16), "{s:#?}");
        assert!(
            s.start_unix_nano <= s.end_unix_nano && s.start_unix_nano > 0,
            "{s:#?}"
        );
    }
    // Children happen inside their parents, and the request precedes the stream.
    for (p, c) in [(root, gen), (gen, req), (gen, stream), (root, log)] {
        assert!(
            p.start_unix_nano <= c.start_unix_nano && c.end_unix_nano <= p.end_unix_nano,
            "{} is not within {}",
            c.name,
            p.name
        );
    }
    assert!(req.end_unix_nano <= stream.end_unix_nano);
}

/// chat.turn counts prompts (not slash commands), and each turn is its own trace.
#[tokio::test(flavor = "multi_thread")]
async fn chat_turn_increments_and_one_trace_per_turn() {
    let fake = FakeOllama::start().await;
    let (out, rx) = run(&fake, &[], "one\n/help\ntwo\n/clear\nthree\n").await;
    out.assert_exit(0);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 3, "{out:?}");
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 3, "trace ids must differ: {ids:?}");
    let spans = rx.spans();
    assert_eq!(trace_ids_of(&spans).len(), 3);
    for (i, tid) in ids.iter().enumerate() {
        let root = span(&spans, tid, "chat_interaction");
        assert!(root.is_root());
        assert_eq!(root.int_attr("chat.turn"), i as i64 + 1);
        assert_eq!(in_trace(&spans, tid).len(), TURN_SPANS.len());
    }
}

/// Asserts that no span or event attribute anywhere contains `needle`, and no llm.prompt/llm.response exists.
fn assert_no_content(spans: &[Span], needle: &str) {
    assert!(!spans.is_empty(), "no spans to check");
    for s in spans {
        assert!(s.attr("llm.prompt").is_none(), "{} has llm.prompt", s.name);
        assert!(
            s.attr("llm.response").is_none(),
            "{} has llm.response",
            s.name
        );
        let all = s
            .attributes
            .values()
            .chain(s.events.iter().flat_map(|e| e.attributes.values()));
        for v in all {
            assert!(
                !v.to_string().contains(needle),
                "{} leaks content: {v}",
                s.name
            );
        }
    }
}

/// `--no-capture-content` keeps prompt and reply text off every span.
#[tokio::test(flavor = "multi_thread")]
async fn no_capture_content_flag_removes_text() {
    let fake = FakeOllama::start().await;
    let (out, rx) = run(&fake, &["--no-capture-content"], "secretpelican\n").await;
    out.assert_exit(0);
    let spans = rx.spans();
    assert_eq!(spans.len(), TURN_SPANS.len(), "{out:?}");
    assert_no_content(&spans, "secretpelican");
    // The token counts are still there.
    let g = span(&spans, &out.trace_ids()[0], "generate_response");
    assert!(g.int_attr("llm.tokens.total") > 0);
}

/// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false does the same as `--no-capture-content`.
#[tokio::test(flavor = "multi_thread")]
async fn capture_content_env_false_removes_text() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        )
        .stdin("secretpelican\n")
        .run()
        .await;
    out.assert_exit(0);
    let spans = rx.spans();
    assert_eq!(spans.len(), TURN_SPANS.len(), "{out:?}");
    assert_no_content(&spans, "secretpelican");
}

/// The resource names the service (default `llm-chatbot-otel`), its version and the host.
#[tokio::test(flavor = "multi_thread")]
async fn resource_attributes_default() {
    let fake = FakeOllama::start().await;
    let (out, rx) = run(&fake, &[], "hi\n").await;
    out.assert_exit(0);
    let spans = rx.spans();
    assert!(!spans.is_empty());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    for s in &spans {
        assert_eq!(
            s.resource.get("service.name"),
            Some(&json!("llm-chatbot-otel"))
        );
        assert_eq!(
            s.resource.get("service.version"),
            Some(&json!(env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            s.resource.get("host.name"),
            Some(&json!(host)),
            "{:?}",
            s.resource
        );
        assert!(!s.resource.contains_key("deployment.environment.name"));
        assert!(!s.resource.contains_key("deployment.environment"));
    }
}

/// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and DEPLOYMENT_ENVIRONMENT reach the resource.
#[tokio::test(flavor = "multi_thread")]
async fn resource_attributes_from_env() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("OTEL_SERVICE_NAME", "my-bot")
        .env("OTEL_RESOURCE_ATTRIBUTES", "team=ml,region=eu")
        .env("DEPLOYMENT_ENVIRONMENT", "staging")
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    let spans = rx.spans();
    assert!(!spans.is_empty(), "{out:?}");
    for s in &spans {
        assert_eq!(s.resource.get("service.name"), Some(&json!("my-bot")));
        assert_eq!(s.resource.get("team"), Some(&json!("ml")));
        assert_eq!(s.resource.get("region"), Some(&json!("eu")));
        assert_eq!(
            s.resource.get("deployment.environment.name"),
            Some(&json!("staging"))
        );
        assert!(
            !s.resource.contains_key("deployment.environment"),
            "the deprecated name"
        );
    }
}

/// OTEL_EXPORTER_OTLP_HEADERS is sent with every export request.
#[tokio::test(flavor = "multi_thread")]
async fn otlp_headers_are_sent() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=s3cret,x-tenant=acme",
        )
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = rx.requests();
    let paths: std::collections::BTreeSet<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains("/v1/traces"), "{paths:?}");
    for r in &reqs {
        assert_eq!(
            r.header("x-api-key"),
            Some("s3cret"),
            "{}: {:?}",
            r.path,
            r.headers
        );
        assert_eq!(
            r.header("x-tenant"),
            Some("acme"),
            "{}: {:?}",
            r.path,
            r.headers
        );
    }
}

/// `--otlp-endpoint` beats OTEL_EXPORTER_OTLP_ENDPOINT.
#[tokio::test(flavor = "multi_thread")]
async fn otlp_endpoint_flag_wins() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(closed_port_url())
        .args(["--otlp-endpoint", &rx.endpoint()])
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    // One trace printed, so the equality below cannot hold with nothing on either side.
    assert_eq!(out.trace_ids().len(), 1, "{out:?}");
    let spans = rx.spans();
    assert_eq!(
        trace_ids_of(&spans).into_iter().collect::<Vec<_>>(),
        out.trace_ids()
    );
}

// ---------------------------------------------------------------------------------------------
// Failure modes: a good turn, the failing turn, then a good turn.
// ---------------------------------------------------------------------------------------------

struct Failure {
    out: Output,
    spans: Vec<Span>,
    failed_trace: String,
}

const GOOD_1: &str = "first good prompt";
const BAD: &str = "the prompt that fails";
const GOOD_2: &str = "after the failure";

/// Runs good / failing / good turns, the failing one scripted with `behaviour`, and checks what
/// every failure has in common: exit 0, one `error:` line followed by its `trace:` line, the
/// failing span and its ancestors in error with `error_type`, and the third request's history
/// holding the first exchange but not the failed prompt.
async fn failing_turn(
    opts: Options,
    behaviour: Behaviour,
    args: &[&str],
    leaf: &str,
    error_type: &str,
) -> Failure {
    let fake = FakeOllama::start_with(opts).await.unwrap();
    fake.push(Behaviour::Reply);
    fake.push(behaviour);
    let (out, rx) = run(&fake, args, &format!("{GOOD_1}\n{BAD}\n{GOOD_2}\n")).await;
    out.assert_exit(0);
    let kinds: Vec<&str> = out
        .stderr_lines()
        .iter()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["trace", "error", "trace", "trace"],
        "stderr must be trace / error + trace / trace\n{out:?}"
    );
    let ids = out.trace_ids();
    let spans = rx.spans();
    let failed_trace = ids[1].clone();
    assert_error_chain(&spans, &failed_trace, leaf, error_type);
    for ok in [&ids[0], &ids[2]] {
        let good = in_trace(&spans, ok);
        assert_eq!(good.len(), TURN_SPANS.len(), "{}", render_trace(&spans, ok));
        for s in good {
            assert_ne!(s.status_code, "error", "{s:#?}");
        }
    }
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 3, "{out:?}");
    let r1 = reqs[0].outcome.as_ref().unwrap().text.clone();
    let r3 = reqs[2].outcome.as_ref().unwrap().text.clone();
    assert_eq!(
        messages(&reqs[2].json()),
        msgs(&[("user", GOOD_1), ("assistant", &r1), ("user", GOOD_2)]),
        "the failed turn must leave the history as it was"
    );
    // stdout: reply 1, the failed turn's partial text (empty if none), reply 3, each on its
    // own line, so line N answers prompt N.
    let partial = reqs[1]
        .outcome
        .as_ref()
        .map(|o| o.text.clone())
        .unwrap_or_default();
    assert_eq!(out.stdout, format!("{r1}\n{partial}\n{r3}\n"), "{out:?}");
    Failure {
        out,
        spans,
        failed_trace,
    }
}

/// Ollama down (closed port): every turn fails with connection_refused on ollama_request, exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn failure_ollama_down() {
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(closed_port_url())
        .otlp(rx.endpoint())
        .stdin("first\nsecond\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(
        out.stdout, "\n\n",
        "one empty line per failed prompt: {out:?}"
    );
    let kinds: Vec<&str> = out
        .stderr_lines()
        .iter()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["error", "trace", "error", "trace"], "{out:?}");
    let spans = rx.spans();
    assert_eq!(out.trace_ids().len(), 2, "{out:?}");
    for tid in out.trace_ids() {
        assert_error_chain(&spans, &tid, "ollama_request", "connection_refused");
        assert_eq!(
            spans_named(
                &in_trace(&spans, &tid)
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>(),
                "process_streaming_response"
            )
            .len(),
            0,
            "no stream span when there was no response"
        );
    }
}

/// Unknown model: model_not_found on ollama_request, the error line says `ollama pull <model>`, `/model` recovers.
#[tokio::test(flavor = "multi_thread")]
async fn failure_model_not_found() {
    let fake = FakeOllama::start().await;
    let (out, rx) = run(
        &fake,
        &["--model", "nosuch:7b"],
        "hello\n/model llama3.1:8b\nagain\n",
    )
    .await;
    out.assert_exit(0);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{out:?}");
    assert!(errors[0].contains("ollama pull nosuch:7b"), "{out:?}");
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 2, "{out:?}");
    let spans = rx.spans();
    assert_error_chain(&spans, &ids[0], "ollama_request", "model_not_found");
    let r = span(&spans, &ids[0], "ollama_request");
    assert_eq!(r.int_attr("http.response.status_code"), 404);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].json()["model"], "llama3.1:8b");
    assert_eq!(messages(&reqs[1].json()), msgs(&[("user", "again")]));
    // The failed first prompt gets an empty line: line N answers prompt N.
    assert_eq!(
        out.stdout,
        format!("\n{}\n", reqs[1].outcome.as_ref().unwrap().text)
    );
}

/// HTTP 500 before the stream: http_500 on ollama_request and its ancestors.
#[tokio::test(flavor = "multi_thread")]
async fn failure_http_500() {
    let f = failing_turn(
        Options::default(),
        Behaviour::HttpError {
            status: 500,
            message: fake_ollama::RUNNER_STOPPED_MESSAGE.into(),
        },
        &[],
        "ollama_request",
        "http_500",
    )
    .await;
    let r = span(&f.spans, &f.failed_trace, "ollama_request");
    assert_eq!(r.int_attr("http.response.status_code"), 500);
}

/// An error line in the middle of the stream: stream_error on process_streaming_response.
#[tokio::test(flavor = "multi_thread")]
async fn failure_mid_stream_error() {
    failing_turn(
        Options::default(),
        Behaviour::ErrorMidStream {
            after_chunks: 2,
            message: fake_ollama::MID_STREAM_ERROR_MESSAGE.into(),
        },
        &[],
        "process_streaming_response",
        "stream_error",
    )
    .await;
}

/// A stream that ends cleanly without the done line: stream_interrupted.
#[tokio::test(flavor = "multi_thread")]
async fn failure_truncated_stream() {
    failing_turn(
        Options::default(),
        Behaviour::TruncateAfter { after_chunks: 2 },
        &[],
        "process_streaming_response",
        "stream_interrupted",
    )
    .await;
}

/// A connection dropped mid-stream: stream_interrupted.
#[tokio::test(flavor = "multi_thread")]
async fn failure_dropped_connection() {
    failing_turn(
        Options::default(),
        Behaviour::DropConnectionAfter { after_chunks: 2 },
        &[],
        "process_streaming_response",
        "stream_interrupted",
    )
    .await;
}

/// A line that is not JSON: invalid_response.
#[tokio::test(flavor = "multi_thread")]
async fn failure_invalid_json_line() {
    failing_turn(
        Options::default(),
        Behaviour::InvalidLineAfter { after_chunks: 2 },
        &[],
        "process_streaming_response",
        "invalid_response",
    )
    .await;
}

/// Old Ollama's 200 + single error line: stream_error.
#[tokio::test(flavor = "multi_thread")]
async fn failure_legacy_error_line() {
    failing_turn(
        Options::default(),
        Behaviour::LegacyErrorLine {
            message: fake_ollama::RUNNER_STOPPED_MESSAGE.into(),
        },
        &[],
        "process_streaming_response",
        "stream_error",
    )
    .await;
}

/// No answer at all within `--timeout 0.5`: timeout on ollama_request, and the turn ends quickly.
#[tokio::test(flavor = "multi_thread")]
async fn failure_hang_before_headers() {
    let f = failing_turn(
        Options::default(),
        Behaviour::Hang,
        &["--timeout", "0.5"],
        "ollama_request",
        "timeout",
    )
    .await;
    assert!(
        f.out.elapsed < Duration::from_secs(10),
        "{:?}",
        f.out.elapsed
    );
    let root = span(&f.spans, &f.failed_trace, "chat_interaction");
    assert!(
        root.duration_secs() >= 0.45,
        "turn ended before the timeout"
    );
}

/// A stall after two chunks within `--timeout 0.5`: timeout on process_streaming_response.
#[tokio::test(flavor = "multi_thread")]
async fn failure_hang_mid_stream() {
    failing_turn(
        Options::default(),
        Behaviour::HangAfter { after_chunks: 2 },
        &["--timeout", "0.5"],
        "process_streaming_response",
        "timeout",
    )
    .await;
}
