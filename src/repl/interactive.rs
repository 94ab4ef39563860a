//! Interactive mode: a line editor with history, streaming replies, and Ctrl-C that
//! stops a reply without leaving — the keys of `ollama run`.
//!
//! `readline` blocks, so it runs on the main thread, which is not a tokio worker: the
//! runtime keeps exporting telemetry and serving timers while the user types, and a
//! turn is driven with `Runtime::block_on` once a line is complete.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::{Editor, Helper, Validator};
use tokio::runtime::Runtime;

use super::commands::{self, parse, Input};
use super::signals::Signals;
use super::style::Style;
use super::{preflight, Console, Flow, Repl};
use crate::chat::ChatSession;
use crate::config::{Config, ExportTarget};

/// How long the start-up check may delay the first prompt.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(1);
const PROMPT: &str = ">>> ";
const CONTINUATION: &str = "... ";
const MULTILINE: &str = "\"\"\"";

/// `--export console` writes OTLP/JSON to stderr. Interactively stderr is usually the
/// terminal, where those lines would land in the middle of the line being typed — there is
/// no sane place for them on a screen the line editor owns. So that combination is refused,
/// with the two ways to get the same JSON; with stderr redirected (`2>telemetry.jsonl`) it is
/// fine and allowed.
pub(crate) fn console_export_refusal(config: &Config, stderr_is_terminal: bool) -> Option<String> {
    refuse_console(config.telemetry_enabled, &config.export, stderr_is_terminal)
}

fn refuse_console(
    telemetry: bool,
    export: &ExportTarget,
    stderr_is_terminal: bool,
) -> Option<String> {
    (telemetry && *export == ExportTarget::Console && stderr_is_terminal).then(|| {
        "--export console would write JSON over the line you type: use --export file:PATH (and `tail -f PATH`), or redirect stderr (2>telemetry.jsonl)".to_string()
    })
}

/// The dimmed placeholder on an empty line, as `ollama run` shows it.
fn placeholder(in_block: bool) -> &'static str {
    if in_block {
        "Use \"\"\" to end multi-line input"
    } else {
        "Send a message (/help for help)"
    }
}

/// rustyline helper: the placeholder, and tab completion from the command table.
#[derive(Validator)]
struct PromptHelper {
    style: Style,
    /// Inside a `"""` block (set before each `readline`).
    in_block: bool,
}

impl Helper for PromptHelper {}

impl Hinter for PromptHelper {
    type Hint = String;
    fn hint(&self, line: &str, _pos: usize, _ctx: &rustyline::Context<'_>) -> Option<String> {
        line.is_empty()
            .then(|| placeholder(self.in_block).to_string())
    }
}

impl Highlighter for PromptHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(self.style.dim(hint))
    }
}

impl Completer for PromptHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(commands::complete(line, pos))
    }
}

/// Ctrl-D while a `"""` block is open: Ctrl-D means "leave" everywhere else here, so it
/// leaves here too — but sending half a message on the way out would be a surprise, and
/// dropping it silently loses what was typed. The block goes into the history instead
/// (↑ brings it back next time), and one line says so. Returns the history entry and
/// that line.
fn unsent_block(block: Option<Vec<String>>) -> Option<(String, &'static str)> {
    let text = block?.join("\n").trim_matches('\n').to_string();
    (!text.trim().is_empty()).then_some((
        text,
        "(the unfinished multi-line message was not sent; it is in the history: press ↑ next time)",
    ))
}

/// Runs the interactive loop until Ctrl-D or `/bye`; returns the exit code.
pub(crate) fn run(
    rt: &Runtime,
    session: &mut ChatSession,
    config: &Config,
    signals: &Signals,
) -> i32 {
    let style = Style::detect(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let console = Console {
        interactive: true,
        style,
    };
    // The model may come from a session file (`--resume`): printable before the bold.
    let about = format!(
        " {} · model {} · Ollama {}",
        env!("CARGO_PKG_VERSION"),
        session.model(),
        crate::text::redacted_url(&config.ollama_url).trim_end_matches('/'),
    );
    console.info_styled(&format!(
        "{}{}",
        style.bold("chatbot-otel"),
        crate::text::printable(&about)
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
    editor.set_helper(Some(PromptHelper {
        style,
        in_block: false,
    }));
    let history = History::open(config.history_file.clone(), &mut editor);
    // Nothing runs without consent: at a terminal, every tool call is asked about.
    session.set_approver(Box::new(super::approve::AskUser::new(console.style)));
    let mut repl = Repl::new(rt, session, console, config).with_collector_probe();

    // Lines of a """ block collected so far.
    let mut block: Option<Vec<String>> = None;
    loop {
        let prompt = if block.is_some() {
            CONTINUATION
        } else {
            PROMPT
        };
        if let Some(helper) = editor.helper_mut() {
            helper.in_block = block.is_some();
        }
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
            Err(ReadlineError::Eof) => {
                if let Some((text, notice)) = unsent_block(block.take()) {
                    history.add(&mut editor, &text);
                    console.status(notice);
                }
                return repl.end_code();
            }
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
                repl.chat_turn(&prompt, cancel);
                // The terminal is gone: nothing more can be shown.
                if repl.output_closed {
                    return super::piped::EXIT_PIPE_CLOSED;
                }
                super::out::stdout_line("");
            }
            command => {
                if commands::dispatch(&mut repl, command) == Flow::Quit {
                    return repl.end_code();
                }
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
                // rustyline creates the file itself, 0600; the directory is ours.
                let _ = crate::telemetry::logs::create_private_dir(dir);
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
    use super::*;

    /// Console export is refused only where its JSON would hit the line being typed.
    #[test]
    fn console_export_only_with_stderr_redirected() {
        let refused = refuse_console(true, &ExportTarget::Console, true).expect("refused");
        assert!(refused.contains("--export file:PATH"), "{refused}");
        assert_eq!(refuse_console(true, &ExportTarget::Console, false), None);
        assert_eq!(refuse_console(false, &ExportTarget::Console, true), None);
        assert_eq!(refuse_console(true, &ExportTarget::Otlp, true), None);
    }

    /// Inside a block the placeholder says how to end it, as `ollama run` does.
    #[test]
    fn placeholder_inside_a_block() {
        assert_eq!(placeholder(true), "Use \"\"\" to end multi-line input");
        assert!(placeholder(false).starts_with("Send a message"));
    }

    /// Ctrl-D in an open block keeps its text for the history and says so; an empty
    /// block or no block at all leaves quietly.
    #[test]
    fn ctrl_d_in_a_block_keeps_the_text() {
        let (text, notice) =
            unsent_block(Some(vec!["first".into(), "second".into()])).expect("kept");
        assert_eq!(text, "first\nsecond");
        assert!(notice.contains("not sent") && notice.contains("history"));
        assert_eq!(unsent_block(Some(vec![String::new()])), None);
        assert_eq!(unsent_block(None), None);
    }

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
