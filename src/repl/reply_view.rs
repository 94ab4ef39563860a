//! How a streamed reply looks: the model's reasoning between `Thinking...` and
//! `...done thinking.` markers, then the answer — as `ollama run` shows it.
//!
//! On a terminal everything goes to the screen, the reasoning dimmed; in a pipe stdout
//! carries only the answer (scripts read it) and the reasoning goes to stderr between the
//! same marker lines. With thinking hidden, nothing of it is printed, but the wait
//! indicator says the model is thinking, so a long silence never looks like a hang.
//!
//! Text from the model is untrusted: on a terminal it passes through
//! [`crate::text::printable`] so an escape sequence in a reply cannot drive the terminal.
//! Piped stdout keeps the model's bytes exactly.

use std::io::{self, Write};

use super::spinner::Spinner;
use super::style::Style;
use crate::chat::ReplySink;
use crate::text::printable;

/// The opening marker, as `ollama run` prints it.
pub(crate) const THINKING_OPENS: &str = "Thinking...";
/// The closing marker, followed by a blank line.
pub(crate) const THINKING_CLOSES: &str = "...done thinking.";

/// Something shown while waiting for the first visible text (the spinner).
pub(crate) trait WaitIndicator {
    /// Stop and erase it; idempotent.
    fn stop(&self);
    /// Change what it says (`thinking…`) while it keeps running.
    fn set_label(&self, label: &str);
}

impl WaitIndicator for Spinner {
    fn stop(&self) {
        Spinner::stop(self);
    }

    fn set_label(&self, label: &str) {
        self.set_text(label);
    }
}

/// Where the reply is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing shown yet.
    Waiting,
    /// Reasoning is being shown; `at_line_start` says whether it ended with `\n`.
    Thinking { at_line_start: bool },
    /// Hidden reasoning is going on (only the indicator says so).
    ThinkingHidden,
    /// The answer is being shown.
    Answering,
}

/// A [`ReplySink`] for one turn.
pub(crate) struct ReplyView<'a, A: Write, T: Write> {
    answer: A,
    thoughts: T,
    style: Style,
    show_thinking: bool,
    /// Sanitise model text (on a terminal) or pass it byte for byte (piped stdout).
    sanitize: bool,
    waiting: Option<&'a dyn WaitIndicator>,
    phase: Phase,
}

impl<'a, A: Write, T: Write> ReplyView<'a, A, T> {
    /// `answer` gets the reply, `thoughts` the reasoning and its markers (the same terminal
    /// interactively, stderr in a pipe).
    pub(crate) fn new(answer: A, thoughts: T, style: Style, show_thinking: bool) -> Self {
        ReplyView {
            answer,
            thoughts,
            style,
            show_thinking,
            sanitize: false,
            waiting: None,
            phase: Phase::Waiting,
        }
    }

    /// Shows the reply on a terminal: untrusted text is made printable first.
    pub(crate) fn for_terminal(mut self) -> Self {
        self.sanitize = true;
        self
    }

    /// Stops `indicator` at the first visible text (and relabels it while hidden thinking runs).
    pub(crate) fn with_wait_indicator(mut self, indicator: &'a dyn WaitIndicator) -> Self {
        self.waiting = Some(indicator);
        self
    }

    fn stop_waiting(&self) {
        if let Some(w) = self.waiting {
            w.stop();
        }
    }

    /// Closes a shown reasoning block: newline if needed, the marker, a blank line.
    fn close_thinking(&mut self) -> io::Result<()> {
        if let Phase::Thinking { at_line_start } = self.phase {
            let newline = if at_line_start { "" } else { "\n" };
            let marker = self.style.dim(&self.style.bold(THINKING_CLOSES));
            write!(self.thoughts, "{newline}{marker}\n\n")?;
            self.thoughts.flush()?;
        }
        Ok(())
    }
}

impl<A: Write, T: Write> ReplySink for ReplyView<'_, A, T> {
    fn thinking(&mut self, text: &str) -> io::Result<()> {
        if !self.show_thinking {
            if self.phase == Phase::Waiting {
                self.phase = Phase::ThinkingHidden;
                if let Some(w) = self.waiting {
                    w.set_label("thinking…");
                }
            }
            return Ok(());
        }
        if self.phase == Phase::Waiting {
            self.stop_waiting();
            let marker = self.style.dim(&self.style.bold(THINKING_OPENS));
            writeln!(self.thoughts, "{marker}")?;
            self.phase = Phase::Thinking {
                at_line_start: true,
            };
        }
        if let Phase::Thinking { at_line_start } = &mut self.phase {
            // Reasoning is shown on the terminal or written to stderr, never to piped
            // stdout: always made printable, whichever it is.
            let text = printable(text);
            write!(self.thoughts, "{}", self.style.dim(&text))?;
            self.thoughts.flush()?;
            *at_line_start = text.ends_with('\n');
        }
        Ok(())
    }

    fn content(&mut self, text: &str) -> io::Result<()> {
        if self.phase != Phase::Answering {
            self.stop_waiting();
            self.close_thinking()?;
            self.phase = Phase::Answering;
        }
        if self.sanitize {
            self.answer.write_all(printable(text).as_bytes())?;
        } else {
            self.answer.write_all(text.as_bytes())?;
        }
        self.answer.flush()
    }

    fn note(&mut self, text: &str) -> io::Result<()> {
        self.stop_waiting();
        self.close_thinking()?;
        if matches!(self.phase, Phase::Thinking { .. }) {
            self.phase = Phase::Answering;
        }
        let line = self.style.dim(&printable(text));
        writeln!(self.thoughts, "{line}")?;
        self.thoughts.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.stop_waiting();
        // A model that thought and then said nothing (or was stopped) still closes its block.
        self.close_thinking()?;
        if matches!(self.phase, Phase::Thinking { .. }) {
            self.phase = Phase::Answering;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<String>>);

    impl WaitIndicator for Recorder {
        fn stop(&self) {
            self.0.borrow_mut().push("stop".into());
        }
        fn set_label(&self, label: &str) {
            self.0.borrow_mut().push(format!("label {label}"));
        }
    }

    fn run(show: bool, pieces: &[(&str, &str)]) -> (String, String, Vec<String>) {
        let spinner = Recorder::default();
        let (mut answer, mut thoughts) = (Vec::new(), Vec::new());
        {
            let mut view = ReplyView::new(&mut answer, &mut thoughts, Style::plain(), show)
                .with_wait_indicator(&spinner);
            for (kind, text) in pieces {
                match *kind {
                    "think" => view.thinking(text).unwrap(),
                    _ => view.content(text).unwrap(),
                }
            }
            view.finish().unwrap();
        }
        let events = spinner.0.borrow().clone();
        (
            String::from_utf8(answer).unwrap(),
            String::from_utf8(thoughts).unwrap(),
            events,
        )
    }

    /// Reasoning between the markers, a blank line, then the answer on its own stream.
    #[test]
    fn thinking_then_answer() {
        let (answer, thoughts, spinner) = run(
            true,
            &[
                ("think", "Okay, "),
                ("think", "the user"),
                ("say", "Hi"),
                ("say", "!"),
            ],
        );
        assert_eq!(answer, "Hi!");
        assert_eq!(
            thoughts,
            "Thinking...\nOkay, the user\n...done thinking.\n\n"
        );
        assert_eq!(spinner.first().map(String::as_str), Some("stop"));
    }

    /// Hidden: nothing of the reasoning is printed, the spinner says "thinking…" and
    /// stops only when the answer starts.
    #[test]
    fn hidden_thinking_relabels_the_spinner() {
        let (answer, thoughts, spinner) = run(false, &[("think", "hmm"), ("say", "Hi")]);
        assert_eq!(answer, "Hi");
        assert_eq!(thoughts, "");
        assert_eq!(
            spinner[..2],
            ["label thinking…".to_string(), "stop".to_string()]
        );
    }

    /// A stream that ends (or is cancelled) while thinking still closes the block; a
    /// reply with no thinking prints no markers at all.
    #[test]
    fn blocks_always_close_and_plain_replies_have_no_markers() {
        let (answer, thoughts, _) = run(true, &[("think", "still going\n")]);
        assert_eq!(answer, "");
        assert_eq!(thoughts, "Thinking...\nstill going\n...done thinking.\n\n");
        let (answer, thoughts, _) = run(true, &[("say", "just this")]);
        assert_eq!((answer.as_str(), thoughts.as_str()), ("just this", ""));
    }

    /// On a terminal an escape sequence in model text is shown, not obeyed.
    #[test]
    fn terminal_text_is_printable() {
        let mut answer = Vec::new();
        let mut thoughts = Vec::new();
        {
            let mut view =
                ReplyView::new(&mut answer, &mut thoughts, Style::plain(), true).for_terminal();
            view.thinking("\x1b]0;pwned\x07").unwrap();
            view.content("\x1b[2Jhi").unwrap();
        }
        assert_eq!(String::from_utf8(answer).unwrap(), "^[[2Jhi");
        assert!(String::from_utf8(thoughts)
            .unwrap()
            .contains("^[]0;pwned^G"));
    }

    /// Piped, the answer keeps the model's bytes for scripts, but the reasoning goes to
    /// stderr — often still the terminal — so it is made printable there too.
    #[test]
    fn piped_reasoning_on_stderr_is_printable() {
        let (answer, thoughts, _) = run(
            true,
            &[("think", "\x1b]52;c;SGVsbG8=\x07hm"), ("say", "\x1b[1mok")],
        );
        assert_eq!(answer, "\x1b[1mok");
        assert!(!thoughts.contains('\x1b'), "{thoughts:?}");
        assert!(thoughts.contains("^[]52;c;SGVsbG8=^Ghm"), "{thoughts:?}");
    }
}
