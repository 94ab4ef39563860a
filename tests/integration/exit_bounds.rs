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

/// Whether process `pid` still runs (a zombie waiting to be reaped does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // The state follows the parenthesised command name.
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

/// SIGTERM while an MCP server is busy in a tool call (one that does not notice its stdin
/// closing): the chatbot exits 143 and the server is gone by then, not left running.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_tool_call_leaves_no_server_running() {
    use serde_json::json;
    let fake = FakeOllama::start().await;
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let config = dir.path().join("mcp.json");
    // No OTLP endpoint for the server: it would inherit the harness's closed port and
    // spend its start-up retrying exports.
    let server = crate::mcp_real::traced_server(json!({
        "TRACED_SERVER_EVENTS": events.display().to_string(),
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }));
    std::fs::write(
        &config,
        json!({ "mcpServers": { "traced": server } }).to_string(),
    )
    .unwrap();
    let mut s = Chatbot::new()
        .ollama(fake.url())
        .args([
            "--mcp-config",
            &config.display().to_string(),
            "--allow-tools",
        ])
        .arg("--no-telemetry")
        .timeout(Duration::from_secs(40))
        .spawn()
        .await;
    s.send("please use busy seconds=60").await;
    // The server writes "busy PID" once the call has reached it.
    let waiting_since = std::time::Instant::now();
    let pid = loop {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        if let Some(pid) = text.lines().find_map(|l| l.strip_prefix("busy ")) {
            break pid.trim().parse::<u32>().unwrap();
        }
        assert!(
            waiting_since.elapsed() < Duration::from_secs(30),
            "the tool call never reached the server\nstdout: {}\nstderr: {}",
            s.stdout_now(),
            s.stderr_now()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(running(pid));
    s.signal("TERM");
    let out = s.wait_exit().await;
    eprintln!(
        "SIGTERM during a busy tool call: signal → exit {:?}",
        out.since_eof
    );
    let left = running(pid);
    if left {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        out.code == Some(143) || out.signal == Some(15),
        "expected exit 143\n{out:?}"
    );
    assert!(
        !left,
        "MCP server {pid} still runs after the chatbot exited\n{out:?}"
    );
}
