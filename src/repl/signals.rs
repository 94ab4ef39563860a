//! Leaving cleanly on SIGTERM and SIGHUP (and SIGINT when piped).
//!
//! A signal can arrive at two kinds of moment. During a turn, it cancels the turn like
//! Ctrl-C does, and the loop then exits normally, flushing telemetry on the way out. While
//! the main thread is blocked reading input, nobody would notice a flag, so the watcher
//! task flushes telemetry (bounded) and exits by itself.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::telemetry::Telemetry;

/// The quit signal, shared between the watcher task and the input loop.
pub(crate) struct Signals {
    quit_rx: watch::Receiver<Option<i32>>,
    busy: Arc<AtomicBool>,
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
        let turn_running = busy.clone();
        // The handlers are registered here, before `install` returns — not inside the
        // task, which may first run after the first turn has started: a signal in that gap
        // would take the default action and kill the process with nothing flushed.
        let handlers = {
            let _inside = rt.enter();
            (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
                signal(SignalKind::interrupt()),
            )
        };
        rt.spawn(async move {
            let (Ok(mut term), Ok(mut hup), Ok(mut int)) = handlers else {
                return;
            };
            // Exit codes follow the shell convention: 128 + signal number.
            let code = tokio::select! {
                _ = term.recv() => 143,
                _ = hup.recv() => 129,
                _ = int.recv(), if with_sigint => 130,
            };
            let _ = quit_tx.send(Some(code));
            if !turn_running.load(Ordering::SeqCst) {
                let _ = tokio::task::spawn_blocking(move || telemetry.shutdown(flush_budget)).await;
                std::process::exit(code);
            }
        });
        Signals { quit_rx, busy }
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
