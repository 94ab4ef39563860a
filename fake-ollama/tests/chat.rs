//! `POST /api/chat` when everything goes well: the stream a client reads, the
//! bytes on the wire, the metrics, and what the fake records.

mod common;

use std::time::{Duration, Instant};

use common::{chat_body, content_of, key_paths, End, RawClient, SOON};
use fake_ollama::{ChatOutcome, FakeOllama, Options, Reply, Split};
use serde_json::{json, Value};

/// Lines of ollama-transcripts/chat-stream-ok.ndjson (first and last), embedded
/// so the tests do not depend on the reference folder being present.
const FIXTURE_CHUNK: &str = r#"{"model":"llama3.2","created_at":"2026-08-22T10:15:03.41205Z","message":{"role":"assistant","content":"Hello"},"done":false}"#;
const FIXTURE_FINAL: &str = r#"{"model":"llama3.2","created_at":"2026-08-22T10:15:03.523914Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":171902334,"load_duration":18743211,"prompt_eval_count":31,"prompt_eval_duration":40211000,"eval_count":9,"eval_duration":98442000}"#;

/// Reads a streamed reqwest response to the end and splits it into lines,
/// buffering bytes the way a careful client must.
async fn read_lines(mut response: reqwest::Response) -> Vec<Value> {
    let mut buf = Vec::new();
    let mut lines = Vec::new();
    while let Some(bytes) = response.chunk().await.expect("body chunk") {
        buf.extend_from_slice(&bytes);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            lines.push(serde_json::from_slice(&line[..line.len() - 1]).expect("JSON line"));
        }
    }
    assert!(buf.is_empty(), "body must end with a newline");
    lines
}

async fn start(opts: Options) -> FakeOllama {
    FakeOllama::start_with(opts).await.expect("start fake")
}

#[tokio::test]
async fn streamed_echo_reply_read_line_by_line() {
    let ollama = FakeOllama::start().await;
    let response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "Say hello."))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-ndjson",
        "no charset, as Ollama"
    );
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().contains_key("date"));

    let lines = read_lines(response).await;
    assert_eq!(content_of(&lines), "You said: Say hello.");
    // "You", " said", ":", " Say", " hello", "." then the final chunk.
    assert_eq!(lines.len(), 7);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["model"], "llama3.2", "model echoed exactly as sent");
        assert_eq!(line["message"]["role"], "assistant");
        assert!(line["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(line["done"], i == lines.len() - 1);
    }
    let last = lines.last().unwrap();
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["message"]["content"], "");
    // 2 words + 4 for the one message; one token per content chunk.
    assert_eq!(last["prompt_eval_count"], 6);
    assert_eq!(last["eval_count"], 6);

    let outcome = ollama.chat_requests()[0].outcome.clone();
    assert_eq!(
        outcome,
        Some(ChatOutcome {
            chunks_sent: 6,
            text: "You said: Say hello.".into(),
            prompt_eval_count: Some(6),
            eval_count: Some(6),
            done_reason: Some("stop".into()),
            ..ChatOutcome::default()
        })
    );
}

#[tokio::test]
async fn chunks_have_the_transcripts_key_order() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let response = client.response(SOON, false).await;
    let lines = response.lines();
    assert!(lines.len() >= 2);
    assert_eq!(key_paths(&lines[0]), key_paths(FIXTURE_CHUNK));
    assert_eq!(key_paths(lines.last().unwrap()), key_paths(FIXTURE_FINAL));
    assert_eq!(
        key_paths(FIXTURE_FINAL)[..7],
        [
            "model",
            "created_at",
            "message",
            "message.role",
            "message.content",
            "done",
            "done_reason"
        ]
    );
    // Compact JSON, one object per line, and created_at has no trailing zero
    // in its fraction.
    for line in &lines {
        assert!(!line.contains(": ") && !line.contains(", "), "{line}");
        let v: Value = serde_json::from_str(line).unwrap();
        let created = v["created_at"].as_str().unwrap();
        let without_z = created.strip_suffix('Z').unwrap();
        if let Some((_, fraction)) = without_z.split_once('.') {
            assert!(!fraction.ends_with('0'), "{created}");
            assert!(fraction.len() <= 9);
        }
    }
}

#[tokio::test]
async fn html_characters_are_escaped_and_non_ascii_survives() {
    let text = "Café é 🙂 <tag> & more";
    let ollama = start(Options {
        reply: Reply::Text(text.into()),
        ..Options::default()
    })
    .await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let response = client.response(SOON, false).await;
    let raw = response.text();
    assert!(raw.contains(r#""content":" \u003c""#), "{raw}");
    assert!(raw.contains(r#""content":"\u003e""#), "{raw}");
    assert!(raw.contains(r#""content":" \u0026""#), "{raw}");
    assert!(!raw.contains('<') && !raw.contains('>') && !raw.contains('&'));
    assert!(
        raw.contains("🙂") && raw.contains("Café"),
        "UTF-8 is written raw"
    );
    assert_eq!(content_of(&response.json_lines()), text);
    assert_eq!(
        ollama.chat_requests()[0].outcome.as_ref().unwrap().text,
        text
    );
}

#[tokio::test]
async fn final_metrics_are_integer_nanoseconds_and_add_up() {
    let delay = Duration::from_millis(120);
    let ollama = start(Options {
        first_token_delay: delay,
        chunk_delay: Duration::from_millis(5),
        ..Options::default()
    })
    .await;
    let body = json!({
        "model": "llama3.1:8b",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "one two three"},
        ],
    });
    let started = Instant::now();
    let response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let headers_after = started.elapsed();
    assert!(
        headers_after >= delay,
        "headers must wait for the first token ({headers_after:?})"
    );
    let lines = read_lines(response).await;
    let wall = started.elapsed();
    let last = lines.last().unwrap();
    let metric = |name: &str| {
        last[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} must be a positive integer: {last}"))
    };
    let (total, load, prompt_eval, eval) = (
        metric("total_duration"),
        metric("load_duration"),
        metric("prompt_eval_duration"),
        metric("eval_duration"),
    );
    assert_eq!(load, 18_000_000, "default load_duration");
    assert_eq!(total, load + prompt_eval + eval);
    assert!(prompt_eval >= delay.as_nanos() as u64);
    assert!(prompt_eval + eval <= wall.as_nanos() as u64);
    assert!(eval >= 5_000_000 * (lines.len() as u64 - 2));
    assert_eq!(metric("prompt_eval_count"), (3 + 4) + (3 + 4));
    assert_eq!(metric("eval_count"), lines.len() as u64 - 1);
    // Intermediate chunks carry no metrics and no done_reason.
    for line in &lines[..lines.len() - 1] {
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{line}");
    }
}

#[tokio::test]
async fn final_chunk_can_carry_text() {
    let ollama = start(Options {
        reply: Reply::Text("Hello".into()),
        final_chunk_text: Some(" there.".into()),
        ..Options::default()
    })
    .await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let lines = client.response(SOON, false).await.json_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["done"], true);
    assert_eq!(lines[1]["message"]["content"], " there.");
    assert_eq!(content_of(&lines), "Hello there.");
    assert_eq!(lines[1]["eval_count"], 2);
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.text, "Hello there.");
    assert_eq!(outcome.chunks_sent, 1);
    assert_eq!(outcome.eval_count, Some(2));
}

#[tokio::test]
async fn words_reply_streams_exactly_n_chunks() {
    let ollama = start(Options {
        reply: Reply::Words(40),
        ..Options::default()
    })
    .await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let lines = client.response(SOON, false).await.json_lines();
    assert_eq!(lines.len(), 41);
    assert_eq!(lines[40]["eval_count"], 40);
    let text = content_of(&lines);
    assert!(text.starts_with("lorem ipsum dolor"));
    assert_eq!(text.split(' ').count(), 40);
}

#[tokio::test]
async fn split_bytes_cuts_lines_and_utf8_characters() {
    let text = "é🙂 <tag> & more";
    let ollama = start(Options {
        reply: Reply::Text(text.into()),
        split: Split::Bytes(3),
        ..Options::default()
    })
    .await;

    // On the wire: every HTTP chunk is at most 3 bytes, and at least one of
    // them is not valid UTF-8 on its own (it cuts a character in two).
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.end, End::Clean);
    assert!(response.chunks.iter().all(|c| c.len() <= 3));
    assert!(response.chunks.len() > response.lines().len() * 10);
    assert!(response
        .chunks
        .iter()
        .any(|c| std::str::from_utf8(c).is_err()));
    assert_eq!(content_of(&response.json_lines()), text);

    // Through reqwest: the pieces arrive as separate reads too.
    let mut response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap();
    let mut reads = 0;
    let mut split_char = false;
    let mut all = Vec::new();
    while let Some(bytes) = response.chunk().await.unwrap() {
        reads += 1;
        split_char |= std::str::from_utf8(&bytes).is_err();
        all.extend_from_slice(&bytes);
    }
    assert!(reads > 20, "only {reads} reads");
    assert!(split_char, "some read must end inside a UTF-8 character");
    let lines: Vec<Value> = String::from_utf8(all)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(content_of(&lines), text);
}

#[tokio::test]
async fn stream_false_gives_one_json_object() {
    let ollama = FakeOllama::start().await;
    let body = json!({
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Say <hi>"}],
        "stream": false,
    });
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &body.to_string()).await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(response.header("content-length").is_some());
    let raw = response.text();
    assert!(!raw.ends_with('\n'), "c.JSON writes no newline");
    assert!(raw.contains(r"\u003chi\u003e"));
    let v: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["message"]["content"], "You said: Say <hi>");
    assert_eq!(v["done"], true);
    assert_eq!(v["done_reason"], "stop");
    assert_eq!(v["eval_count"], 7);
    assert!(v["total_duration"].as_u64().unwrap() > 0);
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.chunks_sent, 0);
    assert_eq!(outcome.text, "You said: Say <hi>");
    assert_eq!(outcome.done_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn empty_messages_load_or_unload_the_model() {
    let ollama = FakeOllama::start().await;
    ollama.push(fake_ollama::Behaviour::Hang);
    let mut client = RawClient::connect(ollama.addr()).await;
    for (body, reason) in [
        (json!({"model": "llama3.2", "messages": []}), "load"),
        (json!({"model": "llama3.2"}), "load"),
        (
            json!({"model": "llama3.2", "messages": [], "keep_alive": 0}),
            "unload",
        ),
        (
            json!({"model": "llama3.2", "messages": [], "keep_alive": "0s"}),
            "unload",
        ),
    ] {
        client.post("/api/chat", &body.to_string()).await;
        let response = client.response(SOON, false).await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some("application/json; charset=utf-8"),
            "JSON even though stream defaults to true"
        );
        let raw = response.text();
        assert!(!raw.ends_with('\n'));
        let v: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["done_reason"], reason, "{body}");
        assert_eq!(v["message"]["content"], "");
        assert_eq!(v["model"], "llama3.2");
        assert!(v.get("total_duration").is_none());
    }
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.done_reason.as_deref(), Some("load"));
    assert_eq!(outcome.chunks_sent, 0);
    // The pushed Hang was not used up by load requests.
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let response = client.response(Duration::from_millis(200), false).await;
    assert_eq!((response.status, response.end), (0, End::TimedOut));
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_body() {
    let ollama = FakeOllama::start().await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = common::client()
        .post(format!("{}/api/chat?x=1", ollama.url()))
        .header("X-Custom-Header", "Hello There")
        .header("traceparent", traceparent)
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap();
    read_lines(response).await;
    reqwest::get(format!("{}/api/version", ollama.url()))
        .await
        .unwrap();

    let all = ollama.requests();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].method, "GET");
    assert_eq!(all[1].path, "/api/version");
    assert_eq!(all[1].outcome, None);

    let chats = ollama.chat_requests();
    assert_eq!(chats.len(), 1);
    let chat = &chats[0];
    assert_eq!(chat.method, "POST");
    assert_eq!(chat.path, "/api/chat?x=1", "the target as sent");
    assert!(chat
        .headers
        .contains(&("x-custom-header".to_string(), "Hello There".to_string())));
    assert_eq!(chat.header("X-CUSTOM-HEADER"), Some("Hello There"));
    assert_eq!(chat.header("traceparent"), Some(traceparent));
    assert!(chat.headers.iter().all(|(n, _)| *n == n.to_lowercase()));
    assert_eq!(chat.json()["messages"][0]["content"], "hi");
    assert_eq!(chat.json()["options"]["temperature"], 0.7);
    assert!(chat.outcome.is_some());
}

#[tokio::test]
async fn unknown_model_is_404_with_the_name_as_sent() {
    let ollama = FakeOllama::start().await;
    ollama.push(fake_ollama::Behaviour::TruncateAfter { after_chunks: 0 });
    let response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("Nope", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"model 'Nope' not found"}"#
    );
    assert_eq!(
        ollama.chat_requests()[0].outcome,
        Some(ChatOutcome::default())
    );

    // "llama3.2" is listed as "llama3.2:latest"; case does not matter. The
    // pushed behaviour is still queued and applies now.
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("LLAMA3.2", "hi")).await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty(), "truncated after 0 chunks");
}

#[tokio::test]
async fn bad_requests_are_400() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    for (body, expected) in [
        ("", Some("missing request body")),
        (r#"{"messages":[]}"#, Some("model is required")),
        (r#"{"model":""}"#, Some("model is required")),
        (
            r#"{"model":"llama3.2","stream":"yes"}"#,
            Some("json: cannot unmarshal string into Go struct field ChatRequest.stream of type bool"),
        ),
        ("{not json", None),
    ] {
        client.post("/api/chat", body).await;
        let response = client.response(SOON, false).await;
        assert_eq!(response.status, 400, "{body}");
        let v: Value = serde_json::from_str(&response.text()).unwrap();
        let error = v["error"].as_str().unwrap();
        if let Some(expected) = expected {
            assert_eq!(error, expected);
        }
    }
}
