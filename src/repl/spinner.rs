//! A spinner with elapsed seconds while the model has not said anything yet.
//!
//! Ollama sends nothing at all — not even response headers — until the model is loaded
//! and the prompt evaluated, which can take minutes on a cold start. Without feedback the
//! chat looks frozen. The spinner runs on its own thread (it must keep ticking whatever the
//! async runtime is doing) and is erased, under a lock, the moment reply text arrives.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::style::Style;

const FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK: Duration = Duration::from_millis(100);

/// A running spinner; stopped (and its line erased) by [`Spinner::stop`] or on drop.
pub struct Spinner {
    /// `true` once stopped; the lock also serialises the spinner's writes with the erase.
    stopped: Arc<Mutex<bool>>,
}

impl Spinner {
    /// Starts drawing `label` on stdout with a frame and the seconds elapsed.
    pub fn start(label: String, style: Style) -> Spinner {
        let stopped = Arc::new(Mutex::new(false));
        let flag = stopped.clone();
        let started = Instant::now();
        let _ = thread::Builder::new()
            .name("spinner".into())
            .spawn(move || {
                for frame in FRAMES.iter().cycle() {
                    thread::sleep(TICK);
                    let Ok(stopped) = flag.lock() else { return };
                    if *stopped {
                        return;
                    }
                    let text = format!("{frame} {label} {}s", started.elapsed().as_secs());
                    let mut out = io::stdout().lock();
                    let _ = write!(out, "\r\x1b[2K{}", style.dim(&text));
                    let _ = out.flush();
                }
            });
        Spinner { stopped }
    }

    /// Stops the spinner and erases its line. Idempotent.
    pub fn stop(&self) {
        if let Ok(mut stopped) = self.stopped.lock() {
            if !*stopped {
                *stopped = true;
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

/// A writer that stops the spinner before the first byte of the reply.
pub struct AfterSpinner<'a, W: Write> {
    pub spinner: &'a Spinner,
    pub inner: W,
}

impl<W: Write> Write for AfterSpinner<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.spinner.stop();
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
