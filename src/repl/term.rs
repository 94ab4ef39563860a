//! The terminal's width, for everything laid out to fit it: word wrap, the spinner,
//! `/help` and `/trace`.
//!
//! Only a terminal has a width. Piped output gets [`PIPE_WIDTH`], the layout the tests and
//! scripts have always seen, and word wrap is never applied to it.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use unicode_width::UnicodeWidthStr;

/// The width used when the output is not a terminal (or the terminal will not say).
pub(crate) const PIPE_WIDTH: usize = 80;

/// Anything narrower is treated as this: below it no layout is readable anyway.
const MIN_WIDTH: usize = 20;

/// The width of the terminal `stream` is on, if it is one.
pub(crate) fn width_of(stream: impl AsFd + IsTerminal) -> Option<usize> {
    if !stream.is_terminal() {
        return None;
    }
    let size = rustix::termios::tcgetwinsize(stream).ok()?;
    (size.ws_col > 0).then(|| usize::from(size.ws_col).max(MIN_WIDTH))
}

/// The width of stdout's terminal, or [`PIPE_WIDTH`].
pub(crate) fn stdout_width() -> usize {
    width_of(std::io::stdout()).unwrap_or(PIPE_WIDTH)
}

/// The width of the terminal `Console::info` prints to (stdout interactively, stderr
/// piped), if it is one.
pub(crate) fn info_terminal_width(interactive: bool) -> Option<usize> {
    if interactive {
        width_of(std::io::stdout())
    } else {
        width_of(std::io::stderr())
    }
}

/// The width text printed by `Console::info` is laid out for.
pub(crate) fn info_width(interactive: bool) -> usize {
    info_terminal_width(interactive).unwrap_or(PIPE_WIDTH)
}

/// Columns `text` takes on screen (wide characters count two).
pub(crate) fn columns(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}
