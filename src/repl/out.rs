//! Printing that never panics: `println!` panics when stdout is a closed pipe
//! (`chatbot-otel doctor | head -2`), because Rust ignores SIGPIPE and the write then fails
//! with `EPIPE`. A reader that went away is not an error worth a crash, so these helpers
//! write with `writeln!` and drop the result.

use std::io::Write;

/// One line on stdout; a closed or full pipe is ignored.
pub(crate) fn stdout_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// One line on stderr; a closed pipe is ignored.
pub(crate) fn stderr_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
