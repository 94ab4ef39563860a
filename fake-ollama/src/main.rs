//! `fake-ollama`: the fake server as a standalone process.
//!
//! The library is meant to run inside a test, but a separate process is handy
//! to try the chatbot by hand without a GPU, to script end-to-end checks, or to
//! point the telemetry stack at something that answers at once. This binary
//! parses its flags into [`Options`], binds, prints one line saying where it
//! listens (scripts wait for that line), and serves until SIGINT or SIGTERM.
//!
//! Faults can be chosen per message as well: a user message containing
//! `[fault:drop]` (or any other directive name) gets that behaviour.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fake_ollama::{Behaviour, FakeOllama, Options, Reply, Split, Thinking, ToolCallChunks};

/// A fake Ollama server for testing chat clients.
///
/// Serves POST /api/chat (streaming NDJSON or one JSON object), GET /api/tags,
/// GET /api/version, POST /api/show and GET / like Ollama does, with replies
/// made up from the request. Thinking models (qwen3, deepseek-r1, gpt-oss,
/// magistral) think first; models with tools call an offered tool that the
/// user message names. Add `[fault:NAME]` to a user message to make that one
/// request fail; NAME is one of http_500, mid_stream_error, truncate, drop,
/// invalid_json, legacy_error, hang, hang_thinking, slow_thinking.
#[derive(Debug, Parser)]
#[command(name = "fake-ollama", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:11434")]
    addr: SocketAddr,

    /// Comma-separated model names that exist; others get a 404.
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        default_value = "llama3.1:8b,llama3.2:latest"
    )]
    models: Vec<String>,

    /// Reply with N lorem-ipsum words (N chunks) instead of echoing.
    #[arg(long, value_name = "N", conflicts_with = "reply")]
    reply_words: Option<usize>,

    /// Reply with this text instead of echoing.
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,

    /// Wait this long before the response headers and first chunk.
    #[arg(long, value_name = "N", default_value_t = 0)]
    first_token_delay_ms: u64,

    /// Wait this long between chunks.
    #[arg(long, value_name = "N", default_value_t = 0)]
    chunk_delay_ms: u64,

    /// Write every NDJSON line in pieces of N bytes (cuts UTF-8 characters).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    split_bytes: Option<u64>,

    /// Make every chat request fail this way (as the [fault:NAME] directive).
    #[arg(long, value_name = "NAME", value_parser = Behaviour::DIRECTIVES)]
    fault: Option<String>,

    /// Thinking models think N deterministic words instead of echoing.
    #[arg(long, value_name = "N", conflicts_with = "thinking")]
    thinking_words: Option<usize>,

    /// Thinking models think this text instead of echoing.
    #[arg(long, value_name = "TEXT")]
    thinking: Option<String>,

    /// Wait this long between thinking chunks (default: as --chunk-delay-ms).
    #[arg(long, value_name = "N")]
    thinking_chunk_delay_ms: Option<u64>,

    /// Send all the tool calls of a reply in one chunk instead of one each.
    #[arg(long)]
    tool_calls_in_one_chunk: bool,
}

impl Cli {
    fn into_options(self) -> Options {
        let reply = match (self.reply_words, self.reply) {
            (Some(n), _) => Reply::Words(n),
            (None, Some(text)) => Reply::Text(text),
            (None, None) => Reply::Echo,
        };
        let thinking = match (self.thinking_words, self.thinking) {
            (Some(n), _) => Thinking::Words(n),
            (None, Some(text)) => Thinking::Text(text),
            (None, None) => Thinking::Echo,
        };
        Options {
            addr: self.addr,
            models: self.models.into_iter().filter(|m| !m.is_empty()).collect(),
            reply,
            first_token_delay: Duration::from_millis(self.first_token_delay_ms),
            chunk_delay: Duration::from_millis(self.chunk_delay_ms),
            split: self
                .split_bytes
                .map_or(Split::Lines, |n| Split::Bytes(n as usize)),
            default_behaviour: self
                .fault
                .as_deref()
                .and_then(Behaviour::from_directive)
                .unwrap_or_default(),
            thinking,
            thinking_chunk_delay: self.thinking_chunk_delay_ms.map(Duration::from_millis),
            tool_call_chunks: if self.tool_calls_in_one_chunk {
                ToolCallChunks::AllInOne
            } else {
                ToolCallChunks::OnePerChunk
            },
            ..Options::default()
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Cli::parse().into_options();
    let requested = opts.addr;
    let server = match FakeOllama::start_with(opts).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot listen on {requested}: {e}");
            return ExitCode::from(2);
        }
    };
    // Scripts wait for this exact line, so flush it at once.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "fake-ollama listening on {}", server.url());
    let _ = stdout.flush();
    drop(stdout);

    wait_for_signal().await;
    drop(server);
    ExitCode::SUCCESS
}

/// Returns on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
