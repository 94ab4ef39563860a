//! Conversations in the telemetry (issue 9): one conversation id on every span of every
//! turn, in the log line and the OTLP log record; saved sessions that keep it across
//! restarts; the GenAI message attributes held against the conventions' JSON schemas; and
//! the semantic-convention opt-ins.

use serde_json::{json, Value};

use crate::support::*;
use fake_ollama::{FakeOllama, Options};

const QWEN: &str = "qwen3:0.6b";

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn conversation_of(s: &Span) -> String {
    let id = s.str_attr("gen_ai.conversation.id").to_string();
    assert_eq!(s.str_attr("session.id"), id, "{}: session.id", s.name);
    id
}

/// Three turns, one id on all of their spans (the bridged `log_interaction` too), in each
/// log line and OTLP log record, and in `/help` and `/stats`; `/clear` starts another.
#[tokio::test(flavor = "multi_thread")]
async fn one_conversation_id_on_every_span_of_three_turns() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("one\ntwo\nthree\n/help\n/stats\n/clear\nfour\n")
        .run()
        .await;
    out.assert_exit(0);
    let ids = out.trace_ids();
    assert_eq!(ids.len(), 4, "{out:?}");
    let spans = rx.spans();
    let first = conversation_of(span(&spans, &ids[0], "chat_interaction"));
    assert!(is_uuid(&first), "{first}");
    for tid in &ids[..3] {
        let turn = in_trace(&spans, tid);
        assert_eq!(turn.len(), 5, "{}", render_trace(&spans, tid));
        for s in turn {
            assert_eq!(conversation_of(s), first, "{} of {tid}", s.name);
        }
    }
    let after_clear = conversation_of(span(&spans, &ids[3], "generate_response"));
    assert!(is_uuid(&after_clear) && after_clear != first);

    let logs = out.chat_logs();
    assert_eq!(logs.len(), 4);
    assert!(logs[..3]
        .iter()
        .all(|l| l["conversation_id"] == json!(first)));
    assert_eq!(logs[3]["conversation_id"], json!(after_clear));
    let records: Vec<LogRecord> = rx
        .logs()
        .into_iter()
        .filter(|r| r.event_name == "chatbot.turn")
        .collect();
    assert_eq!(records.len(), 4, "{:?}", rx.logs());
    assert_eq!(
        records[0].attributes["gen_ai.conversation.id"],
        json!(first)
    );
    assert_eq!(records[0].attributes["chat.turn"], json!(1));
    assert!(records[0].attributes.contains_key("gen_ai.request.model"));
    assert!(
        !records[0].attributes.contains_key("turn"),
        "namespaced on OTLP"
    );
    assert!(
        out.stderr.contains(&format!("Conversation: {first}")),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(&format!("conversation  {first}")),
        "{out:?}"
    );
}

/// `/save`, then a new process with `--resume`: the history is sent again and the spans
/// carry the saved conversation id; `/sessions` lists it; `--continue` finds it too.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_conversation_keeps_its_id_across_restarts() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let state_home = state.path().to_string_lossy().into_owned();
    let rx = OtlpReceiver::start().await;
    let first = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("remember the number 7\n/save work\n")
        .run()
        .await;
    first.assert_exit(0);
    let spans = rx.spans();
    let saved_id = conversation_of(span(&spans, &first.trace_ids()[0], "chat_interaction"));
    let file = state.path().join("chatbot-otel/sessions/work.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["conversation_id"], json!(saved_id));
    assert_eq!(saved["format_version"], json!(1));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    for how in [vec!["--resume", "work"], vec!["--continue"]] {
        let rx = OtlpReceiver::start().await;
        let again = Chatbot::new()
            .ollama(fake.url())
            .otlp(rx.endpoint())
            .env("XDG_STATE_HOME", &state_home)
            .args(how.iter().copied())
            .stdin("what was it?\n/sessions\n")
            .run()
            .await;
        again.assert_exit(0);
        assert!(
            again.stderr.contains("Resumed 'work': 1 turn(s)"),
            "{again:?}"
        );
        let spans = rx.spans();
        let root = span(&spans, &again.trace_ids()[0], "chat_interaction");
        assert_eq!(conversation_of(root), saved_id);
        let last = fake.chat_requests().pop().unwrap();
        let messages = last.messages();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[0]["content"], json!("remember the number 7"));
        assert!(
            again
                .stderr
                .lines()
                .any(|l| l.trim_start().starts_with("work ") && l.ends_with("1 turn(s)")),
            "{again:?}"
        );
    }
}

/// A corrupt or future-version file: one clear line, nothing overwritten, the chat goes on;
/// `--resume` of a missing one is a configuration error.
#[tokio::test(flavor = "multi_thread")]
async fn bad_session_files_are_reported_and_left_alone() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("chatbot-otel/sessions");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.json"), "{not json").unwrap();
    std::fs::write(dir.join("new.json"), r#"{"format_version": 2}"#).unwrap();
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", state.path().to_string_lossy())
        .stdin("/load bad\n/load new\n/save bad\nhello\n")
        .run()
        .await;
    out.assert_exit(0);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 3, "{out:?}");
    assert!(
        errors[0].contains("bad.json is not a saved conversation"),
        "{out:?}"
    );
    assert!(
        errors[1].contains("saved by a newer chatbot-otel (format 2"),
        "{out:?}"
    );
    assert!(errors[2].contains("left as it is"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("bad.json")).unwrap(),
        "{not json"
    );
    assert_eq!(out.stdout, "You said: hello\n");

    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", state.path().to_string_lossy())
        .args(["--resume", "nope"])
        .stdin("hello\n")
        .run()
        .await;
    out.assert_exit(2);
    assert_eq!(
        out.stderr_lines(),
        vec!["error: no saved session named \"nope\" (see /sessions)"]
    );
}

/// Two saves within the same second: `--continue` resumes the second one and `/sessions`
/// lists it first, though its name sorts after the first one's.
#[tokio::test(flavor = "multi_thread")]
async fn the_newest_of_two_quick_saves_is_the_one_continued() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let state_home = state.path().to_string_lossy().into_owned();
    let first = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("one\n/save alpha\ntwo\n/save zeta\n")
        .run()
        .await;
    first.assert_exit(0);
    let again = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .arg("--continue")
        .stdin("/sessions\n")
        .run()
        .await;
    again.assert_exit(0);
    assert!(
        again.stderr.contains("Resumed 'zeta': 2 turn(s)"),
        "{again:?}"
    );
    let rows: Vec<&str> = again
        .stderr_lines()
        .into_iter()
        .filter(|l| l.ends_with("turn(s)") && l.starts_with("  "))
        .map(str::trim_start)
        .collect();
    assert_eq!(rows.len(), 2, "{again:?}");
    assert!(rows[0].starts_with("zeta "), "{again:?}");
    assert!(rows[1].starts_with("alpha "), "{again:?}");
}

/// `--continue` when the newest file is corrupt or from a newer version: exit 2 with the
/// very line `--resume` gives for that file, instead of quietly continuing an older one.
#[tokio::test(flavor = "multi_thread")]
async fn continue_reports_an_unreadable_newest_file() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let state_home = state.path().to_string_lossy().into_owned();
    Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("hello\n/save older\n")
        .run()
        .await
        .assert_exit(0);
    let dir = state.path().join("chatbot-otel/sessions");
    for (content, says) in [
        ("{not json", "is not a saved conversation"),
        (r#"{"format_version": 2}"#, "saved by a newer chatbot-otel"),
    ] {
        std::fs::write(dir.join("newer.json"), content).unwrap();
        let run = |args: &[&str]| {
            Chatbot::new()
                .ollama(fake.url())
                .env("XDG_STATE_HOME", &state_home)
                .args(args.iter().copied())
                .stdin("hi\n")
                .run()
        };
        let continued = run(&["--continue"]).await;
        continued.assert_exit(2);
        assert_eq!(continued.stdout, "", "{continued:?}");
        let resumed = run(&["--resume", "newer"]).await;
        resumed.assert_exit(2);
        assert_eq!(continued.stderr_lines(), resumed.stderr_lines());
        let lines = continued.stderr_lines();
        assert_eq!(lines.len(), 1, "{continued:?}");
        assert!(lines[0].starts_with("error: "), "{continued:?}");
        assert!(
            lines[0].contains("newer.json") && lines[0].contains(says),
            "{continued:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("newer.json")).unwrap(),
            content
        );
    }
    assert_eq!(fake.chat_requests().len(), 1, "only the first run chatted");
}

/// A name with a leading '.' is refused with that rule; a hand-copied file whose name
/// `/load` cannot take is not listed by `/sessions`.
#[tokio::test(flavor = "multi_thread")]
async fn session_names_follow_one_rule() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let state_home = state.path().to_string_lossy().into_owned();
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("hello\n/save .hidden\n/save work\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(
        out.error_lines(),
        vec![
            "error: invalid session name \".hidden\": use at most 64 letters, digits, '.', '_' or '-', not starting with '.'"
        ],
        "{out:?}"
    );
    let dir = state.path().join("chatbot-otel/sessions");
    std::fs::copy(dir.join("work.json"), dir.join("we ird.json")).unwrap();
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("/sessions\n")
        .run()
        .await;
    out.assert_exit(0);
    assert!(!out.stderr.contains("we ird"), "{out:?}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.trim_start().starts_with("work ")),
        "{out:?}"
    );
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/../shared/semconv/v1.41.0/docs/gen-ai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, json: &str) -> Value {
    let value: Value = serde_json::from_str(json).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{value:#}");
    value
}

/// With a thinking model, the second call's `gen_ai.input.messages` (system, user,
/// assistant with its reasoning, user) and `gen_ai.output.messages` (reasoning, text,
/// finish_reason) parse against the conventions' schemas; the root has input/output.value.
#[tokio::test(flavor = "multi_thread")]
async fn message_attributes_match_the_conventions_schemas() {
    let fake = FakeOllama::start_with(Options {
        models: vec![QWEN.into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(["--model", QWEN, "--system", "Be brief."])
        .stdin("first\nsecond\n")
        .run()
        .await;
    out.assert_exit(0);
    let spans = rx.spans();
    let tid = &out.trace_ids()[1];
    let gen = span(&spans, tid, "generate_response");
    let input = assert_valid(
        &schema("gen-ai-input-messages.json"),
        gen.str_attr("gen_ai.input.messages"),
    );
    let first = fake.chat_requests()[0].outcome.clone().unwrap();
    let roles: Vec<&str> = input
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(
        input[2]["parts"][0],
        json!({"type": "reasoning", "content": first.thinking})
    );
    assert_eq!(
        input[2]["parts"][1],
        json!({"type": "text", "content": first.text})
    );
    assert_eq!(gen.int_attr("chat.messages.sent"), 4);
    assert_eq!(gen.int_attr("chat.messages.captured"), 4);

    let output = assert_valid(
        &schema("gen-ai-output-messages.json"),
        gen.str_attr("gen_ai.output.messages"),
    );
    let second = fake.chat_requests()[1].outcome.clone().unwrap();
    assert_eq!(output[0]["finish_reason"], json!("stop"));
    assert_eq!(output[0]["parts"][0]["type"], json!("reasoning"));
    assert_eq!(output[0]["parts"][1]["content"], json!(second.text));

    let root = span(&spans, tid, "chat_interaction");
    assert_eq!(root.str_attr("input.value"), "second");
    assert_eq!(root.str_attr("output.value"), second.text);
}

/// With content capture off there are no message attributes at all.
#[tokio::test(flavor = "multi_thread")]
async fn no_messages_without_content_capture() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .arg("--no-capture-content")
        .stdin("secret words\n")
        .run()
        .await;
    out.assert_exit(0);
    let spans = rx.spans();
    assert!(!spans.is_empty());
    for s in &spans {
        for key in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "input.value",
            "output.value",
        ] {
            assert!(s.attr(key).is_none(), "{} has {key}", s.name);
        }
    }
    let gen = spans
        .iter()
        .find(|s| s.name == "generate_response")
        .unwrap();
    assert_eq!(gen.int_attr("chat.messages.sent"), 1);
}

/// `OTEL_SEMCONV_STABILITY_OPT_IN` changes exactly the documented names: `http/dup` adds
/// the deprecated HTTP names; `gen_ai_latest_experimental` adds the inference metrics.
#[tokio::test(flavor = "multi_thread")]
async fn opt_ins_change_exactly_the_documented_names() {
    let fake = FakeOllama::start().await;
    let mut runs = Vec::new();
    for opt_in in ["", "http/dup", "gen_ai_latest_experimental"] {
        let rx = OtlpReceiver::start().await;
        let mut bot = Chatbot::new()
            .ollama(fake.url())
            .otlp(rx.endpoint())
            .stdin("hi\n");
        if !opt_in.is_empty() {
            bot = bot.env("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in);
        }
        let out = bot.run().await;
        out.assert_exit(0);
        let spans = rx.spans();
        let req = spans
            .iter()
            .find(|s| s.name == "ollama_request")
            .expect("a request span")
            .clone();
        runs.push((opt_in, req, rx.metrics()));
    }
    let names = |ms: &[MetricPoint]| {
        let mut n: Vec<String> = ms.iter().map(|m| m.name.clone()).collect();
        n.sort();
        n.dedup();
        n
    };
    let (_, plain_req, plain_metrics) = &runs[0];
    for old in ["http.method", "http.url", "http.status_code"] {
        assert!(plain_req.attr(old).is_none(), "{old} by default");
    }
    let (_, dup_req, dup_metrics) = &runs[1];
    assert_eq!(dup_req.str_attr("http.method"), "POST");
    assert_eq!(dup_req.str_attr("http.url"), dup_req.str_attr("url.full"));
    assert_eq!(dup_req.int_attr("http.status_code"), 200);
    assert_eq!(
        names(dup_metrics),
        names(plain_metrics),
        "http/dup changes no metric"
    );
    let (_, latest_req, latest_metrics) = &runs[2];
    assert!(latest_req.attr("http.method").is_none());
    let mut expected = names(plain_metrics);
    expected.push("gen_ai.client.inference.duration".into());
    expected.push("gen_ai.client.inference.time_to_first_chunk".into());
    expected.sort();
    assert_eq!(names(latest_metrics), expected);
    let v141 = point(latest_metrics, "gen_ai.client.operation.duration", &[]);
    let latest = point(latest_metrics, "gen_ai.client.inference.duration", &[]);
    assert_eq!((latest.count, latest.sum), (v141.count, v141.sum));
}
