//! `--demo`: a real streamed chat, traces and metrics with no Ollama installed.

use crate::support::*;

/// With no Ollama anywhere (the harness points OLLAMA_ENDPOINT at a closed port), `--demo`
/// answers, says on screen that it is the demo, and marks its telemetry `chatbot.demo=true`.
#[tokio::test(flavor = "multi_thread")]
async fn demo_chats_with_nothing_installed() {
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .otlp(rx.endpoint())
        .arg("--demo")
        .stdin("hello demo\n/help\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout, "You said: hello demo\n");
    assert!(
        out.stderr
            .starts_with("demo: replies come from the built-in demo model at http://127.0.0.1:"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("(the built-in demo model, --demo)"),
        "{out:?}"
    );
    let spans = rx.spans();
    let root = spans
        .iter()
        .find(|s| s.name == "chat_interaction")
        .expect("the turn was traced");
    assert_eq!(root.resource["chatbot.demo"], serde_json::json!(true));
    let points = rx.metrics();
    assert!(!points.is_empty());
    assert!(points
        .iter()
        .all(|p| p.resource["chatbot.demo"] == serde_json::json!(true)));
}

/// Without `--demo` the Resource has no demo mark, and the "cannot reach" line offers it.
#[tokio::test(flavor = "multi_thread")]
async fn without_demo_the_error_offers_it() {
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .otlp(rx.endpoint())
        .stdin("hello\n")
        .run()
        .await;
    out.assert_exit(0);
    assert!(out.error_lines()[0].contains("--demo"), "{out:?}");
    let spans = rx.spans();
    assert!(!spans.is_empty());
    assert!(spans
        .iter()
        .all(|s| !s.resource.contains_key("chatbot.demo")));
}
