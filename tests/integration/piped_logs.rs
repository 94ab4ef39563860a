//! The JSON log file and the OTLP logs: one correlated `chat interaction` record per turn.

use crate::support::*;
use fake_ollama::{Behaviour, FakeOllama};
use serde_json::Value;

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("log line without string {key:?}: {v}"))
}

/// Every JSON line has timestamp (RFC 3339 UTC), level, message and service.
fn assert_common_keys(out: &Output) {
    assert!(
        out.log_invalid.is_empty(),
        "non-JSON log lines: {:?}",
        out.log_invalid
    );
    assert!(!out.log_lines.is_empty(), "empty log file\n{out:?}");
    for l in &out.log_lines {
        let ts = str_of(l, "timestamp");
        assert!(
            ts.len() >= 20
                && ts.as_bytes()[4] == b'-'
                && ts.as_bytes()[10] == b'T'
                && ts.ends_with('Z'),
            "timestamp is not RFC 3339 UTC: {ts}"
        );
        let level = str_of(l, "level");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
            "level {level}"
        );
        str_of(l, "message");
        assert_eq!(str_of(l, "service"), "llm-chatbot-otel", "{l}");
    }
}

/// Each turn writes one `chat interaction` line carrying the turn's trace id, span id, tokens and status.
#[tokio::test(flavor = "multi_thread")]
async fn one_chat_interaction_line_per_turn() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("first\nsecond\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_common_keys(&out);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 2, "{out:?}");
    let lines = out.chat_logs();
    assert_eq!(lines.len(), 2, "{out:?}");
    let reqs = fake.chat_requests();
    let spans = rx.spans();
    for (i, l) in lines.iter().enumerate() {
        let o = reqs[i].outcome.as_ref().unwrap();
        let (input, output) = (o.prompt_eval_count.unwrap(), o.eval_count.unwrap());
        assert_eq!(str_of(l, "level"), "INFO");
        assert_eq!(str_of(l, "model"), "llama3.1:8b");
        assert_eq!(l["tokens"]["input"].as_u64(), Some(input), "{l}");
        assert_eq!(l["tokens"]["output"].as_u64(), Some(output), "{l}");
        assert_eq!(l["tokens"]["total"].as_u64(), Some(input + output), "{l}");
        assert!(l["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{l}");
        assert_eq!(str_of(l, "status"), "success");
        assert_eq!(l["turn"].as_u64(), Some(i as u64 + 1), "{l}");
        assert!(l.get("error_type").is_none_or(Value::is_null), "{l}");
        let tid = str_of(l, "trace_id");
        assert!(is_lower_hex(tid, 32), "{tid}");
        assert_eq!(tid, ids[i], "log line {i} must carry the turn's trace id");
        let sid = str_of(l, "span_id");
        assert!(is_lower_hex(sid, 16), "{sid}");
        assert!(
            in_trace(&spans, tid).iter().any(|s| s.span_id == sid),
            "span_id {sid} is not a span of trace {tid}\n{}",
            render_trace(&spans, tid)
        );
        assert_eq!(str_of(l, "trace_flags"), "01");
    }
}

/// The OTLP logs carry the same `chat interaction` records with the same trace and span ids.
#[tokio::test(flavor = "multi_thread")]
async fn otlp_logs_carry_the_same_ids() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("first\nsecond\n")
        .run()
        .await;
    out.assert_exit(0);
    let ids = out.trace_ids();
    let file = out.chat_logs();
    let otlp: Vec<LogRecord> = rx
        .logs()
        .into_iter()
        .filter(|r| r.body == "chat interaction")
        .collect();
    assert_eq!(otlp.len(), 2, "OTLP logs: {:#?}", rx.logs());
    for (i, r) in otlp.iter().enumerate() {
        assert_eq!(r.trace_id, ids[i]);
        assert_eq!(r.span_id, str_of(file[i], "span_id"));
        assert_eq!(
            r.resource.get("service.name"),
            Some(&Value::from("llm-chatbot-otel"))
        );
    }
    // Every OTLP log record emitted inside a turn belongs to one of the printed traces.
    let in_turns: Vec<LogRecord> = rx
        .logs()
        .into_iter()
        .filter(|r| !r.trace_id.is_empty())
        .collect();
    assert!(in_turns.len() >= 2, "{in_turns:#?}");
    for r in &in_turns {
        assert!(
            ids.contains(&r.trace_id),
            "log {:?} in an unknown trace {}",
            r.body,
            r.trace_id
        );
    }
}

/// A failed turn's line has status `error` and its `error_type`, and still the turn's trace id.
#[tokio::test(flavor = "multi_thread")]
async fn failed_turn_line_has_error_type() {
    let fake = FakeOllama::start().await;
    fake.push(Behaviour::HttpError {
        status: 500,
        message: fake_ollama::RUNNER_STOPPED_MESSAGE.into(),
    });
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("this fails\nthis works\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_common_keys(&out);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 2, "{out:?}");
    let lines = out.chat_logs();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert_eq!(str_of(lines[0], "status"), "error");
    assert_eq!(str_of(lines[0], "error_type"), "http_500");
    assert_eq!(str_of(lines[0], "trace_id"), ids[0]);
    assert_eq!(str_of(lines[1], "status"), "success");
    assert_eq!(str_of(lines[1], "trace_id"), ids[1]);
}

/// Without LOG_FILE the log goes to `$XDG_STATE_HOME/chatbot-otel/chatbot-otel.log`.
#[tokio::test(flavor = "multi_thread")]
async fn default_log_file_location() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .env_remove("LOG_FILE")
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    let path = out.dir.path().join("chatbot-otel").join("chatbot-otel.log");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}\n{out:?}", path.display()));
    assert!(
        text.lines().any(|l| l.contains("chat interaction")),
        "{text}"
    );
}

/// `--log-file PATH` beats LOG_FILE.
#[tokio::test(flavor = "multi_thread")]
async fn log_file_flag_wins() {
    let fake = FakeOllama::start().await;
    let chat = Chatbot::new().ollama(fake.url());
    let path = chat.dir().join("flag.log");
    let out = chat
        .args(["--log-file", path.to_str().unwrap()])
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        text.lines().any(|l| l.contains("chat interaction")),
        "{out:?}"
    );
    assert!(
        out.chat_logs().is_empty(),
        "LOG_FILE must not be used\n{out:?}"
    );
}

/// Asserts the piped-mode stream discipline: stdout holds only the replies, stderr only trace/error lines.
fn assert_quiet(out: &Output, fake: &FakeOllama) {
    out.assert_exit(0);
    let replies: String = fake
        .chat_requests()
        .iter()
        .map(|r| format!("{}\n", r.outcome.as_ref().unwrap().text))
        .collect();
    assert_eq!(out.stdout, replies, "{out:?}");
    for l in out.stderr_lines() {
        assert!(
            l.starts_with("trace: ") || l.starts_with("error: "),
            "unexpected stderr line {l:?}\n{out:?}"
        );
    }
    assert_eq!(out.trace_lines().len(), 2, "{out:?}");
}

/// With the collector down, stdout has only replies and stderr only trace lines (no exporter noise).
#[tokio::test(flavor = "multi_thread")]
async fn no_exporter_noise_when_collector_down() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(closed_port_url())
        .env("OTEL_METRIC_EXPORT_INTERVAL", "50")
        .stdin("first\nsecond\n")
        .run()
        .await;
    assert_quiet(&out, &fake);
}

/// With the collector black-holed, stdout has only replies and stderr only trace lines.
#[tokio::test(flavor = "multi_thread")]
async fn no_exporter_noise_when_collector_black_holed() {
    let fake = FakeOllama::start().await;
    let hole = BlackHole::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(hole.url())
        .stdin("first\nsecond\n")
        .run()
        .await;
    assert_quiet(&out, &fake);
}
