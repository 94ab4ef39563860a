//! The front ends as a new user meets them: `/help` in a pipe, a web server that is not
//! Ollama, and `doctor` writing into a pipe nobody reads.

use std::process::Stdio;

use axum::http::StatusCode;
use axum::response::Html;
use axum::Router;

use crate::support::*;

/// A web server that answers every request with an HTML 404 page, as nginx would.
async fn web_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>"),
        )
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// Piped `/help` lists `/list`, fits 80 columns, and says nothing of `"""` blocks or keys,
/// which a pipe does not have.
#[tokio::test(flavor = "multi_thread")]
async fn piped_help_describes_piped_mode() {
    let out = Chatbot::new().stdin("/help\n").run().await;
    out.assert_exit(0);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(out.stderr.contains("/models, /list"), "{}", out.stderr);
    assert!(
        out.stderr.contains("/feedback good|bad [TEXT]"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("\"\"\""), "{}", out.stderr);
    assert!(!out.stderr.contains("Ctrl-C"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Model:       llama3.1:8b"),
        "{}",
        out.stderr
    );
    for line in out.stderr.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
}

/// Pointed at a web server: the turn's error and `/model`'s warning say "is it Ollama?",
/// and neither the page nor "check `ollama serve`'s log" is printed.
#[tokio::test(flavor = "multi_thread")]
async fn a_web_server_is_diagnosed_not_printed() {
    let (url, _server) = web_server().await;
    let out = Chatbot::new()
        .ollama(&url)
        .stdin("hello\n/model other\n")
        .run()
        .await;
    out.assert_exit(0);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{out:?}");
    let warning = out
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no /model warning\n{out:?}"));
    for line in [errors[0], warning] {
        assert!(line.contains("is it Ollama?"), "{line}");
        assert!(line.contains("HTML page"), "{line}");
        assert!(!line.contains('<') && !line.contains("nginx"), "{line}");
        assert!(!line.contains("ollama serve"), "{line}");
    }
}

/// `doctor` gives the same diagnosis for the same server.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_says_is_it_ollama() {
    let (url, _server) = web_server().await;
    let out = Chatbot::new()
        .ollama(&url)
        .args(["--export", "none", "doctor"])
        .run()
        .await;
    out.assert_exit(1);
    let fail = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        fail.contains(&url) && fail.contains("is it Ollama?"),
        "{fail}"
    );
    assert!(!fail.contains('<'), "{fail}");
}

/// `chatbot-otel doctor | head -2`: a reader that goes away is no reason to panic. Here the
/// pipe is closed before doctor writes anything, so every line it prints meets EPIPE.
#[test]
fn doctor_into_a_closed_pipe_does_not_panic() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::chatbot::BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env("LOG_FILE", home.path().join("chatbot.log"))
        .env("OLLAMA_ENDPOINT", closed_port_url())
        .args(["--export", "none", "doctor"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run doctor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // 1: the Ollama check failed (nothing listens); 101 would be a panic.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
