//! Asking the person at the terminal before a tool runs.
//!
//! `run time.get_current_time {"timezone":"UTC"}? [y]es / [n]o / [a]lways this tool` — the
//! model chose the tool and its arguments; only the user decides whether it runs. "Always"
//! holds for the rest of the session. The question is read with its own small line editor
//! (no history, no completion): it has the terminal in raw mode, so Ctrl-C arrives as a
//! key rather than a signal, and cancels the whole turn at once — a cooked-mode read would
//! sit until Enter, because the turn's Ctrl-C watcher cannot run while the thread waits.

use std::borrow::Cow;
use std::collections::HashSet;

use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::history::MemHistory;
use rustyline::{Completer, Editor, Helper, Hinter, Validator};
use serde_json::Value;

use super::style::Style;
use crate::chat::tools::{Approver, Cancelled, Decision};
use crate::text::{printable, truncate};

/// The interactive approver.
pub(crate) struct AskUser {
    style: Style,
    always: HashSet<String>,
    /// Made at the first question, kept for the next ones.
    editor: Option<Editor<QuestionHelper, MemHistory>>,
}

impl AskUser {
    pub(crate) fn new(style: Style) -> Self {
        AskUser {
            style,
            always: HashSet::new(),
            editor: None,
        }
    }
}

/// Draws the question bold; the editor measures its width on the plain text.
#[derive(Helper, Completer, Hinter, Validator)]
struct QuestionHelper {
    style: Style,
}

impl Highlighter for QuestionHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Owned(self.style.bold(prompt))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        false
    }
}

/// The question for one call. Both parts are untrusted — the name comes from the MCP
/// server, the arguments from the model — so both are made printable (an escape sequence
/// in either could otherwise rewrite the very question the user answers) and cut short.
/// The question is one line, the editor's prompt: a newline or tab in the name would
/// break it, so they are shown as `^J` and `^I` too (JSON arguments have none unescaped).
fn question(shown_name: &str, arguments: &Value) -> String {
    let name = truncate(&super::out::printable_line(shown_name), 100);
    let args = truncate(&printable(&arguments.to_string()), 200);
    format!("run {name} {args}? [y]es / [n]o / [a]lways this tool ")
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
        let question = question(shown_name, arguments);
        if self.editor.is_none() {
            let Ok(mut editor) = Editor::<QuestionHelper, MemHistory>::with_history(
                rustyline::Config::default(),
                MemHistory::new(),
            ) else {
                // No line editor, no way to ask: the safe answer.
                return Ok(Decision::Denied);
            };
            editor.set_helper(Some(QuestionHelper { style: self.style }));
            self.editor = Some(editor);
        }
        let Some(editor) = self.editor.as_mut() else {
            return Ok(Decision::Denied);
        };
        loop {
            match editor.readline(&question) {
                Ok(line) => match parse_answer(&line) {
                    Some(Decision::Always) => {
                        self.always.insert(shown_name.to_string());
                        return Ok(Decision::Always);
                    }
                    Some(decision) => return Ok(decision),
                    None => continue,
                },
                // Ctrl-C: the whole turn stops, as anywhere else in a reply.
                Err(ReadlineError::Interrupted) => return Err(Cancelled),
                // End of input (Ctrl-D) or an error: the safe answer.
                Err(_) => return Ok(Decision::Denied),
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

    /// A tool name with controls in it reaches the terminal as visible text, on one
    /// line and cut short; the question still says what runs with what.
    #[test]
    fn question_shows_the_name_printable_and_short() {
        let args = serde_json::json!({"timezone": "UTC"});
        assert_eq!(
            question("time.get_current_time", &args),
            r#"run time.get_current_time {"timezone":"UTC"}? [y]es / [n]o / [a]lways this tool "#
        );
        let shown = question("evil\u{7}tool\x1b]0;pwned\x07\nline\tx", &args);
        assert!(
            shown.starts_with("run evil^Gtool^[]0;pwned^G^Jline^Ix {"),
            "{shown}"
        );
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        let long = question(&"n".repeat(300), &args);
        assert!(long.contains("… [200 more characters]"), "{long}");
        assert!(long.chars().count() < 200, "{long}");
    }
}
