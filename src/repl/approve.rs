//! Asking the person at the terminal before a tool runs.
//!
//! `run time.get_current_time {"timezone":"UTC"}? [y]es / [n]o / [a]lways this tool` — the
//! model chose the tool and its arguments; only the user decides whether it runs. "Always"
//! holds for the rest of the session. The question is asked in cooked mode (outside the
//! line editor), so Ctrl-C at it cancels the whole turn like anywhere else in a reply.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use serde_json::Value;

use super::style::Style;
use crate::chat::tools::{Approver, Cancelled, Decision};
use crate::text::{printable, truncate};

/// The interactive approver.
pub(crate) struct AskUser {
    style: Style,
    always: HashSet<String>,
}

impl AskUser {
    pub(crate) fn new(style: Style) -> Self {
        AskUser {
            style,
            always: HashSet::new(),
        }
    }
}

/// Reads one answer: `y`/`yes`, `n`/`no`, `a`/`always` (empty means no: nothing runs
/// by accident).
pub(crate) fn parse_answer(line: &str) -> Option<Decision> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(Decision::Approved),
        "a" | "always" => Some(Decision::Always),
        "n" | "no" | "" => Some(Decision::Denied),
        _ => None,
    }
}

impl Approver for AskUser {
    fn decide(&mut self, shown_name: &str, arguments: &Value) -> Result<Decision, Cancelled> {
        if self.always.contains(shown_name) {
            return Ok(Decision::Always);
        }
        // The arguments came from the model: printable and short on the terminal.
        let args = truncate(&printable(&arguments.to_string()), 200);
        let question = format!("run {shown_name} {args}? [y]es / [n]o / [a]lways this tool ");
        let stdin = std::io::stdin();
        loop {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{}", self.style.bold(&question));
            let _ = out.flush();
            drop(out);
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                // End of input (Ctrl-D) or an error: the safe answer.
                Ok(0) | Err(_) => return Ok(Decision::Denied),
                Ok(_) => {}
            }
            match parse_answer(&line) {
                Some(Decision::Always) => {
                    self.always.insert(shown_name.to_string());
                    return Ok(Decision::Always);
                }
                Some(decision) => return Ok(decision),
                None => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(parse_answer("y\n"), Some(Decision::Approved));
        assert_eq!(parse_answer(" Always "), Some(Decision::Always));
        assert_eq!(parse_answer("\n"), Some(Decision::Denied));
        assert_eq!(parse_answer("maybe"), None);
    }
}
