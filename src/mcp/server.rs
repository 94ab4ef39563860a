//! Starting one MCP server over stdio: the child process, the handshake, its tool list,
//! and a bounded tail of what it wrote to stderr.
//!
//! A server's stderr must never reach our terminal: it would tear through the prompt and
//! the streamed reply. It is read into a ring of its last lines instead, which is exactly
//! what a one-line failure reason needs ("exited: ModuleNotFoundError: …").
//!
//! The child gets its own process group, so the Ctrl-C the user presses to cancel a turn
//! (delivered by the terminal to the whole foreground group) does not kill the servers too.
//!
//! We spawn the child ourselves and hand the SDK only its pipes, so that stopping it is
//! ours to bound ([`stop`]): the SDK's own child transport waits up to 3 s, then 3 s more
//! after SIGTERM, and a Node server busy in a tool call outlives an exit that waited less.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::config::ServerConfig;

/// How many stderr lines, and how many characters of each, are kept per server.
const STDERR_LINES: usize = 20;
const STDERR_LINE_CHARS: usize = 300;
/// After the pipe closes, how long to wait for the stderr reader to catch up, so the
/// failure reason can quote the last line the server wrote.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

/// The last lines a server wrote to stderr.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: &str) {
        // Only printable text: the line may end up in a `warning:` on our terminal.
        let line: String = strip_ansi(line)
            .chars()
            .filter(|c| !c.is_control())
            .take(STDERR_LINE_CHARS)
            .collect();
        let line = line.trim_end().to_string();
        if line.trim().is_empty() {
            return;
        }
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == STDERR_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    /// The last non-empty line, trimmed.
    pub(crate) fn last(&self) -> Option<String> {
        self.0
            .lock()
            .ok()
            .and_then(|lines| lines.back().map(|l| l.trim().to_string()))
    }

    /// All kept lines, oldest first.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A server that completed the handshake.
pub(crate) struct Connected {
    pub service: RunningService<RoleClient, ClientConfig>,
    pub peer: Peer<RoleClient>,
    pub protocol_version: Option<String>,
    pub tools: Vec<Tool>,
    pub stderr_reader: JoinHandle<()>,
    /// The server process: [`stop`] it once the service is cancelled.
    pub child: Child,
}

/// A server that did not start, with a one-line reason.
pub(crate) struct StartFailure {
    pub reason: String,
}

/// Spawns `config`'s command and runs the MCP handshake and `tools/list`, within `timeout`.
pub(crate) async fn connect(
    config: &ServerConfig,
    tail: &StderrTail,
    timeout: Duration,
) -> Result<Connected, StartFailure> {
    let mut command = tokio::process::Command::new(&config.command);
    command
        .args(&config.args)
        .envs(&config.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If we give up on it (a failed handshake drops it), the server must not outlive us.
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);

    let mut child = command.spawn().map_err(|e| StartFailure {
        reason: spawn_error(&config.command, &e),
    })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(StartFailure {
            reason: format!("cannot run {}: no pipes to it", config.command),
        });
    };
    let stderr_reader = tokio::spawn(read_stderr(child.stderr.take(), tail.clone()));
    // Closing the transport (the service loop does, when cancelled) drops `stdin`: the
    // server reads end-of-file, which is how stdio MCP asks it to exit.
    let transport = (stdout, stdin);

    let handshake = async {
        let client = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new(crate::telemetry::names::SCOPE, env!("CARGO_PKG_VERSION")),
        );
        let service = client
            .serve(transport)
            .await
            .map_err(|e| one_line(&e.to_string()))?;
        let tools = service
            .peer()
            .list_all_tools()
            .await
            .map_err(|e| one_line(&format!("tools/list failed: {e}")))?;
        Ok::<_, String>((service, tools))
    };
    let result = tokio::time::timeout(timeout, handshake).await;
    match result {
        Ok(Ok((service, tools))) => {
            let peer = service.peer().clone();
            let protocol_version = peer
                .peer_info()
                .map(|info| info.protocol_version.to_string());
            Ok(Connected {
                service,
                peer,
                protocol_version,
                tools,
                stderr_reader,
                child,
            })
        }
        Ok(Err(error)) => {
            // The process probably exited: let the reader catch its last words.
            let _ = tokio::time::timeout(STDERR_DRAIN, stderr_reader).await;
            Err(StartFailure {
                reason: with_stderr(&format!("failed the MCP handshake ({error})"), tail),
            })
        }
        Err(_) => {
            stderr_reader.abort();
            Err(StartFailure {
                reason: with_stderr(
                    &format!(
                        "did not finish the MCP handshake within {} s",
                        timeout.as_secs()
                    ),
                    tail,
                ),
            })
        }
    }
}

/// `what`, followed by the server's last stderr line when it wrote one.
pub(crate) fn with_stderr(what: &str, tail: &StderrTail) -> String {
    match tail.last() {
        Some(line) => format!("{what}: {line}"),
        None => what.to_string(),
    }
}

/// Waits up to `grace` for a server whose stdin has closed (or is closing) to exit, then
/// kills it (SIGKILL: stdio MCP has nothing gentler once end-of-file went unheeded, and
/// SIGTERM would take a `libc` call). The process is reaped either way, so no server
/// outlives the chatbot. Only the server's own process is killed, not its process group:
/// a wrapper's children (`npx`, `uvx`) still get end-of-file on their stdin.
pub(crate) async fn stop(child: &mut Child, grace: Duration) {
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        return;
    }
    let _ = child.start_kill();
    // A killed process is gone in microseconds; the bound is for one stuck in the kernel.
    let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
}

/// Waits (briefly) for a reader whose pipe has closed to finish.
pub(crate) async fn drain(reader: &mut JoinHandle<()>) {
    let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
}

/// An SDK error message as one short line (some embed a whole JSON-RPC message).
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::text::truncate(flat.trim(), 160)
}

/// `text` without ANSI escape sequences (`ESC [ … letter`), which colourful servers write.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn spawn_error(command: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => format!("command not found: {command}"),
        std::io::ErrorKind::PermissionDenied => format!("cannot run {command}: permission denied"),
        _ => format!("cannot run {command}: {error}"),
    }
}

async fn read_stderr(stderr: Option<tokio::process::ChildStderr>, tail: StderrTail) {
    let Some(stderr) = stderr else { return };
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tail.push(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_bounded() {
        let tail = StderrTail::default();
        for i in 0..(STDERR_LINES + 5) {
            tail.push(&format!("line {i}"));
        }
        tail.push("   ");
        tail.push(&"x".repeat(1000));
        let lines = tail.lines();
        assert_eq!(lines.len(), STDERR_LINES);
        assert_eq!(lines[0], "line 6");
        assert_eq!(tail.last().unwrap().len(), STDERR_LINE_CHARS);
    }

    #[test]
    fn stderr_lines_lose_colours_and_control_characters() {
        let tail = StderrTail::default();
        tail.push("\u{1b}[31mError:\u{1b}[0m bad\u{7}\r");
        assert_eq!(tail.last().as_deref(), Some("Error: bad"));
        assert_eq!(one_line("a\nb"), "a b");
    }

    #[test]
    fn spawn_errors_name_the_command() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(spawn_error("uvx", &e), "command not found: uvx");
    }
}
