//! Where a streamed reply goes while it arrives.
//!
//! A thinking model sends two kinds of text: its reasoning (`message.thinking`) and then
//! the answer (`message.content`). The turn reports each piece as it comes; how they look
//! (markers, colours, a spinner, stderr or stdout) is the front end's business, so this
//! module is only the seam between [`super::turn`] and `crate::repl`.

use std::io::{self, Write};

/// Receives a reply piece by piece.
pub trait ReplySink {
    /// A piece of the model's reasoning.
    fn thinking(&mut self, text: &str) -> io::Result<()>;
    /// A piece of the answer.
    fn content(&mut self, text: &str) -> io::Result<()>;
    /// A status line during the turn (a tool that ran, a limit reached): dimmed on a
    /// terminal, on stderr in a pipe. Plain writers drop it.
    fn note(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }
    /// The stream is over (completed, failed or cancelled): close whatever is open.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Any writer shows the answer and drops the reasoning: what a script piping stdout, a
/// test's `Vec<u8>` or a benchmark's `io::sink()` wants.
impl<W: Write> ReplySink for W {
    fn thinking(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }

    fn content(&mut self, text: &str) -> io::Result<()> {
        self.write_all(text.as_bytes())?;
        self.flush()
    }
}
