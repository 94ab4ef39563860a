//! The command line and the environment variables clap reads for it.
//!
//! Everything clap can do is declared here: each flag's environment variable (`env = …`),
//! its default (`default_value…`) and a typed parser, so `--help` prints `[env: …]` and
//! `[default: …]` itself and a bad value is refused before the program starts. Where a
//! value came from is not stored here: [`super::Config`] asks clap
//! (`ArgMatches::value_source`). The few rules clap cannot express live in small
//! functions next to this file (see the [`super`] module).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

use super::export::ExportTarget;
use super::ollama_host::parse_ollama_url_arg;
use super::values::{
    parse_model, parse_otlp_endpoint, parse_temperature, parse_think, parse_timeout,
};
use super::values::{DEFAULT_MODEL, DEFAULT_OLLAMA_URL, DEFAULT_TEMPERATURE};
use crate::ollama::wire::Think;

/// A terminal chatbot for a local Ollama, instrumented by hand with OpenTelemetry.
///
/// Each turn is one trace (chat_interaction → generate_response → ollama_request,
/// process_streaming_response; log_interaction), metrics go out over OTLP, and one JSON
/// log line per turn carries the trace and span ids. With stdin not a terminal, every input
/// line is a prompt and only replies go to stdout.
#[derive(Debug, Parser)]
#[command(name = "chatbot-otel", version, about, long_about = None)]
pub struct Cli {
    /// Ollama base URL (OLLAMA_HOST is read when OLLAMA_ENDPOINT is unset)
    #[arg(long, global = true, value_name = "URL", env = "OLLAMA_ENDPOINT",
          default_value = DEFAULT_OLLAMA_URL, value_parser = parse_ollama_url_arg)]
    pub ollama_url: Url,

    /// Model to chat with
    #[arg(long, global = true, value_name = "NAME", env = "OLLAMA_MODEL",
          default_value = DEFAULT_MODEL, value_parser = parse_model)]
    pub model: String,

    /// Sampling temperature, 0 to 2
    #[arg(long, global = true, value_name = "X", default_value_t = DEFAULT_TEMPERATURE,
          value_parser = parse_temperature, allow_negative_numbers = true)]
    pub temperature: f64,

    /// System prompt sent first in every request
    #[arg(long, global = true, value_name = "TEXT")]
    pub system: Option<String>,

    /// Seconds to wait for Ollama's first byte and between chunks
    #[arg(long, global = true, value_name = "SECS", env = "OLLAMA_TIMEOUT",
          default_value = "300", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: Duration,

    /// OTLP base URL; /v1/traces etc. are appended for HTTP. Beats every OTEL_EXPORTER_OTLP_*ENDPOINT [default: http://localhost:4318, or :4317 for gRPC]
    #[arg(long, global = true, value_name = "URL", value_parser = parse_otlp_endpoint)]
    pub otlp_endpoint: Option<Url>,

    /// Emit no telemetry at all (also OTEL_SDK_DISABLED=true)
    #[arg(long, global = true)]
    pub no_telemetry: bool,

    /// JSON log file, `-` for stderr [default: ~/.local/state/chatbot-otel/chatbot-otel.log]
    #[arg(long, global = true, value_name = "PATH", env = "LOG_FILE")]
    pub log_file: Option<PathBuf>,

    /// Keep prompts and replies off spans (also OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false)
    #[arg(long, global = true)]
    pub no_capture_content: bool,

    /// Where telemetry goes: otlp, file:PATH (OTLP/JSON lines), console (the same on stderr) or none
    #[arg(long, global = true, value_name = "TARGET", env = "CHATBOT_EXPORT",
          default_value = "otlp", value_parser = ExportTarget::parse)]
    pub export: ExportTarget,

    /// Ask the model to think: true, false, or a level (low, medium, high, max) for models that take one; a bare --think means true. Unset, no think is sent and the server decides
    #[arg(long, global = true, value_name = "LEVEL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_think)]
    pub think: Option<Think>,

    /// Do not print the model's reasoning (it is still kept, sent back, and traced)
    #[arg(long, global = true)]
    pub hidethinking: bool,

    /// A model parameter sent in Ollama's options, e.g. num_ctx=8192 (repeatable; see /set parameter)
    #[arg(long = "option", global = true, value_name = "NAME=VALUE",
          action = clap::ArgAction::Append)]
    pub options: Vec<String>,

    /// Chat with the built-in demo model (a fake Ollama on a loopback port that answers "You said: …"): try the chat, /trace and /stats with nothing installed
    #[arg(long, global = true)]
    pub demo: bool,

    /// MCP servers in the mcpServers JSON format [default: $XDG_CONFIG_HOME/chatbot-otel/mcp.json when it exists]
    #[arg(long, global = true, value_name = "PATH")]
    pub mcp_config: Option<PathBuf>,

    /// Piped mode: run every tool call the model asks for (interactively you are asked)
    #[arg(long, global = true)]
    pub allow_tools: bool,

    /// Piped mode: run calls of this tool (repeatable; NAME or SERVER.NAME)
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub allow_tool: Vec<String>,

    /// Seconds a tool call may take before it is cancelled
    #[arg(long, global = true, value_name = "SECS", default_value = "60",
          value_parser = parse_timeout)]
    pub tool_timeout: Duration,

    /// Continue the conversation saved as NAME (see /save and /sessions)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "continue_last"
    )]
    pub resume: Option<String>,

    /// Continue the most recently saved conversation
    #[arg(long = "continue", global = true)]
    pub continue_last: bool,

    /// Do not word-wrap replies on a terminal
    #[arg(long, global = true)]
    pub nowordwrap: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands; without one, the chatbot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Check Ollama, the model, the telemetry export and the log file; show the configuration
    Doctor,
}
