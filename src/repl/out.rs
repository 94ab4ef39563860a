//! Printing that never panics, and never lets untrusted text drive the terminal.
//!
//! `println!` panics when stdout is a closed pipe (`chatbot-otel doctor | head -2`),
//! because Rust ignores SIGPIPE and the write then fails with `EPIPE`. A reader that went
//! away is not an error worth a crash, so these helpers write with `writeln!` and drop the
//! result.
//!
//! Most lines quote something we did not write — a model or tool name from a server, a
//! session file's fields, an error message — so [`stdout_line`] and [`stderr_line`] pass
//! their text through [`printable`]: an escape sequence is shown, never run. A line
//! carrying our own colours (`style.rs`) goes through [`stdout_styled`] or
//! [`stderr_styled`] instead, and its caller makes every untrusted part printable before
//! styling it.

use std::io::Write;

use crate::text::printable;

/// One line on stdout, made printable; a closed or full pipe is ignored.
pub(crate) fn stdout_line(text: &str) {
    stdout_styled(&printable(text));
}

/// One line on stderr, made printable; a closed pipe is ignored.
pub(crate) fn stderr_line(text: &str) {
    stderr_styled(&printable(text));
}

/// One line on stdout as it is: for our own styling around text already made printable.
pub(crate) fn stdout_styled(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// One line on stderr as it is: for our own styling around text already made printable.
pub(crate) fn stderr_styled(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `text` made printable for a place that holds one line (a prompt, the spinner): a
/// newline or tab there would break the line, so they are shown as `^J` and `^I` too.
pub(crate) fn printable_line(text: &str) -> String {
    printable(text).replace('\n', "^J").replace('\t', "^I")
}

#[cfg(test)]
mod tests {
    use super::printable_line;

    #[test]
    fn one_line_has_no_controls() {
        assert_eq!(printable_line("a\x1b[2J\nb\tc\x07"), "a^[[2J^Jb^Ic^G");
        assert_eq!(printable_line("plain"), "plain");
    }
}
