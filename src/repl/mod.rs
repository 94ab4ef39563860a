//! The two front ends — an interactive terminal and a pipe — and what they share.
//!
//! Both read a line, parse it with `commands::parse`, and either run a command (one row
//! of the command table) or a chat turn. They differ only in where text goes:
//! interactively, everything is on the terminal and status lines are dimmed; piped, stdout
//! carries nothing but reply text so `chatbot-otel < questions.txt > answers.txt` works,
//! and every status line goes to stderr.

pub(crate) mod approve;
pub(crate) mod collector;
pub(crate) mod commands;
mod context;
pub(crate) mod interactive;
pub(crate) mod out;
pub(crate) mod piped;
pub(crate) mod reply_view;
pub(crate) mod signals;
pub(crate) mod spinner;
pub(crate) mod style;
pub(crate) mod term;
pub(crate) mod trace_view;
pub(crate) mod wrap;

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use tokio::runtime::Runtime;

use self::out::{stderr_line, stderr_styled, stdout_line, stdout_styled};
use self::reply_view::ReplyView;
use self::style::Style;
use crate::chat::ChatSession;
use crate::config::{Config, ExportTarget};
use crate::ollama::{has_model, OllamaError};
use crate::telemetry::metrics::TurnStatus;

/// Where each kind of text goes, with or without colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Console {
    pub(crate) interactive: bool,
    pub(crate) style: Style,
}

impl Console {
    /// Output of a command (`/help`, `/models`…). It quotes servers and files (model and
    /// tool names, a session's fields, the system prompt), so it is made printable.
    pub(crate) fn info(&self, text: &str) {
        if self.interactive {
            stdout_line(text);
        } else {
            stderr_line(text);
        }
    }

    /// Command output with our own colours in it, printed as it is: the caller has made
    /// every untrusted part printable before styling it (`/history`, `/trace`).
    pub(crate) fn info_styled(&self, text: &str) {
        if self.interactive {
            stdout_styled(text);
        } else {
            stderr_styled(text);
        }
    }

    /// A secondary line such as the trace link: dimmed on a terminal, stderr in a pipe.
    pub(crate) fn status(&self, text: &str) {
        let text = crate::text::printable(text);
        if self.interactive {
            stdout_styled(&self.style.dim(&text));
        } else {
            stderr_styled(&text);
        }
    }

    /// Warnings and errors often quote a server: their text is made printable.
    pub(crate) fn warn(&self, text: &str) {
        let text = crate::text::printable(text);
        stderr_styled(&self.style.yellow(&format!("warning: {text}")));
    }

    pub(crate) fn error(&self, text: &str) {
        let text = crate::text::printable(text);
        stderr_styled(&self.style.red(&format!("error: {text}")));
    }
}

/// Whether the loop goes on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Quit,
}

/// How replies are shown, changed with `/set` while the session runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefs {
    /// Break reply lines at spaces to fit the terminal (`/set [no]wordwrap`, `--nowordwrap`).
    pub(crate) wordwrap: bool,
    /// Show the model's reasoning (`/set hidethinking|showthinking`, `--hidethinking`).
    pub(crate) show_thinking: bool,
}

/// Everything a command or a turn works with: the session, where text goes, the settings.
pub(crate) struct Repl<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) session: &'a mut ChatSession,
    pub(crate) console: Console,
    pub(crate) config: &'a Config,
    pub(crate) prefs: Prefs,
    /// The start-up probe of the OTLP collector (interactive mode, OTLP export only).
    /// Whether to ask the telemetry's collector probe (interactive mode only).
    check_collector: bool,
    told_collector_down: bool,
    /// stdout was closed under us (`| head`): the session ends with 128 + SIGPIPE.
    pub(crate) output_closed: bool,
    /// A reply could not be written (`> /dev/full`, a full disk): said once, and the
    /// session's exit code is 1, so a script notices that replies were lost.
    output_failed: bool,
    /// Whether the conversation was said to outgrow `num_ctx` (see `context`).
    context: context::ContextWatch,
}

impl<'a> Repl<'a> {
    pub(crate) fn new(
        rt: &'a Runtime,
        session: &'a mut ChatSession,
        console: Console,
        config: &'a Config,
    ) -> Self {
        Repl {
            rt,
            session,
            console,
            config,
            prefs: Prefs {
                wordwrap: config.wordwrap,
                show_thinking: config.show_thinking,
            },
            check_collector: false,
            told_collector_down: false,
            output_closed: false,
            output_failed: false,
            context: context::ContextWatch::default(),
        }
    }

    /// The exit code at the end of input or `/bye`: 0, or 1 when a reply was lost.
    pub(crate) fn end_code(&self) -> i32 {
        i32::from(self.output_failed)
    }

    /// Notes a failed write of a reply; the first one is reported (later ones would only
    /// repeat it).
    fn output_error(&mut self, kind: std::io::ErrorKind) {
        if !self.output_failed {
            self.output_failed = true;
            self.console.error(&format!(
                "cannot write the reply to standard output ({kind}); replies are lost, and the exit code will be 1"
            ));
        }
    }

    /// Probes the collector in the background, to say once if it is not there.
    pub(crate) fn with_collector_probe(mut self) -> Self {
        self.check_collector = true;
        self
    }

    /// The width command output is laid out for.
    pub(crate) fn width(&self) -> usize {
        term::info_width(self.console.interactive)
    }

    /// `host:port` of the OTLP collector when the probe found nothing listening there.
    fn collector_down(&mut self) -> Option<String> {
        if !self.check_collector {
            return None;
        }
        collector::down_address(self.session.telemetry().collector()?)
    }

    /// The status line for a trace: `trace: <id>` and its Jaeger link — unless the probe
    /// found no collector, in which case the link would point at nothing: it is left out,
    /// and the first time, one line says where the telemetry can be seen instead.
    pub(crate) fn trace_line(&mut self, trace_id: impl std::fmt::Display) -> String {
        match self.collector_down() {
            None => self.config.trace_line(trace_id),
            Some(address) => {
                if !self.told_collector_down {
                    self.told_collector_down = true;
                    self.console
                        .status(&collector::unreachable_notice(&address));
                }
                format!("trace: {trace_id}")
            }
        }
    }

    /// The settings block of `/help` and `/show info`.
    pub(crate) fn settings_text(&mut self) -> String {
        let telemetry = if !self.session.telemetry().enabled() {
            "off".to_string()
        } else if self.config.export == ExportTarget::Otlp {
            match self.collector_down() {
                Some(address) => format!(
                    "on; no collector at {address}: see it with /trace and /stats, or record it with --export file:PATH"
                ),
                None => format!("on; traces at {}/search", self.config.jaeger_ui_url),
            }
        } else {
            format!(
                "on; export {} (/trace and /stats still work)",
                self.config.export
            )
        };
        let mut lines = vec![
            format!(
                "Model:       {} (temperature {})",
                self.session.model(),
                self.session.temperature()
            ),
            format!(
                "Ollama:      {}{}",
                crate::text::redacted_url(&self.config.ollama_url).trim_end_matches('/'),
                if self.config.demo {
                    " (the built-in demo model, --demo)"
                } else {
                    ""
                }
            ),
            format!("Telemetry:   {telemetry}"),
            format!("Conversation: {}", self.session.conversation_id()),
            format!(
                "JSON log:    {}",
                self.config
                    .log_file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "stderr".into())
            ),
        ];
        let think = match self.session.think() {
            None => "the server decides (no think sent)".to_string(),
            Some(think) => format!("think {}", think.as_str()),
        };
        let shown = if self.prefs.show_thinking {
            "shown"
        } else {
            "hidden"
        };
        lines.push(format!("Thinking:    {think}; reasoning {shown}"));
        if self.console.interactive {
            let wrap = if self.prefs.wordwrap { "on" } else { "off" };
            lines.push(format!("Word wrap:   {wrap}"));
        }
        lines.join("\n")
    }

    /// Runs one chat turn and reports it: reply on stdout, then error and trace lines.
    pub(crate) fn chat_turn(
        &mut self,
        prompt: &str,
        cancel: impl Future<Output = ()>,
    ) -> TurnStatus {
        let console = self.console;
        let mut stdout = std::io::stdout();
        // Spinner and word wrap are for a person at a terminal; a pipe gets the bytes as sent.
        let terminal = console.interactive && std::io::IsTerminal::is_terminal(&stdout);
        let report = if terminal {
            let spinner = spinner::Spinner::start(
                format!("waiting for {}…", self.session.model()),
                console.style,
            );
            let answer: Box<dyn Write> = if self.prefs.wordwrap {
                Box::new(wrap::WordWrap::new(std::io::stdout(), term::stdout_width()))
            } else {
                Box::new(std::io::stdout())
            };
            // Interactively the reasoning shares the screen with the answer.
            let mut view = ReplyView::new(
                answer,
                std::io::stdout(),
                console.style,
                self.prefs.show_thinking,
            )
            .for_terminal()
            .with_wait_indicator(&spinner);
            let report = self
                .rt
                .block_on(self.session.send(prompt, &mut view, cancel));
            spinner.stop();
            report
        } else {
            // Piped: stdout is the answer only; the reasoning goes to stderr.
            let mut view = ReplyView::new(
                std::io::stdout(),
                std::io::stderr(),
                Style::plain(),
                self.prefs.show_thinking,
            );
            self.rt
                .block_on(self.session.send(prompt, &mut view, cancel))
        };
        if report.output_error == Some(std::io::ErrorKind::BrokenPipe) {
            // Nobody reads the replies any more: stop here, as other Unix tools do.
            self.output_closed = true;
            return report.status;
        }
        // End the reply's line. Piped, every prompt gets one line, empty for a failed turn,
        // so line N of stdout answers prompt N; on a terminal a failed turn with no text
        // printed leaves the screen alone.
        if let Some(kind) = report.output_error {
            self.output_error(kind);
        }
        if !console.interactive || report.status == TurnStatus::Success || !report.reply.is_empty()
        {
            if let Err(e) = writeln!(stdout).and_then(|_| stdout.flush()) {
                self.output_error(e.kind());
            }
        }
        if let Some(error) = &report.error {
            console.error(&error.user_message());
        } else if report.status == TurnStatus::Cancelled && console.interactive {
            console.status("(cancelled; the conversation is as it was before this message)");
        }
        if let Some(trace_id) = report.trace_id {
            let line = self.trace_line(trace_id);
            console.status(&line);
        }
        if report.status == TurnStatus::Success {
            let history = self.session.history();
            let tokens =
                context::conversation_tokens(self.session.telemetry(), report.trace_id, history);
            let num_ctx = self.session.options().num_ctx;
            if let Some(warning) = self.context.check(num_ctx, tokens, history.len()) {
                console.warn(&warning);
            }
        }
        report.status
    }
}

/// The one-line start-up check: is Ollama up, and is the model pulled?
pub(crate) async fn preflight(session: &ChatSession, timeout: Duration) -> Option<String> {
    // Never the password of an `http://user:pw@host` URL.
    let url = crate::text::redacted_url(session.client().base_url())
        .trim_end_matches('/')
        .to_string();
    match session.client().list_models(timeout).await {
        Ok(models) if has_model(&models, session.model()) => None,
        Ok(_) => Some(format!(
            "model '{m}' is not pulled in Ollama at {url}; run `ollama pull {m}`",
            m = session.model()
        )),
        Err(OllamaError::Timeout { .. }) => Some(format!(
            "Ollama at {url} did not answer within {} s; is it busy, or is the URL right?",
            timeout.as_secs_f64()
        )),
        Err(OllamaError::Connect { .. }) => Some(format!(
            "Ollama is not running at {url}; start it with `ollama serve` (or set OLLAMA_HOST), or try the built-in demo model with --demo"
        )),
        Err(e) => Some(e.user_message()),
    }
}
