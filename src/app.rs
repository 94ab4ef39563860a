//! Wiring: command line → configuration → telemetry → session → front end → exit code.
//!
//! This is where the process-wide decisions live: which front end runs, the exit codes
//! (0 normal, 1 when replies or log lines could not be written, 2 invalid configuration,
//! 128+N after signal N), and the bounded telemetry flush — with the MCP servers stopped
//! alongside it — that keeps exit prompt whatever state the collector or a server is in.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::chat::ChatSession;
use crate::config::{ArgsError, Command, Config};
use crate::ollama::OllamaClient;
use crate::repl::out::stderr_line;
use crate::repl::signals::Signals;
use crate::repl::{interactive, piped};
use crate::telemetry;

/// The most time spent flushing telemetry at exit. Data still pending after this is
/// dropped: a chatbot that hangs on exit because a collector is down gets uninstalled.
pub const FLUSH_BUDGET: Duration = Duration::from_millis(1500);

/// Exit code for invalid configuration (as with clap's own usage errors).
const EXIT_CONFIG: u8 = 2;

/// Runs the program and returns its exit code.
pub fn run() -> ExitCode {
    let (command, mut config) = match Config::from_args(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(ArgsError::Info(help)) => {
            // --help and --version.
            let _ = help.print();
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Invalid(e)) => return config_error(&e.to_string()),
    };
    let doctor = command == Some(Command::Doctor);
    // `--resume NAME` / `--continue`: read the saved conversation before anything starts,
    // so a missing or unreadable one is a one-line configuration error.
    let resumed = match resume(&config) {
        Ok(resumed) => resumed,
        Err(e) => return config_error(&e.to_string()),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("chatbot-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    // `chatbot-otel doctor`: checks and exits; it sets up no telemetry of its own.
    if doctor {
        let _demo = match start_demo(&runtime, &mut config) {
            Ok(demo) => demo,
            Err(code) => return code,
        };
        let code = crate::doctor::run(&runtime, &config);
        runtime.shutdown_background();
        return ExitCode::from(code);
    }
    let interactive_mode = std::io::stdin().is_terminal();
    if interactive_mode {
        if let Some(why) =
            interactive::console_export_refusal(&config, std::io::stderr().is_terminal())
        {
            return config_error(&why);
        }
    }
    // Exporters are built inside the runtime: the gRPC one spawns its connection task on it.
    let telemetry = {
        let _inside = runtime.enter();
        match telemetry::init(&config) {
            Ok(t) => Arc::new(t),
            Err(e) => return config_error(&e.to_string()),
        }
    };
    // Only now, with every check that exits 2 passed: a refused configuration is one
    // `error:` line, not a demo banner followed by it.
    let _demo = match start_demo(&runtime, &mut config) {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    for warning in &config.warnings {
        stderr_line(&format!("warning: {warning}"));
    }
    // Log events with namespaced names and attributes (the JSON file shows them under the
    // original example's flat names: `names::log::FILE_NAMES`).
    tracing::event!(
        name: "chatbot.started",
        tracing::Level::INFO,
        gen_ai.request.model = %config.model,
        chatbot.ollama.url = %crate::text::redacted_url(&config.ollama_url),
        chatbot.telemetry.enabled = telemetry.enabled(),
        "chatbot-otel started"
    );

    let signals = Signals::install(&runtime, telemetry.clone(), !interactive_mode, FLUSH_BUDGET);
    let mut session = ChatSession::new(
        OllamaClient::new(config.ollama_url.clone(), config.ollama_timeout),
        telemetry.clone(),
        config.model.clone(),
        config.temperature,
        config.system_prompt.clone(),
        config.capture_content,
    );
    session.set_options(config.options.clone());
    session.set_think(config.think);
    if let Some((name, saved)) = resumed {
        let turns = saved.turns();
        session.restore(saved);
        crate::repl::out::stderr_line(&format!(
            "Resumed '{name}': {turns} turn(s) with {}, conversation {}",
            session.model(),
            session.conversation_id()
        ));
    }
    // Turns run on a current-thread runtime driven by the main thread itself: the socket
    // is read on the thread that prints, so a streamed chunk costs one wake-up instead of a
    // hand-over between threads (measured: 4× less CPU per chunk, see BENCHMARKS.md). The
    // multi-thread runtime above keeps the signal watcher and the gRPC exporter going
    // while the main thread waits for input.
    let chat_runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    // MCP servers start in the background; the prompt waits at most a second for them. A
    // script (piped input) waits until they are up, up to 10 s, so its first prompt sees
    // the same tools as its last.
    if let Some(path) = &config.mcp_config {
        match crate::mcp::McpConfig::load(path) {
            Err(e) => {
                crate::repl::out::stderr_line(&format!("warning: {e}; no tools this session"))
            }
            Ok(mcp) => {
                let servers = {
                    let _inside = runtime.enter();
                    crate::mcp::McpServers::start(&mcp, crate::mcp::DEFAULT_STARTUP_TIMEOUT)
                };
                let budget = if interactive_mode { 1 } else { 10 };
                runtime.block_on(servers.wait_settled(Duration::from_secs(budget)));
                for status in servers.statuses() {
                    if let crate::mcp::ServerState::Failed { reason } = &status.state {
                        crate::repl::out::stderr_line(&format!(
                            "warning: MCP server {}: {reason}; the chat works without it",
                            status.name
                        ));
                    }
                }
                // A misspelt `--allow-tool` would otherwise only show as a call refused
                // turns later. Said only once every server has settled: a server still
                // starting may yet offer the tool.
                if servers.all_settled() {
                    for name in config.allow_tool.iter().filter(|n| !servers.offers(n)) {
                        crate::repl::out::stderr_line(&format!(
                            "warning: --allow-tool {name}: no MCP server offers a tool by that name (see /tools)"
                        ));
                    }
                }
                session.set_tools(crate::chat::tools::ToolBox {
                    metrics: crate::mcp::McpMetrics::new(&telemetry.meter),
                    servers,
                    timeout: config.tool_timeout,
                });
            }
        }
    }
    // Piped, the flags decide; interactively the front end asks (see `repl::interactive`).
    session.set_approver(Box::new(crate::chat::tools::AllowList {
        all: config.allow_tools,
        names: config.allow_tool.clone(),
    }));
    let code = if interactive_mode {
        interactive::run(&chat_runtime, &mut session, &config, &signals)
    } else {
        piped::run(&chat_runtime, &mut session, &config, &signals)
    };

    tracing::event!(
        name: "chatbot.exiting",
        tracing::Level::INFO,
        chat.turns = session.turns(),
        "chatbot-otel exiting"
    );
    // MCP servers stop (pipes closed, a server still busy killed) on the runtime's
    // workers while this thread flushes telemetry: the exit waits for the longer of the
    // two, not their sum.
    let stopping = session.tools().map(|tools| {
        let servers = tools.servers.clone();
        runtime.spawn(async move { servers.shutdown(crate::mcp::SHUTDOWN_BUDGET).await })
    });
    // Log lines lost to a write error (said once when it happened) fail the run too.
    let code = if code == 0 && telemetry::logs::write_failed() {
        1
    } else {
        code
    };
    telemetry.shutdown(FLUSH_BUDGET);
    if let Some(stopping) = stopping {
        // Bounded again here: no server keeps us, whatever happened to that task.
        // (The timer is made inside `block_on`: tokio's timers need the runtime.)
        let _ = runtime
            .block_on(async { tokio::time::timeout(crate::mcp::SHUTDOWN_BUDGET, stopping).await });
    }
    // Don't wait for runtime tasks (a stuck export, the signal watcher) on the way out.
    chat_runtime.shutdown_background();
    runtime.shutdown_background();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `--demo`: starts the built-in model on a loopback port, points the configuration at
/// it and prints the banner (nothing without `--demo`). The server answers for as long as
/// the value is kept. When it cannot start: the `error:` line, and the exit code.
fn start_demo(
    runtime: &tokio::runtime::Runtime,
    config: &mut Config,
) -> Result<Option<fake_ollama::FakeOllama>, ExitCode> {
    if !config.demo {
        return Ok(None);
    }
    match runtime.block_on(crate::demo::start(&config.model)) {
        Ok(server) => {
            config.ollama_url = url::Url::parse(&server.url()).expect("a loopback URL");
            stderr_line(&crate::demo::banner(&server.url()));
            Ok(Some(server))
        }
        Err(e) => {
            stderr_line(&format!(
                "error: cannot start the demo model on a loopback port: {e}"
            ));
            Err(ExitCode::FAILURE)
        }
    }
}

/// The conversation `--resume`/`--continue` names, if any.
fn resume(
    config: &Config,
) -> Result<Option<(String, crate::chat::sessions::Saved)>, crate::chat::sessions::SessionError> {
    use crate::chat::sessions::{SessionError, Store};
    use crate::config::Resume;
    let Some(resume) = &config.resume else {
        return Ok(None);
    };
    let store = Store::new(config.sessions_dir.clone().ok_or(SessionError::NoneSaved)?);
    match resume {
        Resume::Named(name) => Ok(Some((name.clone(), store.load(name)?))),
        Resume::Latest => store.latest().map(Some),
    }
}

fn config_error(message: &str) -> ExitCode {
    stderr_line(&format!("error: {}", message.trim_start_matches("error: ")));
    ExitCode::from(EXIT_CONFIG)
}
