//! Leaving cleanly on SIGTERM, SIGHUP and SIGQUIT (and SIGINT when piped).
//!
//! A signal can arrive at two kinds of moment. During a turn, it cancels the turn like
//! Ctrl-C does, and the loop then exits normally, flushing telemetry on the way out. While
//! the main thread is blocked reading input, nobody would notice a flag, so the watcher
//! task leaves by itself: it puts the terminal back the way it found it (the line editor
//! has it in raw mode, with bracketed paste on, while it reads), writes the `exiting` log
//! line, flushes telemetry (bounded) and exits with 128 + the signal's number. A turn that
//! has not ended 3 s after the signal — one blocked at a tool question, waiting for a key —
//! is left the same way.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::telemetry::Telemetry;

/// How long a running turn has to end by itself after a quit signal before the watcher
/// exits without it.
const TURN_GRACE: Duration = Duration::from_secs(3);

/// The quit signal, shared between the watcher task and the input loop.
pub(crate) struct Signals {
    quit_rx: watch::Receiver<Option<i32>>,
    busy: Arc<AtomicBool>,
    /// Turns started, for the `exiting` log line the watcher writes.
    turns: Arc<AtomicU64>,
}

impl Signals {
    /// Starts the watcher. `with_sigint` is for piped mode, where Ctrl-C means "stop
    /// everything"; interactively Ctrl-C only cancels the reply (see `repl::interactive`).
    pub(crate) fn install(
        rt: &Runtime,
        telemetry: Arc<Telemetry>,
        with_sigint: bool,
        flush_budget: Duration,
    ) -> Signals {
        let (quit_tx, quit_rx) = watch::channel(None);
        let busy = Arc::new(AtomicBool::new(false));
        let turns = Arc::new(AtomicU64::new(0));
        let (turn_running, turns_started) = (busy.clone(), turns.clone());
        // The terminal's settings now, before the line editor first switches it to raw
        // mode: what a signal at the prompt must restore.
        let terminal = SavedTerminal::capture();
        // The handlers are registered here, before `install` returns — not inside the
        // task, which may first run after the first turn has started: a signal in that gap
        // would take the default action and kill the process with nothing flushed.
        let handlers = {
            let _inside = rt.enter();
            (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
                signal(SignalKind::quit()),
                signal(SignalKind::interrupt()),
            )
        };
        rt.spawn(async move {
            let (Ok(mut term), Ok(mut hup), Ok(mut quit), Ok(mut int)) = handlers else {
                return;
            };
            // Exit codes follow the shell convention: 128 + signal number.
            let code = tokio::select! {
                _ = term.recv() => 143,
                _ = hup.recv() => 129,
                _ = quit.recv() => 131,
                _ = int.recv(), if with_sigint => 130,
            };
            let _ = quit_tx.send(Some(code));
            // A running turn sees the quit, cancels itself, and the input loop then exits
            // with the code, flushing on the way. But a turn can be blocked where no
            // future is polled — a tool question waiting for a key — so if it has not
            // ended after a grace period, the watcher leaves by itself after all.
            if turn_running.load(Ordering::SeqCst) {
                let deadline = tokio::time::Instant::now() + TURN_GRACE;
                while turn_running.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if !turn_running.load(Ordering::SeqCst) {
                    return;
                }
            }
            if let Some(terminal) = &terminal {
                terminal.restore();
            }
            tracing::event!(
                name: "chatbot.exiting",
                tracing::Level::INFO,
                chat.turns = turns_started.load(Ordering::SeqCst),
                chatbot.signal = code - 128,
                "chatbot-otel exiting"
            );
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown(flush_budget)).await;
            std::process::exit(code);
        });
        Signals {
            quit_rx,
            busy,
            turns,
        }
    }

    /// The exit code, once a quit signal has arrived.
    pub(crate) fn quit_requested(&self) -> Option<i32> {
        *self.quit_rx.borrow()
    }

    /// Completes when a quit signal arrives: a cancel future for a turn.
    pub(crate) fn quit(&self) -> impl Future<Output = ()> + 'static {
        let mut rx = self.quit_rx.clone();
        async move {
            if rx.wait_for(Option::is_some).await.is_err() {
                // The watcher could not install its handlers: no signal will ever come.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Marks a turn as running until the guard is dropped.
    pub(crate) fn turn(&self) -> TurnGuard {
        self.busy.store(true, Ordering::SeqCst);
        self.turns.fetch_add(1, Ordering::SeqCst);
        TurnGuard(self.busy.clone())
    }
}

/// Clears the "turn running" flag on drop.
pub(crate) struct TurnGuard(Arc<AtomicBool>);

impl Drop for TurnGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The terminal settings (termios) of stdin as they were at start-up.
struct SavedTerminal(rustix::termios::Termios);

impl SavedTerminal {
    /// `None` when stdin is not a terminal (piped mode): nothing to restore.
    fn capture() -> Option<SavedTerminal> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        rustix::termios::tcgetattr(&stdin).ok().map(SavedTerminal)
    }

    /// Undoes what the line editor did on entering raw mode: bracketed paste off
    /// (`ESC[?2004l`, else the shell's next paste arrives wrapped in `ESC[200~`), the
    /// cursor on a fresh line, and echo and line editing back (the saved termios).
    /// Best effort: the terminal may be gone (SIGHUP).
    fn restore(&self) {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            let mut out = stdout.lock();
            let _ = out.write_all(b"\x1b[?2004l\r\n").and_then(|()| out.flush());
        }
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.0,
        );
    }
}
