//! The HTTP layer and the endpoints other than chat: keep-alive, request body
//! framings, and the exact answers of `/`, `/api/version`, `/api/tags`,
//! `/api/show` and unknown paths.

mod common;

use std::time::Duration;

use common::{chat_body, content_of, key_paths, post_request, End, RawClient, SOON};
use fake_ollama::{FakeOllama, Options};
use serde_json::Value;

/// First model of ollama-transcripts/tags.json, embedded for its key order.
const FIXTURE_TAGS: &str = r#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","modified_at":"2026-08-20T17:37:44.706015396+02:00","size":2019393189,"digest":"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"},"capabilities":["completion","tools"]}]}"#;

#[tokio::test]
async fn keep_alive_serves_sequential_requests_on_one_connection() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    for message in ["first", "second", "third"] {
        client
            .post("/api/chat", &chat_body("llama3.2", message))
            .await;
        let response = client.response(SOON, false).await;
        assert_eq!(response.end, End::Clean);
        assert_eq!(response.header("connection"), None);
        assert_eq!(
            content_of(&response.json_lines()),
            format!("You said: {message}")
        );
    }
    client.get("/api/version").await;
    assert_eq!(client.response(SOON, false).await.status, 200);
    assert_eq!(ollama.requests().len(), 4);
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    let request = post_request(
        "/api/chat",
        &chat_body("llama3.2", "bye"),
        &["Connection: close"],
    );
    client.send(request.as_bytes()).await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.end, End::Clean);
    assert!(client.closed_within(SOON).await);
}

#[tokio::test]
async fn chunked_request_bodies_are_accepted() {
    let ollama = FakeOllama::start().await;
    let body = chat_body("llama3.2", "chunked é");
    let bytes = body.as_bytes();
    let (a, b) = bytes.split_at(10);
    let mut request =
        String::from("POST /api/chat HTTP/1.1\r\nHost: fake\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    request.extend_from_slice(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    request.extend_from_slice(a);
    request.extend_from_slice(format!("\r\n{:X}\r\n", b.len()).as_bytes());
    request.extend_from_slice(b);
    request.extend_from_slice(b"\r\n0\r\nX-Trailer: t\r\n\r\n");

    let mut client = RawClient::connect(ollama.addr()).await;
    client.send(&request).await;
    let response = client.response(SOON, false).await;
    assert_eq!(content_of(&response.json_lines()), "You said: chunked é");
    assert_eq!(ollama.requests()[0].body, body);
    // The connection stays usable after a chunked body.
    client.get("/").await;
    assert_eq!(
        client.response(SOON, false).await.text(),
        "Ollama is running"
    );
}

#[tokio::test]
async fn malformed_requests_get_400_and_a_closed_connection() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.send(b"this is not http\r\n\r\n").await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 400);
    assert!(client.closed_within(SOON).await);

    // Only HTTP/1.1 is spoken: no client of this project sends HTTP/1.0.
    let mut client = RawClient::connect(ollama.addr()).await;
    client.send(b"GET /api/version HTTP/1.0\r\n\r\n").await;
    assert_eq!(client.response(SOON, false).await.status, 400);
    assert!(client.closed_within(SOON).await);
    assert!(ollama.requests().is_empty());
}

#[tokio::test]
async fn root_says_ollama_is_running() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.get("/").await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), "Ollama is running");

    client.send(b"HEAD / HTTP/1.1\r\nHost: fake\r\n\r\n").await;
    let response = client.response(SOON, true).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("17"));
    // No body was sent: the next response follows directly.
    client.get("/api/version").await;
    assert_eq!(client.response(SOON, false).await.status, 200);
}

#[tokio::test]
async fn version_reports_the_configured_version() {
    let ollama = FakeOllama::start_with(Options {
        version: "0.33.0".into(),
        ..Options::default()
    })
    .await
    .unwrap();
    let response = reqwest::get(format!("{}/api/version", ollama.url()))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), r#"{"version":"0.33.0"}"#);
}

#[tokio::test]
async fn tags_lists_the_models_like_ollama() {
    let ollama = FakeOllama::start_with(Options {
        models: vec!["llama3.2".into(), "qwen3:0.6b".into()],
        ..Options::default()
    })
    .await
    .unwrap();
    let mut client = RawClient::connect(ollama.addr()).await;
    client.get("/api/tags").await;
    let response = client.response(SOON, false).await;
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let raw = response.text();
    assert!(!raw.ends_with('\n'));
    // Same keys in the same order as the transcript, for each model.
    let fixture_keys = key_paths(FIXTURE_TAGS);
    let ours = key_paths(&raw);
    assert_eq!(ours[..fixture_keys.len()], fixture_keys[..]);

    let v: Value = serde_json::from_str(&raw).unwrap();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0]["name"], "llama3.2:latest");
    assert_eq!(models[0]["model"], "llama3.2:latest");
    assert_eq!(models[1]["name"], "qwen3:0.6b");
    assert_eq!(models[1]["details"]["family"], "qwen");
    assert_eq!(models[0]["digest"].as_str().unwrap().len(), 64);
    assert!(models[0]["size"].as_u64().unwrap() > 0);
    // Newest first.
    assert!(models[0]["modified_at"].as_str() > models[1]["modified_at"].as_str());
}

#[tokio::test]
async fn show_knows_listed_models_only() {
    let ollama = FakeOllama::start().await;
    let client = common::client();
    let show = |body: Value| {
        client
            .post(format!("{}/api/show", ollama.url()))
            .json(&body)
            .send()
    };

    let response = show(serde_json::json!({"model": "llama3.2"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["details"]["family"], "llama");
    assert!(v["model_info"].is_object());
    assert!(v["capabilities"].is_array());

    let response = show(serde_json::json!({"name": "llama3.1:8b"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "`name` is the deprecated alias");

    let response = show(serde_json::json!({"model": "llama9"})).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"model 'llama9:latest' not found"}"#,
        "canonical name with tag, unlike chat"
    );

    let response = show(serde_json::json!({})).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"model is required"}"#
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let ollama = FakeOllama::start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client.get("/api/nothing").await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 404);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.text(), "404 page not found");

    client.get("/api/chat").await;
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.text(), "405 method not allowed");
}

#[tokio::test]
async fn first_token_delay_holds_back_the_status_line() {
    let ollama = FakeOllama::start_with(Options {
        first_token_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .await
    .unwrap();
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    let early = client.response(Duration::from_millis(150), false).await;
    assert_eq!((early.status, early.end), (0, End::TimedOut), "no byte yet");
    let response = client.response(SOON, false).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json_lines().last().unwrap()["done"], true);
}

/// The fake runs on its own thread: a test whose runtime is blocked (here by
/// synchronous socket I/O on a current-thread runtime) is still answered.
#[tokio::test]
async fn serves_while_the_callers_runtime_is_blocked() {
    use std::io::{Read, Write};

    let ollama = FakeOllama::start().await;
    let mut stream = std::net::TcpStream::connect(ollama.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nOllama is running"));
}
