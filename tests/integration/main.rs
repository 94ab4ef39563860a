//! The integration tests of `chatbot-otel`: one test binary, one harness.
//!
//! Every file under `tests/` would be its own crate, linked and started on its own, each
//! compiling the shared support code again. So, as ripgrep does, there is one binary
//! (`cargo test --test integration`) whose modules share [`support`]:
//!
//! * Through the built binary, asserting what a user and a backend see: piped mode's stdout,
//!   stderr and exit code, and the OTLP requests an in-process collector receives
//!   (`piped_*`, `config_errors`, `exit_bounds`, `doctor`, `export_file`, `repl_*`).
//! * In process, through the library API with the OpenTelemetry SDK's in-memory exporters
//!   (`opentelemetry_sdk::testing`): the shape of a turn's spans and metrics, where no process
//!   boundary is under test (`session_in_memory`).
//! * The repository itself: every relative link in the Markdown files resolves
//!   (`markdown_links`); `src/telemetry/names.rs` and the Weaver registry under
//!   `telemetry/registry/` name the same telemetry (`registry`).
//!
//! Run one group with `cargo test --test integration piped_traces::`.

mod support;

mod config_errors;
mod conversations;
mod demo;
mod doctor;
mod exit_bounds;
mod export_file;
mod hardening;
mod markdown_links;
mod mcp_real;
mod piped_logs;
mod piped_metrics;
mod piped_traces;
mod piped_turns;
mod piped_views;
mod pty_interactive;
mod registry;
mod repl_front_end;
mod repl_terminal;
mod session_in_memory;
mod thinking;
mod tools;
