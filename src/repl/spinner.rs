//! A spinner with elapsed seconds while the model has not said anything yet.
//!
//! Ollama sends nothing at all — not even response headers — until the model is loaded
//! and the prompt evaluated, which can take minutes on a cold start. Without feedback the
//! chat looks frozen. The spinner runs on its own thread (it must keep ticking whatever the
//! async runtime is doing) and is erased, under a lock, the moment reply text arrives.
//!
//! Each redraw is `\r`, erase the line, draw: that only works while the line fits on one
//! row (a wider one wraps, and only its last row is erased, leaving one junk row per
//! tick). So the text is cut to the terminal's width, read again at every tick so a
//! resize is followed.

use std::io::{self, Write};

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::style::Style;

const FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK: Duration = Duration::from_millis(100);

/// What the drawing thread and the owner share.
struct State {
    stopped: bool,
    label: String,
}

/// A running spinner; stopped (and its line erased) by [`Spinner::stop`] or on drop.
pub(crate) struct Spinner {
    /// The lock also serialises the spinner's writes with the erase.
    state: Arc<Mutex<State>>,
}

impl Spinner {
    /// Starts drawing `label` on stdout with a frame and the seconds elapsed.
    pub(crate) fn start(label: String, style: Style) -> Spinner {
        // The label names the model, which may come from a session file: printable, and
        // on one line (the redraw only erases one row).
        let state = Arc::new(Mutex::new(State {
            stopped: false,
            label: super::out::printable_line(&label),
        }));
        let shared = state.clone();
        let started = Instant::now();
        let _ = thread::Builder::new()
            .name("spinner".into())
            .spawn(move || {
                for frame in FRAMES.iter().cycle() {
                    thread::sleep(TICK);
                    let Ok(state) = shared.lock() else { return };
                    if state.stopped {
                        return;
                    }
                    let text = line(
                        frame,
                        &state.label,
                        started.elapsed().as_secs(),
                        super::term::stdout_width(),
                    );
                    let mut out = io::stdout().lock();
                    let _ = write!(out, "\r\x1b[2K{}", style.dim(&text));
                    let _ = out.flush();
                }
            });
        Spinner { state }
    }

    /// Changes the text while the spinner runs (from the next tick on).
    pub(crate) fn set_text(&self, label: impl Into<String>) {
        if let Ok(mut state) = self.state.lock() {
            state.label = super::out::printable_line(&label.into());
        }
    }

    /// Stops the spinner and erases its line. Idempotent.
    pub(crate) fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            if !state.stopped {
                state.stopped = true;
                let mut out = io::stdout().lock();
                let _ = write!(out, "\r\x1b[2K");
                let _ = out.flush();
            }
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One spinner line, at most `width - 1` columns: the last column is left free, because a
/// character written there leaves some terminals' cursor on the next row.
fn line(frame: &str, label: &str, seconds: u64, width: usize) -> String {
    let full = format!("{frame} {label} {seconds}s");
    let room = width.saturating_sub(1).max(1);
    if super::term::columns(&full) <= room {
        return full;
    }
    // Keep the frame and the seconds (the signs of life); shorten the label.
    let tail = format!(" {seconds}s");
    let head_room = room.saturating_sub(super::term::columns(&tail) + 2);
    let (label, _) = super::wrap::split_at_columns(label, head_room.saturating_sub(1));
    let short = format!("{frame} {label}…{tail}");
    if super::term::columns(&short) <= room {
        short
    } else {
        super::wrap::split_at_columns(&full, room).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::term::columns;

    /// A spinner line never reaches the terminal's last column, whatever the label.
    #[test]
    fn line_fits_the_terminal() {
        let label = "waiting for hf.co/some-org/a-very-long-model-name-Q4_K_M:latest…";
        for width in [20, 30, 40, 80] {
            for seconds in [0, 12, 12345] {
                let text = line("⠋", label, seconds, width);
                assert!(columns(&text) < width, "{width}: {text:?}");
                assert!(text.ends_with(&format!("{seconds}s")), "{text:?}");
            }
        }
        assert_eq!(line("⠋", "waiting for m…", 3, 80), "⠋ waiting for m… 3s");
    }

    /// The text can change while the spinner runs; stop erases it once.
    #[test]
    fn text_is_settable() {
        let spinner = Spinner::start("waiting…".into(), Style::plain());
        spinner.set_text("thinking…");
        assert_eq!(spinner.state.lock().unwrap().label, "thinking…");
        spinner.stop();
        assert!(spinner.state.lock().unwrap().stopped);
    }

    /// A label with controls in it (a model name from a session file) is drawn printable.
    #[test]
    fn label_is_printable() {
        let spinner = Spinner::start("waiting for m\x1b]0;x\x07\n…".into(), Style::plain());
        spinner.stop();
        assert_eq!(
            spinner.state.lock().unwrap().label,
            "waiting for m^[]0;x^G^J…"
        );
    }
}
