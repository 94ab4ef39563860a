//! Interactive mode: a line editor with history, streaming replies, and Ctrl-C that
//! stops a reply without leaving — the keys of `ollama run`.
//!
//! `readline` blocks, so it runs on the main thread, which is not a tokio worker: the
//! runtime keeps exporting telemetry and serving timers while the user types, and a
//! turn is driven with `Runtime::block_on` once a line is complete.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::{Completer, Editor, Helper, Validator};
use tokio::runtime::Runtime;

use super::signals::Signals;
use super::style::Style;
use super::{chat_turn, preflight, run_command, Console, Flow};
use crate::chat::ChatSession;
use crate::commands::{parse, Input};
use crate::config::Config;

/// How long the start-up check may delay the first prompt.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(1);
const PROMPT: &str = ">>> ";
const CONTINUATION: &str = "... ";
const MULTILINE: &str = "\"\"\"";

/// rustyline helper: only a dimmed placeholder on an empty line, as `ollama run` shows.
#[derive(Completer, Validator)]
struct PromptHelper {
    style: Style,
}

impl Helper for PromptHelper {}

impl Hinter for PromptHelper {
    type Hint = String;
    fn hint(&self, line: &str, _pos: usize, _ctx: &rustyline::Context<'_>) -> Option<String> {
        line.is_empty()
            .then(|| "Send a message (/help for help)".to_string())
    }
}

impl Highlighter for PromptHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(self.style.dim(hint))
    }
}

/// Runs the interactive loop until Ctrl-D or `/bye`; returns the exit code.
pub fn run(rt: &Runtime, session: &mut ChatSession, config: &Config, signals: &Signals) -> i32 {
    let style = Style::detect(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let console = Console {
        interactive: true,
        style,
    };
    console.info(&format!(
        "{} {} · model {} · Ollama {}",
        style.bold("chatbot-otel"),
        env!("CARGO_PKG_VERSION"),
        session.model(),
        config.ollama_url.as_str().trim_end_matches('/'),
    ));
    console.status("Type /help for commands; Ctrl-C stops a reply; Ctrl-D or /bye leaves.");
    if let Some(problem) = rt.block_on(preflight(session, PREFLIGHT_TIMEOUT)) {
        console.warn(&problem);
    }

    let editor_config = rustyline::Config::builder()
        .max_history_size(1000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.auto_add_history(false).build());
    let editor = editor_config.and_then(Editor::<PromptHelper, FileHistory>::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            console.error(&format!("cannot start the line editor: {e}"));
            return 1;
        }
    };
    editor.set_helper(Some(PromptHelper { style }));
    let history = History::open(config.history_file.clone(), &mut editor);

    // Lines of a """ block collected so far.
    let mut block: Option<Vec<String>> = None;
    loop {
        let prompt = if block.is_some() {
            CONTINUATION
        } else {
            PROMPT
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt never quits. It drops a half-typed block too
                // (`ollama run` keeps the block open, which surprises people).
                if block.take().is_some() {
                    console.status("(multi-line message discarded)");
                } else {
                    console.status("Use Ctrl-D or /bye to exit.");
                }
                continue;
            }
            Err(ReadlineError::Eof) => return 0,
            Err(e) => {
                console.error(&format!("cannot read input: {e}"));
                return 1;
            }
        };

        let message = match collect_multiline(&mut block, &line) {
            Some(message) => message,
            None => continue,
        };
        history.add(&mut editor, &message);

        match parse(&message) {
            Input::Empty => {}
            Input::Command(command) => {
                if run_command(rt, session, command, &console, config) == Flow::Quit {
                    return 0;
                }
            }
            Input::Prompt(prompt) => {
                let _running = signals.turn();
                let quit = signals.quit();
                // In cooked mode (outside readline) Ctrl-C is a SIGINT: it cancels this turn.
                let cancel = async move {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = quit => {}
                    }
                };
                chat_turn(rt, session, &prompt, &console, config, cancel);
                println!();
            }
        }
        if let Some(code) = signals.quit_requested() {
            return code;
        }
    }
}

/// Feeds one line to the `"""` block logic. Returns a complete message, or `None` while a
/// block is still open. `"""one line"""` is a message too.
fn collect_multiline(block: &mut Option<Vec<String>>, line: &str) -> Option<String> {
    match block {
        None => {
            let Some(rest) = line.trim_start().strip_prefix(MULTILINE) else {
                return Some(line.to_string());
            };
            if let Some(inner) = rest.strip_suffix(MULTILINE) {
                return Some(inner.to_string());
            }
            *block = Some(vec![rest.to_string()]);
            None
        }
        Some(lines) => {
            if let Some(last) = line.trim_end().strip_suffix(MULTILINE) {
                lines.push(last.to_string());
                let text = lines.join("\n").trim_matches('\n').to_string();
                *block = None;
                Some(text)
            } else {
                lines.push(line.to_string());
                None
            }
        }
    }
}

/// The persistent line-editor history (best effort: a read-only home is not an error).
struct History {
    path: Option<PathBuf>,
}

impl History {
    fn open(path: Option<PathBuf>, editor: &mut Editor<PromptHelper, FileHistory>) -> Self {
        if let Some(p) = &path {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.load_history(p);
        }
        History { path }
    }

    /// Records a message (the whole block for multi-line input) and saves at once, so
    /// a crash or a closed terminal loses nothing.
    fn add(&self, editor: &mut Editor<PromptHelper, FileHistory>, message: &str) {
        if message.trim().is_empty() {
            return;
        }
        let _ = editor.add_history_entry(message);
        if let Some(p) = &self.path {
            let _ = editor.save_history(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::collect_multiline;

    /// A `"""` block spans lines and keeps its newlines; a one-line block works too.
    #[test]
    fn multiline_blocks() {
        let mut block = None;
        assert_eq!(collect_multiline(&mut block, "plain"), Some("plain".into()));
        assert_eq!(
            collect_multiline(&mut block, "\"\"\"one\"\"\""),
            Some("one".into())
        );
        assert_eq!(collect_multiline(&mut block, "\"\"\"first"), None);
        assert_eq!(collect_multiline(&mut block, "second"), None);
        assert_eq!(
            collect_multiline(&mut block, "third\"\"\""),
            Some("first\nsecond\nthird".into())
        );
        assert!(block.is_none());
    }
}
