//! End of input → exit, bounded, whatever state the collector is in.

use std::time::Duration;

use crate::support::*;
use fake_ollama::{Behaviour, FakeOllama};

/// Two turns fed line by line (each waits for its trace line), then EOF; returns the output.
async fn two_turns_then_eof(otlp: String) -> Output {
    let fake = FakeOllama::start().await;
    let mut s = Chatbot::new()
        .ollama(fake.url())
        .otlp(otlp)
        .timeout(Duration::from_secs(30))
        .spawn()
        .await;
    s.send("first turn").await;
    s.wait_stderr_lines("trace: ", 1).await;
    s.send("second turn").await;
    s.wait_stderr_lines("trace: ", 2).await;
    let out = s.finish().await;
    assert_eq!(fake.chat_requests().len(), 2);
    out
}

/// With the collector black-holed, a 2-turn session exits 0 soon after EOF.
#[tokio::test(flavor = "multi_thread")]
async fn exits_promptly_with_collector_black_holed() {
    let hole = BlackHole::start().await;
    let out = two_turns_then_eof(hole.url()).await;
    eprintln!(
        "black-holed collector: EOF → exit {:?} ({} connections accepted)",
        out.since_eof,
        hole.accepted()
    );
    out.assert_exit(0);
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    assert!(out.since_eof < Duration::from_secs(5), "{out:?}");
}

/// With the collector down (closed port), a 2-turn session exits 0 soon after EOF.
#[tokio::test(flavor = "multi_thread")]
async fn exits_promptly_with_collector_down() {
    let out = two_turns_then_eof(closed_port_url()).await;
    eprintln!("collector down: EOF → exit {:?}", out.since_eof);
    out.assert_exit(0);
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    assert!(out.since_eof < Duration::from_secs(5), "{out:?}");
}

/// With a working collector, a 2-turn session exits 0 soon after EOF (the baseline).
#[tokio::test(flavor = "multi_thread")]
async fn exits_promptly_with_collector_up() {
    let rx = OtlpReceiver::start().await;
    let out = two_turns_then_eof(rx.endpoint()).await;
    eprintln!("collector up: EOF → exit {:?}", out.since_eof);
    out.assert_exit(0);
    assert!(out.since_eof < Duration::from_secs(5), "{out:?}");
    assert_eq!(trace_ids_of(&rx.spans()).len(), 2);
}

/// Sends `sig` while a reply is stalled mid-stream; checks the exit code, the bound and the
/// cancelled turn's telemetry (flushed before exit).
async fn signal_mid_turn(sig: &str, code: i32) {
    let fake = FakeOllama::start().await;
    fake.push(Behaviour::HangAfter { after_chunks: 2 });
    let rx = OtlpReceiver::start().await;
    let mut s = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("OTEL_METRIC_EXPORT_INTERVAL", "600000")
        .spawn()
        .await;
    s.send("please stall").await;
    // The partial reply on stdout shows the turn is in flight.
    s.wait_stdout("the partial reply", |o| !o.is_empty()).await;
    s.signal(sig);
    let out = s.wait_exit().await;
    eprintln!("SIG{sig} mid-turn: signal → exit {:?}", out.since_eof);
    assert!(
        out.code == Some(code) || out.signal == Some(code - 128),
        "expected exit {code}\n{out:?}"
    );
    assert!(out.since_eof < Duration::from_secs(5), "{out:?}");
    let spans = rx.spans();
    let roots = spans_named(&spans, "chat_interaction");
    assert_eq!(
        roots.len(),
        1,
        "the cancelled turn must be exported; received spans {:?}, OTLP requests {:?}\n{out:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>(),
        rx.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let root = roots[0];
    assert_eq!(
        root.status_code, "unset",
        "a cancelled turn is not an error"
    );
    assert!(root.bool_attr("llm.cancelled"));
    assert_eq!(root.events_named("cancelled").len(), 1, "{:?}", root.events);
    let ms = rx.metrics();
    assert_eq!(
        value_total(&ms, "llm.requests", &[("status", "cancelled")]),
        1.0,
        "{:#?}",
        points(&ms, "llm.requests")
    );
    assert_eq!(value_total(&ms, "llm.requests.active", &[]), 0.0);
}

/// SIGTERM during a stalled turn cancels it, flushes telemetry and exits 143 promptly.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_turn_cancels_and_exits_143() {
    signal_mid_turn("TERM", 143).await;
}

/// SIGINT during a stalled turn cancels it, flushes telemetry and exits 130 promptly.
#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_turn_cancels_and_exits_130() {
    signal_mid_turn("INT", 130).await;
}
