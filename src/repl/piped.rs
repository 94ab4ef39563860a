//! Piped mode: every input line is a prompt or a command; stdout gets only replies.
//!
//! This is the mode scripts, tests and benchmarks use, so its contract is strict: no
//! prompt, no colours, no spinner; one line per prompt on stdout (the reply, or an empty
//! line for a failed turn); every status line on stderr; exit code 0 at end of input even if
//! some turns failed, 1 when a reply could not be written (`> /dev/full`), 141 when stdout's
//! reader went away (the turn in flight is cancelled).

use std::io::{self, BufRead};

use tokio::runtime::Runtime;

use super::commands::{self, parse, Input};
use super::signals::Signals;
use super::style::Style;
use super::{Console, Flow, Repl};
use crate::chat::ChatSession;
use crate::config::Config;

/// 128 + SIGPIPE: what a shell reports for a tool whose stdout reader went away.
pub(crate) const EXIT_PIPE_CLOSED: i32 = 141;

/// Reads stdin to the end (or `/bye`) and returns the exit code.
pub(crate) fn run(
    rt: &Runtime,
    session: &mut ChatSession,
    config: &Config,
    signals: &Signals,
) -> i32 {
    let console = Console {
        interactive: false,
        style: Style::plain(),
    };
    let mut repl = Repl::new(rt, session, console, config);
    let mut stdin = io::stdin().lock();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match stdin.read_until(b'\n', &mut raw) {
            Ok(0) => return repl.end_code(),
            Ok(_) => {}
            Err(e) => {
                console.error(&format!("cannot read standard input: {e}"));
                return 1;
            }
        }
        // Invalid UTF-8 is replaced rather than fatal: one odd byte should not end a session.
        let line = String::from_utf8_lossy(&raw);
        match parse(&line) {
            Input::Empty => continue,
            Input::Prompt(prompt) => {
                let _running = signals.turn();
                repl.chat_turn(&prompt, signals.quit());
                if repl.output_closed {
                    return EXIT_PIPE_CLOSED;
                }
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
