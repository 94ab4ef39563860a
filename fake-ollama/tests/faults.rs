//! Every scripted failure, seen from a client: the status, the lines, and how
//! the body ended (cleanly, by a closed connection, or not at all).

mod common;

use std::time::Duration;

use common::{chat_body, content_of, End, RawClient, RawResponse, SOON};
use fake_ollama::{
    Behaviour, ChatOutcome, FakeOllama, Options, Reply, INVALID_LINE, MID_STREAM_ERROR_MESSAGE,
    RUNNER_STOPPED_MESSAGE,
};
use serde_json::Value;

/// The reply used by these tests: 6 chunks ("one", " two", ... " six").
fn six_words() -> Options {
    Options {
        reply: Reply::Text("one two three four five six".into()),
        ..Options::default()
    }
}

async fn start() -> FakeOllama {
    FakeOllama::start_with(six_words()).await.unwrap()
}

/// Sends one chat with this user message on a new connection and reads the
/// response, waiting at most `limit` for each piece.
async fn chat(ollama: &FakeOllama, message: &str, limit: Duration) -> (RawClient, RawResponse) {
    let mut client = RawClient::connect(ollama.addr()).await;
    client
        .post("/api/chat", &chat_body("llama3.2", message))
        .await;
    let response = client.response(limit, false).await;
    (client, response)
}

fn assert_two_chunks(lines: &[String]) {
    assert!(lines.len() >= 2, "{lines:?}");
    let chunks: Vec<Value> = lines[..2]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(content_of(&chunks), "one two");
    assert!(chunks.iter().all(|c| c["done"] == false));
}

#[tokio::test]
async fn http_error_has_a_real_status_and_a_json_body() {
    let ollama = start().await;
    ollama.push(Behaviour::HttpError {
        status: 503,
        message: "server busy, please try again.  maximum pending requests exceeded".into(),
    });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.status, 503);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        response.text(),
        r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#
    );
    assert_eq!(
        ollama.chat_requests()[0].outcome,
        Some(ChatOutcome::default())
    );
}

#[tokio::test]
async fn legacy_error_line_is_a_200_stream_with_only_an_error() {
    let ollama = start().await;
    ollama.push(Behaviour::LegacyErrorLine {
        message: "boom".into(),
    });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );
    assert_eq!(response.text(), "{\"error\":\"boom\"}\n");
    assert_eq!(response.end, End::Clean);
}

#[tokio::test]
async fn error_mid_stream_sends_chunks_then_an_error_line() {
    let ollama = start().await;
    ollama.push(Behaviour::ErrorMidStream {
        after_chunks: 2,
        message: MID_STREAM_ERROR_MESSAGE.into(),
    });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.end, End::Clean, "the body ends normally");
    let lines = response.lines();
    assert_eq!(lines.len(), 3);
    assert_two_chunks(&lines);
    assert_eq!(
        lines[2],
        r#"{"error":"an error was encountered while running the model: unexpected EOF"}"#
    );
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(
        outcome,
        ChatOutcome {
            chunks_sent: 2,
            text: "one two".into(),
            ..ChatOutcome::default()
        }
    );
}

#[tokio::test]
async fn truncate_ends_the_body_cleanly_without_done() {
    let ollama = start().await;
    ollama.push(Behaviour::TruncateAfter { after_chunks: 2 });
    let (mut client, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.end, End::Clean);
    let lines = response.lines();
    assert_eq!(lines.len(), 2);
    assert_two_chunks(&lines);

    // The connection is still usable.
    client
        .post("/api/chat", &chat_body("llama3.2", "again"))
        .await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.json_lines().last().unwrap()["done"], true);
}

#[tokio::test]
async fn drop_closes_the_connection_without_the_last_chunk() {
    let ollama = start().await;
    ollama.push(Behaviour::DropConnectionAfter { after_chunks: 2 });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.end, End::Closed);
    assert_two_chunks(&response.lines());
    assert_eq!(response.lines().len(), 2);

    // reqwest reports it as an error while reading the body.
    ollama.push(Behaviour::DropConnectionAfter { after_chunks: 2 });
    let mut response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    let error = loop {
        match response.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("the body must not end cleanly"),
            Err(e) => break e,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    assert_eq!(String::from_utf8(received).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn invalid_line_after_chunks() {
    let ollama = start().await;
    ollama.push(Behaviour::InvalidLineAfter { after_chunks: 2 });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    assert_eq!(response.end, End::Clean);
    let lines = response.lines();
    assert_eq!(lines.len(), 3);
    assert_two_chunks(&lines);
    assert_eq!(lines[2], INVALID_LINE);
    assert!(serde_json::from_str::<Value>(&lines[2]).is_err());
}

#[tokio::test]
async fn hang_sends_nothing_and_keeps_the_connection_open() {
    let ollama = start().await;
    ollama.push(Behaviour::Hang);
    let (mut client, response) = chat(&ollama, "hi", Duration::from_millis(300)).await;
    assert_eq!((response.status, response.end), (0, End::TimedOut));
    assert!(!client.closed_within(Duration::from_millis(100)).await);
    // The request was read and recorded; nothing was sent.
    assert_eq!(
        ollama.chat_requests()[0].outcome,
        Some(ChatOutcome::default())
    );

    // reqwest times out waiting for the headers.
    ollama.push(Behaviour::Hang);
    let error = common::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn hang_after_sends_headers_and_chunks_then_stalls() {
    let ollama = start().await;
    ollama.push(Behaviour::HangAfter { after_chunks: 2 });
    let mut response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = Vec::new();
    let stalled = loop {
        match tokio::time::timeout(Duration::from_millis(300), response.chunk()).await {
            Ok(Ok(Some(bytes))) => received.extend_from_slice(&bytes),
            Ok(other) => panic!("the body must neither end nor fail: {other:?}"),
            Err(_) => break true,
        }
    };
    assert!(stalled);
    assert_eq!(String::from_utf8(received).unwrap().lines().count(), 2);
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.chunks_sent, 2);
    assert_eq!(outcome.done_reason, None);

    // HangAfter { 0 }: the headers arrive, the body does not.
    ollama.push(Behaviour::HangAfter { after_chunks: 0 });
    let (_, response) = chat(&ollama, "hi", Duration::from_millis(200)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.end, End::TimedOut);
    assert!(response.body.is_empty());
}

#[tokio::test]
async fn dropping_the_server_closes_hanging_connections() {
    let ollama = start().await;
    ollama.push(Behaviour::Hang);
    let (mut client, response) = chat(&ollama, "hi", Duration::from_millis(100)).await;
    assert_eq!(response.end, End::TimedOut);
    let addr = ollama.addr();
    drop(ollama);
    assert!(client.closed_within(SOON).await);
    // The listener is gone too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn after_chunks_larger_than_the_reply_sends_the_whole_reply() {
    let ollama = start().await;
    ollama.push(Behaviour::TruncateAfter { after_chunks: 100 });
    let (_, response) = chat(&ollama, "hi", SOON).await;
    let lines = response.json_lines();
    assert_eq!(lines.len(), 6);
    assert_eq!(content_of(&lines), "one two three four five six");
    assert!(lines.iter().all(|l| l["done"] == false));
}

#[tokio::test]
async fn directives_select_the_fault() {
    let ollama = start().await;
    let limit = Duration::from_millis(500);

    let (_, r) = chat(&ollama, "hi [fault:http_500]", limit).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        serde_json::from_str::<Value>(&r.text()).unwrap()["error"],
        RUNNER_STOPPED_MESSAGE
    );

    let (_, r) = chat(&ollama, "[fault:mid_stream_error] hi", limit).await;
    let lines = r.lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[2],
        format!("{{\"error\":\"{MID_STREAM_ERROR_MESSAGE}\"}}")
    );

    let (_, r) = chat(&ollama, "[fault:truncate]", limit).await;
    assert_eq!((r.lines().len(), r.end), (2, End::Clean));

    let (_, r) = chat(&ollama, "x [fault:drop] y", limit).await;
    assert_eq!((r.lines().len(), r.end), (2, End::Closed));

    let (_, r) = chat(&ollama, "[fault:invalid_json]", limit).await;
    assert_eq!(r.lines()[2], INVALID_LINE);

    let (_, r) = chat(&ollama, "[fault:legacy_error]", limit).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json_lines().len(), 1);
    assert_eq!(r.json_lines()[0]["error"], RUNNER_STOPPED_MESSAGE);

    let (_, r) = chat(&ollama, "[fault:hang]", Duration::from_millis(200)).await;
    assert_eq!((r.status, r.end), (0, End::TimedOut));

    // Unknown names are ignored.
    let (_, r) = chat(&ollama, "[fault:nonsense]", limit).await;
    assert_eq!(r.json_lines().last().unwrap()["done"], true);

    // Only the last user message counts.
    let body = serde_json::json!({
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "[fault:http_500]"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "fine now"},
        ],
    });
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &body.to_string()).await;
    assert_eq!(client.response(limit, false).await.status, 200);
}

#[tokio::test]
async fn pushed_queue_beats_directive_beats_default() {
    let ollama = FakeOllama::start_with(Options {
        default_behaviour: Behaviour::TruncateAfter { after_chunks: 1 },
        ..six_words()
    })
    .await
    .unwrap();
    ollama.push(Behaviour::HttpError {
        status: 429,
        message: "slow down".into(),
    });
    ollama.push(Behaviour::Reply);

    let (_, r) = chat(&ollama, "[fault:http_500]", SOON).await;
    assert_eq!(r.status, 429, "first pushed");
    let (_, r) = chat(&ollama, "[fault:http_500]", SOON).await;
    assert_eq!(
        r.json_lines().last().unwrap()["done"],
        true,
        "second pushed"
    );
    let (_, r) = chat(&ollama, "[fault:http_500]", SOON).await;
    assert_eq!(r.status, 500, "directive");
    let (_, r) = chat(&ollama, "plain", SOON).await;
    assert_eq!(r.lines().len(), 1, "default: truncated after one chunk");
}

#[tokio::test]
async fn a_client_leaving_mid_stream_does_not_disturb_the_server() {
    let ollama = FakeOllama::start_with(Options {
        reply: Reply::Words(200),
        chunk_delay: Duration::from_millis(5),
        ..Options::default()
    })
    .await
    .unwrap();
    let mut response = common::client()
        .post(format!("{}/api/chat", ollama.url()))
        .body(chat_body("llama3.2", "hi"))
        .send()
        .await
        .unwrap();
    response.chunk().await.unwrap().unwrap();
    response.chunk().await.unwrap().unwrap();
    drop(response);

    // The server notices at its next writes and records what it sent.
    let mut outcome = None;
    for _ in 0..200 {
        outcome = ollama.chat_requests()[0].outcome.clone();
        if outcome.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outcome = outcome.expect("outcome recorded after the client left");
    assert!(
        outcome.chunks_sent >= 2 && outcome.chunks_sent < 200,
        "{outcome:?}"
    );
    assert_eq!(outcome.done_reason, None);

    // And it keeps serving.
    let ok = reqwest::get(format!("{}/api/version", ollama.url()))
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), r#"{"version":"0.12.6"}"#);
}

#[tokio::test]
async fn stream_false_faults_use_real_statuses() {
    let ollama = start().await;
    let body = |content: &str| {
        serde_json::json!({
            "model": "llama3.2",
            "messages": [{"role": "user", "content": content}],
            "stream": false,
        })
        .to_string()
    };
    let mut client = RawClient::connect(ollama.addr()).await;
    client
        .post("/api/chat", &body("[fault:mid_stream_error]"))
        .await;
    let r = client.response(SOON, false).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        format!("{{\"error\":\"{MID_STREAM_ERROR_MESSAGE}\"}}")
    );

    client.post("/api/chat", &body("[fault:drop]")).await;
    let r = client.response(SOON, false).await;
    assert_eq!((r.status, r.end), (200, End::Closed));
    let announced: usize = r.header("content-length").unwrap().parse().unwrap();
    assert!(r.body.len() < announced);
}
