//! `--demo`: a built-in model, so a first run shows a real streamed chat, real traces
//! (`/trace`) and metrics (`/stats`) with nothing else installed.
//!
//! It is the same fake Ollama the tests use (the `fake-ollama` workspace crate), started
//! in-process on a free loopback port: the chatbot talks real HTTP and NDJSON to it, so
//! every span, metric and log line is the one a real Ollama would produce — only the
//! words are made up ("You said: …"). Its replies are paced like a small local model so
//! the spinner and the streaming can be seen. The demo is labelled on screen and in the
//! Resource (`chatbot.demo=true`).

use std::time::Duration;

use fake_ollama::{FakeOllama, Options};

/// A thinking model the demo also offers, to try `/model qwen3:0.6b` and thinking.
pub const DEMO_THINKING_MODEL: &str = "qwen3:0.6b";

/// Starts the demo server; `model` (the configured one) is among its models.
pub async fn start(model: &str) -> std::io::Result<FakeOllama> {
    let mut models = vec![model.to_string(), DEMO_THINKING_MODEL.to_string()];
    models.dedup();
    FakeOllama::start_with(Options {
        models,
        first_token_delay: Duration::from_millis(400),
        chunk_delay: Duration::from_millis(40),
        ..Options::default()
    })
    .await
}

/// The line that labels a demo session.
pub fn banner(url: &str) -> String {
    format!(
        "demo: replies come from the built-in demo model at {url} (it answers \"You said: …\"); \
         leave out --demo to chat with Ollama"
    )
}
