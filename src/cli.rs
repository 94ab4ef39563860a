//! The command line, as typed: flags only, no defaults from the environment yet.
//!
//! `clap` parses; [`crate::config`] then merges flags with environment variables and
//! defaults and validates the result. Keeping the two stages apart (ripgrep's "low" and
//! "high" arguments) means every rule about precedence lives in one place.

use std::path::PathBuf;

use clap::Parser;

/// A terminal chatbot for a local Ollama, instrumented by hand with OpenTelemetry.
///
/// Each turn is one trace (chat_interaction → generate_response → ollama_request,
/// process_streaming_response; log_interaction), metrics go out over OTLP, and one JSON
/// log line per turn carries the trace and span ids. With stdin not a terminal, every input
/// line is a prompt and only replies go to stdout.
#[derive(Debug, Default, Parser)]
#[command(name = "chatbot-otel", version, about, long_about = None)]
pub struct Cli {
    /// Ollama base URL [env: OLLAMA_ENDPOINT, OLLAMA_HOST] [default: http://localhost:11434]
    #[arg(long, global = true, value_name = "URL")]
    pub ollama_url: Option<String>,

    /// Model to chat with [env: OLLAMA_MODEL] [default: llama3.1:8b]
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,

    /// Sampling temperature, 0 to 2 [default: 0.7]
    #[arg(long, global = true, value_name = "X")]
    pub temperature: Option<String>,

    /// System prompt sent first in every request
    #[arg(long, global = true, value_name = "TEXT")]
    pub system: Option<String>,

    /// Seconds to wait for Ollama's first byte and between chunks [env: OLLAMA_TIMEOUT] [default: 300]
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<String>,

    /// OTLP base URL; /v1/traces etc. are appended for HTTP [env: OTEL_EXPORTER_OTLP_ENDPOINT] [default: http://localhost:4318]
    #[arg(long, global = true, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Emit no telemetry at all [env: OTEL_SDK_DISABLED=true]
    #[arg(long, global = true)]
    pub no_telemetry: bool,

    /// JSON log file, `-` for stderr [env: LOG_FILE] [default: ~/.local/state/chatbot-otel/chatbot-otel.log]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Keep prompts and replies off spans [env: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false]
    #[arg(long, global = true)]
    pub no_capture_content: bool,

    /// Where telemetry goes: otlp, file:PATH (OTLP/JSON lines), console (the same on stderr) or none [env: CHATBOT_EXPORT] [default: otlp]
    #[arg(long, global = true, value_name = "TARGET")]
    pub export: Option<String>,

    /// Print replies as they come instead of wrapping them at spaces (terminals only)
    #[arg(long = "nowordwrap", global = true)]
    pub no_wordwrap: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands; without one, the chatbot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Check Ollama, the model, the telemetry export and the log file; show the configuration
    Doctor,
}
