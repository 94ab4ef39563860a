//! The `fake-ollama` binary: flags, the "listening" line, and shutdown on
//! SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{chat_body, content_of, End, RawClient, SOON};

const BIN: &str = env!("CARGO_BIN_EXE_fake-ollama");

/// Starts the binary on a free port and returns it with the address it
/// printed.
fn spawn(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fake-ollama");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line
        .trim_end()
        .strip_prefix("fake-ollama listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    (child, url.parse().expect("an address"))
}

/// Sends SIGTERM and waits (bounded) for a clean exit.
fn terminate(mut child: Child) {
    let Ok(status) = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
    else {
        // No `kill` program on this machine: SIGTERM cannot be sent from std.
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fake-ollama did not exit on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn serves_the_configured_models_and_reply_until_sigterm() {
    let (child, addr) = spawn(&["--models", "m1,m2:7b", "--reply-words", "5"]);

    let mut client = RawClient::connect(addr).await;
    client.get("/api/tags").await;
    let tags: serde_json::Value =
        serde_json::from_str(&client.response(SOON, false).await.text()).unwrap();
    assert_eq!(tags["models"][0]["name"], "m1:latest");
    assert_eq!(tags["models"][1]["name"], "m2:7b");

    client.post("/api/chat", &chat_body("m1", "hi")).await;
    let lines = client.response(SOON, false).await.json_lines();
    assert_eq!(lines.len(), 6);
    assert_eq!(content_of(&lines), "lorem ipsum dolor sit amet");

    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    assert_eq!(client.response(SOON, false).await.status, 404);

    client
        .post("/api/chat", &chat_body("m1", "[fault:truncate]"))
        .await;
    let response = client.response(SOON, false).await;
    assert_eq!((response.lines().len(), response.end), (2, End::Clean));

    terminate(child);
}

#[tokio::test]
async fn fault_flag_sets_the_default_behaviour() {
    let (child, addr) = spawn(&["--fault", "http_500", "--split-bytes", "7"]);
    let mut client = RawClient::connect(addr).await;
    client.post("/api/chat", &chat_body("llama3.2", "hi")).await;
    assert_eq!(client.response(SOON, false).await.status, 500);
    terminate(child);
}

#[tokio::test]
async fn thinking_flags_shape_a_thinking_models_stream() {
    let (child, addr) = spawn(&[
        "--models",
        "qwen3:0.6b",
        "--thinking-words",
        "3",
        "--reply",
        "Hi.",
    ]);
    let mut client = RawClient::connect(addr).await;
    client
        .post("/api/chat", &chat_body("qwen3:0.6b", "hi"))
        .await;
    let lines = client.response(SOON, false).await.json_lines();
    let thinking: String = lines
        .iter()
        .filter_map(|l| l["message"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, "hmm okay so");
    assert_eq!(content_of(&lines), "Hi.");
    assert_eq!(lines.len(), 3 + 2 + 1);
    terminate(child);
}

#[test]
fn help_and_bad_flags() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--addr",
        "--models",
        "--reply-words",
        "--reply",
        "--first-token-delay-ms",
        "--chunk-delay-ms",
        "--split-bytes",
        "--fault",
        "--thinking-words",
        "--thinking",
        "--thinking-chunk-delay-ms",
        "--tool-calls-in-one-chunk",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }

    let output = Command::new(BIN)
        .args(["--fault", "nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(BIN)
        .args(["--reply", "x", "--reply-words", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
